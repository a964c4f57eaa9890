// Package engine is the local-mode engine: Robusta's events, actions and findings in
// Go, run against the current kubeconfig.
package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/graph"
)

// Severity of a finding.
type Severity string

const (
	High   Severity = "HIGH"
	Medium Severity = "MEDIUM"
	Low    Severity = "LOW"
	Info   Severity = "INFO"
	Debug  Severity = "DEBUG"
)

// Subject is what a finding is about.
type Subject struct {
	Kind      string            `json:"kind,omitempty"`
	Name      string            `json:"name,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Node      string            `json:"node,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Annotations are the object's, and an alert's own on top, as the runner's subject.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Block types, as Robusta names them.
const (
	BlockMarkdown         = "markdown"
	BlockDivider          = "divider"
	BlockHeader           = "header"
	BlockList             = "list"
	BlockTable            = "table"
	BlockKubernetesFields = "kubernetes_fields"
	BlockDiffs            = "diffs"
	BlockJSON             = "json"
	BlockFile             = "file"
	BlockCallback         = "callback"
	// BlockGraph is a time-series chart (Robusta's GraphBlock): the series as data,
	// drawn to SVG/PNG or in the terminal when rendered.
	BlockGraph = "graph"
)

// Block is one piece of an enrichment. Which fields are set depends on Type: text for
// markdown, header and json; items for list; headers and rows for table,
// kubernetes_fields (field, value) and diffs (path, old, new); name and data for file
// (and text: the remarks of an empty one, see EmptyFile);
// name (the button) and text (the action it runs) for callback.
type Block struct {
	Type    string     `json:"type"`
	Text    string     `json:"text,omitempty"`
	Items   []string   `json:"items,omitempty"`
	Headers []string   `json:"headers,omitempty"`
	Rows    [][]string `json:"rows,omitempty"`
	Name    string     `json:"name,omitempty"`
	Data    []byte     `json:"data,omitempty"`
	// Truncated says how many rows or bytes were left out of the block.
	Truncated int `json:"truncated,omitempty"`
	// Graph is the chart of a graph block.
	Graph *graph.Chart `json:"graph,omitempty"`
}

// Markdown is a markdown block.
func Markdown(text string) Block { return Block{Type: BlockMarkdown, Text: text} }

// Divider is a horizontal rule.
func Divider() Block { return Block{Type: BlockDivider} }

// Header is a header block.
func Header(text string) Block { return Block{Type: BlockHeader, Text: text} }

// List is a list block.
func List(items ...string) Block { return Block{Type: BlockList, Items: items} }

// Table is a table block.
func Table(name string, headers []string, rows [][]string) Block {
	return Block{Type: BlockTable, Name: name, Headers: headers, Rows: rows}
}

// KubernetesFields is a two-column block of an object's fields and their values.
func KubernetesFields(rows [][]string) Block {
	return Block{Type: BlockKubernetesFields, Headers: []string{"field", "value"}, Rows: rows}
}

// Diffs is a block of changed paths with their old and new values.
func Diffs(rows [][]string) Block {
	return Block{Type: BlockDiffs, Headers: []string{"path", "old", "new"}, Rows: rows}
}

// JSON is a block holding a JSON document.
func JSON(text string) Block { return Block{Type: BlockJSON, Text: text} }

// File is a file block.
func File(name string, data []byte) Block { return Block{Type: BlockFile, Name: name, Data: data} }

// EmptyFile is Robusta's EmptyFileBlock: a file that could not be had (an empty or
// unavailable log), named as it would have been, with remarks saying why. It is a
// file block with no data and the remarks as its text.
func EmptyFile(name, remarks string) Block { return Block{Type: BlockFile, Name: name, Text: remarks} }

// Callback is a button that runs an action in Robusta's UI; locally it is shown as
// the command that would run it.
func Callback(label, action string) Block {
	return Block{Type: BlockCallback, Name: label, Text: action}
}

// Graph is a graph block of a chart; its name is the chart's title, as the runner
// names its SVG.
func Graph(c *graph.Chart) Block { return Block{Type: BlockGraph, Name: c.Title, Graph: c} }

// Enrichment is a titled group of blocks.
type Enrichment struct {
	Title  string  `json:"title,omitempty"`
	Blocks []Block `json:"blocks"`
}

// FindingType is the runner's finding type (FindingType in core/reporting/consts.py),
// held as its value; the empty type is the runner's default, issue.
type FindingType string

const (
	TypeIssue       FindingType = "issue"
	TypeConfChange  FindingType = "configuration_change"
	TypeHealthCheck FindingType = "health_check"
	TypeReport      FindingType = "report"
	TypeAIAnalysis  FindingType = "ai_analysis"
)

// Value is the type's value ("configuration_change"), the default for the empty type.
func (t FindingType) Value() string {
	if t == "" {
		return string(TypeIssue)
	}
	return string(t)
}

// Name is the enum name the runner's webhook JSON and sink scopes use ("CONF_CHANGE").
func (t FindingType) Name() string {
	if t == TypeConfChange {
		return "CONF_CHANGE"
	}
	return strings.ToUpper(t.Value())
}

// MarshalJSON writes the value, so a finding that never set a type still says
// "issue" as the runner's file sink does.
func (t FindingType) MarshalJSON() ([]byte, error) { return json.Marshal(t.Value()) }

// Finding is what actions produce.
type Finding struct {
	Title          string       `json:"title"`
	Type           FindingType  `json:"finding_type"`
	Description    string       `json:"description,omitempty"`
	Severity       Severity     `json:"severity"`
	AggregationKey string       `json:"aggregation_key,omitempty"`
	Source         string       `json:"source"`
	Subject        Subject      `json:"subject"`
	Fingerprint    string       `json:"fingerprint"`
	Enrichments    []Enrichment `json:"enrichments"`
	Links          []Link       `json:"links,omitempty"`
	// Workload is the top-level workload owning the subject (the runner's
	// finding.service); nil when none is known.
	Workload *Workload `json:"workload,omitempty"`
}

// SetFingerprint derives the fingerprint from aggregation key and subject, as alerts
// of the same kind on the same object group together.
func (f *Finding) SetFingerprint() {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%s", f.AggregationKey, f.Subject.Kind, f.Subject.Namespace, f.Subject.Name)))
	f.Fingerprint = hex.EncodeToString(h[:8])
}

// AddEnrichment appends blocks under an optional title.
func (f *Finding) AddEnrichment(title string, blocks ...Block) {
	f.Enrichments = append(f.Enrichments, Enrichment{Title: title, Blocks: blocks})
}
