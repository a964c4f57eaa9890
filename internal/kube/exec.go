package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
)

// ExecOptions describe one command run in a container.
type ExecOptions struct {
	Namespace, Pod, Container string
	Command                   []string
	Stdin                     io.Reader
	Stdout                    io.Writer
	// Stderr receives the command's stderr; when nil it is captured and put into the
	// error of a failed command.
	Stderr io.Writer
	// StdinFrame, when positive, sends stdin in frames of up to that many bytes
	// instead of client-go's 32 KiB: for uploads (see framedStream), not for
	// interactive input.
	StdinFrame int
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		return fmt.Sprintf("command exited with code %d", e.Code)
	}
	return fmt.Sprintf("%s (exit code %d)", msg, e.Code)
}

var exitStatus = regexp.MustCompile(`exit status (\d+)$`)

// Exec runs a command in a container through the API server (SPDY), as kubectl exec.
// The command's stdin is o.Stdin; cancelling ctx ends the stream.
func (f *Factory) Exec(ctx context.Context, o ExecOptions) error {
	cfg, err := f.StreamingRESTConfig()
	if err != nil {
		return err
	}
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(o.Namespace).Name(o.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: o.Container,
			Command:   o.Command,
			Stdin:     o.Stdin != nil,
			Stdout:    o.Stdout != nil,
			Stderr:    true,
		}, scheme.ParameterCodec)
	var executor remotecommand.Executor
	if o.StdinFrame > 0 && o.Stdin != nil {
		transport, upgrader, terr := spdy.RoundTripperFor(cfg)
		if terr != nil {
			return fmt.Errorf("exec in %s/%s: %w", o.Namespace, o.Pod, terr)
		}
		executor, err = remotecommand.NewSPDYExecutorForTransports(transport, framedUpgrader{Upgrader: upgrader, frame: o.StdinFrame}, "POST", req.URL())
	} else {
		executor, err = remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	}
	if err != nil {
		return fmt.Errorf("exec in %s/%s: %w", o.Namespace, o.Pod, err)
	}
	var captured bytes.Buffer
	stderr := o.Stderr
	if stderr == nil {
		stderr = &captured
	}
	err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: o.Stdin, Stdout: o.Stdout, Stderr: stderr})
	if err == nil {
		return nil
	}
	var ce utilexec.CodeExitError
	if errors.As(err, &ce) {
		return &ExitError{Code: ce.Code, Stderr: captured.String()}
	}
	// Some runtimes (kwok among them) report a failed command as an internal error
	// ending in "exit status N" instead of an exit code.
	if m := exitStatus.FindStringSubmatch(err.Error()); m != nil {
		code, _ := strconv.Atoi(m[1])
		return &ExitError{Code: code, Stderr: captured.String()}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return f.Explain(unwrapURL(err), "create", "pods/exec", o.Namespace)
}
