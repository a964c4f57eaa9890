package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

var forbiddenUser = regexp.MustCompile(`User "([^"]*)" cannot`)

// Explain turns a client-go error into a message a person can act on: which server,
// which context, which user, what to do. Errors it does not recognise pass through.
// verb, resource and namespace describe the request that failed (namespace "" means
// all namespaces or a cluster-scoped resource).
func (f *Factory) Explain(err error, verb, resource, namespace string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNoKubeconfig) {
		return cli.WithHint(fmt.Errorf("%w: robusta needs access to a Kubernetes cluster", err),
			"set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config (for example with your cloud's get-credentials command)")
	}
	where := "in all namespaces"
	if namespace != "" {
		where = fmt.Sprintf("in namespace %q", namespace)
	}
	ctxName := f.ContextName()
	switch {
	case apierrors.IsForbidden(err):
		user := "the current user"
		if m := forbiddenUser.FindStringSubmatch(err.Error()); m != nil {
			user = fmt.Sprintf("user %q", m[1])
		}
		return cli.WithHint(explained(err, "forbidden: %s cannot %s %s %s (context %q)", user, verb, resource, where, ctxName),
			"ask a cluster admin for RBAC access, or pass --namespace to look only where you have rights")
	case apierrors.IsUnauthorized(err):
		return cli.WithHint(explained(err, "unauthorized: the API server at %s rejected the credentials of context %q", f.ServerURL(), ctxName),
			"refresh your credentials (they may have expired) or pick another context with --context")
	case apierrors.IsNotFound(err):
		return fmt.Errorf("not found: %s %s: %w", resource, where, err)
	}
	if isUnreachable(err) {
		return cli.WithHint(fmt.Errorf("cannot reach the Kubernetes API server at %s (context %q): %s", f.ServerURL(), ctxName, rootCause(err)),
			"check that the cluster is running and that your network or VPN reaches it; --request-timeout sets how long to wait")
	}
	return err
}

// explainedError is a message of our own that still unwraps to the API error it
// explains, so callers can test it with apierrors.IsForbidden and the like.
type explainedError struct {
	msg   string
	cause error
}

func (e *explainedError) Error() string { return e.msg }
func (e *explainedError) Unwrap() error { return e.cause }

func explained(cause error, format string, a ...any) error {
	return &explainedError{msg: fmt.Sprintf(format, a...), cause: cause}
}

func isUnreachable(err error) bool {
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, os.ErrDeadlineExceeded):
		return true
	case errors.As(err, &oe):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	case errors.As(err, &ue):
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") ||
		strings.Contains(s, "i/o timeout") || strings.Contains(s, "Client.Timeout exceeded")
}

// rootCause keeps the end of a wrapped network error ("connection refused"), dropping the
// request URL the caller has already named.
func rootCause(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
