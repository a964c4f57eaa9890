package playbooks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	backoff := 100 * time.Millisecond
	var last error
	for {
		pf, err := kf.OpenPortForward(ctx, pod.Namespace, pod.Name, kube.RunnerPort)
		if err != nil {
			// Rights and missing pods do not fix themselves: report at once.
			if strings.Contains(err.Error(), "forbidden") || strings.Contains(err.Error(), "not found") {
				return nil, err
			}
			last = err
		} else {
			client := NewClient("http://"+pf.Addr(), timeout)
			attempt, stop := context.WithTimeout(ctx, 3*time.Second)
			err = client.Ping(attempt)
			stop()
			if err == nil {
				return &Session{Pod: pod, Client: client, pf: pf}, nil
			}
			last = err
			if detail := pf.Errors(); detail != "" {
				last = fmt.Errorf("%v (%s)", err, lastLine(detail))
			}
			pf.Close()
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("runner %s port %d did not answer within %s: %v", pod.Ref(), kube.RunnerPort, timeout, last)
			}
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
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
