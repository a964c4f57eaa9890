package kube

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/httpstream"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// client-go reports failed forward streams through utilruntime.HandleError, which logs
// to stderr by default. Keep the latest one for our own error message instead.
var lastForwardError struct {
	sync.Mutex
	err error
}

func init() {
	utilruntime.ErrorHandlers = []utilruntime.ErrorHandler{
		func(_ context.Context, err error, _ string, _ ...any) {
			lastForwardError.Lock()
			lastForwardError.err = err
			lastForwardError.Unlock()
		},
	}
}

// PortForward is an open forward from 127.0.0.1:LocalPort to a pod's port, over the
// API server (SPDY), as kubectl port-forward does it.
type PortForward struct {
	LocalPort int
	stop      chan struct{}
	done      chan struct{}
	errOut    *syncBuffer
	closeOnce sync.Once
}

// Addr is the local address to connect to.
func (pf *PortForward) Addr() string { return fmt.Sprintf("127.0.0.1:%d", pf.LocalPort) }

// Close stops forwarding and releases the local port.
func (pf *PortForward) Close() {
	pf.closeOnce.Do(func() { close(pf.stop) })
	<-pf.done
}

// Errors returns what the forwarder reported about failed streams, if anything (for
// example "connection refused" from the pod's side).
func (pf *PortForward) Errors() string {
	if s := strings.TrimSpace(pf.errOut.String()); s != "" {
		return s
	}
	lastForwardError.Lock()
	defer lastForwardError.Unlock()
	if lastForwardError.err != nil {
		return lastForwardError.err.Error()
	}
	return ""
}

// Done is closed when the forwarder has stopped (client-go stops it when a stream
// to the pod fails).
func (pf *PortForward) Done() <-chan struct{} { return pf.done }

// OpenPortForward forwards a local port chosen by the OS on 127.0.0.1 to port of the
// pod. It returns once the local listener is ready.
func (f *Factory) OpenPortForward(ctx context.Context, namespace, pod string, port int) (*PortForward, error) {
	cfg, err := f.StreamingRESTConfig()
	if err != nil {
		return nil, err
	}
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("port-forward transport: %w", err)
	}
	cs, err := f.Clientset()
	if err != nil {
		return nil, err
	}
	reqURL := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	dialer := &recordingDialer{Dialer: spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, reqURL)}

	pf := &PortForward{stop: make(chan struct{}), done: make(chan struct{}), errOut: &syncBuffer{}}
	ready := make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)},
		pf.stop, ready, nil, pf.errOut)
	if err != nil {
		return nil, fmt.Errorf("port-forward to %s/%s: %w", namespace, pod, err)
	}
	errCh := make(chan error, 1)
	go func() {
		defer close(pf.done)
		errCh <- fw.ForwardPorts()
	}()
	select {
	case <-ready:
	case err := <-errCh:
		if err == nil {
			err = fmt.Errorf("forwarder stopped")
		}
		if derr := dialer.lastErr(); derr != nil {
			err = derr // the API status error itself, which ForwardPorts flattens to text
		}
		return nil, fmt.Errorf("port-forward to %s/%s: %w", namespace, pod, f.Explain(unwrapURL(err), "create", "pods/portforward", namespace))
	case <-ctx.Done():
		pf.Close()
		return nil, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		pf.Close()
		return nil, fmt.Errorf("port-forward to %s/%s: no local port: %v", namespace, pod, err)
	}
	pf.LocalPort = int(ports[0].Local)
	return pf, nil
}

// recordingDialer keeps the error of the upgrade request: portforward.ForwardPorts
// reports it only as text, so apierrors.IsForbidden could not see it.
type recordingDialer struct {
	httpstream.Dialer
	mu  sync.Mutex
	err error
}

func (d *recordingDialer) Dial(protocols ...string) (httpstream.Connection, string, error) {
	c, p, err := d.Dialer.Dial(protocols...)
	if err != nil {
		d.mu.Lock()
		d.err = err
		d.mu.Unlock()
	}
	return c, p, err
}

func (d *recordingDialer) lastErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// The SPDY dialer wraps API errors in url.Error; Explain wants the status error.
func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok && ue.Err != nil {
		return ue.Err
	}
	return err
}

// syncBuffer is a bytes.Buffer safe for the forwarder's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
