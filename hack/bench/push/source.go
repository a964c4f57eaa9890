package main

import (
	"fmt"
	"math/rand"
	"strings"
)

// Source text that compresses like real Python: per file a small set of identifiers used
// again and again, keywords, indentation, imports, docstrings and comments in English
// words, string literals and numbers. Calibrated against CPython's standard library
// (gzip -1 shrinks it 4.5x; see docs/PERFORMANCE.md for what this gives).

var words = strings.Fields(`the a of to and in is for that on with as by this be it
from are at or not an value name list pod node event alert action playbook runner config
return if else when then each all any new old first last number count time retry error
warning result data file path key item object default should must will can may need
request response message status state update create delete check send find get set
build parse load write read open close start stop wait timeout limit size total index
container namespace label annotation resource finding enrichment sink slack channel
deployment service job secret volume cluster metric query rate window`)

var syllables = strings.Fields(`ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu
na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo za ze zi zo
str cl pr tr gr fl pl sp st ch sh th er an in on en ar or ul ex ion ent ate`)

var modules = strings.Fields(`os sys re json time logging typing datetime collections functools
itertools dataclasses pathlib subprocess hashlib base64 uuid enum abc threading`)

type srcGen struct {
	r      *rand.Rand
	b      strings.Builder
	ids    []string
	types  []string
	idioms []string // statements a file repeats, as real code does
}

func (g *srcGen) word() string { return words[g.r.Intn(len(words))] }

func (g *srcGen) newIdent() string {
	var parts []string
	for i := 0; i < 1+g.r.Intn(3); i++ {
		if g.r.Intn(6) == 0 {
			s := ""
			for j := 0; j < 2+g.r.Intn(2); j++ {
				s += syllables[g.r.Intn(len(syllables))]
			}
			parts = append(parts, s)
		} else {
			parts = append(parts, g.word())
		}
	}
	return strings.Join(parts, "_")
}

func (g *srcGen) id() string { return g.ids[g.r.Intn(len(g.ids))] }

func (g *srcGen) typ() string { return g.types[g.r.Intn(len(g.types))] }

func (g *srcGen) sentence(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = g.word()
	}
	return strings.Join(ws, " ")
}

func (g *srcGen) expr(depth int) string {
	switch k := g.r.Intn(9); {
	case k < 3 || depth > 2:
		return g.id()
	case k == 3:
		return fmt.Sprint(g.r.Intn(5000))
	case k == 4:
		return fmt.Sprintf("%q", g.sentence(1+g.r.Intn(4)))
	case k == 5:
		return fmt.Sprintf("self.%s", g.id())
	case k == 6:
		return fmt.Sprintf("%s.get(%q, %s)", g.id(), g.id(), g.expr(depth+1))
	case k == 7:
		return fmt.Sprintf("%s %s %s", g.expr(depth+1), []string{"+", "-", "*", "==", "!=", "and", "or", "in"}[g.r.Intn(8)], g.expr(depth+1))
	default:
		args := make([]string, g.r.Intn(4))
		for i := range args {
			args[i] = g.expr(depth + 1)
			if g.r.Intn(3) == 0 {
				args[i] = g.id() + "=" + args[i]
			}
		}
		return fmt.Sprintf("%s(%s)", g.id(), strings.Join(args, ", "))
	}
}

func (g *srcGen) line(indent int, s string) {
	g.b.WriteString(strings.Repeat("    ", indent))
	g.b.WriteString(s)
	g.b.WriteByte('\n')
}

func (g *srcGen) block(indent, depth int) {
	for n := 2 + g.r.Intn(6); n > 0; n-- {
		switch k := g.r.Intn(13); {
		case g.r.Intn(2) == 0:
			g.line(indent, g.idioms[g.r.Intn(len(g.idioms))])
		case k < 4:
			g.line(indent, fmt.Sprintf("%s = %s", g.id(), g.expr(0)))
		case k == 4:
			g.line(indent, fmt.Sprintf("# %s", g.sentence(3+g.r.Intn(9))))
		case k == 5:
			g.line(indent, fmt.Sprintf("logging.%s(f\"%s {%s}\")", []string{"info", "debug", "warning", "error"}[g.r.Intn(4)], g.sentence(2+g.r.Intn(6)), g.id()))
		case k == 9:
			v := g.id()
			g.line(indent, fmt.Sprintf("if not %s:", v))
			g.line(indent+1, "return None")
		case k == 10:
			g.line(indent, fmt.Sprintf("self.%s = %s", g.id(), g.id()))
		case k == 6 && depth < 3:
			g.line(indent, fmt.Sprintf("if %s:", g.expr(0)))
			g.block(indent+1, depth+1)
			if g.r.Intn(2) == 0 {
				g.line(indent, "else:")
				g.block(indent+1, depth+1)
			}
		case k == 7 && depth < 3:
			g.line(indent, fmt.Sprintf("for %s in %s:", g.id(), g.expr(0)))
			g.block(indent+1, depth+1)
		case k == 8 && depth < 3:
			g.line(indent, "try:")
			g.block(indent+1, depth+1)
			g.line(indent, fmt.Sprintf("except %s as e:", []string{"Exception", "KeyError", "ValueError", "TimeoutError"}[g.r.Intn(4)]))
			g.line(indent+1, fmt.Sprintf("raise %s(%q) from e", g.typ(), g.sentence(4)))
		default:
			g.line(indent, g.expr(0))
		}
	}
	if g.r.Intn(3) == 0 {
		g.line(indent, "return "+g.expr(0))
	}
}

func (g *srcGen) function(indent int, method bool) {
	args := []string{}
	if method {
		args = append(args, "self")
	}
	for i := g.r.Intn(4); i > 0; i-- {
		a := g.id()
		if g.r.Intn(2) == 0 {
			a += ": " + []string{"str", "int", "bool", "dict", "list", "Optional[str]", g.typ()}[g.r.Intn(7)]
		}
		if g.r.Intn(3) == 0 {
			a += " = " + g.expr(2)
		}
		args = append(args, a)
	}
	if g.r.Intn(3) == 0 {
		g.line(indent, "@action")
	}
	g.line(indent, fmt.Sprintf("def %s(%s):", g.id(), strings.Join(args, ", ")))
	g.line(indent+1, fmt.Sprintf(`"""%s."""`, strings.ToUpper(g.sentence(1)[:1])+g.sentence(6 + g.r.Intn(10))[1:]))
	g.block(indent+1, 0)
	g.b.WriteByte('\n')
}

// pythonSource returns about size bytes of Python-like source.
func pythonSource(r *rand.Rand, size int) []byte {
	g := &srcGen{r: r}
	for i := 0; i < 15+r.Intn(15); i++ {
		g.ids = append(g.ids, g.newIdent())
	}
	for i := 0; i < 3+r.Intn(4); i++ {
		w := g.newIdent()
		g.types = append(g.types, strings.ReplaceAll(strings.Title(strings.ReplaceAll(w, "_", " ")), " ", ""))
	}
	for i := 0; i < 8+r.Intn(8); i++ {
		g.idioms = append(g.idioms, fmt.Sprintf("%s = %s", g.id(), g.expr(0)))
	}
	g.line(0, fmt.Sprintf(`"""%s."""`, g.sentence(8)))
	for _, m := range r.Perm(len(modules))[:3+r.Intn(6)] {
		g.line(0, "import "+modules[m])
	}
	g.line(0, "from typing import Any, Dict, List, Optional")
	g.line(0, "from robusta.api import *")
	g.b.WriteByte('\n')
	for g.b.Len() < size {
		if r.Intn(3) == 0 {
			g.line(0, fmt.Sprintf("class %s(%s):", g.typ(), []string{"ActionParams", "BaseModel", "object", g.typ()}[r.Intn(4)]))
			g.line(1, fmt.Sprintf(`"""%s."""`, g.sentence(10)))
			for i := 0; i < 2+r.Intn(4); i++ {
				g.line(1, fmt.Sprintf("%s: %s = %s", g.id(), []string{"str", "int", "bool", "float"}[r.Intn(4)], g.expr(2)))
			}
			g.b.WriteByte('\n')
			// __init__ assigns its arguments, as real classes do.
			args := []string{"self"}
			for _, i := range r.Perm(len(g.ids))[:2+r.Intn(5)] {
				args = append(args, g.ids[i])
			}
			g.line(1, fmt.Sprintf("def __init__(%s):", strings.Join(args, ", ")))
			g.line(2, "super().__init__()")
			for _, a := range args[1:] {
				g.line(2, fmt.Sprintf("self.%s = %s", a, a))
			}
			g.b.WriteByte('\n')
			for i := 0; i < 1+r.Intn(4); i++ {
				g.function(1, true)
			}
		} else {
			g.function(0, false)
		}
	}
	return []byte(g.b.String())
}
