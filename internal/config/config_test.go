package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestPrecedence(t *testing.T) {
	cases := []struct {
		name     string
		file     string
		env      map[string]string
		args     []string
		wantNS   string
		wantOut  string
		wantTO   time.Duration
		wantNoCo bool
	}{
		{name: "defaults", wantNS: "", wantOut: "text", wantTO: DefaultRequestTimeout},
		{name: "file", file: "namespace: from-file\noutput: yaml\nrequest-timeout: 3s\nno-color: true\n",
			wantNS: "from-file", wantOut: "yaml", wantTO: 3 * time.Second, wantNoCo: true},
		{name: "env beats file", file: "namespace: from-file\n", env: map[string]string{"ROBUSTA_NAMESPACE": "from-env", "ROBUSTA_REQUEST_TIMEOUT": "7s"},
			wantNS: "from-env", wantOut: "text", wantTO: 7 * time.Second},
		{name: "flag beats env and file", file: "namespace: from-file\noutput: yaml\n", env: map[string]string{"ROBUSTA_NAMESPACE": "from-env", "ROBUSTA_OUTPUT": "json"},
			args: []string{"-n", "from-flag", "-o", "text"}, wantNS: "from-flag", wantOut: "text", wantTO: DefaultRequestTimeout},
		{name: "env bool", env: map[string]string{"ROBUSTA_NO_COLOR": "true"}, wantOut: "text", wantTO: DefaultRequestTimeout, wantNoCo: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := loadWith(t, tc.env, tc.file, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if s.Namespace != tc.wantNS || s.Output != tc.wantOut || s.RequestTimeout != tc.wantTO || s.NoColor != tc.wantNoCo {
				t.Fatalf("got ns=%q out=%q timeout=%s nocolor=%v", s.Namespace, s.Output, s.RequestTimeout, s.NoColor)
			}
			if (tc.file != "") != (s.ConfigFile != "") {
				t.Fatalf("ConfigFile = %q", s.ConfigFile)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"explicit config missing", nil, []string{"--config", "/nonexistent/robusta.yaml"}, "read config file: open /nonexistent/robusta.yaml"},
		{"config is a device", nil, []string{"--config", "/dev/zero"}, "/dev/zero is a character device"},
		{"bad size", nil, []string{"--max-file-size", "lots"}, `max-file-size: "lots" is not a size`},
		{"negative size", map[string]string{"ROBUSTA_MAX_FILE_SIZE": "-5Mi"}, nil, `max-file-size: "-5Mi" is not a size`},
		{"bad env timeout", map[string]string{"ROBUSTA_REQUEST_TIMEOUT": "soon"}, nil, `request-timeout: "soon" is not a duration`},
		{"bad env bool", map[string]string{"ROBUSTA_NO_COLOR": "maybe"}, nil, `no-color: "maybe" is not a boolean`},
		{"negative timeout", nil, []string{"--request-timeout", "-1s"}, "request-timeout must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			AddGlobalFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			_, err := Load(fs)
			if err == nil || !contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestMalformedConfigFileIsAnError(t *testing.T) {
	dir := isolate(t)
	p := filepath.Join(dir, "robusta", "config.yaml")
	_ = os.MkdirAll(filepath.Dir(p), 0o755)
	_ = os.WriteFile(p, []byte("namespace: [unclosed\n"), 0o600)
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddGlobalFlags(fs)
	if _, err := Load(fs); err == nil || !contains(err.Error(), p) {
		t.Fatalf("error = %v, want it to name %s", err, p)
	}
}

func TestDefaultConfigPath(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	get := func(k string) string { return env[k] }
	if got := DefaultConfigPath(get); got != "/home/u/.config/robusta/config.yaml" {
		t.Fatal(got)
	}
	env["XDG_CONFIG_HOME"] = "/xdg"
	if got := DefaultConfigPath(get); got != "/xdg/robusta/config.yaml" {
		t.Fatal(got)
	}
}

// isolate points HOME and XDG_CONFIG_HOME at a new empty folder (returned) and clears
// every ROBUSTA_ variable, so no test reads the user's own settings.
func isolate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "ROBUSTA_") {
			t.Setenv(k, "")
		}
	}
	return dir
}

func TestMaxFileSize(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		file string
		want int64
		err  string
	}{
		{"default", nil, nil, "", 0, ""},
		{"flag", nil, []string{"--max-file-size", "64Mi"}, "", 64 << 20, ""},
		{"flag with B", nil, []string{"--max-file-size", "2MiB"}, "", 2 << 20, ""},
		{"bytes from env", map[string]string{"ROBUSTA_MAX_FILE_SIZE": "1000"}, nil, "", 1000, ""},
		{"config file", nil, nil, "max-file-size: 1Gi\n", 1 << 30, ""},
		{"config file over the cap the flag gives", nil, []string{"--max-file-size", "10"}, "namespace: longer-than-ten-bytes\n", 0, "over the 10 B cap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := loadWith(t, tc.env, tc.file, tc.args)
			if tc.err != "" {
				if err == nil || !contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.MaxFileSize != tc.want {
				t.Fatalf("MaxFileSize = %d, want %d", s.MaxFileSize, tc.want)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// loadWith loads settings in an isolated home with env set, file as the config file
// ("" for none) and args as the command line.
func loadWith(t *testing.T, env map[string]string, file string, args []string) (*Settings, error) {
	t.Helper()
	dir := isolate(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	if file != "" {
		p := filepath.Join(dir, "robusta", "config.yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddGlobalFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs)
}
