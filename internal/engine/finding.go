// Package engine is the local-mode engine: Robusta's events, actions and findings in
// Go, run against the current kubeconfig.
package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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
}

// Block is one piece of an enrichment. Type is markdown, divider, header, list, table,
// kubernetes_fields, diffs, json, file or callback.
type Block struct {
	Type    string     `json:"type"`
	Text    string     `json:"text,omitempty"`
	Items   []string   `json:"items,omitempty"`
	Headers []string   `json:"headers,omitempty"`
	Rows    [][]string `json:"rows,omitempty"`
	Name    string     `json:"name,omitempty"`
	Data    []byte     `json:"data,omitempty"`
}

// Markdown, Header, List, Table and File build blocks.
func Markdown(text string) Block { return Block{Type: "markdown", Text: text} }

// Header is a header block.
func Header(text string) Block { return Block{Type: "header", Text: text} }

// List is a list block.
func List(items ...string) Block { return Block{Type: "list", Items: items} }

// Table is a table block.
func Table(name string, headers []string, rows [][]string) Block {
	return Block{Type: "table", Name: name, Headers: headers, Rows: rows}
}

// File is a file block.
func File(name string, data []byte) Block { return Block{Type: "file", Name: name, Data: data} }

// Enrichment is a titled group of blocks.
type Enrichment struct {
	Title  string  `json:"title,omitempty"`
	Blocks []Block `json:"blocks"`
}

// Finding is what actions produce.
type Finding struct {
	Title          string       `json:"title"`
	Description    string       `json:"description,omitempty"`
	Severity       Severity     `json:"severity"`
	AggregationKey string       `json:"aggregation_key,omitempty"`
	Source         string       `json:"source"`
	Subject        Subject      `json:"subject"`
	Fingerprint    string       `json:"fingerprint"`
	Enrichments    []Enrichment `json:"enrichments"`
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
