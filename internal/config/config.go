// Package config resolves the global settings: command-line flag, then environment
// (ROBUSTA_*), then the config file, then defaults.
package config

import (
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/robusta-dev/robusta-go/internal/fileio"
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
	KeyMaxFileSize    = "max-file-size"
)

var keys = []string{KeyKubeconfig, KeyContext, KeyNamespace, KeyOutput, KeyNoColor, KeyVerbose, KeyRequestTimeout, KeyMaxFileSize}

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
	// MaxFileSize replaces the per-kind caps on files robusta reads (0: the defaults).
	MaxFileSize int64 `json:"maxFileSize,omitempty"`
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
	fs.String(KeyMaxFileSize, "", "largest file robusta reads, e.g. 64Mi (default: 16Mi for configuration and input files, 1Mi for small metadata files)")
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
	for _, k := range keys {
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
	// The config file itself is read under the cap given by flag or environment (the
	// file cannot raise the cap it is read with).
	limit := fileio.MaxSmall
	if n, err := ParseSize(KeyMaxFileSize, v.Get(KeyMaxFileSize)); err != nil {
		return nil, err
	} else if n > 0 {
		limit = n
	}
	v.SetConfigType("yaml")
	data, err := fileio.ReadFile(path, limit)
	switch {
	case err == nil:
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("read config file %s: %w", path, err)
		}
		s.ConfigFile = path
	case explicit != "" || !errors.Is(err, iofs.ErrNotExist):
		return nil, fmt.Errorf("read config file: %w", err)
	}

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
	if s.MaxFileSize, err = ParseSize(KeyMaxFileSize, v.Get(KeyMaxFileSize)); err != nil {
		return nil, err
	}
	return s, nil
}

// ParseSize reads a size in bytes: a number, or a quantity such as 512Ki, 64Mi, 1Gi or
// 100M (a trailing B is allowed: 64MiB, 100MB). Empty and nil give 0.
func ParseSize(key string, v any) (int64, error) {
	bad := func() (int64, error) {
		return 0, fmt.Errorf("%s: %q is not a size (use bytes, or e.g. 512Ki, 64Mi, 1Gi)", key, fmt.Sprint(v))
	}
	var str string
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int:
		str = fmt.Sprint(x)
	case int64:
		str = fmt.Sprint(x)
	case float64:
		str = fmt.Sprint(int64(x))
	case string:
		str = strings.TrimSpace(x)
	default:
		return bad()
	}
	if str == "" {
		return 0, nil
	}
	if strings.HasSuffix(str, "B") && len(str) > 1 && (str[len(str)-2] < '0' || str[len(str)-2] > '9') {
		str = str[:len(str)-1]
	}
	q, err := resource.ParseQuantity(str)
	if err != nil {
		return bad()
	}
	n, ok := q.AsInt64()
	if !ok || n < 0 {
		return bad()
	}
	return n, nil
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
