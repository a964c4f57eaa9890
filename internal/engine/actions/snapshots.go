package actions

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "create_pvc_snapshot", Event: "ExecutionBaseEvent", Mutating: true,
		Doc:       "Back up a PersistentVolumeClaim by creating a VolumeSnapshot of it",
		NewParams: func() any { return &snapshotParams{} }, Do: createPVCSnapshot})
}

type snapshotParams struct {
	Name      string `param:"name" required:"true" doc:"the PersistentVolumeClaim to back up"`
	Namespace string `param:"namespace" default:"default" doc:"its namespace"`
}

// snapshotVersion is the served version of snapshot.storage.k8s.io: the runner asks
// for v1beta1, which current clusters no longer serve, so v1 comes first.
func snapshotVersion(r *engine.Run) (string, error) {
	cs, err := r.KF.Clientset()
	if err != nil {
		return "", err
	}
	for _, v := range []string{"v1", "v1beta1"} {
		list, err := cs.Discovery().ServerResourcesForGroupVersion("snapshot.storage.k8s.io/" + v)
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return "", fmt.Errorf("create_pvc_snapshot: looking up the VolumeSnapshot API: %w", err)
		}
		for _, res := range list.APIResources {
			if res.Name == "volumesnapshots" {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("create_pvc_snapshot: the cluster does not serve VolumeSnapshots (snapshot.storage.k8s.io); install the external-snapshotter CRDs and a CSI driver that supports snapshots")
}

func createPVCSnapshot(ctx context.Context, r *engine.Run, params any) error {
	p := params.(*snapshotParams)
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	pvc, err := cs.CoreV1().PersistentVolumeClaims(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// The runner reports a missing claim as a failed backup, not as an error.
		r.Finding.Title = "Error creating VolumeSnapshot for " + p.Name
		r.Finding.AggregationKey = "VolumeSnapshotError"
		r.Finding.Type = engine.TypeIssue
		r.Finding.Severity = engine.High
		r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("No backup: PersistentVolumeClaim %s does not exist in namespace %s.", p.Name, p.Namespace)))
		return nil
	}
	if err != nil {
		return r.KF.Explain(err, "get", "persistentvolumeclaims", p.Namespace)
	}
	version, err := snapshotVersion(r)
	if err != nil {
		return err
	}
	dyn, err := r.KF.Dynamic()
	if err != nil {
		return err
	}
	now := time.Now()
	name := fmt.Sprintf("%s-backup-%s-%d", pvc.Name, now.Format("01-02-06"), now.Unix())
	snap := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "snapshot.storage.k8s.io/" + version, "kind": "VolumeSnapshot",
		"metadata": map[string]any{"name": name, "namespace": pvc.Namespace},
		"spec":     map[string]any{"source": map[string]any{"persistentVolumeClaimName": pvc.Name}},
	}}
	dryRun, what := mutation(r, "create_pvc_snapshot", "Created", "create")
	gvr := schema.GroupVersionResource{Group: "snapshot.storage.k8s.io", Version: version, Resource: "volumesnapshots"}
	if _, err := dyn.Resource(gvr).Namespace(pvc.Namespace).Create(ctx, snap, metav1.CreateOptions{DryRun: dryRun}); err != nil {
		return r.KF.Explain(err, "create", "volumesnapshots.snapshot.storage.k8s.io", pvc.Namespace)
	}
	r.Finding.Title = fmt.Sprintf("%s VolumeSnapshot %s", what, name)
	r.Finding.AggregationKey = "VolumeSnapshot"
	r.Finding.Type = engine.TypeReport
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("%s VolumeSnapshot %s/%s of PersistentVolumeClaim %s (snapshot.storage.k8s.io/%s)", what, pvc.Namespace, name, pvc.Name, version)))
	return nil
}
