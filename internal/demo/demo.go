// Package demo deploys and removes the crash-looping demo workload of `robusta demo`
// and builds the test alert of `robusta demo-alert`, as Robusta's Python CLI did.
package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

//go:embed crashpod.yaml
var manifest []byte

const (
	// Name is the demo Deployment's name, as the Python CLI's manifest named it.
	Name = "crashpod"
	// Selector selects the demo's pods.
	Selector = "app=crashpod"
	// MarkerAnnotation marks a Deployment as created by robusta demo.
	MarkerAnnotation = "robusta.dev/demo"
	// CrashLoopRestarts is when Robusta's default crash-loop playbook reports:
	// on_pod_crash_loop fires at restart_count 2 and up.
	CrashLoopRestarts = 2
)

// Deployment returns a fresh copy of the embedded demo Deployment in namespace.
func Deployment(namespace string) (*appsv1.Deployment, error) {
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(manifest, &d); err != nil {
		return nil, fmt.Errorf("embedded demo manifest: %w", err)
	}
	d.Namespace = namespace
	return &d, nil
}

// NotOursError is a Deployment named crashpod that robusta demo did not create.
type NotOursError struct{ Namespace string }

func (e *NotOursError) Error() string {
	return fmt.Sprintf("deployment %s/%s exists and was not created by robusta demo (no %s annotation); it is left alone",
		e.Namespace, Name, MarkerAnnotation)
}

// Create deploys the demo into namespace. created is false when a demo Deployment was
// already there (it is reused); a foreign Deployment of the same name is an error.
func Create(ctx context.Context, cs kubernetes.Interface, namespace string) (created bool, err error) {
	d, err := Deployment(namespace)
	if err != nil {
		return false, err
	}
	_, err = cs.AppsV1().Deployments(namespace).Create(ctx, d, metav1.CreateOptions{})
	if err == nil {
		return true, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return false, err
	}
	if err := checkOurs(ctx, cs, namespace); err != nil {
		return false, err
	}
	return false, nil
}

func checkOurs(ctx context.Context, cs kubernetes.Interface, namespace string) error {
	cur, err := cs.AppsV1().Deployments(namespace).Get(ctx, Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if cur.Annotations[MarkerAnnotation] != "true" {
		return &NotOursError{Namespace: namespace}
	}
	return nil
}

// ErrNotDeployed says there is no demo to delete.
var ErrNotDeployed = errors.New("no demo deployed")

// Delete removes the demo Deployment from namespace with its ReplicaSets and pods
// (foreground deletion, so the Deployment is gone only when its pods are), then waits
// up to wait for the pods to disappear. It refuses a Deployment robusta demo did not
// create.
func Delete(ctx context.Context, cs kubernetes.Interface, namespace string, wait time.Duration) error {
	if err := checkOurs(ctx, cs, namespace); err != nil {
		if apierrors.IsNotFound(err) {
			return ErrNotDeployed
		}
		return err
	}
	fg := metav1.DeletePropagationForeground
	err := cs.AppsV1().Deployments(namespace).Delete(ctx, Name, metav1.DeleteOptions{PropagationPolicy: &fg})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if wait <= 0 {
		return nil
	}
	return waitGone(ctx, cs, namespace, wait)
}

// ErrStillThere is returned when the demo's objects outlive the wait after deletion.
var ErrStillThere = errors.New("the demo is being removed but some of its objects are still there")

func waitGone(ctx context.Context, cs kubernetes.Interface, namespace string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		gone, err := Gone(ctx, cs, namespace)
		if err == nil && gone {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return err
			}
			return ErrStillThere
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Gone says whether neither the demo Deployment nor any of its ReplicaSets or pods
// exist in namespace.
func Gone(ctx context.Context, cs kubernetes.Interface, namespace string) (bool, error) {
	if _, err := cs.AppsV1().Deployments(namespace).Get(ctx, Name, metav1.GetOptions{}); err == nil {
		return false, nil
	} else if !apierrors.IsNotFound(err) {
		return false, err
	}
	rs, err := cs.AppsV1().ReplicaSets(namespace).List(ctx, metav1.ListOptions{LabelSelector: Selector})
	if err != nil {
		return false, err
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: Selector})
	if err != nil {
		return false, err
	}
	return len(rs.Items) == 0 && len(pods.Items) == 0, nil
}

// PodState is what Wait reports about the demo's pod.
type PodState struct {
	Pod      string
	Phase    corev1.PodPhase
	Reason   string // the container's waiting reason, e.g. CrashLoopBackOff
	Restarts int32
	ExitCode int32 // of the last terminated run, when known
}

// CrashLooping says whether the pod is where Robusta's crash-loop playbook reports it.
func (s PodState) CrashLooping() bool {
	return s.Reason == "CrashLoopBackOff" && s.Restarts >= CrashLoopRestarts
}

// Status reads the demo pod's state: the pod furthest along in crash-looping. ok is
// false when there is no pod yet.
func Status(ctx context.Context, cs kubernetes.Interface, namespace string) (st PodState, ok bool, err error) {
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: Selector})
	if err != nil {
		return PodState{}, false, err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		cur := PodState{Pod: p.Name, Phase: p.Status.Phase}
		for _, c := range p.Status.ContainerStatuses {
			if c.Name != Name {
				continue
			}
			cur.Restarts = c.RestartCount
			if c.State.Waiting != nil {
				cur.Reason = c.State.Waiting.Reason
			}
			if t := c.LastTerminationState.Terminated; t != nil {
				cur.ExitCode = t.ExitCode
			}
		}
		if !ok || better(cur, st) {
			st, ok = cur, true
		}
	}
	return st, ok, nil
}

func better(a, b PodState) bool {
	if a.CrashLooping() != b.CrashLooping() {
		return a.CrashLooping()
	}
	return a.Restarts > b.Restarts
}

// WaitCrashLoop polls the demo's pod until it crash-loops, calling progress on each
// change of state. It returns the crash-looping state, or the last one seen with
// ctx's error.
func WaitCrashLoop(ctx context.Context, cs kubernetes.Interface, namespace string, every time.Duration, progress func(PodState)) (PodState, error) {
	var last PodState
	for {
		st, ok, err := Status(ctx, cs, namespace)
		if err != nil && ctx.Err() == nil {
			return last, err
		}
		if ok {
			if st != last && progress != nil {
				progress(st)
			}
			last = st
			if st.CrashLooping() {
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(every):
		}
	}
}
