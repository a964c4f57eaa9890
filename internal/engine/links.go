package engine

// Link types, as Robusta's LinkType names them.
const (
	LinkVideo           = "video"
	LinkPrometheusGraph = "prometheus_generator_url"
)

// Link is a named URL attached to a finding (Robusta's Link: sinks show it as a
// button or a link beside the finding, not inside an enrichment).
type Link struct {
	URL  string `json:"url"`
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// AddLink attaches a link to the finding.
func (f *Finding) AddLink(l Link) { f.Links = append(f.Links, l) }
