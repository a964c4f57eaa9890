package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func nodeDump(n *yaml.Node, depth int, b *strings.Builder) {
	fmt.Fprintf(b, "%*s%d %s %q %d:%d %d\n", depth*2, "", n.Kind, n.Tag, n.Value, n.Line, n.Column, n.Style)
	for _, c := range n.Content {
		nodeDump(c, depth+1, b)
	}
}

// fastSame checks fastParse against yaml.v3 on text: when the fast reader reads it,
// the nodes (kind, tag, value, line, column, style) are yaml.v3's.
func fastSame(t *testing.T, name string, text []byte) bool {
	t.Helper()
	n, err := fastParse(text)
	if err != nil {
		return false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		t.Errorf("%s: the fast reader read what yaml.v3 refuses (%v):\n%s", name, err, text)
		return true
	}
	var got, want strings.Builder
	nodeDump(n, 0, &got)
	nodeDump(doc.Content[0], 0, &want)
	if got.String() != want.String() {
		t.Errorf("%s:\n%s\nfast:\n%s\nyaml.v3:\n%s", name, text, got.String(), want.String())
	}
	return true
}

func TestFastParseSameAsYAMLv3(t *testing.T) {
	texts := map[string]string{"sample": sample}
	files, _ := filepath.Glob("testdata/*.yaml")
	docs, _ := filepath.Glob("testdata/docs/*.yaml")
	for _, p := range append(files, docs...) {
		b, _ := os.ReadFile(p)
		texts[p] = string(b)
	}
	for i, c := range streamCases {
		texts[fmt.Sprint("stream case ", i)] = c
	}
	for i, c := range []string{
		"a:\nb: 1\n", "- \n- x\n", "- a:\n  b: {}\n", "k: [a, {b: c}, 'x']\n", "k:   ~\nj: 1e3\nm: 0x1F\nn: yes\no: \"s\"\n",
		"  - name: x\n    t: [1]\n", "a: 'it''s'\nb: \"q\\\"x\\n\"\nc: x # note\nd: 'x # not a note'\n", "a:\n- 1\n- 2\nb: -3\n",
		"a: {x: [1, 2], y: {}}\nb: []\n", "a: b: c\n", "a: [1,\n  2]\n", "a: x\n  y\n", "- - a\n", "a: :b\n", "a: 1:2\n", "a:b\n",
		"'q': 1\n\"r s\": 2\n", "a: [x: 1]\n", "a: {b}\n", "- [a, b]\n- {c: d}\n", "a: 'x\n", "x\n", "a: tru\nb: True\nc: 012\nd: .5\n",
	} {
		texts[fmt.Sprint("case ", i)] = c
	}
	read := 0
	for name, text := range texts {
		if fastSame(t, name, []byte(text)) {
			read++
		}
	}
	// The chart's playbooks, item by item, as the streamed path reads them.
	b, _ := os.ReadFile("testdata/chart-playbooks.yaml")
	secs, _, _ := sections(b)
	items, fast := 0, 0
	for _, s := range secs {
		for _, c := range s.items {
			items++
			if fastSame(t, fmt.Sprintf("%s line %d", s.key, c.line), b[c.start:c.end]) {
				fast++
			}
		}
	}
	if items < 40 || fast < items*3/4 {
		t.Errorf("the fast reader read %d of the chart's %d playbooks", fast, items)
	}
	t.Logf("fast reader: %d of %d texts, %d of %d chart playbooks", read, len(texts), fast, items)
}

func FuzzFastParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("a: [1, {b: 'c'}]\n- x\n"))
	f.Add([]byte("  - name: x\n    t: [1]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fastSame(t, "fuzz", data)
	})
}
