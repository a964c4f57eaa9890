package triggers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// Relabel is one entry of the runner's alertRelabel config (alert_relabel in the
// runner's values): copy label Source to Target; operation replace also drops Source.
type Relabel struct {
	Source    string `json:"source" yaml:"source"`
	Target    string `json:"target" yaml:"target"`
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"` // add (default) or replace
}

// ValidateRelabels checks a relabel config before use.
func ValidateRelabels(rs []Relabel) error {
	for i, r := range rs {
		if r.Source == "" || r.Target == "" {
			return fmt.Errorf("alert relabel %d: source and target are required", i)
		}
		switch r.Operation {
		case "", "add", "replace":
		default:
			return fmt.Errorf("alert relabel %d: operation %q: allowed are add, replace", i, r.Operation)
		}
	}
	return nil
}

// ApplyRelabels relabels a in place, in config order, as the runner does before
// matching: only a label that is present and not empty is copied.
func ApplyRelabels(a *engine.Alert, rs []Relabel) {
	for _, r := range rs {
		v := a.Labels[r.Source]
		if v == "" {
			continue
		}
		a.Labels[r.Target] = v
		if r.Operation == "replace" {
			delete(a.Labels, r.Source)
		}
	}
}

// MaxWebhookBytes bounds an Alertmanager webhook body. Alertmanager sends at most
// max_alerts per group (no limit by default); a few thousand alerts fit easily.
const MaxWebhookBytes = 8 << 20

// WebhookAlert is one alert of a webhook as received, with the fields the runner's
// duplicate check uses besides those of engine.Alert.
type WebhookAlert struct {
	engine.Alert
	EndsAt string
}

// DedupKey identifies one state of one alert: fingerprint, status, start and end. The
// runner drops an alert whose key it processed recently (Alertmanager resends a group
// on every repeat_interval).
func (w *WebhookAlert) DedupKey() string {
	return strings.Join([]string{w.Fingerprint, w.Status, w.StartsAt, w.EndsAt}, "\x00")
}

type webhookBody struct {
	Alerts []struct {
		Status       string         `json:"status"`
		Labels       map[string]any `json:"labels"`
		Annotations  map[string]any `json:"annotations"`
		StartsAt     string         `json:"startsAt"`
		EndsAt       string         `json:"endsAt"`
		GeneratorURL string         `json:"generatorURL"`
		Fingerprint  string         `json:"fingerprint"`
	} `json:"alerts"`
}

// ParseWebhook reads an Alertmanager webhook payload (version 4) of at most
// MaxWebhookBytes. Label and annotation values that are not strings are kept as
// their JSON text, since the runner accepts any value.
func ParseWebhook(r io.Reader) ([]*WebhookAlert, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxWebhookBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the webhook: %w", err)
	}
	if len(data) > MaxWebhookBytes {
		return nil, fmt.Errorf("the webhook body is larger than %d bytes: lower max_alerts in Alertmanager's webhook config", MaxWebhookBytes)
	}
	var body webhookBody
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("the webhook body is not an Alertmanager payload: %v", err)
	}
	if body.Alerts == nil {
		return nil, errors.New(`the webhook body has no "alerts" list: send Alertmanager's webhook payload`)
	}
	out := make([]*WebhookAlert, 0, len(body.Alerts))
	for i, a := range body.Alerts {
		if a.Status == "" {
			return nil, fmt.Errorf("alert %d has no status", i)
		}
		if a.Labels["alertname"] == nil {
			return nil, fmt.Errorf("alert %d has no alertname label", i)
		}
		out = append(out, &WebhookAlert{
			Alert: engine.Alert{
				Status:       a.Status,
				Labels:       webhookStrings(a.Labels),
				Annotations:  webhookStrings(a.Annotations),
				StartsAt:     a.StartsAt,
				Fingerprint:  a.Fingerprint,
				GeneratorURL: a.GeneratorURL,
			},
			EndsAt: a.EndsAt,
		})
	}
	return out, nil
}

func webhookStrings(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, val := range m {
		switch v := val.(type) {
		case string:
			out[k] = v
		case nil:
			out[k] = ""
		default:
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out
}
