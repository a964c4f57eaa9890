package localapi

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	const tok = "s3cret-token"
	json := "application/json"
	for _, tc := range []struct {
		name                       string
		listen                     string
		method, path, host, origin string
		auth, ctype, fetchSite     string
		want                       int
	}{
		{name: "same origin with token", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", origin: "http://127.0.0.1:5000", auth: "Bearer " + tok, ctype: json, want: 200},
		{name: "no origin (curl, the CLI)", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", auth: "Bearer " + tok, ctype: json, want: 200},
		{name: "charset param is fine", listen: "127.0.0.1:5000", host: "localhost:5000", auth: "bearer " + tok, ctype: "application/json; charset=utf-8", want: 200},
		{name: "port-forward: loopback host, other port", listen: "127.0.0.1:5000", host: "127.0.0.1:41234", auth: "Bearer " + tok, ctype: json, want: 200},
		{name: "ipv6 loopback", listen: "[::1]:5000", host: "[::1]:5000", auth: "Bearer " + tok, ctype: json, want: 200},
		{name: "cross-site text/plain", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", origin: "https://evil.example", ctype: "text/plain", want: 403},
		{name: "cross-site even with token", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", origin: "http://evil.example", auth: "Bearer " + tok, ctype: json, want: 403},
		{name: "null origin", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", origin: "null", auth: "Bearer " + tok, ctype: json, want: 403},
		{name: "other local port is another origin", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", origin: "http://127.0.0.1:8080", auth: "Bearer " + tok, ctype: json, want: 403},
		{name: "sec-fetch-site cross-site", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", fetchSite: "cross-site", auth: "Bearer " + tok, ctype: json, want: 403},
		{name: "dns rebinding", listen: "127.0.0.1:5000", host: "evil.example:5000", auth: "Bearer " + tok, ctype: json, want: 403},
		{name: "rebinding to localhost-looking name", listen: "127.0.0.1:5000", host: "localhost.evil.example:5000", auth: "Bearer " + tok, ctype: json, want: 403},
		{name: "no token", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", ctype: json, want: 401},
		{name: "wrong token", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", auth: "Bearer nope", ctype: json, want: 401},
		{name: "token prefix only", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", auth: "Bearer s3cret", ctype: json, want: 401},
		{name: "basic auth is no bearer", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", auth: "Basic " + tok, ctype: json, want: 401},
		{name: "text/plain", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", auth: "Bearer " + tok, ctype: "text/plain", want: 415},
		{name: "form", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", auth: "Bearer " + tok, ctype: "application/x-www-form-urlencoded", want: 415},
		{name: "no content type", listen: "127.0.0.1:5000", host: "127.0.0.1:5000", auth: "Bearer " + tok, want: 415},
		{name: "healthz open", listen: "127.0.0.1:5000", method: "GET", path: "/healthz", host: "evil.example", want: 200},
		{name: "POST healthz is not open", listen: "127.0.0.1:5000", path: "/healthz", host: "127.0.0.1:5000", ctype: json, want: 401},
		{name: "listen-any: an IP of this machine", listen: "0.0.0.0:5000", host: "192.168.1.7:5000", auth: "Bearer " + tok, ctype: json, want: 200},
		{name: "listen-any: still no names", listen: "0.0.0.0:5000", host: "evil.example:5000", auth: "Bearer " + tok, ctype: json, want: 403},
		{name: "specific listen IP", listen: "10.0.0.2:5000", host: "10.0.0.2:5000", auth: "Bearer " + tok, ctype: json, want: 200},
		{name: "specific listen IP, other IP", listen: "10.0.0.2:5000", host: "10.0.0.3:5000", auth: "Bearer " + tok, ctype: json, want: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			var refused string
			g := &Guard{Token: tok, Listen: tc.listen, Open: []string{"/healthz"},
				Refused: func(_ *http.Request, status int, why string) { refused = why }}
			h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
			method, path := tc.method, tc.path
			if method == "" {
				method = "POST"
			}
			if path == "" {
				path = "/api/trigger"
			}
			req := httptest.NewRequest(method, path, strings.NewReader(`{"action_name":"x","action_params":{"p":"secret-value"}}`))
			req.Host = tc.host
			for k, v := range map[string]string{"Origin": tc.origin, "Authorization": tc.auth, "Content-Type": tc.ctype, "Sec-Fetch-Site": tc.fetchSite} {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body.String())
			}
			if ran != (tc.want == 200) {
				t.Fatalf("handler ran = %v with status %d", ran, rec.Code)
			}
			if tc.want != 200 {
				if rec.Header().Get("Content-Length") == "" || !strings.Contains(rec.Body.String(), `"success":false`) {
					t.Fatalf("refusal reply: %v %s", rec.Header(), rec.Body.String())
				}
				if refused == "" || strings.Contains(refused, "secret-value") || strings.Contains(refused, tok) {
					t.Fatalf("refusal log %q", refused)
				}
			}
			if tc.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

// Without a token (--no-auth) the other checks still hold.
func TestGuardWithoutToken(t *testing.T) {
	g := &Guard{Listen: "127.0.0.1:5000"}
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for ctype, want := range map[string]int{"application/json": 200, "text/plain": 415} {
		req := httptest.NewRequest("POST", "/api/trigger", strings.NewReader("{}"))
		req.Host = "127.0.0.1:5000"
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", ctype, rec.Code, want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:5000": true, "localhost:5000": true, "[::1]:5000": true, "127.1.2.3:1": true,
		":5000": false, "0.0.0.0:5000": false, "192.168.1.2:5000": false, "[::]:5000": false, "example.com:5000": false, "nonsense": false} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	p, err := TokenPath(func(k string) string { return map[string]string{"XDG_CONFIG_HOME": dir}[k] })
	if err != nil || p != filepath.Join(dir, "robusta", "local-serve.token") {
		t.Fatalf("TokenPath = %s, %v", p, err)
	}
	if _, err := ReadToken(p); err == nil || !strings.Contains(err.Error(), "is robusta local serve running?") {
		t.Fatalf("missing file: %v", err)
	}
	a, _ := NewToken()
	b, _ := NewToken()
	if len(a) < 40 || a == b {
		t.Fatalf("tokens %q %q", a, b)
	}
	if err := WriteToken(p, a); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	if got, err := ReadToken(p); err != nil || got != a {
		t.Fatalf("ReadToken = %q, %v", got, err)
	}
	// No temp file is left beside it.
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Fatalf("files: %v", ents)
	}
	// A second server took the file over: the first one's exit leaves it alone.
	if err := WriteToken(p, b); err != nil {
		t.Fatal(err)
	}
	if err := RemoveToken(p, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadToken(p); got != b {
		t.Fatalf("token after the first server's exit: %q", got)
	}
	if err := RemoveToken(p, b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("token file left: %v", err)
	}
	// A file others can read is no secret.
	if err := os.WriteFile(p, []byte(a), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadToken(p); err == nil || !strings.Contains(err.Error(), "readable by other users") {
		t.Fatalf("0644 file: %v", err)
	}
}
