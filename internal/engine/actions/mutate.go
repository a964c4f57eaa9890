package actions

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "delete_job", Event: "JobEvent", Mutating: true,
		Doc: "Delete the job; as in the runner, the API's default for Jobs keeps its pods (server-side dry run unless --apply)", Do: deleteJob})
	engine.Register(&engine.Action{Name: "scale_hpa_callback", Event: "HorizontalPodAutoscalerEvent", Mutating: true,
		Doc:       "Set the HorizontalPodAutoscaler's maxReplicas (server-side dry run unless --apply)",
		NewParams: func() any { return &scaleHPAParams{} }, Do: scaleHPA})
	engine.Register(&engine.Action{Name: "restart_named_rollout", Event: "ExecutionBaseEvent", Mutating: true,
		Doc:       "Restart an Argo Rollout by setting its spec.restartAt (server-side dry run unless --apply)",
		NewParams: func() any { return &namedRolloutParams{} }, Do: restartNamedRollout})
}

func deleteJob(ctx context.Context, r *engine.Run, _ any) error {
	name, ns := r.Event.Obj.GetName(), r.Event.Obj.GetNamespace()
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	dryRun, _ := mutation(r, "delete_job", "", "delete")
	// No propagation policy, as the runner's job.delete(): for batch/v1 Jobs the API
	// then orphans the pods instead of deleting them.
	if err := cs.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{DryRun: dryRun}); err != nil {
		return r.KF.Explain(err, "delete", "jobs", ns)
	}
	text := fmt.Sprintf("Job *%s/%s* deleted", ns, name)
	if dryRun != nil {
		text = fmt.Sprintf("Dry run: job *%s/%s* would be deleted (nothing changed)", ns, name)
	}
	r.Finding.AddEnrichment("", engine.Markdown(text))
	r.Notes = append(r.Notes, "delete_job leaves the job's pods in place (orphaned), as the runner's delete_job does")
	return nil
}

type scaleHPAParams struct {
	MaxReplicas int64 `param:"max_replicas" required:"true" doc:"the new maxReplicas"`
}

func scaleHPA(ctx context.Context, r *engine.Run, p any) error {
	n := p.(*scaleHPAParams).MaxReplicas
	name, ns := r.Event.Obj.GetName(), r.Event.Obj.GetNamespace()
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	dryRun, _ := mutation(r, "scale_hpa_callback", "", "update the autoscaler")
	patch := []byte(fmt.Sprintf(`{"spec":{"maxReplicas":%d}}`, n))
	// The server checks the value (at least 1, not below minReplicas), in a dry run too.
	after, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRun})
	if err != nil {
		return r.KF.Explain(err, "patch", "horizontalpodautoscalers", ns)
	}
	// The runner reports this as a finding of its own, with these fields.
	f := r.Finding
	f.Title = fmt.Sprintf("Max replicas for HPA *%s* in namespace *%s* updated to: *%d*", name, ns, n)
	if dryRun != nil {
		f.Title = fmt.Sprintf("Dry run: max replicas for HPA *%s* in namespace *%s* would be updated to: *%d*", name, ns, n)
	}
	f.Severity, f.Source, f.AggregationKey = engine.Info, "prometheus", "ScaleHpaAction"
	before := r.Event.Obj.Object
	if r.Event.Obj.GetAPIVersion() != "autoscaling/v2" {
		// Compare like with like: the event may hold another version of the object.
		if cur, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{ResourceVersion: r.Event.Obj.GetResourceVersion()}); err == nil {
			before = toMap(cur)
		}
	}
	f.AddEnrichment("Changes", changesBlock(before, toMap(after)))
	return nil
}

type namedRolloutParams struct {
	Name      string `param:"name" required:"true" doc:"the Rollout's name"`
	Namespace string `param:"namespace" required:"true" doc:"the Rollout's namespace"`
}

var rolloutsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

func restartNamedRollout(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*namedRolloutParams)
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	// Without the CRD a Get answers a bare 404, the same as a missing Rollout: ask
	// discovery so the two are told apart.
	res, err := cs.Discovery().ServerResourcesForGroupVersion(rolloutsGVR.GroupVersion().String())
	found := false
	if err == nil {
		for _, x := range res.APIResources {
			found = found || x.Name == rolloutsGVR.Resource
		}
	} else if !apierrors.IsNotFound(err) {
		return r.KF.Explain(err, "discover", "the argoproj.io/v1alpha1 API", "")
	}
	if !found {
		return fmt.Errorf("restart_named_rollout restarts Argo Rollouts, but the cluster serves no %s %s (CRD rollouts.argoproj.io): install Argo Rollouts, or use rollout_restart for a Deployment",
			rolloutsGVR.GroupVersion(), rolloutsGVR.Resource)
	}
	dyn, err := r.KF.Dynamic()
	if err != nil {
		return err
	}
	ri := dyn.Resource(rolloutsGVR).Namespace(params.Namespace)
	before, err := ri.Get(ctx, params.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// The runner logs this and adds nothing.
		r.Notes = append(r.Notes, fmt.Sprintf("restart_named_rollout: rollout %s/%s not found, nothing restarted", params.Namespace, params.Name))
		return nil
	}
	if err != nil {
		return r.KF.Explain(err, "get", "rollouts.argoproj.io", params.Namespace)
	}
	dryRun, _ := mutation(r, "restart_named_rollout", "", "restart")
	patch := []byte(fmt.Sprintf(`{"spec":{"restartAt":%q}}`, time.Now().UTC().Format(time.RFC3339)))
	after, err := ri.Patch(ctx, params.Name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRun})
	if err != nil {
		return r.KF.Explain(err, "patch", "rollouts.argoproj.io", params.Namespace)
	}
	text := fmt.Sprintf("rollout/%s/%s restarted", params.Namespace, params.Name)
	if dryRun != nil {
		text = fmt.Sprintf("Dry run: rollout/%s/%s would be restarted (nothing changed)", params.Namespace, params.Name)
	}
	r.Finding.AddEnrichment("", engine.Markdown(text), changesBlock(before.Object, after.Object))
	return nil
}
