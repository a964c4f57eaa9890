package helperpod

import (
	"context"
	"errors"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/robusta-dev/robusta-go/internal/kube"
)

// defaultTimeout bounds a helper's run when neither --helper-timeout nor the
// caller says otherwise.
const defaultTimeout = 6 * time.Minute

// runTimeout is the --helper-timeout of o when set, else fallback when positive,
// else defaultTimeout.
func runTimeout(o Options, fallback time.Duration) time.Duration {
	switch {
	case o.Timeout > 0:
		return o.Timeout
	case fallback > 0:
		return fallback
	}
	return defaultTimeout
}

// podRun is a helper pod that exists: the pod as created, the clientset that made
// it and the run's context, bounded by the helper timeout.
type podRun struct {
	cs       kubernetes.Interface
	pod      *corev1.Pod
	runCtx   context.Context
	progress io.Writer
	cancel   context.CancelFunc
}

// end deletes the pod (on a context of its own) and releases the run's context;
// callers defer it as soon as startPod returns without an error.
func (r *podRun) end() {
	Delete(r.cs, r.pod.Namespace, r.pod.Name)
	r.cancel()
}

// startPod is the common start of ExecIn and RunPod: create pod and bound the run
// by the helper timeout of ctx. On error nothing is left to clean up.
func startPod(ctx context.Context, kf *kube.Factory, pod *corev1.Pod) (*podRun, error) {
	o := FromContext(ctx)
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithTimeout(ctx, runTimeout(o, 0))
	created, err := createPod(ctx, cs, pod)
	if err != nil {
		cancel()
		return nil, err
	}
	return &podRun{cs: cs, pod: created, runCtx: runCtx, progress: o.Progress, cancel: cancel}, nil
}

// createTimeout bounds a single create call; it is not cut short by Ctrl-C.
const createTimeout = 30 * time.Second

// createDetached sends create on a context that Ctrl-C and the run's timeout do
// not cancel. A create cancelled in flight can still be carried out by the API
// server after the client stopped listening, leaving an object nobody deletes;
// waiting the few milliseconds for the answer means the caller always knows
// whether the object exists. When even that answer is lost (a transport error, not
// an API status), remove is called in case the server made it. The error is
// returned as create gave it, for the caller to explain.
func createDetached[T any](ctx context.Context, create func(context.Context) (T, error), remove func()) (T, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	created, err := create(cctx)
	if err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) {
			remove()
		}
	}
	return created, err
}

// deleter is the part of a typed client (pods, jobs, claims, deployments) that
// deleteAndWait needs.
type deleter[T any] interface {
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
}

// deleteAndWait deletes name on a context of its own (30 seconds), so that a
// cancelled run still cleans up, and then polls until the object is gone or the
// time is up. A failed delete ends it at once.
func deleteAndWait[T any](c deleter[T], name string, opts metav1.DeleteOptions) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Delete(ctx, name, opts); err != nil {
		return
	}
	for ctx.Err() == nil {
		if _, err := c.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
