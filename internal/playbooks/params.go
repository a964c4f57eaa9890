// Package playbooks holds what the CLI knows about Robusta playbooks: the runner's HTTP
// API (trigger, reload), action parameters, repositories and configuration.
package playbooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/fileio"
)

// ParseParams turns command-line params into an action_params map.
//
//	key=value    the string "value"; split at the first '=' only, so cmd=a=b gives "a=b"
//	key:=JSON    a typed JSON value: count:=3, enabled:=true, names:='["a","b"]'
//
// A missing '=', an empty key, a key given twice or invalid JSON is a usage error that
// names the argument.
func ParseParams(args []string) (map[string]any, error) {
	params := make(map[string]any, len(args))
	for _, arg := range args {
		eq := strings.IndexByte(arg, '=')
		if eq < 0 {
			return nil, cli.UsageErrorf("parameter %s has no '=': write key=value (or key:=JSON for a typed value)", cli.Quote(arg))
		}
		key, raw := arg[:eq], arg[eq+1:]
		typed := strings.HasSuffix(key, ":")
		if typed {
			key = strings.TrimSuffix(key, ":")
		}
		if key == "" {
			return nil, cli.UsageErrorf("parameter %s has an empty key: write key=value", cli.Quote(arg))
		}
		if _, dup := params[key]; dup {
			return nil, cli.UsageErrorf("parameter %s is given twice", cli.Quote(key))
		}
		if !typed {
			params[key] = raw
			continue
		}
		v, err := decodeJSONValue(raw)
		if err != nil {
			return nil, cli.UsageErrorf("parameter %s: value after ':=' is not valid JSON (%v); quote strings as '\"text\"' or use key=value", cli.Quote(arg), err)
		}
		params[key] = v
	}
	return params, nil
}

// decodeJSONValue decodes exactly one JSON value, keeping numbers exact (json.Number)
// so 12345678901234567890 is sent as written.
func decodeJSONValue(raw string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("extra data after the value")
	}
	var rest bytes.Buffer
	if _, err := rest.ReadFrom(dec.Buffered()); err == nil && strings.TrimSpace(rest.String()) != "" {
		return nil, fmt.Errorf("extra data after the value")
	}
	return v, nil
}

// ReadParamsFile reads a YAML or JSON object of params (--params-file).
func ReadParamsFile(path string) (map[string]any, error) {
	b, err := fileio.ReadFile(path, fileio.MaxConfig)
	if err != nil {
		return nil, cli.UsageErrorf("--params-file: %v", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, cli.UsageErrorf("--params-file %s: not a YAML or JSON object: %v", path, cli.DecodeError(err))
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// AddParamsFile fills params from the --params-file at path (when path is set). Keys
// already in params, from the command line, win over the file, key by key.
func AddParamsFile(params map[string]any, path string) error {
	if path == "" {
		return nil
	}
	fileParams, err := ReadParamsFile(path)
	if err != nil {
		return err
	}
	for k, v := range fileParams {
		if _, set := params[k]; !set {
			params[k] = v
		}
	}
	return nil
}

// MergeParams adds src into dst; a key in both is an error naming where each came from.
func MergeParams(dst, src map[string]any, srcName, dstName string) error {
	for k, v := range src {
		if _, dup := dst[k]; dup {
			return cli.UsageErrorf("parameter %q is given by both %s and %s", k, srcName, dstName)
		}
		dst[k] = v
	}
	return nil
}
