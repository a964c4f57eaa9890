package engine

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// ParamDoc describes one action parameter (from the params struct's tags).
type ParamDoc struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Default  string   `json:"default,omitempty"`
	Required bool     `json:"required,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	Doc      string   `json:"doc,omitempty"`
}

// Params describes a params struct: fields tagged `param:"name"` with optional
// `default:"..."`, `required:"true"`, `enum:"a|b"` and `doc:"..."`.
func Params(v any) []ParamDoc {
	if v == nil {
		return nil
	}
	t := reflect.TypeOf(v)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []ParamDoc
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("param")
		if name == "" {
			continue
		}
		d := ParamDoc{Name: name, Type: typeName(f.Type), Default: f.Tag.Get("default"), Required: f.Tag.Get("required") == "true", Doc: f.Tag.Get("doc")}
		if e := f.Tag.Get("enum"); e != "" {
			d.Enum = strings.Split(e, "|")
		}
		out = append(out, d)
	}
	return out
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64:
		return "int"
	case reflect.Bool:
		return "bool"
	case reflect.Slice:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	}
	return t.String()
}

// Decode fills the params struct pointed to by dst from raw, with Robusta's leniency
// ("5" fills an int, "true" a bool) and strictness (an unknown key is an error naming
// the allowed ones; a missing required one too; enums are checked). Defaults apply to
// keys not given.
func Decode(raw map[string]any, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("params target must be a pointer to a struct")
	}
	sv := rv.Elem()
	st := sv.Type()
	fields := map[string]int{}
	var names []string
	for i := 0; i < st.NumField(); i++ {
		if n := st.Field(i).Tag.Get("param"); n != "" {
			fields[n] = i
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for k := range raw {
		if _, ok := fields[k]; !ok {
			if len(names) == 0 {
				return fmt.Errorf("unknown parameter %q: this action takes none", k)
			}
			return fmt.Errorf("unknown parameter %q: allowed are %s", k, strings.Join(names, ", "))
		}
	}
	for _, n := range names {
		f := st.Field(fields[n])
		val, given := raw[n]
		if !given {
			if f.Tag.Get("required") == "true" {
				return fmt.Errorf("missing required parameter %q", n)
			}
			def := f.Tag.Get("default")
			if def == "" {
				continue
			}
			val = def
		}
		if err := set(sv.Field(fields[n]), val); err != nil {
			return fmt.Errorf("parameter %q: %v", n, err)
		}
		if e := f.Tag.Get("enum"); e != "" && sv.Field(fields[n]).Kind() == reflect.String {
			ok := false
			for _, allowed := range strings.Split(e, "|") {
				if sv.Field(fields[n]).String() == allowed {
					ok = true
				}
			}
			if !ok {
				return fmt.Errorf("parameter %q: %q is not one of %s", n, sv.Field(fields[n]).String(), strings.ReplaceAll(e, "|", ", "))
			}
		}
	}
	return nil
}

func set(f reflect.Value, v any) error {
	switch f.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case string:
			f.SetString(x)
		case float64, int, int64, bool:
			f.SetString(fmt.Sprint(x))
		default:
			return fmt.Errorf("want a string, got %T", v)
		}
	case reflect.Int, reflect.Int64:
		switch x := v.(type) {
		case float64:
			if x != float64(int64(x)) {
				return fmt.Errorf("want a whole number, got %v", x)
			}
			f.SetInt(int64(x))
		case int:
			f.SetInt(int64(x))
		case int64:
			f.SetInt(x)
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return fmt.Errorf("want a whole number, got %q", x)
			}
			f.SetInt(n)
		case fmt.Stringer: // json.Number
			n, err := strconv.ParseInt(x.String(), 10, 64)
			if err != nil {
				return fmt.Errorf("want a whole number, got %q", x.String())
			}
			f.SetInt(n)
		default:
			return fmt.Errorf("want a whole number, got %T", v)
		}
	case reflect.Bool:
		switch x := v.(type) {
		case bool:
			f.SetBool(x)
		case string:
			b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(x)))
			if err != nil {
				return fmt.Errorf("want true or false, got %q", x)
			}
			f.SetBool(b)
		default:
			return fmt.Errorf("want true or false, got %T", v)
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			if s, isStr := v.(string); isStr && f.Type().Elem().Kind() == reflect.String {
				list = []any{}
				for _, p := range strings.Split(s, ",") {
					if p = strings.TrimSpace(p); p != "" {
						list = append(list, p)
					}
				}
			} else {
				return fmt.Errorf("want a list, got %T", v)
			}
		}
		out := reflect.MakeSlice(f.Type(), len(list), len(list))
		for i, it := range list {
			if err := set(out.Index(i), it); err != nil {
				return fmt.Errorf("item %d: %v", i, err)
			}
		}
		f.Set(out)
	case reflect.Map:
		// Maps of strings only (custom_annotations and the like).
		m, ok := v.(map[string]any)
		if !ok || f.Type().Key().Kind() != reflect.String || f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("want a map of strings, got %T", v)
		}
		out := reflect.MakeMapWithSize(f.Type(), len(m))
		for k, it := range m {
			s, ok := it.(string)
			if !ok {
				return fmt.Errorf("key %q: want a string, got %T", k, it)
			}
			out.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(s))
		}
		f.Set(out)
	default:
		return fmt.Errorf("unsupported field kind %s", f.Kind())
	}
	return nil
}
