package sinks

import (
	"strings"
	"testing"
)

func TestChannelFor(t *testing.T) {
	labels := map[string]string{"team": "payments", "app.kubernetes.io/name": "api", "slack-channel": "ops"}
	annotations := map[string]string{"example.com/channel": "alerts-db", "owner": "sre"}
	for _, c := range []struct{ override, want string }{
		{"", "#default"},
		{"$cluster_name", "kind-1"},
		{"${cluster_name}-alerts", "kind-1-alerts"},
		{"cluster_name", "kind-1"}, // the runner's substitution takes the bare name too
		{"$labels.team", "payments"},
		{"${labels.team}", "payments"},
		{"team-$labels.team-$cluster_name", "team-payments-kind-1"},
		{"${labels.app.kubernetes.io/name}", "api"}, // key normalised: dots and slash
		{"$labels.slack_channel", "ops"},            // a dash in the key reads as _
		{"$annotations.owner", "sre"},
		{"${annotations.example.com/channel}", "alerts-db"},
		{"$labels.slack-channel", "#default"}, // unbraced, a dash ends the key: "slack" is missing
		{"$labels.missing", "#default"},
		{"alerts-${labels.missing}", "#default"},
		{"$labels.team-$annotations.missing", "#default"},
	} {
		if got := ChannelFor(c.override, "#default", "kind-1", labels, annotations); got != c.want {
			t.Errorf("ChannelFor(%q) = %q, want %q", c.override, got, c.want)
		}
	}
	// No labels at all: a label placeholder falls back.
	if got := ChannelFor("$labels.team", "#d", "c", nil, nil); got != "#d" {
		t.Errorf("nil labels: %q", got)
	}
}

func TestValidateChannelOverride(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"", "", ""},
		{"labels.team", "$labels.team", ""},
		{"annotations.slack", "$annotations.slack", ""},
		{"cluster_name", "$cluster_name", ""},
		{"alerts-$labels.team", "alerts-$labels.team", ""},
		{"${annotations.x}", "${annotations.x}", ""},
		{"#alerts-${cluster_name}", "#alerts-${cluster_name}", ""},
		{"#alerts", "", `channel_override "#alerts" names no value`},
		{"team", "", "use cluster_name, labels.KEY or annotations.KEY"},
		{"$team", "", "names no value"},
	} {
		got, err := ValidateChannelOverride(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%q: err = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestWebhookFor(t *testing.T) {
	env := func(k string) string {
		if k == "TEAM_HOOK" {
			return "https://env.example/hook"
		}
		return ""
	}
	ann := map[string]string{"hook": "https://teams.example/h/1", "name": "TEAM_HOOK", "bad": "not a url", "tenant": "acme"}
	for _, c := range []struct{ override, want string }{
		{"", "https://default/x"},
		{"$annotations.hook", "https://teams.example/h/1"},
		{"https://${annotations.tenant}.webhook.office.com/x", "https://acme.webhook.office.com/x"},
		// Unbraced, the key runs on through the dots, as in the runner: missing.
		{"https://$annotations.tenant.webhook.office.com/x", "https://default/x"},
		{"$annotations.name", "https://env.example/hook"},
		{"$annotations.bad", "https://default/x"},
		{"$annotations.missing", "https://default/x"},
	} {
		if got := WebhookFor(c.override, "https://default/x", ann, env); got != c.want {
			t.Errorf("WebhookFor(%q) = %q, want %q", c.override, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{{"annotations.hook", "$annotations.hook"}, {"x-${annotations.a}", "x-${annotations.a}"}, {"labels.team", ""}, {"$cluster_name", ""}} {
		got, err := ValidateWebhookOverride(c.in)
		if (c.want == "") != (err != nil) || got != c.want {
			t.Errorf("ValidateWebhookOverride(%q) = %q, %v", c.in, got, err)
		}
	}
}
