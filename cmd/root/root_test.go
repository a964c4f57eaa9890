package root

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/cmd/completion"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
)

// CompletionFiles maps each shell to its script under completions/.
var CompletionFiles = map[string]string{
	"bash":       "robusta.bash",
	"zsh":        "_robusta",
	"fish":       "robusta.fish",
	"powershell": "robusta.ps1",
}

func TestCompletionsAreFresh(t *testing.T) {
	for _, shell := range completion.Shells {
		t.Run(shell, func(t *testing.T) {
			ios, _, _, _ := cli.Test()
			var buf bytes.Buffer
			if err := completion.Generate(NewCmdRoot(cmdutil.New(ios)), shell, &buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "completions", CompletionFiles[shell])
			have, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run make completions)", err)
			}
			if !bytes.Equal(have, buf.Bytes()) {
				t.Fatalf("%s is stale: run make completions", path)
			}
		})
	}
}

// hermetic points every place robusta reads settings from at empty temporary folders,
// so no test reads the user's kubeconfig, config file or cache.
func hermetic(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	for k, v := range map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_CACHE_HOME": filepath.Join(home, ".cache"), "KUBECONFIG": ""} {
		t.Setenv(k, v)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "ROBUSTA_") {
			t.Setenv(k, "")
		}
	}
}

func TestExecuteExitCodes(t *testing.T) {
	hermetic(t)
	cases := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"version"}, 0, ""},
		{[]string{"version", "--nope"}, 2, "unknown flag: --nope"},
		{[]string{"completion", "tcsh"}, 2, `unsupported shell "tcsh"`},
		{[]string{"completion"}, 2, "needs one shell"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{strings.Repeat("x", 300)}, 2, `"` + strings.Repeat("x", 100) + `…" for "robusta"`},
		{[]string{"playbooks", "nope"}, 2, `unknown command "nope" for robusta playbooks`},
		{[]string{"playbooks", "trigerr"}, 2, `unknown command "trigerr" for robusta playbooks; did you mean trigger?`},
		{[]string{"local", "-n", "x", "rn"}, 2, `unknown command "rn" for robusta local; did you mean run?`},
		{[]string{"playbooks"}, 0, ""},
		{[]string{"playbooks", "reload", "--timeout", "-5s"}, 2, "--timeout -5s: must not be negative"},
		{[]string{"playbooks", "trigger", "x", "--wait=-1m"}, 2, "--wait -1m0s: must not be negative"},
		{[]string{"--request-timeout", "-1s", "version"}, 2, "request-timeout must be positive"},
		{[]string{"--max-file-size", "lots", "version"}, 2, `max-file-size: "lots" is not a size`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ios, _, _, errOut := cli.Test()
			code := Execute(context.Background(), cmdutil.New(ios), tc.args)
			if code != tc.code || !strings.Contains(errOut.String(), tc.inStderr) || strings.Count(errOut.String(), strings.Repeat("x", 101)) > 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut.String())
			}
		})
	}
}
