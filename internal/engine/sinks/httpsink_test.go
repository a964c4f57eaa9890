package sinks

import (
	"strings"
	"testing"
)

func TestNewHTTP(t *testing.T) {
	type params struct {
		URL string `param:"url" required:"true"`
	}
	url := func(p *params) string { return p.URL }
	for _, tc := range []struct {
		name    string
		params  map[string]any
		opts    Options
		wantURL string
		wantErr string
	}{
		{name: "service URL", params: map[string]any{"name": "a", "url": "https://svc/x"}, wantURL: "https://svc/x"},
		{name: "--sink-url wins", params: map[string]any{"name": "a", "url": "https://svc/x"}, opts: Options{BaseURLs: map[string]string{"a": "http://127.0.0.1:1/"}}, wantURL: "http://127.0.0.1:1"},
		{name: "override of another sink", params: map[string]any{"name": "a", "url": "https://svc/x"}, opts: Options{BaseURLs: map[string]string{"b": "http://other"}}, wantURL: "https://svc/x"},
		{name: "missing param names the sink", params: map[string]any{"name": "a"}, wantErr: "sink a: "},
		{name: "unknown key names the sink", params: map[string]any{"name": "a", "url": "u", "colour": "red"}, wantErr: "sink a: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, p, err := NewHTTP(Config{Type: "test_sink", Params: tc.params}, tc.opts, url)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one starting %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Name() != "a" || h.URL != tc.wantURL || h.Client == nil || p.URL != tc.params["url"] {
				t.Errorf("got %+v, params %+v; want name a, URL %s and a client", h, p, tc.wantURL)
			}
		})
	}
}
