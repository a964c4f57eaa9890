package config

import (
	"encoding/json"
	"io"
	"path/filepath"
	"sort"
	"strings"
)

// ruleHelp says what each rule checks, for SARIF's rule list.
var ruleHelp = map[string]string{
	RuleSyntax:          "The file is not valid YAML.",
	RuleDuplicateKey:    "A key is written twice in one mapping; YAML keeps the last one.",
	RuleEmpty:           "The file has no content.",
	RuleExtraDocument:   "A second YAML document, which Helm ignores and the runner refuses.",
	RuleShape:           "A value has the wrong shape for its place in the configuration.",
	RuleUnknownKey:      "A key the chart or the runner does not read.",
	RuleTriggerCount:    "A trigger item must hold exactly one trigger.",
	RuleUnknownTrigger:  "A trigger key Robusta does not have.",
	RuleTriggerParam:    "A trigger parameter the runner refuses when it loads the configuration.",
	RuleChangeFilters:   "change_filters on a trigger that does not take it.",
	RuleSchedule:        "An on_schedule trigger or scheduled playbook the runner refuses.",
	RuleCron:            "A cron expression croniter cannot read.",
	RuleScope:           "A scope block the runner refuses or that never matches.",
	RuleRegex:           "A regular expression that fails, or works only in Python.",
	RuleUnknownAction:   "An action Robusta does not have (it may come from a playbook repository).",
	RuleEventMismatch:   "An action whose event class the playbook's triggers do not give.",
	RuleActionParams:    "Action parameters the runner cannot load.",
	RuleParamType:       "An action parameter of the wrong type or value: the action fails when it runs.",
	RuleParamMissing:    "A required parameter left out.",
	RuleParamUnknown:    "A parameter the action or trigger does not have.",
	RuleEnvRef:          "A value read from the runner's environment.",
	RuleDeprecated:      "A deprecated action or parameter.",
	RuleSinkUndefined:   "A playbook names a sink sinksConfig does not define.",
	RuleSinkType:        "A sink type Robusta does not have.",
	RuleSinkParam:       "A sink setting of the wrong type.",
	RuleSinkDuplicate:   "Two sinks with one name.",
	RuleHelmNoPlatform:  "A Helm release trigger without the Robusta platform sink that feeds it.",
	RuleUnwatchedKind:   "A trigger for a kind the chart does not watch by default.",
	RuleDuplicateName:   "Two playbooks with one name.",
	RuleDeprecatedValue: "A deprecated chart value.",
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string    `json:"id"`
	ShortDescription sarifText `json:"shortDescription"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// WriteSARIF writes findings as a SARIF 2.1.0 log, the format code-scanning services
// read: one rule per kind of finding, one result per finding at its file, line and
// column.
func WriteSARIF(w io.Writer, findings []Finding, toolVersion string) error {
	ids := map[string]bool{}
	for _, f := range findings {
		ids[f.Rule] = true
	}
	var rules []sarifRule
	for id := range ids {
		rules = append(rules, sarifRule{ID: id, ShortDescription: sarifText{Text: ruleText(id)}})
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	index := map[string]int{}
	for i, r := range rules {
		index[r.ID] = i
	}
	results := make([]sarifResult, 0, len(findings))
	for _, f := range findings {
		msg := f.Message
		if f.Path != "" {
			msg += " (" + f.Path + ")"
		}
		loc := sarifPhysical{ArtifactLocation: sarifArtifact{URI: artifactURI(f.File)}}
		if f.Line > 0 {
			loc.Region = &sarifRegion{StartLine: f.Line, StartColumn: f.Column}
		}
		results = append(results, sarifResult{RuleID: f.Rule, RuleIndex: index[f.Rule], Level: sarifLevel(f.Severity),
			Message: sarifText{Text: msg}, Locations: []sarifLocation{{PhysicalLocation: loc}}})
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:    sarifTool{Driver: sarifDriver{Name: "robusta playbooks validate", Version: toolVersion, InformationURI: "https://github.com/robusta-dev/robusta", Rules: rules}},
			Results: results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

func ruleText(id string) string {
	if t, ok := ruleHelp[id]; ok {
		return t
	}
	return id
}

func sarifLevel(sev string) string {
	switch sev {
	case SevError:
		return "error"
	case SevWarning:
		return "warning"
	}
	return "note"
}

// artifactURI is the file as a relative URI with forward slashes (what code scanning
// matches against the repository), or a file: URI for an absolute path.
func artifactURI(name string) string {
	p := filepath.ToSlash(name)
	if filepath.IsAbs(name) {
		return "file://" + p
	}
	return strings.TrimPrefix(p, "./")
}
