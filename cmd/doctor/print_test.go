package doctor

import (
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/doctor"
)

func TestPrintReport(t *testing.T) {
	ios, _, out, _ := cli.Test()
	rep := &doctor.Report{Context: "kind-dev", Server: "https://127.0.0.1:6443", Runner: "robusta/robusta-runner-1",
		Checks: []doctor.Result{
			{Name: "API server", Status: doctor.Green, Message: "reachable, 12ms round trip"},
			{Name: "RBAC", Status: doctor.Yellow, Message: "1 right of 11 denied; affected: playbooks list", Fix: "ask an admin", Details: []string{"denied: get secrets in robusta, needed by playbooks list"}},
			{Name: "Helm release", Status: doctor.Red, Message: "release robusta revision 2 is pending-upgrade", Fix: "helm rollback robusta 1 -n robusta"},
			{Name: "sinks", Status: doctor.Skipped, Message: "needs the config Secret"},
		},
		Summary: doctor.Summary{Green: 1, Yellow: 1, Red: 1, Skipped: 1}}
	printReport(out, ios.Styles(), rep)
	want := `Context kind-dev, server https://127.0.0.1:6443, runner robusta/robusta-runner-1

✓ API server    reachable, 12ms round trip
! RBAC          1 right of 11 denied; affected: playbooks list
                denied: get secrets in robusta, needed by playbooks list
                fix: ask an admin
X Helm release  release robusta revision 2 is pending-upgrade
                fix: helm rollback robusta 1 -n robusta
- sinks         needs the config Secret

1 green, 1 yellow, 1 red, 1 skipped
`
	if got := out.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Fatal("colour on a non-terminal")
	}
}
