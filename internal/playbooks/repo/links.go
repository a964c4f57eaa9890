package repo

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// A tree is what symlink resolution sees: the entries of a package or of an archive
// being extracted, by slash path relative to the top folder. Checking a link's target
// by its text alone is not enough: in `l -> d/e/f/m/../../..` the ".." after the link m
// climbs from where m points, not from d/e/f, so a chain of links that each look
// harmless can point outside. Resolving through the tree, as the kernel would, cannot
// be fooled that way.
type tree map[string]treeNode

type nodeKind int

const (
	kindDir nodeKind = iota + 1
	kindFile
	kindLink
)

type treeNode struct {
	kind   nodeKind
	target string // for links: the target as written
}

// maxLinkHops mirrors the kernel's limit on links followed in one lookup (40 on Linux).
const maxLinkHops = 40

// resolveLink follows the link at at (slash path relative to the top folder, which
// errors call top) with target through t and returns where it lands, relative to the
// top folder. It fails when
// any step leaves the top folder, when the target is absolute, when it lands on the top
// folder itself (whose ".." is outside), and on loops.
//
// Entries not in t may appear later (archives are read in order) as anything, even a
// link; a name that goes down stays inside whatever it becomes, because every link is
// checked to stay inside, but ".." after it could climb from anywhere. So once a missing
// entry is met, the rest of the path may not contain "..".
func resolveLink(t tree, at, target, top string) (string, error) {
	if target == "" {
		return "", fmt.Errorf("has an empty target")
	}
	if isAbsTarget(target) {
		return "", fmt.Errorf("points to an absolute path")
	}
	var cur []string
	if dir := path.Dir(at); dir != "." {
		cur = strings.Split(dir, "/")
	}
	pending := splitTarget(target)
	hops := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "", fmt.Errorf("points outside %s", top)
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := strings.Join(append(cur[:len(cur):len(cur)], c), "/")
		n, ok := t[next]
		switch {
		case !ok:
			for _, rest := range pending {
				if rest == ".." {
					return "", fmt.Errorf("goes through %s, which is not there, and then up with ..", next)
				}
			}
			for _, rest := range pending {
				if rest != "" && rest != "." {
					next += "/" + rest
				}
			}
			return next, nil
		case n.kind == kindLink:
			hops++
			if hops > maxLinkHops {
				return "", fmt.Errorf("goes through more than %d links (a loop?)", maxLinkHops)
			}
			if isAbsTarget(n.target) {
				return "", fmt.Errorf("goes through the link %s, which points to an absolute path", next)
			}
			// The link's target is read from the link's folder, which is cur.
			pending = append(splitTarget(n.target), pending...)
		default:
			// A folder, or a file: below a file nothing is there, which the missing
			// case above handles on the next step.
			cur = append(cur, c)
		}
	}
	if len(cur) == 0 {
		return "", fmt.Errorf("points at %s itself", top)
	}
	return strings.Join(cur, "/"), nil
}

func isAbsTarget(target string) bool {
	return strings.HasPrefix(target, "/") || strings.HasPrefix(target, `\`) || filepath.IsAbs(target) || filepath.VolumeName(target) != ""
}

func splitTarget(target string) []string {
	return strings.Split(filepath.ToSlash(target), "/")
}
