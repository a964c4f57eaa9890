package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

// HelmReleasesEvent is the class of events about a Helm release.
const HelmReleasesEvent = "HelmReleasesEvent"

func init() {
	engine.Register(&engine.Action{Name: "helm_status_enricher", Event: HelmReleasesEvent,
		Doc: "Report a Helm release: its status, revision, deploy times, description, notes and chart", Do: helmStatus})
}

// HelmReleaseEvent builds the event the runner's Helm discovery makes for a release:
// its object is the release's storage Secret (owner=helm) of the newest revision. The
// release itself is decoded by the Helm SDK's Secret driver, never by hand.
func HelmReleaseEvent(ctx context.Context, kf *kube.Factory, namespace, name string) (*engine.Event, error) {
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	secrets := cs.CoreV1().Secrets(namespace)
	rels, err := driver.NewSecrets(secrets).Query(map[string]string{"name": name, "owner": "helm"})
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("no Helm release %s in namespace %s (Helm's Secret storage has none of that name)", name, namespace)
	}
	if err != nil {
		return nil, kf.Explain(err, "list", "secrets", namespace)
	}
	newest := rels[0]
	for _, r := range rels[1:] {
		if r.Version > newest.Version {
			newest = r
		}
	}
	key := fmt.Sprintf("sh.helm.release.v1.%s.v%d", newest.Name, newest.Version)
	sec, err := secrets.Get(ctx, key, metav1.GetOptions{})
	if err != nil {
		return nil, kf.Explain(err, "get", "secrets", namespace)
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(sec)
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", namespace, key, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion("v1")
	u.SetKind("Secret")
	return &engine.Event{Class: HelmReleasesEvent, Kind: "Secret", Obj: u}, nil
}

// unhealthyHelmStatuses are the in-between statuses the runner's trigger calls unhealthy.
var unhealthyHelmStatuses = []string{"pending-install", "pending-upgrade", "pending-rollback", "uninstalling"}

// helmSeverity and helmAggregationKey follow HelmReleasesEvent: a deployed or
// uninstalled release is information, anything else high.
func helmSeverity(status string) engine.Severity {
	if status == "deployed" || status == "uninstalled" {
		return engine.Info
	}
	return engine.High
}

func helmAggregationKey(status string) string {
	for _, s := range unhealthyHelmStatuses {
		if s == status {
			return "Helm Release Unhealthy"
		}
	}
	return "Helm Release Info"
}

// helmTime is Python's '%b %d, %Y, %I:%M:%S %p%z', as the runner prints deploy times.
const helmTime = "Jan 02, 2006, 03:04:05 PM-0700"

func helmStatus(_ context.Context, r *engine.Run, _ any) error {
	o := r.Event.Obj
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	rel, err := driver.NewSecrets(cs.CoreV1().Secrets(o.GetNamespace())).Get(o.GetName())
	if err != nil {
		return fmt.Errorf("decode Helm release from secret %s/%s: %w", o.GetNamespace(), o.GetName(), err)
	}
	r.Finding.Title, r.Finding.Severity, r.Finding.AggregationKey = helmTitle(rel), helmSeverity(helmStatusOf(rel)), helmAggregationKey(helmStatusOf(rel))
	r.Finding.Source = "helm_release"
	// The runner's finding names no Kubernetes object; the Secret is only storage.
	r.Finding.Subject = engine.Subject{}
	r.Finding.AddEnrichment("", engine.Markdown(helmText(rel)))
	return nil
}

func helmStatusOf(rel *release.Release) string {
	if rel.Info == nil {
		return ""
	}
	return rel.Info.Status.String()
}

func helmTitle(rel *release.Release) string {
	t := fmt.Sprintf("Helm release %s/%s", rel.Namespace, rel.Name)
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		t += " - version: " + rel.Chart.Metadata.Version
	}
	return t + " - status: " + helmStatusOf(rel)
}

// helmText is the runner's markdown about the release, field by field.
func helmText(rel *release.Release) string {
	status := helmStatusOf(rel)
	var b strings.Builder
	fmt.Fprintf(&b, "Helm release `%s/%s` is currently in the `%s` status\n\n", rel.Namespace, rel.Name, status)
	b.WriteString("Release information:\n\n")
	item := func(k, v string) { fmt.Fprintf(&b, "  ● *%s*: `%s`\n\n", k, v) }
	item("Name", rel.Name)
	item("Namespace", rel.Namespace)
	item("Status", status)
	item("Revision", fmt.Sprint(rel.Version))
	if rel.Info != nil {
		item("First Deployed", rel.Info.FirstDeployed.Format(helmTime))
		item("Last Deployed", rel.Info.LastDeployed.Format(helmTime))
		if rel.Info.Description != "" {
			item("Description", rel.Info.Description)
		}
		if rel.Info.Notes != "" {
			item("Notes", strings.ReplaceAll(rel.Info.Notes, "\n", ""))
		}
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		b.WriteString("\nChart Information:\n\n")
		item("Name", rel.Chart.Metadata.Name)
		fmt.Fprintf(&b, "  ● *Version*: `%s`\n\n\n", rel.Chart.Metadata.Version)
	}
	return b.String()
}
