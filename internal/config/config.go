// Package config resolves the global settings: command-line flag, then environment
// (ROBUSTA_*), then the config file, then defaults.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Keys of the global settings. Each is also a flag name and, upper-cased with
// ROBUSTA_ in front and - as _, an environment variable.
const (
	KeyKubeconfig     = "kubeconfig"
	KeyContext        = "context"
	KeyNamespace      = "namespace"
	KeyOutput         = "output"
	KeyNoColor        = "no-color"
	KeyVerbose        = "verbose"
	KeyRequestTimeout = "request-timeout"
)

// DefaultRequestTimeout bounds every API call so an unreachable server never hangs us.
const DefaultRequestTimeout = 10 * time.Second

// Settings are the resolved global settings.
type Settings struct {
	Kubeconfig     string        `json:"kubeconfig,omitempty"`
	Context        string        `json:"context,omitempty"`
	Namespace      string        `json:"namespace,omitempty"`
	Output         string        `json:"output,omitempty"`
	NoColor        bool          `json:"noColor,omitempty"`
	Verbose        bool          `json:"verbose,omitempty"`
	RequestTimeout time.Duration `json:"requestTimeout,omitempty"`
	// ConfigFile is the file that was read, empty when none was.
	ConfigFile string `json:"configFile,omitempty"`
}

// AddGlobalFlags registers the global flags on fs.
func AddGlobalFlags(fs *pflag.FlagSet) {
	fs.String(KeyKubeconfig, "", "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	fs.String(KeyContext, "", "kubeconfig context to use")
	fs.StringP(KeyNamespace, "n", "", "namespace of the Robusta runner (default: search all namespaces)")
	fs.StringP(KeyOutput, "o", "text", "output format: text, json, yaml (markdown for findings)")
	fs.Bool(KeyNoColor, false, "disable colour output (NO_COLOR is honoured too)")
	fs.BoolP(KeyVerbose, "v", false, "print more detail about what is being done")
	fs.Duration(KeyRequestTimeout, DefaultRequestTimeout, "timeout for each request to the Kubernetes API server")
	fs.String("config", "", "config file (default: $XDG_CONFIG_HOME/robusta/config.yaml or ~/.config/robusta/config.yaml)")
}

// DefaultConfigPath is where the config file lives when --config is not given.
func DefaultConfigPath(getenv func(string) string) string {
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "robusta", "config.yaml")
	}
	home := getenv("HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = h
		}
	}
	return filepath.Join(home, ".config", "robusta", "config.yaml")
}

// Load resolves the settings from fs (already parsed), the environment (ROBUSTA_*) and
// the config file. viper's own order is the one we want: a flag the user set, then the
// environment, then the file, then the flag's default. An explicit --config (or
// ROBUSTA_CONFIG) that cannot be read is an error; a missing default file is not.
func Load(fs *pflag.FlagSet) (*Settings, error) {
	v := viper.New()
	v.SetEnvPrefix("ROBUSTA")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	for _, k := range []string{KeyKubeconfig, KeyContext, KeyNamespace, KeyOutput, KeyNoColor, KeyVerbose, KeyRequestTimeout} {
		if f := fs.Lookup(k); f != nil {
			if err := v.BindPFlag(k, f); err != nil {
				return nil, err
			}
		}
	}

	explicit := ""
	if f := fs.Lookup("config"); f != nil {
		explicit = f.Value.String()
	}
	if explicit == "" {
		explicit = os.Getenv("ROBUSTA_CONFIG")
	}
	path := explicit
	if path == "" {
		path = DefaultConfigPath(os.Getenv)
	}
	s := &Settings{}
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		var pe *os.PathError
		notFound := errors.As(err, &pe) || errors.As(err, new(viper.ConfigFileNotFoundError))
		if explicit != "" || !notFound {
			return nil, fmt.Errorf("read config file %s: %w", path, err)
		}
	} else {
		s.ConfigFile = path
	}

	var err error
	s.Kubeconfig = v.GetString(KeyKubeconfig)
	s.Context = v.GetString(KeyContext)
	s.Namespace = v.GetString(KeyNamespace)
	s.Output = v.GetString(KeyOutput)
	if s.NoColor, err = toBool(KeyNoColor, v.Get(KeyNoColor)); err != nil {
		return nil, err
	}
	if s.Verbose, err = toBool(KeyVerbose, v.Get(KeyVerbose)); err != nil {
		return nil, err
	}
	if s.RequestTimeout, err = toDuration(KeyRequestTimeout, v.Get(KeyRequestTimeout)); err != nil {
		return nil, err
	}
	if s.RequestTimeout <= 0 {
		return nil, fmt.Errorf("%s must be positive, got %s", KeyRequestTimeout, s.RequestTimeout)
	}
	return s, nil
}

func toBool(key string, v any) (bool, error) {
	switch b := v.(type) {
	case nil:
		return false, nil
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "1", "t", "true", "yes", "y", "on":
			return true, nil
		case "", "0", "f", "false", "no", "n", "off":
			return false, nil
		}
	}
	return false, fmt.Errorf("%s: %q is not a boolean (use true or false)", key, fmt.Sprint(v))
}

func toDuration(key string, v any) (time.Duration, error) {
	switch d := v.(type) {
	case time.Duration:
		return d, nil
	case int:
		return time.Duration(d) * time.Second, nil
	case float64:
		return time.Duration(d * float64(time.Second)), nil
	case string:
		if dur, err := time.ParseDuration(strings.TrimSpace(d)); err == nil {
			return dur, nil
		}
	}
	return 0, fmt.Errorf("%s: %q is not a duration (use e.g. 10s or 1m)", key, fmt.Sprint(v))
}
