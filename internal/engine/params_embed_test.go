package engine

import (
	"strings"
	"testing"
)

type sharedConn struct {
	URL     string            `param:"url"`
	Headers map[string]string `param:"headers"`
}

type embedParams struct {
	sharedConn
	Threshold float64 `param:"threshold" default:"0.5"`
	Duration  any     `param:"duration"`
}

// Embedded params structs are flattened; maps, numbers and free-form values decode.
func TestDecodeEmbeddedMapsNumbers(t *testing.T) {
	var p embedParams
	err := Decode(map[string]any{"url": "http://x", "headers": map[string]any{"X-A": "1", "X-B": 2.0},
		"duration": map[string]any{"duration_minutes": 5.0}}, &p)
	if err != nil {
		t.Fatal(err)
	}
	if p.URL != "http://x" || p.Headers["X-A"] != "1" || p.Headers["X-B"] != "2" || p.Threshold != 0.5 {
		t.Errorf("%+v", p)
	}
	if m, ok := p.Duration.(map[string]any); !ok || m["duration_minutes"] != 5.0 {
		t.Errorf("duration %#v", p.Duration)
	}
	names := []string{}
	for _, d := range Params(&p) {
		names = append(names, d.Name+":"+d.Type)
	}
	if got := strings.Join(names, " "); got != "url:string headers:map of string threshold:number duration:any" {
		t.Errorf("params %s", got)
	}
	for raw, want := range map[string]map[string]any{
		`parameter "headers": want an object`:                                     {"headers": "x"},
		`parameter "threshold": want a number`:                                    {"threshold": "high"},
		`unknown parameter "nope": allowed are duration, headers, threshold, url`: {"nope": 1},
	} {
		if err := Decode(want, &embedParams{}); err == nil || !strings.Contains(err.Error(), raw) {
			t.Errorf("%v: %v", want, err)
		}
	}
}
