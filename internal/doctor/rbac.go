package doctor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Permission is one right some commands need.
type Permission struct {
	Verb, Group, Resource, Subresource string
	// Cluster: asked for all namespaces (or a cluster-scoped resource) instead of the
	// runner's namespace.
	Cluster  bool
	Commands []string
	// Critical: without it the runner cannot even be reached; red instead of yellow.
	Critical bool
}

func (p Permission) String() string {
	res := p.Resource
	if p.Subresource != "" {
		res += "/" + p.Subresource
	}
	if p.Group != "" {
		res += "." + p.Group
	}
	return p.Verb + " " + res
}

// Permissions lists what robusta's commands need from the API server.
func Permissions() []Permission {
	runnerCmds := []string{"playbooks trigger", "playbooks reload", "logs", "playbooks push", "doctor"}
	return []Permission{
		{Verb: "list", Resource: "pods", Commands: runnerCmds, Critical: true},
		{Verb: "list", Resource: "pods", Cluster: true, Commands: []string{"finding the runner without --namespace", "cluster-info"}},
		{Verb: "create", Resource: "pods", Subresource: "portforward", Commands: []string{"playbooks trigger", "playbooks reload", "playbooks dev", "doctor (runner health)"}, Critical: true},
		{Verb: "create", Resource: "pods", Subresource: "exec", Commands: []string{"playbooks push", "playbooks dev", "playbooks list-dirs", "playbooks pull", "playbooks delete"}},
		{Verb: "get", Resource: "pods", Subresource: "log", Commands: []string{"logs", "playbooks trigger --show-logs", "playbooks dev"}},
		{Verb: "get", Resource: "secrets", Commands: []string{"playbooks list", "playbooks show-config", "playbooks edit-config", "playbooks configure", "doctor (config)"}},
		{Verb: "update", Resource: "secrets", Commands: []string{"playbooks configure --secret", "playbooks edit-config"}},
		{Verb: "list", Resource: "secrets", Commands: []string{"playbooks configure (Helm release)", "playbooks push (release checks)"}},
		{Verb: "patch", Resource: "pods", Commands: []string{"playbooks configure --secret (reload annotation)"}},
		{Verb: "patch", Group: "apps", Resource: "deployments", Commands: []string{"playbooks configure (Helm upgrade)"}},
		{Verb: "list", Resource: "services", Cluster: true, Commands: []string{"local run (Prometheus/Alertmanager discovery)", "demo-alert"}},
	}
}

func (st *state) checkRBAC(ctx context.Context) Result {
	ns := st.namespace
	perms := Permissions()
	type answer struct {
		allowed bool
		err     error
	}
	answers := make([]answer, len(perms))
	var wg sync.WaitGroup
	for i, p := range perms {
		wg.Add(1)
		go func(i int, p Permission) {
			defer wg.Done()
			attr := &authorizationv1.ResourceAttributes{Verb: p.Verb, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource}
			if !p.Cluster && ns != "" {
				attr.Namespace = ns
			}
			rev, err := st.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
				&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attr}}, metav1.CreateOptions{})
			if err != nil {
				answers[i] = answer{err: err}
				return
			}
			answers[i] = answer{allowed: rev.Status.Allowed}
		}(i, p)
	}
	wg.Wait()
	where := func(p Permission) string {
		if p.Cluster || ns == "" {
			return "in all namespaces"
		}
		return "in " + ns
	}
	var denied, details []string
	affected := map[string]bool{}
	critical := false
	for i, p := range perms {
		a := answers[i]
		switch {
		case a.err != nil:
			return yellow("", "cannot ask the API server about rights (SelfSubjectAccessReview): %v", st.opts.KF.Explain(a.err, "create", "selfsubjectaccessreviews", ""))
		case !a.allowed:
			denied = append(denied, p.String()+" "+where(p))
			details = append(details, fmt.Sprintf("denied: %s %s, needed by %s", p, where(p), strings.Join(p.Commands, ", ")))
			for _, c := range p.Commands {
				affected[c] = true
			}
			critical = critical || p.Critical
		}
	}
	if len(denied) == 0 {
		return green("all %d rights robusta's commands need are granted (namespace %s)", len(perms), orUnknown(ns))
	}
	cmds := make([]string, 0, len(affected))
	for c := range affected {
		cmds = append(cmds, c)
	}
	sort.Strings(cmds)
	fix := "ask a cluster admin to grant (Role/RoleBinding, ClusterRole for all namespaces): " + strings.Join(denied, "; ")
	msg := fmt.Sprintf("%s of %d denied; affected: %s", plural(len(denied), "right"), len(perms), strings.Join(cmds, ", "))
	var r Result
	if critical {
		r = red(fix, "%s", msg)
	} else {
		r = yellow(fix, "%s", msg)
	}
	r.Details = details
	return r
}
