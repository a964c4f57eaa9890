package backend

import (
	"strings"
	"testing"
)

func TestAlternativeName(t *testing.T) {
	for in, want := range map[string]string{"acme": "acme-1", "acme-1": "acme-2", "acme-09": "acme-10", "a-b": "a-b-1", "x-99": "x-100"} {
		if got := AlternativeName(in); got != want {
			t.Errorf("AlternativeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseProfile(t *testing.T) {
	full := FromDomain("r.example.com", "api", "platform", "relay")
	b, _ := full.Marshal()
	p, err := ParseProfile("p.json", b)
	if err != nil || !p.Custom || p.StoreTokenURL != "https://api.r.example.com/auth/server/tokens" || p.RelayWSAddress != "wss://relay.r.example.com" {
		t.Fatalf("%+v %v", p, err)
	}
	if len(p.RunnerEnv()) != 4 || len(Default().RunnerEnv()) != 0 {
		t.Fatal("runner env only for a custom profile")
	}
	_, err = ParseProfile("p.json", []byte(`{"robusta_cloud_api_host":"https://a"}`))
	if err == nil || !strings.Contains(err.Error(), "robusta_ui_domain") || !strings.Contains(err.Error(), "robusta_store_token_url") {
		t.Fatal(err)
	}
	if _, err := Load(func(string) string { return "" }, "ftp://x"); err == nil {
		t.Fatal("ftp backend URL accepted")
	}
	p, err = Load(func(string) string { return "" }, "http://127.0.0.1:9/")
	if err != nil || p.CloudAPIHost != "http://127.0.0.1:9" || p.StoreTokenURL != "http://127.0.0.1:9/auth/server/tokens" || p.Custom {
		t.Fatalf("%+v %v", p, err)
	}
}
