package actions

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/robusta-dev/robusta-go/internal/pyfmt"
)

// pyKV is one key of a pyObject.
type pyKV struct {
	K string
	V any
}

// pyObject is a Python dict: its keys keep their order.
type pyObject []pyKV

// pyDumps writes v as Python's json.dumps with its defaults (", " and ": " as
// separators, non-ASCII escaped, floats as repr). v is made of nil, bool, int64, int,
// float64, string, []any and pyObject.
func pyDumps(v any) string {
	var b strings.Builder
	pyDump(&b, v)
	return b.String()
}

func pyDump(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		b.WriteString(pyfmt.JSONFloat(v))
	case string:
		b.WriteString(pyfmt.JSONString(v))
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			pyDump(b, x)
		}
		b.WriteByte(']')
	case pyObject:
		b.WriteByte('{')
		for i, kv := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyfmt.JSONString(kv.K))
			b.WriteString(": ")
			pyDump(b, kv.V)
		}
		b.WriteByte('}')
	default:
		// A programming error: every caller builds from the types above.
		b.WriteString(pyfmt.JSONString(fmt.Sprint(v)))
	}
}

var (
	snakeUpperRun = regexp.MustCompile(`([A-Z]+)([A-Z][a-z])`)
	snakeLowerUp  = regexp.MustCompile(`([a-z\d])([A-Z])`)
)

// pyAttr is the Kubernetes Python client's attribute name of a JSON field: snake
// case as its generator writes it (podIPs is pod_i_ps, hostIP host_ip), and a Python
// keyword with a leading underscore (exec is _exec).
func pyAttr(jsonName string) string {
	s := snakeUpperRun.ReplaceAllString(jsonName, "${1}_${2}")
	s = snakeLowerUp.ReplaceAllString(s, "${1}_${2}")
	s = strings.ToLower(s)
	switch s {
	case "exec", "continue", "from", "not", "except":
		s = "_" + s
	}
	return s
}

var (
	timeType     = reflect.TypeOf(metav1.Time{})
	quantityType = reflect.TypeOf(resource.Quantity{})
	intstrType   = reflect.TypeOf(intstr.IntOrString{})
	fieldsV1Type = reflect.TypeOf(metav1.FieldsV1{})
)

// pyClientDict is what the Kubernetes Python client's to_dict() gives for an API
// object the client read from the server: every attribute of the model, in the
// schema's (alphabetical JSON) order, under its snake-case name, None for what the
// server's JSON leaves out (omitempty and empty); times as str(datetime), quantities
// as strings, maps with their keys unchanged.
func pyClientDict(v any) any {
	return pyValue(reflect.ValueOf(v))
}

func pyValue(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		return pyValue(v.Elem())
	}
	switch v.Type() {
	case timeType:
		t := v.Interface().(metav1.Time)
		return timeOrNone(&t)
	case quantityType:
		q := v.Interface().(resource.Quantity)
		return q.String()
	case intstrType:
		is := v.Interface().(intstr.IntOrString)
		if is.Type == intstr.Int {
			return int64(is.IntVal)
		}
		return is.StrVal
	case fieldsV1Type:
		var m any
		if err := json.Unmarshal(v.Interface().(metav1.FieldsV1).Raw, &m); err != nil {
			return nil
		}
		return pyJSONValue(m)
	}
	switch v.Kind() {
	case reflect.Struct:
		return pyStruct(v)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = pyValue(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		out := make(pyObject, len(keys))
		for i, k := range keys {
			out[i] = pyKV{k.String(), pyValue(v.MapIndex(k))}
		}
		return out
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	return nil
}

// pyStruct is one model: its JSON fields (inline ones merged) sorted by JSON name.
func pyStruct(v reflect.Value) pyObject {
	type field struct {
		json string
		val  any
	}
	var fs []field
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if sf.Anonymous && name == "" && strings.Contains(opts, "inline") {
				walk(v.Field(i))
				continue
			}
			if name == "" {
				name = sf.Name
			}
			fv := v.Field(i)
			var val any
			if !(strings.Contains(opts, "omitempty") && isEmptyJSON(fv)) {
				val = pyValue(fv)
			}
			fs = append(fs, field{name, val})
		}
	}
	walk(v)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].json < fs[j].json })
	out := make(pyObject, len(fs))
	for i, f := range fs {
		out[i] = pyKV{pyAttr(f.json), f.val}
	}
	return out
}

// isEmptyJSON is encoding/json's omitempty test: such a field is not in the server's
// JSON, so the client has None for it.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// pyJSONValue converts decoded JSON (untyped object fields such as fieldsV1) to
// pyDump's types, object keys sorted as the server wrote them.
func pyJSONValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(pyObject, len(keys))
		for i, k := range keys {
			out[i] = pyKV{k, pyJSONValue(v[k])}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = pyJSONValue(x)
		}
		return out
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
		return v
	}
	return v
}
