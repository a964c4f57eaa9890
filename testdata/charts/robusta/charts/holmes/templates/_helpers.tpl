{{/* Named templates of the subchart; they see the subchart's own values. */}}
{{- define "holmes.fullname" -}}
{{- printf "%s-holmes" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}
