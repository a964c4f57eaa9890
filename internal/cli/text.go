package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// MaxQuoted is how many characters of user input Quote keeps.
const MaxQuoted = 100

// Quote quotes user input for an error message, cut to MaxQuoted characters with "…":
// a pasted file or a runaway argument must not flood the terminal.
func Quote(s string) string {
	if r := []rune(s); len(r) > MaxQuoted {
		s = string(r[:MaxQuoted]) + "…"
	}
	return strconv.Quote(s)
}

// DecodeError rewrites a JSON or YAML type mismatch (encoding/json's UnmarshalTypeError,
// also inside sigs.k8s.io/yaml's errors) in words: which field, what was expected, what
// was given, instead of Go type names such as `struct { Alerts []*engine.Alert ... }`.
// Other errors pass through.
func DecodeError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	where := "the top level"
	if f := jsonPath(te.Field); f != "" {
		where = "field " + strconv.Quote(f)
	}
	return fmt.Errorf("%s: expected %s, got %s", where, typeWords(te.Type), valueWords(te.Value))
}

// jsonPath drops the names of embedded Go structs (capitalised, like "Alert" in
// "Alert.labels") from encoding/json's field path: the user never wrote them.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	keep := parts[:0]
	for i, p := range parts {
		if i < len(parts)-1 && p != "" && p[0] >= 'A' && p[0] <= 'Z' {
			continue
		}
		keep = append(keep, p)
	}
	return strings.Join(keep, ".")
}

func typeWords(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another type"
}

func valueWords(v string) string {
	switch {
	case v == "array":
		return "a list"
	case v == "object":
		return "an object"
	case v == "string":
		return "a string"
	case v == "bool":
		return "true or false"
	case v == "number", strings.HasPrefix(v, "number "):
		return "a number"
	}
	return v
}
