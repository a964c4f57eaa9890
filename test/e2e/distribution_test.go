package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Installed by krew, the binary is kubectl-robusta and kubectl runs it for
// `kubectl robusta ...`: its help shows that name.
func TestAnswersAsKubectlPlugin(t *testing.T) {
	dir := t.TempDir()
	plugin := filepath.Join(dir, "kubectl-robusta")
	if err := os.Symlink(binary, plugin); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(plugin, "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kubectl robusta [command]") {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = exec.Command(binary, "--help").CombinedOutput()
	if err != nil || strings.Contains(string(out), "kubectl robusta") {
		t.Fatalf("as robusta: %v\n%s", err, out)
	}
}
