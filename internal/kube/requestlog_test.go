package kube

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRequestLog checks the -v log through a real clientset: one line per request with
// method, path, status and duration, and nothing of the token or the query.
func TestRequestLog(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/pods") {
			fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","items":[]}`)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
	}))
	defer srv.Close()
	kc := writeFile(t, "kc", `apiVersion: v1
kind: Config
clusters: [{name: s, cluster: {server: "`+srv.URL+`"}}]
users: [{name: u, user: {token: secret-token-value}}]
contexts: [{name: c, context: {cluster: s, user: u}}]
current-context: c
`)
	var log bytes.Buffer
	f := NewFactory(Options{Kubeconfig: kc, RequestLog: &log})
	cs, err := f.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cs.CoreV1().Pods("robusta").List(ctx, metav1.ListOptions{LabelSelector: "secret-selector=x"}); err != nil {
		t.Fatal(err)
	}
	_, _ = cs.CoreV1().ConfigMaps("robusta").Get(ctx, "nope", metav1.GetOptions{})
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^API GET /api/v1/namespaces/robusta/pods 200 OK \(\d+(\.\d+)?m?s\)$`),
		regexp.MustCompile(`^API GET /api/v1/namespaces/robusta/configmaps/nope 404 Not Found \(\d+(\.\d+)?m?s\)$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("log:\n%s", log.String())
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %q does not match %s", lines[i], re)
		}
	}
	for _, secret := range []string{"secret-token-value", "secret-selector", "Bearer"} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log shows %q", secret)
		}
	}

}
