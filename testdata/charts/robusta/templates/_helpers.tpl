{{/* Named templates, as the real chart keeps them: helm renders no file that starts with "_". */}}
{{- define "robusta.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "robusta.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The runner's active_playbooks.yaml. */}}
{{- define "robusta.configfile" -}}
{{- $disabled := .Values.disabledPlaybooks -}}
{{- $playbooks := list -}}
{{- range (concat .Values.priorityBuiltinPlaybooks .Values.customPlaybooks) }}{{ $playbooks = append $playbooks . }}{{ end -}}
{{- range $name, $pb := .Values.namedCustomPlaybooks }}{{ $playbooks = append $playbooks $pb }}{{ end -}}
{{- range .Values.builtinPlaybooks }}{{ if not (has (.name | default "") $disabled) }}{{ $playbooks = append $playbooks . }}{{ end }}{{ end -}}
{{- if .Values.enablePlatformPlaybooks }}{{ $playbooks = concat $playbooks .Values.platformPlaybooks }}{{ end -}}
playbook_repos:
{{ toYaml .Values.playbookRepos | indent 2 }}
sinks_config:
{{ toYaml .Values.sinksConfig | indent 2 }}
global_config:
{{ tpl (toYaml .Values.globalConfig) . | indent 2 }}
{{- if .Values.clusterZone }}
  cluster_zone: {{ .Values.clusterZone }}
{{- end }}
active_playbooks:
{{ toYaml $playbooks | indent 2 }}
{{- end }}
