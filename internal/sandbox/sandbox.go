// Package sandbox starts a real Kubernetes control plane for tests: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, through kwokctl's binary runtime.
// kwok makes pods Running on fake nodes and serves exec, logs and port-forward from
// local processes, files and addresses, configured per pod with kwok's Exec, Logs and
// PortForward resources.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Versions of the components; install.sh pins the same.
const (
	K8sVersion  = "v1.31.4"
	KwokVersion = "v0.7.0"
)

// The kwok resources the sandbox enables, so tests can point a pod's exec, logs and
// port-forward at their own directory, file and server.
var enabledCRDs = []string{"Exec", "Logs", "ClusterLogs", "PortForward"}

// BinDir is where install.sh put the components: $ROBUSTA_SANDBOX_BIN, or the cache dir.
func BinDir() string {
	if d := os.Getenv("ROBUSTA_SANDBOX_BIN"); d != "" {
		return d
	}
	root := os.Getenv("ROBUSTA_SANDBOX_CACHE")
	if root == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		root = filepath.Join(cache, "robusta-sandbox")
	}
	return filepath.Join(root, "k8s-"+K8sVersion+"-kwok-"+KwokVersion, "bin")
}

var components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwokctl"}

// ErrNotInstalled means the component binaries are missing.
var ErrNotInstalled = errors.New("sandbox components are not installed")

// CheckInstalled reports which components are missing from dir.
func CheckInstalled(dir string) error {
	var missing []string
	for _, c := range components {
		if _, err := os.Stat(filepath.Join(dir, c)); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s missing in %s; run hack/sandbox/install.sh (or make test, which runs it)",
			ErrNotInstalled, strings.Join(missing, ", "), dir)
	}
	return nil
}

// Cluster is a running sandbox cluster.
type Cluster struct {
	Name           string
	Workdir        string
	KubeconfigPath string
	Config         *rest.Config
	Client         kubernetes.Interface
	Dynamic        dynamic.Interface

	bin   string
	owned bool // started by us, so Stop deletes it
}

// Options for Start.
type Options struct {
	// Name of the cluster; a unique one is made when empty.
	Name string
	// Workdir holds the cluster's files (KWOK_WORKDIR); a temp dir when empty.
	Workdir string
	// BinDir holds the components; BinDir() when empty.
	BinDir string
	// Log receives kwokctl's output; discarded when nil.
	Log *bytes.Buffer
	// Stages are kwok Stage documents (YAML, "---"-separated) added to the kwok
	// configuration. Any pod Stage replaces all of kwok's default pod stages (ready,
	// complete, delete), so a set must bring its own; node stages stay kwok's.
	Stages string
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// CustomStatusAnnotation marks an object whose status kwok leaves alone.
const CustomStatusAnnotation = "kwok.x-k8s.io/status"

const kwokConfiguration = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  disregardStatusWithAnnotationSelector: kwok.x-k8s.io/status=custom
`

// Start creates and starts a cluster and waits until its API server answers.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin := opts.BinDir
	if bin == "" {
		bin = BinDir()
	}
	if err := CheckInstalled(bin); err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = "robusta-test-" + randomSuffix()
	}
	workdir := opts.Workdir
	if workdir == "" {
		d, err := os.MkdirTemp("", "robusta-sandbox-")
		if err != nil {
			return nil, err
		}
		workdir = d
	}
	c := &Cluster{Name: name, Workdir: workdir, bin: bin, owned: true,
		KubeconfigPath: filepath.Join(workdir, "kubeconfig")}

	// Objects annotated kwok.x-k8s.io/status=custom keep the status a test writes:
	// a NotReady node, a crash-looping pod; kwok would otherwise heal them.
	kwokConfig := filepath.Join(workdir, "kwok-config.yaml")
	conf := kwokConfiguration
	if opts.Stages != "" {
		conf += "---\n" + opts.Stages
	}
	if err := os.WriteFile(kwokConfig, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	args := []string{"create", "cluster", "--name", name, "--runtime", "binary",
		"--config", kwokConfig,
		"--kubeconfig", c.KubeconfigPath,
		"--enable-crds", strings.Join(enabledCRDs, ","),
		"--etcd-binary", filepath.Join(bin, "etcd"),
		"--kube-apiserver-binary", filepath.Join(bin, "kube-apiserver"),
		"--kube-controller-manager-binary", filepath.Join(bin, "kube-controller-manager"),
		"--kube-scheduler-binary", filepath.Join(bin, "kube-scheduler"),
		"--kwok-controller-binary", filepath.Join(bin, "kwok"),
		"--wait", "90s",
	}
	out, err := c.kwokctl(ctx, args...)
	if opts.Log != nil {
		opts.Log.Write(out)
	}
	if err != nil {
		// A half-started cluster still has processes: take it down.
		_, _ = c.kwokctl(context.Background(), "delete", "cluster", "--name", name)
		return nil, fmt.Errorf("kwokctl create cluster: %w: %s", err, lastLines(out, 15))
	}
	if err := c.connect(); err != nil {
		_ = c.Stop()
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// Attach connects to a cluster started elsewhere (make sandbox, or a shared test run),
// from its kubeconfig. Stop on it does nothing.
func Attach(kubeconfig string) (*Cluster, error) {
	c := &Cluster{KubeconfigPath: kubeconfig}
	if err := c.connect(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) connect() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath)
	if err != nil {
		return fmt.Errorf("sandbox kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	c.Config = cfg
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	return nil
}

func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last error
	for {
		// The default ServiceAccount shows the controller-manager is working, which
		// pods need before they can be created.
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", getOpts)
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("sandbox cluster %s not ready: %v", c.Name, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop deletes the cluster and its processes. It does nothing for an attached cluster.
func (c *Cluster) Stop() error {
	if !c.owned {
		return nil
	}
	out, err := c.kwokctl(context.Background(), "delete", "cluster", "--name", c.Name)
	if err != nil {
		return fmt.Errorf("kwokctl delete cluster: %w: %s", err, lastLines(out, 10))
	}
	return os.RemoveAll(c.Workdir)
}

func (c *Cluster) kwokctl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "kwokctl"), args...)
	cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+c.Workdir)
	// kwokctl's PATH lookups (etcdctl, kubectl) must find our binaries first.
	cmd.Env = append(cmd.Env, "PATH="+c.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Dir = c.Workdir
	return cmd.CombinedOutput()
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// StopByName deletes a cluster started earlier in workdir (for `make sandbox-down`).
func StopByName(name, workdir string) error {
	c := &Cluster{Name: name, Workdir: workdir, bin: BinDir(), owned: true}
	return c.Stop()
}
