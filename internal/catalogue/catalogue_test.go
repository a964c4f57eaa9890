package catalogue

import "testing"

// The counts are the ones verified against the source at RobustaCommit
// (ROBUSTA-CATALOGUE.md §1, §2 and the sinksConfig wrappers): a change means upstream moved.
func TestCounts(t *testing.T) {
	for _, tc := range []struct {
		what      string
		got, want int
	}{
		{"actions", len(Actions()), 155},
		{"triggers", len(Triggers()), 100},
		{"sinks", len(Sinks()), 24},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, tc.got, tc.want)
		}
	}
}
