// Package localapi guards the HTTP listeners robusta opens on this machine (`local
// serve`, and any later local listener). Such a server holds the user's kubeconfig
// credentials, so a web page in the user's browser must not be able to drive it:
// a cross-site "simple" POST (text/plain, no preflight), a page whose host name was
// rebound to 127.0.0.1, or any local process that does not hold the token. The guard
// does what developer servers with credentials do: a JSON Content-Type, no foreign
// Origin, a Host that is this machine, and a bearer token.
package localapi

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Guard wraps a handler with the checks. Its zero value (no token) checks Host,
// Origin and Content-Type only: use it with --no-auth alone.
type Guard struct {
	// Token is the bearer token requests must carry; empty means no token check.
	Token string
	// Listen is the address the server listens on (host:port). Besides loopback
	// addresses and "localhost", its host is the only Host header accepted; an
	// unspecified host (0.0.0.0, ::) accepts any IP literal, never a name.
	Listen string
	// Open are paths answered to GET without any check (a health probe that reveals
	// nothing).
	Open []string
	// Refused, when set, is told about each refused request (method, path, status and
	// why), for the server's log. It never gets the body.
	Refused func(r *http.Request, status int, why string)
}

// Wrap returns h behind the guard.
func (g *Guard) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, why := g.Check(r); status != 0 {
			if g.Refused != nil {
				g.Refused(r, status, why)
			}
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="robusta local"`)
			}
			Reply(w, status, map[string]any{"success": false, "msg": why})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Check returns 0 when r may pass, else the HTTP status to refuse it with and why.
func (g *Guard) Check(r *http.Request) (int, string) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		for _, p := range g.Open {
			if r.URL.Path == p {
				return 0, ""
			}
		}
	}
	if !g.hostAllowed(r.Host) {
		return http.StatusForbidden, fmt.Sprintf("Host %q is not this server: only localhost, loopback addresses and the listen address are served (a foreign host name is a DNS rebinding attempt)", r.Host)
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
		return http.StatusForbidden, fmt.Sprintf("cross-origin request from %q refused: only this server's own origin and non-browser clients may call it", o)
	}
	// Browsers send Sec-Fetch-Site even where they leave Origin out.
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return http.StatusForbidden, fmt.Sprintf("%q request refused: only this server's own origin and non-browser clients may call it", s)
	}
	if g.Token != "" && !tokenMatches(r.Header.Get("Authorization"), g.Token) {
		return http.StatusUnauthorized, "missing or wrong token: send the token printed by robusta local serve as \"Authorization: Bearer TOKEN\" (robusta playbooks trigger --local reads it from its file)"
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			if ct == "" {
				return http.StatusUnsupportedMediaType, "no Content-Type: send the body as JSON with Content-Type: application/json"
			}
			return http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q refused: send the body as JSON with Content-Type: application/json", ct)
		}
	}
	return 0, ""
}

// hostAllowed checks the Host header. Its port is not compared: through a
// port-forward (kubectl or client-go) the client's Host names the forward's local
// port, not the one this server listens on. A rebinding attack cannot choose the host
// name the browser sends, only what it resolves to, so the name is what matters.
func (g *Guard) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return true
	}
	listenHost, _, err := net.SplitHostPort(g.Listen)
	if err != nil {
		return false
	}
	lip := net.ParseIP(listenHost)
	switch {
	case listenHost == "" || (lip != nil && lip.IsUnspecified()):
		return ip != nil
	case lip != nil:
		return ip != nil && ip.Equal(lip)
	}
	return strings.EqualFold(host, listenHost)
}

// sameOrigin reports whether an Origin header names this server as the client
// reached it (the Host header).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// tokenMatches compares in constant time, so response timing tells nothing about how
// much of a guess was right.
func tokenMatches(header, token string) bool {
	const prefix = "bearer "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return false
	}
	got := strings.TrimSpace(header[len(prefix):])
	return subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// IsLoopback reports whether a listen address only accepts connections from this
// machine: a loopback IP or "localhost". An empty host (":5000") listens everywhere.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Reply answers with JSON and a Content-Length (kwok's port-forward needs it to see
// the end of the reply).
func Reply(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
