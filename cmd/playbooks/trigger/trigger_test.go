package trigger

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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
