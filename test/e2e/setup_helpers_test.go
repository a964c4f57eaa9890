package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	pseudotty "github.com/creack/pty"
	"github.com/hinshun/vt10x"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

// Set-up shared by the e2e tests: a sandbox namespace, the "shop" Deployment
// that the change-tracking tests roll out, the binary running in the background
// or on a pseudo-terminal.

// inNamespace is the common start of a sandbox test: the cluster, a context, the
// environment that points the binary at the cluster, and namespace ns made sure.
func inNamespace(t *testing.T, ns string) (*sandbox.Cluster, context.Context, []string) {
	t.Helper()
	c := sandbox.Get(t)
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	return c, ctx, kubeconfigEnv(c.KubeconfigPath)
}

// createShop creates Deployment ns/shop (no replicas, one container "web" on
// nginx:1.24) and deletes it when the test ends.
func createShop(t *testing.T, c *sandbox.Cluster, ns string) {
	t.Helper()
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: int32p(0), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.24"}}}}}}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(context.Background(), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.AppsV1().Deployments(ns).Delete(context.Background(), "shop", metav1.DeleteOptions{})
	})
}

// setShopImage rolls ns/shop's container out to image (retrying on conflicts with
// the deployment controller's own writes).
func setShopImage(t *testing.T, c *sandbox.Cluster, ns, image string) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = image
		_, err = c.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bgProc is the binary running in the background (local watch, playbooks dev) with
// a home of its own, its output kept for the test to read.
type bgProc struct {
	what         string // how failures name it: "watch", "dev"
	cmd          *exec.Cmd
	mu           sync.Mutex
	stdout, errb bytes.Buffer
	done         chan error
}

// lockedWriter writes to w under mu, so the test can read w while the process
// writes.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// startBackground starts the binary with args; it is killed when the test ends.
func startBackground(t *testing.T, what string, env []string, args ...string) *bgProc {
	t.Helper()
	home := t.TempDir()
	p := &bgProc{what: what, cmd: exec.Command(binary, args...), done: make(chan error, 1)}
	p.cmd.Env = append([]string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, env...)
	p.cmd.Stdout, p.cmd.Stderr = lockedWriter{&p.mu, &p.stdout}, lockedWriter{&p.mu, &p.errb}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

func (p *bgProc) output() (string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String(), p.errb.String()
}

// stop sends Ctrl-C and returns the exit code.
func (p *bgProc) stop(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop within 15 s of SIGINT", p.what)
	}
	return p.cmd.ProcessState.ExitCode()
}

// onTerminal runs the command newCmd builds on a pseudo-terminal and lets script
// answer like a person (each expectation waiting up to answerWithin); it returns
// the exit code and the screen as the person saw it.
func onTerminal(t *testing.T, answerWithin time.Duration, newCmd func(ctx context.Context) *exec.Cmd, script func(c *expect.Console)) (int, string) {
	t.Helper()
	pty, tty, err := pseudotty.Open()
	if err != nil {
		t.Fatal(err)
	}
	term := vt10x.New(vt10x.WithWriter(tty))
	var screen strings.Builder
	c, err := expect.NewConsole(expect.WithStdin(pty), expect.WithStdout(term, &screen), expect.WithCloser(pty, tty),
		expect.WithDefaultTimeout(answerWithin))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := newCmd(ctx)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Tty(), c.Tty(), c.Tty()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		script(c)
	}()
	err = cmd.Wait()
	_ = c.Tty().Close()
	<-done
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return code, screen.String()
}

// streamProc is the binary started with its stdout read line by line, for tests
// that act once a given line shows (follow modes, signals).
type streamProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	lines  []string
	ended  bool // stdout closed
	next   int  // the first line waitLine has not passed yet
}

// startStream starts the binary with a home of its own; ctx bounds its life.
func startStream(t *testing.T, ctx context.Context, env []string, args ...string) *streamProc {
	t.Helper()
	p := &streamProc{cmd: exec.CommandContext(ctx, binary, args...)}
	p.cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.ended = true
		p.mu.Unlock()
	}()
	return p
}

// stderrText is what the binary has written to stderr so far.
func (p *streamProc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitLine waits up to within for a stdout line equal to want, after the line the
// last waitLine matched; it fails the test when stdout ends or time runs out first.
func (p *streamProc) waitLine(t *testing.T, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		for ; p.next < len(p.lines); p.next++ {
			if p.lines[p.next] == want {
				p.next++
				p.mu.Unlock()
				return
			}
		}
		ended := p.ended
		p.mu.Unlock()
		switch {
		case ended:
			t.Fatalf("stream ended before %q; stderr: %s", want, p.stderrText())
		case time.Now().After(deadline):
			t.Fatalf("no %q within %s; stderr: %s", want, within, p.stderrText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeNode makes sure the sandbox's kwok node exists, for pods that must run.
func fakeNode(t *testing.T, c *sandbox.Cluster) {
	t.Helper()
	if err := c.EnsureNode(context.Background(), sandbox.FakeNodeName); err != nil {
		t.Fatal(err)
	}
}
