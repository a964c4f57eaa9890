// Package helperpod runs the short-lived pods the runner starts for node-level
// actions: it creates the pod, waits for it, collects the command's output and
// always deletes the pod again, whether the run succeeds, fails, times out or is
// interrupted.
package helperpod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/kube"
)

// The runner's defaults (its INSTALLATION_NAMESPACE, RELEASE_NAME-derived service
// account, IMAGE_REGISTRY and debug-toolkit image).
const (
	DefaultNamespace      = "robusta"
	DefaultServiceAccount = "robusta-runner-service-account"
	DefaultRegistry       = "robustadev"
	DebugToolkitImage     = "debug-toolkit:v8.0"
	debuggerContainer     = "debugger"
	// LabelHelper marks every pod this package creates, so leftovers can be found.
	LabelHelper = "robusta.dev/local-helper"
)

type optionsKey struct{}

// WithOptions carries the command line's settings for helper pods (registry,
// timeout, progress) to the actions that start them.
func WithOptions(ctx context.Context, o Options) context.Context {
	return context.WithValue(ctx, optionsKey{}, o)
}

// FromContext returns the Options set by WithOptions (zero when none).
func FromContext(ctx context.Context) Options {
	o, _ := ctx.Value(optionsKey{}).(Options)
	return o
}

// Image returns name prefixed by the registry in ctx (default robustadev).
func Image(ctx context.Context, name string) string {
	reg := FromContext(ctx).ImageRegistry
	if reg == "" {
		reg = DefaultRegistry
	}
	return strings.TrimSuffix(reg, "/") + "/" + name
}

var unsafeName = regexp.MustCompile(`[^0-9a-zA-Z-]+`)

// Name builds a unique pod name as the runner does: prefix, the sanitised base and a
// time-based suffix, cut to 63 characters.
func Name(prefix, base string, now time.Time) string {
	n := prefix + unsafeName.ReplaceAllString(base, "-") + "-" + strings.ReplaceAll(fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000), ".", "-")
	if len(n) > 63 {
		n = n[:63]
	}
	return strings.TrimRight(n, "-")
}

// DebuggerPod is the runner's privileged debugger pod pinned to node: hostPID,
// SYS_PTRACE and SYS_ADMIN, privileged, in the runner's namespace under its service
// account. A nil command keeps the image's own (a long sleep) so commands can be
// exec'd into it.
func DebuggerPod(ctx context.Context, base, node string, annotations map[string]string) *corev1.Pod {
	return DebuggerPodWith(ctx, base, node, Image(ctx, DebugToolkitImage), nil, false, annotations)
}

// DebuggerPodWith is the runner's create_debugger_pod with its options: another
// image (run with its own command), environment, and the host's root filesystem
// mounted at /host.
func DebuggerPodWith(ctx context.Context, base, node, image string, env []corev1.EnvVar, mountHostRoot bool, annotations map[string]string) *corev1.Pod {
	privileged := true
	var mounts []corev1.VolumeMount
	var volumes []corev1.Volume
	if mountHostRoot {
		dir := corev1.HostPathDirectory
		mounts = []corev1.VolumeMount{{Name: "host-root", MountPath: "/host"}}
		volumes = []corev1.Volume{{Name: "host-root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/", Type: &dir}}}}
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        Name("debug-", base, time.Now()),
			Namespace:   DefaultNamespace,
			Annotations: annotations,
			Labels:      map[string]string{LabelHelper: "true"},
		},
		Spec: corev1.PodSpec{
			ServiceAccountName: DefaultServiceAccount,
			HostPID:            true,
			NodeName:           node,
			RestartPolicy:      corev1.RestartPolicyOnFailure,
			Containers: []corev1.Container{{
				Name:            debuggerContainer,
				Image:           image,
				ImagePullPolicy: corev1.PullAlways,
				SecurityContext: &corev1.SecurityContext{
					Privileged:   &privileged,
					Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_PTRACE", "SYS_ADMIN"}},
				},
				VolumeMounts: mounts,
				Env:          env,
			}},
			Volumes: volumes,
		},
	}
}

// YAML renders the pod as the manifest the dry run shows.
func YAML(pod *corev1.Pod) (string, error) {
	out := pod.DeepCopy()
	out.Status = corev1.PodStatus{}
	b, err := yaml.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("render helper pod: %w", err)
	}
	// The zero creationTimestamp is noise in a spec nobody has created yet.
	return strings.Replace(string(b), "  creationTimestamp: null\n", "", 1), nil
}

// Options say where images come from, how long to wait and where to show progress.
type Options struct {
	// ImageRegistry replaces the runner's default registry (the chart's image.registry).
	ImageRegistry string
	// Timeout bounds the whole run, from create to the end of the command.
	Timeout time.Duration
	// Progress, when set, gets a spinner line while waiting (a terminal's stderr).
	Progress io.Writer
}

// ErrTimeout is returned when the pod did not finish in time; the pod is deleted.
var ErrTimeout = errors.New("helper pod timed out")

// ExecIn creates pod, waits until it runs, runs command with /bin/sh -c in it (as
// the runner's exec does) and returns stdout and stderr. The pod is deleted before
// ExecIn returns, in every case. A command that exits non-zero returns its output
// and a *kube.ExitError.
func ExecIn(ctx context.Context, kf *kube.Factory, pod *corev1.Pod, command string) (string, error) {
	r, err := startPod(ctx, kf, pod)
	if err != nil {
		return "", err
	}
	defer r.end()
	cs, created, runCtx := r.cs, r.pod, r.runCtx
	if ctx.Err() != nil {
		return "", timeoutOr(ctx, runCtx, ctx.Err(), created)
	}

	stop := spin(r.progress, fmt.Sprintf("waiting for helper pod %s/%s", created.Namespace, created.Name))
	defer stop()
	if err := waitPhase(runCtx, cs, created.Namespace, created.Name, corev1.PodRunning); err != nil {
		return "", timeoutOr(ctx, runCtx, err, created)
	}
	var stdout, stderr strings.Builder
	// Right after the pod turns Running the exec endpoint can still refuse (the
	// container is starting); retry those refusals briefly, never a command that ran.
	for {
		stdout.Reset()
		stderr.Reset()
		err = kf.Exec(runCtx, kube.ExecOptions{Namespace: created.Namespace, Pod: created.Name, Container: pod.Spec.Containers[0].Name,
			Command: []string{"/bin/sh", "-c", command}, Stdout: &stdout, Stderr: &stderr})
		var exit *kube.ExitError
		if err == nil || errors.As(err, &exit) || stdout.Len() > 0 || stderr.Len() > 0 || runCtx.Err() != nil {
			break
		}
		select {
		case <-runCtx.Done():
		case <-time.After(200 * time.Millisecond):
			continue
		}
		break
	}
	if err != nil {
		var exit *kube.ExitError
		if errors.As(err, &exit) {
			return stdout.String() + stderr.String(), err
		}
		return "", timeoutOr(ctx, runCtx, err, created)
	}
	return stdout.String() + stderr.String(), nil
}

// createPod creates pod through createDetached (see there why Ctrl-C does not cut
// the create short).
func createPod(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) (*corev1.Pod, error) {
	created, err := createDetached(ctx, func(cctx context.Context) (*corev1.Pod, error) {
		return cs.CoreV1().Pods(pod.Namespace).Create(cctx, pod, metav1.CreateOptions{})
	}, func() { Delete(cs, pod.Namespace, pod.Name) })
	if err != nil {
		return nil, explainCreate(err, pod)
	}
	return created, nil
}

// RunPod is the runner's run_debugger_pod: it creates pod, waits until it has
// Succeeded (a Failed pod is an error) and returns its log. The pod is deleted before
// RunPod returns, in every case.
func RunPod(ctx context.Context, kf *kube.Factory, pod *corev1.Pod) (string, error) {
	r, err := startPod(ctx, kf, pod)
	if err != nil {
		return "", err
	}
	defer r.end()
	cs, created, runCtx := r.cs, r.pod, r.runCtx
	stop := spin(r.progress, fmt.Sprintf("waiting for helper pod %s/%s to finish", created.Namespace, created.Name))
	defer stop()
	if err := waitPhase(runCtx, cs, created.Namespace, created.Name, corev1.PodSucceeded); err != nil {
		return "", timeoutOr(ctx, runCtx, err, created)
	}
	logs, err := podLog(runCtx, cs, created)
	if err != nil {
		return "", timeoutOr(ctx, runCtx, fmt.Errorf("read its log: %w", err), created)
	}
	return logs, nil
}

func timeoutOr(parent, run context.Context, err error, pod *corev1.Pod) error {
	if parent.Err() != nil {
		return fmt.Errorf("interrupted; helper pod %s/%s deleted: %w", pod.Namespace, pod.Name, parent.Err())
	}
	if run.Err() != nil {
		return fmt.Errorf("%w: %s/%s did not finish; it was deleted (is image %s reachable from node %q? pass --image-registry for a mirror)",
			ErrTimeout, pod.Namespace, pod.Name, pod.Spec.Containers[0].Image, pod.Spec.NodeName)
	}
	return fmt.Errorf("helper pod %s/%s: %w", pod.Namespace, pod.Name, err)
}

func explainCreate(err error, pod *corev1.Pod) error {
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) && strings.Contains(err.Error(), "serviceaccount") {
		return fmt.Errorf("create helper pod in namespace %s: %w (helper pods run as the runner does, in its namespace with service account %s: install Robusta there first)",
			pod.Namespace, err, pod.Spec.ServiceAccountName)
	}
	return fmt.Errorf("create helper pod %s/%s: %w", pod.Namespace, pod.Name, err)
}

// Delete removes the pod without a grace period, on a context of its own so that a
// cancelled run still cleans up, and waits (briefly) until it is gone.
func Delete(cs kubernetes.Interface, namespace, name string) {
	zero := int64(0)
	deleteAndWait(cs.CoreV1().Pods(namespace), name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
}

func waitPhase(ctx context.Context, cs kubernetes.Interface, namespace, name string, want corev1.PodPhase) error {
	for {
		p, err := cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("read helper pod: %w", err)
		}
		if err == nil {
			if p.Status.Phase == want {
				return nil
			}
			if p.Status.Phase == corev1.PodFailed && want == corev1.PodSucceeded {
				return fmt.Errorf("helper pod failed to complete: it is in phase %s", p.Status.Phase)
			}
			if p.Status.Phase == corev1.PodFailed || (want == corev1.PodRunning && p.Status.Phase == corev1.PodSucceeded) {
				return fmt.Errorf("helper pod ended in phase %s before the command ran", p.Status.Phase)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// spin draws a spinner on w until stop is called; w nil draws nothing.
func spin(w io.Writer, msg string) (stop func()) {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		frames := `|/-\`
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%c %s", frames[i%len(frames)], msg)
			select {
			case <-done:
				fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", len(msg)+2))
				return
			case <-time.After(150 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); <-finished }
}
