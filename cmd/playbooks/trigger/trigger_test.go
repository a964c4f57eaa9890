package trigger

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/localapi"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	ios, _, _, _ := cli.Test()
	var got *Options
	cmd := NewCmdTrigger(cmdutil.New(ios), func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(new(strings.Builder))
	cmd.SetErr(new(strings.Builder))
	return got, cmd.Execute()
}

func TestLocalFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"x", "--local-url", "http://127.0.0.1:5001"}, "--local-url is where --local sends the request: add --local"},
		{[]string{"x", "--local", "--local-url", "127.0.0.1:5000"}, "is not a server address"},
		{[]string{"x", "--local", "--local-url", "ftp://127.0.0.1:5000"}, "is not a server address"},
		{[]string{"x", "--local", "--local-url", "http://127.0.0.1:5000/api/trigger"}, "is not a server address"},
		{[]string{"x", "--local", "--show-logs"}, "drop --show-logs"},
		{[]string{"x", "--sync", "--save-files", "/nonexistent-robusta-dir"}, "no such folder"},
	} {
		_, err := parse(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || cli.ExitCode(err) != cli.ExitUsage {
			t.Errorf("%v: %v", tc.args, err)
		}
	}
	o, err := parse(t, "x", "--no-check", "--local", "--local-url", "http://localhost:5001/")
	if err != nil || !o.Local || o.ShowLogs {
		t.Fatalf("%+v %v", o, err)
	}
}

// The token: --token, else $ROBUSTA_LOCAL_TOKEN, else (with --local only) the file
// local serve wrote.
func TestTokenResolution(t *testing.T) {
	cfg := t.TempDir()
	if err := localapi.WriteToken(filepath.Join(cfg, "robusta", "local-serve.token"), "from-file"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag, env string
		fromFile  bool
		want      string
	}{
		{"from-flag", "from-env", true, "from-flag"},
		{"", "from-env", true, "from-env"},
		{"", "", true, "from-file"},
		{"", "", false, ""}, // through a port-forward the file is not read
		{"", "from-env", false, "from-env"},
	} {
		env := map[string]string{"XDG_CONFIG_HOME": cfg, localapi.TokenEnv: tc.env}
		o := &Options{Token: tc.flag, Getenv: func(k string) string { return env[k] }}
		got, err := o.token(tc.fromFile)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q %v", tc, got, err)
		}
	}
	o := &Options{Getenv: func(k string) string { return map[string]string{"XDG_CONFIG_HOME": t.TempDir()}[k] }}
	if _, err := o.token(true); err == nil || !strings.Contains(err.Error(), "is robusta local serve running?") {
		t.Fatal(err)
	}
}

// The catalogue check runs before anything is contacted: each mistake is a usage error
// naming the param, and --no-check lets a custom action through.
func TestCatalogueCheck(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" = accepted
	}{
		{[]string{"node_bash_enricher", "--node", "w1", "bash_command=ls"}, ""},
		{[]string{"node_bash_enricher", "--node", "w1", "bash_comand=ls"}, `action node_bash_enricher has no parameter bash_comand (did you mean "bash_command"?)`},
		{[]string{"node_bash_enricher", "bash_command=ls"}, "action node_bash_enricher runs on a NodeEvent: give name= (or --node NAME)"},
		{[]string{"logs_enricher", "name=web-1"}, "give namespace="},
		{[]string{"pod_events_enricher", "--pod", "d/p", "max_events=many"}, `parameter max_events of pod_events_enricher: want a whole number, got "many"`},
		{[]string{"logs_enrichr", "--pod", "d/p"}, `unknown action "logs_enrichr" (did you mean "logs_enricher"?)`},
		{[]string{"alert_handling_job", "image=x", "command:=[\"ls\"]"}, "which the runner cannot build from parameters"},
		{[]string{"argo_app_sync", "argo_url=u", "argo_app_name=a", "argo_token:=[\"s3cr3t-value\"]"}, "it is a secret"},
		{[]string{"my_action", "anything=1", "--no-check"}, ""},
		{[]string{"ask_holmes", "investigation_type=issue", "--local"}, "runs only in the in-cluster runner, not in robusta local serve"},
	} {
		_, err := parse(t, tc.args...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || cli.ExitCode(err) != cli.ExitUsage):
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "s3cr3t"):
			t.Errorf("%v: the secret is echoed: %v", tc.args, err)
		}
	}
}

func TestCompletion(t *testing.T) {
	ios, _, _, _ := cli.Test()
	root := &cobra.Command{Use: "robusta"}
	root.AddCommand(NewCmdTrigger(cmdutil.New(ios), nil))
	complete := func(args ...string) string {
		var out strings.Builder
		root.SetOut(&out)
		root.SetErr(new(strings.Builder))
		root.SetArgs(append([]string{"__complete", "trigger"}, args...))
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if out := complete("node_bash_enr"); !strings.HasPrefix(out, "node_bash_enricher\t") {
		t.Fatalf("%q", out)
	}
	out := complete("node_bash_enricher", "")
	for _, want := range []string{"name=\t", "bash_command=\t", "custom_annotations=\t", ":6\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in %q", want, out)
		}
	}
}
