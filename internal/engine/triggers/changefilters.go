package triggers

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

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

func (cf *changeFilters) pass(e *engine.Event) bool {
	if e.Operation != "update" || e.Old == nil {
		return true
	}
	return len(cf.Diffs(e)) > 0
}

// Diffs are the paths (Kind.spec.x[0].y, as the runner formats them) that differ
// between the event's versions after the ignore paths are removed, kept when they
// contain an include string.
func (cf *changeFilters) Diffs(e *engine.Event) []string {
	obj := runtime.DeepCopyJSON(e.Obj.Object)
	old := runtime.DeepCopyJSON(e.Old.Object)
	for _, p := range cf.ignore {
		clearPath(obj, p)
		clearPath(old, p)
	}
	var paths []string
	diffPaths(e.Kind, old, obj, &paths)
	sort.Strings(paths)
	if len(cf.include) == 0 {
		return paths
	}
	var kept []string
	for _, p := range paths {
		for _, inc := range cf.include {
			if strings.Contains(p, inc) {
				kept = append(kept, p)
				break
			}
		}
	}
	return kept
}

// clearPath sets a dot path (numeric parts index lists) to nothing; a path that does
// not exist is skipped, as the runner's duplicate_without_fields does.
func clearPath(obj map[string]any, path string) {
	parts := strings.Split(path, ".")
	var cur any = obj
	for i, part := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if _, ok := c[part]; !ok {
				return
			}
			if last {
				c[part] = nil
				return
			}
			cur = c[part]
		case []any:
			n, err := strconv.Atoi(part)
			if err != nil || n < 0 || n >= len(c) {
				return
			}
			if last {
				c[n] = nil
				return
			}
			cur = c[n]
		default:
			return
		}
	}
}

// diffPaths lists where a and b differ: map keys as .key, list items as [i], a list
// whose length changed at the list's own path, leaves where their values differ.
func diffPaths(path string, a, b any, out *[]string) {
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
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, path)
	}
}
