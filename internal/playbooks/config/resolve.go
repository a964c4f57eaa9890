package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// maxExpanded bounds the nodes aliases may add to a document: far above any real values
// file, far below what an alias bomb (nine aliases of nine aliases ...) needs. The
// document's own nodes come on top, so a large file without many aliases is not refused.
const maxExpanded = 1 << 20

type resolver struct {
	file   string
	budget int
	active map[*yaml.Node]bool // anchors being expanded, to refuse an alias of itself
}

// resolve returns a copy of the tree with aliases expanded and merge keys (<<) merged,
// as Helm's parser (sigs.k8s.io/yaml over yaml.v2/v3) reads the file: explicit keys win
// over merged ones, and of several merged mappings the earlier wins. Every node of the
// copy keeps the line of the text it comes from: an alias expands to the anchored
// nodes (where the content is written), a merged mapping keeps its own line.
func resolve(file string, n *yaml.Node, nodes int) (*yaml.Node, error) {
	r := &resolver{file: file, budget: maxExpanded + nodes, active: map[*yaml.Node]bool{}}
	return r.node(n)
}

func (r *resolver) errorf(n *yaml.Node, format string, a ...any) error {
	return &ParseError{File: r.file, Line: n.Line, Column: n.Column, Msg: fmt.Sprintf(format, a...)}
}

func (r *resolver) node(n *yaml.Node) (*yaml.Node, error) {
	if r.budget--; r.budget < 0 {
		return nil, r.errorf(n, "aliases expand the file to more than %d nodes: refusing it (an alias bomb?)", maxExpanded)
	}
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if target == nil {
			return nil, r.errorf(n, "unknown anchor %q", n.Value)
		}
		if r.active[target] {
			return nil, r.errorf(n, "alias *%s refers to a node that contains it", n.Value)
		}
		r.active[target] = true
		defer delete(r.active, target)
		return r.node(target)
	}
	out := *n
	out.Anchor = "" // the copy is expanded; a repeated anchor would not re-encode
	out.Alias = nil
	out.Content = nil
	switch n.Kind {
	case yaml.MappingNode:
		return r.mapping(n, &out)
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			rc, err := r.node(c)
			if err != nil {
				return nil, err
			}
			out.Content = append(out.Content, rc)
		}
	}
	return &out, nil
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Tag == "!!merge" // a quoted "<<" is a plain key
}

func (r *resolver) mapping(n, out *yaml.Node) (*yaml.Node, error) {
	explicit := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !isMergeKey(k) && k.Kind == yaml.ScalarNode {
			explicit[k.Value] = true
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMergeKey(k) {
			rk, err := r.node(k)
			if err != nil {
				return nil, err
			}
			rv, err := r.node(v)
			if err != nil {
				return nil, err
			}
			out.Content = append(out.Content, rk, rv)
			seen[k.Value] = true
			continue
		}
		// The merged mappings' keys go where << stood, unless the mapping has them.
		rv, err := r.node(v)
		if err != nil {
			return nil, err
		}
		sources := []*yaml.Node{rv}
		if rv.Kind == yaml.SequenceNode {
			sources = rv.Content
		}
		for _, src := range sources {
			if src.Kind != yaml.MappingNode {
				return nil, r.errorf(v, "a merge key (<<) takes a mapping or a list of mappings")
			}
			for j := 0; j+1 < len(src.Content); j += 2 {
				mk := src.Content[j]
				if explicit[mk.Value] || seen[mk.Value] {
					continue
				}
				seen[mk.Value] = true
				out.Content = append(out.Content, mk, src.Content[j+1])
			}
		}
	}
	return out, nil
}
