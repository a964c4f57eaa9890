package triggers

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// changeFilters is a trigger's change_filters: ignore paths are removed from both
// versions, then an update fires only when some remaining difference's path contains
// an include string (any difference when include is unset). Creates and deletes pass.
type changeFilters struct {
	include, ignore []string
}

// defaultChangeFilters are on_kubernetes_resource_operation's, used when the user
// gives none (a user's change_filters replace them whole).
func defaultChangeFilters() *changeFilters {
	return &changeFilters{include: []string{"spec"},
		ignore: []string{"status", "metadata.generation", "metadata.resourceVersion", "metadata.managedFields", "spec.replicas"}}
}

func compileChangeFilters(raw any) (*changeFilters, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want include and/or ignore lists, got %v", raw)
	}
	cf := &changeFilters{}
	var bad error
	fail := func(v any) { bad = fmt.Errorf("want a list of strings, got %v", v) }
	if v, ok := m["include"]; ok && v != nil {
		cf.include = stringList(v, fail)
	}
	if v, ok := m["ignore"]; ok && v != nil {
		cf.ignore = stringList(v, fail)
	}
	return cf, bad
}

func (cf *changeFilters) pass(in *Incoming) bool {
	e := in.Event
	if e.Operation != "update" || e.Old == nil {
		return true
	}
	return len(cf.diffsOf(in)) > 0
}

// diffEntry is one difference: its path as the runner formats it and both values.
type diffEntry struct {
	path     string
	old, new any
}

// Differ is a trigger that hands its change-filtered differences to the actions.
type Differ interface {
	Diffs(in *Incoming) []engine.Diff
}

// Diffs are the differences an event that passed this trigger carries to its actions:
// the runner's filtered_diffs. Without change_filters the runner passes none, and it
// computes them only for updates.
func (t *kubeTrigger) Diffs(in *Incoming) []engine.Diff {
	e := in.Event
	if t.filters == nil || e == nil || e.Operation != "update" || e.Old == nil {
		return nil
	}
	kept := t.filters.diffsOf(in)
	out := make([]engine.Diff, len(kept))
	for i, d := range kept {
		out[i] = engine.NewDiff(d.path, d.old, d.new)
	}
	return out
}

// EventDiffs are every difference between an update's versions outside ignore
// paths: what a local run of a diff action shows when no trigger filtered them.
func EventDiffs(e *engine.Event, ignore []string) []engine.Diff {
	if e == nil || e.Old == nil || e.Obj == nil {
		return nil
	}
	cf := &changeFilters{ignore: ignore}
	in := &Incoming{Event: e}
	var out []engine.Diff
	for _, d := range cf.diffsOf(in) {
		out = append(out, engine.NewDiff(d.path, d.old, d.new))
	}
	return out
}

// allDiffs are the paths (Kind.spec.x[0].y, as the runner formats them) where the
// event's versions differ, computed once per event.
func allDiffs(in *Incoming) []diffEntry {
	if !in.diffed {
		diffPaths(in.Event.Kind, in.Event.Old.Object, in.Event.Obj.Object, &in.diffs)
		sort.Slice(in.diffs, func(i, j int) bool { return in.diffs[i].path < in.diffs[j].path })
		in.diffed = true
	}
	return in.diffs
}

// diffsOf are the differences left once the ignore paths are removed from both
// versions (a difference at or under an ignored path goes), kept when they contain
// an include string.
func (cf *changeFilters) diffsOf(in *Incoming) []diffEntry {
	var kept []diffEntry
	for _, d := range allDiffs(in) {
		if cf.ignored(in.Event.Kind, d.path) {
			continue
		}
		if len(cf.include) == 0 {
			kept = append(kept, d)
			continue
		}
		for _, inc := range cf.include {
			if strings.Contains(d.path, inc) {
				kept = append(kept, d)
				break
			}
		}
	}
	return kept
}

// ignored says whether a difference's path is at or under an ignore path (dot path,
// numeric parts for list items).
func (cf *changeFilters) ignored(kind, path string) bool {
	for _, ig := range cf.ignore {
		prefix := kind + formatPath(ig)
		if path == prefix || strings.HasPrefix(path, prefix+".") || strings.HasPrefix(path, prefix+"[") {
			return true
		}
	}
	return false
}

// formatPath turns a.b.0.c into .a.b[0].c.
func formatPath(dot string) string {
	var b strings.Builder
	for _, part := range strings.Split(dot, ".") {
		if _, err := strconv.Atoi(part); err == nil {
			b.WriteString("[" + part + "]")
		} else {
			b.WriteString("." + part)
		}
	}
	return b.String()
}

// diffPaths lists where a and b differ: map keys as .key, list items as [i], a list
// whose length changed at the list's own path, leaves where their values differ.
func diffPaths(path string, a, b any, out *[]diffEntry) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			diffPaths(path+"."+k, am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diffPaths(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) && !sameNumber(a, b) {
		*out = append(*out, diffEntry{path: path, old: a, new: b})
	}
}

// sameNumber says two decoded numbers are equal though of different Go types: an
// object read from a file holds float64 where the API's decoder gives int64.
func sameNumber(a, b any) bool {
	x, ok1 := number(a)
	y, ok2 := number(b)
	return ok1 && ok2 && x == y
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
