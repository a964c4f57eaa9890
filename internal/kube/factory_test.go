package kube

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/robusta-dev/robusta-go/internal/fileio"
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
	missing := filepath.Join(t.TempDir(), "missing")
	cases := []struct {
		name                      string
		opts                      Options
		wantCtx, wantHost, wantNS string
	}{
		{"explicit path, current context", Options{Kubeconfig: a}, "ctx-a", "https://a.example:6443", "team-a"},
		{"explicit path beats the list", Options{Kubeconfig: a, Paths: []string{c}}, "ctx-a", "https://a.example:6443", "team-a"},
		{"context override", Options{Kubeconfig: a, Context: "ctx-b"}, "ctx-b", "https://b.example:6443", "default"},
		{"namespace flag wins", Options{Kubeconfig: a, Namespace: "robusta"}, "ctx-a", "https://a.example:6443", "robusta"},
		{"list merges", Options{Paths: []string{a, c}, Context: "ctx-c"}, "ctx-c", "https://c.example:6443", "monitoring"},
		{"list: first file's current context", Options{Paths: []string{a, c}}, "ctx-a", "https://a.example:6443", "team-a"},
		{"list: missing entries are skipped", Options{Paths: []string{missing, c}, Context: "ctx-c"}, "ctx-c", "https://c.example:6443", "monitoring"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
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

func TestDefaultKubeconfigPaths(t *testing.T) {
	sep := string(os.PathListSeparator)
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"KUBECONFIG list, duplicates and empty entries dropped", map[string]string{"KUBECONFIG": "/a" + sep + sep + "/b" + sep + "/a", "HOME": "/h"}, []string{"/a", "/b"}},
		{"home when KUBECONFIG is unset", map[string]string{"HOME": "/h"}, []string{filepath.Join("/h", ".kube", "config")}},
		{"nothing without either", map[string]string{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := DefaultKubeconfigPaths(func(k string) string { return tc.env[k] })
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKubeconfigErrors(t *testing.T) {
	a := writeFile(t, "a", kubeconfigA)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nonexistent")
	big := writeFile(t, "big", kubeconfigA+"#"+strings.Repeat("x", 4096)+"\n")
	cases := []struct {
		name string
		opts Options
		max  int64
		want []string
	}{
		{"unknown context", Options{Kubeconfig: a, Context: "nope"}, 0, []string{`context "nope"`}},
		{"nothing to load names the paths tried", Options{Paths: []string{missing, missing + "2"}}, 0,
			[]string{"no kubeconfig found", missing + ", " + missing + "2"}},
		{"no paths at all", Options{}, 0, []string{"no kubeconfig found"}},
		{"malformed", Options{Kubeconfig: writeFile(t, "bad", "{not yaml")}, 0, []string{"load kubeconfig"}},
		{"explicit file missing", Options{Kubeconfig: missing}, 0, []string{"load kubeconfig", missing}},
		{"explicit FIFO refused", Options{Kubeconfig: fifo}, 0, []string{"a FIFO", "regular file"}},
		{"FIFO in the list refused", Options{Paths: []string{a, fifo}}, 0, []string{"a FIFO"}},
		{"device refused", Options{Kubeconfig: "/dev/zero"}, 0, []string{"character device"}},
		{"over the cap", Options{Kubeconfig: big}, 1024, []string{"over the 1.0 KiB cap", "--max-file-size"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fileio.SetMax(tc.max)
			defer fileio.SetMax(0)
			done := make(chan error, 1)
			go func() { _, err := NewFactory(tc.opts).RESTConfig(); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("loading the kubeconfig hangs")
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not contain %q", err, w)
				}
			}
		})
	}
	_, err := NewFactory(Options{}).RESTConfig()
	if !errors.Is(err, ErrNoKubeconfig) {
		t.Errorf("no kubeconfig: %v is not ErrNoKubeconfig", err)
	}
}

// TestRealHomeIsNotRead runs this test binary again with HOME pointing at a folder that
// stands for the user's real home, holding a ~/.kube/config. client-go fixes its default
// path from the home at start-up, so a test that only changes HOME later would still
// load that file; the factory must look only where its Options say.
func TestRealHomeIsNotRead(t *testing.T) {
	if os.Getenv("ROBUSTA_TEST_REAL_HOME_CHILD") == "1" {
		realHome := os.Getenv("HOME")
		t.Setenv("HOME", t.TempDir())
		t.Setenv("KUBECONFIG", "")
		_, err := NewFactory(Options{Paths: DefaultKubeconfigPaths(os.Getenv)}).RESTConfig()
		if !errors.Is(err, ErrNoKubeconfig) {
			t.Fatalf("the kubeconfig in the start-up home %s was read: %v", realHome, err)
		}
		_, err = NewFactory(Options{}).RESTConfig()
		if !errors.Is(err, ErrNoKubeconfig) {
			t.Fatalf("with no paths, the kubeconfig in the start-up home %s was read: %v", realHome, err)
		}
		// The trap is real: client-go's default rules, which the factory used to take,
		// still load the start-up home's file.
		def, err := clientcmd.NewDefaultClientConfigLoadingRules().Load()
		if err != nil || def.CurrentContext != "ctx-a" {
			t.Fatalf("client-go's default rules did not read %s (%v): this test proves nothing", realHome, err)
		}
		return
	}
	realHome := t.TempDir()
	if err := os.MkdirAll(filepath.Join(realHome, ".kube"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(realHome, ".kube", "config"), []byte(kubeconfigA), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestRealHomeIsNotRead$", "-test.count=1", "-test.v")
	cmd.Env = []string{"HOME=" + realHome, "ROBUSTA_TEST_REAL_HOME_CHILD=1", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRealHomeIsNotRead") {
		t.Fatalf("child: %v\n%s", err, out)
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

// TestFactoryConcurrentUse asks for the clients from many goroutines at once, as local
// serve's concurrent requests do. Under -race (make test) an unguarded lazy fill fails;
// without it, every caller must still get the same clients.
func TestFactoryConcurrentUse(t *testing.T) {
	f := NewFactory(Options{Kubeconfig: writeFile(t, "a", kubeconfigA)})
	const n = 16
	type got struct {
		cs  any
		dyn any
		err error
	}
	results := make(chan got, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		go func() {
			<-start
			var g got
			if i%2 == 0 {
				g.dyn, g.err = f.Dynamic()
				if g.err == nil {
					g.cs, g.err = f.Clientset()
				}
			} else {
				g.cs, g.err = f.Clientset()
				if g.err == nil {
					g.dyn, g.err = f.Dynamic()
				}
			}
			_, _ = f.RESTConfig()
			_ = f.ContextName() + f.Namespace() + f.ServerURL()
			results <- g
		}()
	}
	close(start)
	first := <-results
	if first.err != nil {
		t.Fatal(first.err)
	}
	for i := 1; i < n; i++ {
		g := <-results
		if g.err != nil {
			t.Fatal(g.err)
		}
		if g.cs != first.cs || g.dyn != first.dyn {
			t.Fatal("concurrent callers got different clients")
		}
	}
}
