package runner

import (
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// terminalKey is the always-on sinks' (the terminal's) place among an event's
// findings: it takes part in every playbook, whatever sinks the playbook names, and
// no sink's scope or stop applies to it.
const terminalKey = "\x00terminal"

// eventFindings are the findings one event's playbooks made, kept per sink as the
// runner keeps them (ExecutionBaseEvent.sink_findings): shared by every playbook that
// fires on the event and sent only when the last one has run. A sink's list starts
// with its active finding, the one later enrichments go to.
type eventFindings struct {
	// order is the order the event's playbooks first named the sinks in: the runner's
	// dict order, which its finding handler walks.
	order  []string
	bySink map[string][]*engine.Finding
}

func newEventFindings() *eventFindings {
	return &eventFindings{bySink: map[string][]*engine.Finding{}}
}

// touch puts the sinks in the order; the runner's every operation names all of the
// playbook's sinks, even those whose list stays empty.
func (ef *eventFindings) touch(keys []string) {
	for _, k := range keys {
		if _, ok := ef.bySink[k]; !ok {
			ef.bySink[k] = nil
			ef.order = append(ef.order, k)
		}
	}
}

// active is the first active finding among the sinks, nil when none has one.
func (ef *eventFindings) active(keys []string) *engine.Finding {
	for _, k := range keys {
		if l := ef.bySink[k]; len(l) > 0 {
			return l[0]
		}
	}
	return nil
}

// addFinding is the runner's add_finding: the new finding becomes every sink's active
// one, a copy per sink, the findings before it staying in the list behind it.
func (ef *eventFindings) addFinding(keys []string, f *engine.Finding) {
	ef.touch(keys)
	for _, k := range keys {
		ef.bySink[k] = append([]*engine.Finding{cloneFinding(f)}, ef.bySink[k]...)
	}
}

// addEnrichment is the runner's add_enrichment and add_link: a sink without a finding
// gets the event's default one first, then every sink's active finding takes the
// blocks and links.
func (ef *eventFindings) addEnrichment(keys []string, def func() *engine.Finding, enr []engine.Enrichment, links []engine.Link) {
	ef.touch(keys)
	for _, k := range keys {
		if len(ef.bySink[k]) == 0 {
			ef.bySink[k] = []*engine.Finding{def()}
		}
		f := ef.bySink[k][0]
		f.Enrichments = append(f.Enrichments, enr...)
		f.Links = append(f.Links, links...)
	}
}

// overrides are the attribute changes an overriding action made; empty fields are
// left alone, as the runner skips falsy overrides.
type overrides struct {
	title, description, key string
	severity                engine.Severity
	// extend is text appended to the description (the runner's extend_description).
	extend string
	labels map[string]string
}

func (o overrides) empty() bool {
	return o.title == "" && o.description == "" && o.key == "" && o.severity == "" && o.extend == "" && len(o.labels) == 0
}

// override is the runner's override_finding_attributes, extend_description and
// inject_finding_labels: every finding of the sinks, not only the active one, so
// findings earlier playbooks made on the event change too.
func (ef *eventFindings) override(keys []string, o overrides) {
	ef.touch(keys)
	for _, k := range keys {
		for _, f := range ef.bySink[k] {
			if o.title != "" {
				f.Title = o.title
			}
			if o.description != "" {
				f.Description = o.description
			}
			if o.severity != "" {
				f.Severity = o.severity
			}
			if o.key != "" {
				f.AggregationKey = o.key
			}
			if o.extend != "" {
				if f.Description == "" {
					f.Description = o.extend
				} else {
					f.Description += "\n\n" + o.extend
				}
			}
			if len(o.labels) > 0 {
				labels := make(map[string]string, len(f.Subject.Labels)+len(o.labels))
				for k, v := range f.Subject.Labels {
					labels[k] = v
				}
				for k, v := range o.labels {
					labels[k] = v
				}
				f.Subject.Labels = labels
			}
		}
	}
}

// cloneFinding copies what the per-sink operations change: the runner's findings are
// distinct objects per sink, so an override or enrichment for one sink's list does
// not reach another's.
func cloneFinding(f *engine.Finding) *engine.Finding {
	c := *f
	c.Enrichments = append([]engine.Enrichment(nil), f.Enrichments...)
	c.Links = append([]engine.Link(nil), f.Links...)
	if f.Subject.Labels != nil {
		c.Subject.Labels = make(map[string]string, len(f.Subject.Labels))
		for k, v := range f.Subject.Labels {
			c.Subject.Labels[k] = v
		}
	}
	return &c
}

// overridingActions change the findings that exist (the runner's
// override_finding_attributes, extend_description, inject_finding_labels) instead of
// making one; every other action that sets a finding attribute makes a new finding,
// as only add_finding sets them in the runner.
var overridingActions = map[string]bool{
	"customise_finding":             true,
	"prometheus_sla_enricher":       true,
	"cpu_overcommited_enricher":     true,
	"memory_overcommited_enricher":  true,
	"target_down_dns_enricher":      true,
	"statefulset_replicas_enricher": true,
	"report_pod_issue":              true,
}

// stepMark is what a finding held before an action ran, to tell what the action did.
type stepMark struct {
	title, description, key string
	severity                engine.Severity
	enrichments, links      int
	labels                  map[string]string
}

func markOf(f *engine.Finding) stepMark {
	return stepMark{title: f.Title, description: f.Description, key: f.AggregationKey, severity: f.Severity,
		enrichments: len(f.Enrichments), links: len(f.Links), labels: f.Subject.Labels}
}

// record turns what one action did to the playbook's working finding into the
// runner's operations on the event's findings: a new finding (add_finding), blocks
// for the active findings (add_enrichment), or changes to the existing ones.
func (ef *eventFindings) record(keys []string, action string, m stepMark, f *engine.Finding, def func() *engine.Finding) {
	enr := f.Enrichments[m.enrichments:]
	links := f.Links[m.links:]
	changed := f.Title != m.title || f.Description != m.description || f.AggregationKey != m.key || f.Severity != m.severity
	if action == "create_finding" || (changed && !overridingActions[action]) {
		nf := cloneFinding(f)
		nf.Enrichments = append([]engine.Enrichment(nil), enr...)
		nf.Links = append([]engine.Link(nil), links...)
		ef.addFinding(keys, nf)
		return
	}
	if len(enr) > 0 || len(links) > 0 {
		ef.addEnrichment(keys, def, enr, links)
	}
	var o overrides
	if f.Title != m.title {
		o.title = f.Title
	}
	if f.Severity != m.severity {
		o.severity = f.Severity
	}
	if f.AggregationKey != m.key {
		o.key = f.AggregationKey
	}
	if f.Description != m.description {
		// An appended description extends every finding's own.
		if rest, ok := strings.CutPrefix(f.Description, m.description); ok && m.description != "" {
			o.extend = strings.TrimLeft(rest, "\n")
		} else if m.description == "" && action == "report_pod_issue" {
			o.extend = f.Description
		} else {
			o.description = f.Description
		}
	}
	for k, v := range f.Subject.Labels {
		if old, ok := m.labels[k]; !ok || old != v {
			if o.labels == nil {
				o.labels = map[string]string{}
			}
			o.labels[k] = v
		}
	}
	if !o.empty() {
		ef.override(keys, o)
	}
}

// setWorkloads gives each finding its owner workload, guessed from the workloads seen
// so far (the runner's Finding takes its service when it is made, from the same cache).
func (ef *eventFindings) setWorkloads(w *engine.Workloads) {
	for _, fs := range ef.bySink {
		for _, f := range fs {
			if f.Workload == nil {
				f.Workload = w.Guess(f.Subject.Name, f.Subject.Namespace)
			}
		}
	}
}
