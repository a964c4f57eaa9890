package backend

import (
	"regexp"
	"strconv"
)

var numberSuffix = regexp.MustCompile(`-(\d+)$`)

// AlternativeName proposes another account name when one is taken: name-1, or the
// number after the last dash plus one (acme-3 becomes acme-4), as the Python CLI does.
func AlternativeName(name string) string {
	m := numberSuffix.FindStringSubmatchIndex(name)
	if m == nil {
		return name + "-1"
	}
	n, err := strconv.Atoi(name[m[2]:m[3]])
	if err != nil {
		return name + "-1"
	}
	return name[:m[0]] + "-" + strconv.Itoa(n+1)
}
