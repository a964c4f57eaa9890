package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// The runner's error codes for a trigger (ROBUSTA.md).
const (
	CodeEventMismatch  = 4601
	CodeParamsInvalid  = 4602
	CodeActionNotFound = 4603
	CodeNotManual      = 4604
	CodeEventParams    = 4605
	CodeEventNotBuilt  = 4606
	CodeUnexpected     = 4700
	CodeNotPermitted   = 4704
)

// TriggerError is a manual trigger that could not run, with the runner's code.
type TriggerError struct {
	Code int
	Msg  string
}

func (e *TriggerError) Error() string { return e.Msg }

// ManualEvent builds the event of a manual trigger as the runner does: from the
// name and namespace params (and kind, for actions on any resource), with the object's
// kind taken from the action's event class. It returns the event and the params left
// for the action. Actions on the base event take no object: their params are theirs.
func ManualEvent(ctx context.Context, kf *kube.Factory, a *Action, params map[string]any) (*Event, map[string]any, error) {
	rest := map[string]any{}
	for k, v := range params {
		rest[k] = v
	}
	switch {
	case catalogue.IsChangeEvent(a.Event):
		return nil, nil, &TriggerError{CodeNotManual, fmt.Sprintf("action %s takes a %s: it needs an old and a new object and cannot be run manually", a.Name, a.Event)}
	case a.Event == "ExecutionBaseEvent":
		return &Event{Class: "ExecutionBaseEvent"}, rest, nil
	}
	kind := strings.TrimSuffix(a.Event, "Event")
	if a.Event == "KubernetesResourceEvent" {
		k, ok := rest["kind"].(string)
		if !ok || k == "" {
			return nil, nil, &TriggerError{CodeEventParams, fmt.Sprintf("action %s runs on any resource: the kind param says which", a.Name)}
		}
		kind = k
	}
	name, _ := rest["name"].(string)
	ns, _ := rest["namespace"].(string)
	delete(rest, "name")
	delete(rest, "namespace")
	delete(rest, "kind")
	if name == "" {
		return nil, nil, &TriggerError{CodeEventParams, fmt.Sprintf("action %s needs the name param (and namespace) of the %s", a.Name, strings.ToLower(kind))}
	}
	res, err := kf.ResolveKind(kind)
	var unknown *kube.UnknownKindError
	switch {
	case errors.As(err, &unknown):
		return nil, nil, &TriggerError{CodeEventParams, err.Error()}
	case err != nil:
		return nil, nil, err // the cluster cannot be reached or asked: not the request's fault
	}
	if !res.Namespaced {
		ns = ""
	} else if ns == "" {
		return nil, nil, &TriggerError{CodeEventParams, fmt.Sprintf("action %s needs the namespace param of %s %s", a.Name, strings.ToLower(res.Kind), name)}
	}
	dyn, err := kf.Dynamic()
	if err != nil {
		return nil, nil, kf.Explain(err, "", "", "")
	}
	obj, err := dyn.Resource(res.GVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil, &TriggerError{CodeEventNotBuilt, fmt.Sprintf("could not build the event: %s %s not found", strings.ToLower(res.Kind), joinNS(ns, name))}
	case apierrors.IsForbidden(err):
		return nil, nil, &TriggerError{CodeNotPermitted, fmt.Sprintf("could not build the event: not permitted to get %s %s", res.GVR.Resource, joinNS(ns, name))}
	case err != nil:
		return nil, nil, &TriggerError{CodeUnexpected, err.Error()}
	}
	return ResourceEvent(res.Kind, obj), rest, nil
}

func joinNS(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
