package playbooks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/robusta-dev/robusta-go/internal/kube"
)

// Session is an open connection to one runner's HTTP API through a port-forward.
type Session struct {
	Pod    kube.RunnerPod
	Client *Client
	pf     *kube.PortForward
}

// Connect opens a port-forward to the runner's port 5000 and waits until its HTTP
// server answers /healthz. Until timeout it retries with backoff, reopening the
// port-forward when it failed (client-go closes a forward whose stream to the pod
// broke, for example while the runner's server is not listening yet).
func Connect(ctx context.Context, kf *kube.Factory, pod kube.RunnerPod, timeout time.Duration) (*Session, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	var session *Session
	err := retryBackoff(100*time.Millisecond).Until(ctx, true, false, func(ctx context.Context) (bool, error) {
		pf, err := kf.OpenPortForward(ctx, pod.Namespace, pod.Name, kube.RunnerPort)
		if err != nil {
			// Rights and missing pods do not fix themselves: report at once.
			if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
				return false, err
			}
			last = err
			return false, nil
		}
		client := NewClient("http://"+pf.Addr(), timeout)
		attempt, stop := context.WithTimeout(ctx, 3*time.Second)
		err = client.Ping(attempt)
		stop()
		if err == nil {
			session = &Session{Pod: pod, Client: client, pf: pf}
			return true, nil
		}
		last = err
		if detail := pf.Errors(); detail != "" {
			last = fmt.Errorf("%v (%s)", err, lastLine(detail))
		}
		pf.Close()
		return false, nil
	})
	switch {
	case session != nil:
		return session, nil
	case errors.Is(err, context.DeadlineExceeded) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("runner %s port %d did not answer within %s: %v", pod.Ref(), kube.RunnerPort, timeout, last)
	}
	return nil, err
}

// retryBackoff doubles the wait from first up to one second, then keeps it there, until
// the context ends.
func retryBackoff(first time.Duration) wait.DelayFunc {
	return wait.Backoff{Duration: first, Factor: 2, Cap: time.Second, Steps: math.MaxInt32}.DelayFunc()
}

// Close closes the port-forward.
func (s *Session) Close() {
	if s.pf != nil {
		s.pf.Close()
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
