package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const kubeconfigA = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a.example:6443"}
- name: b
  cluster: {server: "https://b.example:6443"}
users:
- name: u
  user: {token: abc}
contexts:
- name: ctx-a
  context: {cluster: a, user: u, namespace: team-a}
- name: ctx-b
  context: {cluster: b, user: u}
current-context: ctx-a
`

const kubeconfigC = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://c.example:6443"}
users:
- name: u2
  user: {token: xyz}
contexts:
- name: ctx-c
  context: {cluster: c, user: u2, namespace: monitoring}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKubeconfigHandling(t *testing.T) {
	a := writeFile(t, "a", kubeconfigA)
	c := writeFile(t, "c", kubeconfigC)
	cases := []struct {
		name                      string
		env                       string
		opts                      Options
		wantCtx, wantHost, wantNS string
	}{
		{"explicit path, current context", "", Options{Kubeconfig: a}, "ctx-a", "https://a.example:6443", "team-a"},
		{"context override", "", Options{Kubeconfig: a, Context: "ctx-b"}, "ctx-b", "https://b.example:6443", "default"},
		{"namespace flag wins", "", Options{Kubeconfig: a, Namespace: "robusta"}, "ctx-a", "https://a.example:6443", "robusta"},
		{"KUBECONFIG list merges", a + string(os.PathListSeparator) + c, Options{Context: "ctx-c"}, "ctx-c", "https://c.example:6443", "monitoring"},
		{"KUBECONFIG first file's current context", a + string(os.PathListSeparator) + c, Options{}, "ctx-a", "https://a.example:6443", "team-a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.env)
			t.Setenv("HOME", t.TempDir())
			f := NewFactory(tc.opts)
			cfg, err := f.RESTConfig()
			if err != nil {
				t.Fatal(err)
			}
			if f.ContextName() != tc.wantCtx || cfg.Host != tc.wantHost || f.Namespace() != tc.wantNS {
				t.Fatalf("context %q host %q namespace %q", f.ContextName(), cfg.Host, f.Namespace())
			}
			if cfg.Timeout != 10*time.Second {
				t.Errorf("default request timeout = %s", cfg.Timeout)
			}
		})
	}
}

func TestKubeconfigErrors(t *testing.T) {
	a := writeFile(t, "a", kubeconfigA)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")

	_, err := NewFactory(Options{Kubeconfig: a, Context: "nope"}).RESTConfig()
	if err == nil || !strings.Contains(err.Error(), `context "nope"`) {
		t.Errorf("unknown context: %v", err)
	}
	_, err = NewFactory(Options{}).RESTConfig()
	if !errors.Is(err, ErrNoKubeconfig) {
		t.Errorf("no kubeconfig: %v", err)
	}
	_, err = NewFactory(Options{Kubeconfig: writeFile(t, "bad", "{not yaml")}).RESTConfig()
	if err == nil || !strings.Contains(err.Error(), "load kubeconfig") {
		t.Errorf("malformed kubeconfig: %v", err)
	}
}

func TestExplain(t *testing.T) {
	a := writeFile(t, "a", kubeconfigA)
	f := NewFactory(Options{Kubeconfig: a})
	gr := schema.GroupResource{Resource: "pods"}
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{"forbidden", apierrors.NewForbidden(gr, "", errors.New(`User "jane" cannot list resource "pods"`)),
			[]string{`forbidden: user "jane" cannot list pods in namespace "robusta" (context "ctx-a")`}},
		{"unauthorized", apierrors.NewUnauthorized("expired"), []string{"unauthorized", "https://a.example:6443", `"ctx-a"`}},
		{"not found", apierrors.NewNotFound(gr, "x"), []string{"not found: pods"}},
		{"no kubeconfig", ErrNoKubeconfig, []string{"no kubeconfig found"}},
		{"refused", errors.New(`Get "https://a.example:6443/api": dial tcp 1.2.3.4:6443: connect: connection refused`),
			[]string{"cannot reach the Kubernetes API server at https://a.example:6443", `(context "ctx-a")`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := f.Explain(tc.err, "list", "pods", "robusta").Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not contain %q", got, w)
				}
			}
		})
	}
	plain := errors.New("something else")
	if f.Explain(plain, "list", "pods", "") != plain {
		t.Error("unknown errors must pass through")
	}
}
