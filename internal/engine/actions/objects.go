package actions

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "get_resource_yaml", Event: "KubernetesResourceEvent",
		Doc: "Attach the object's YAML (without managedFields)", Do: resourceYAML})
	engine.Register(&engine.Action{Name: "node_status_enricher", Event: "NodeEvent",
		Doc: "Attach the node's conditions", Do: nodeStatus})
	engine.Register(&engine.Action{Name: "job_info_enricher", Event: "JobEvent",
		Doc: "Attach the job's status: completions, failures, times", Do: jobInfo})
	engine.Register(&engine.Action{Name: "rollout_restart", Event: "DeploymentEvent", Mutating: true,
		Doc: "Restart the deployment's pods (server-side dry run unless --apply)", Do: rolloutRestart})
}

func as(e *engine.Event, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(e.Obj.Object, into)
}

func resourceYAML(_ context.Context, r *engine.Run, _ any) error {
	obj := r.Event.Obj.DeepCopy()
	obj.SetManagedFields(nil)
	b, err := yaml.Marshal(obj.Object)
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment("Resource YAML", engine.File(obj.GetName()+".yaml", b))
	return nil
}

func nodeStatus(_ context.Context, r *engine.Run, _ any) error {
	var n corev1.Node
	if err := as(r.Event, &n); err != nil {
		return err
	}
	var rows [][]string
	for _, c := range n.Status.Conditions {
		rows = append(rows, []string{string(c.Type), string(c.Status), c.Reason, c.Message})
	}
	r.Finding.AddEnrichment("Node status", engine.Table("conditions", []string{"type", "status", "reason", "message"}, rows))
	return nil
}

func jobInfo(_ context.Context, r *engine.Run, _ any) error {
	var j batchv1.Job
	if err := as(r.Event, &j); err != nil {
		return err
	}
	completions := int32(1)
	if j.Spec.Completions != nil {
		completions = *j.Spec.Completions
	}
	rows := [][]string{
		{"succeeded", fmt.Sprintf("%d/%d", j.Status.Succeeded, completions)},
		{"failed", fmt.Sprint(j.Status.Failed)},
		{"active", fmt.Sprint(j.Status.Active)},
	}
	if j.Status.StartTime != nil {
		rows = append(rows, []string{"started", j.Status.StartTime.UTC().Format(time.DateTime)})
	}
	if j.Status.CompletionTime != nil {
		rows = append(rows, []string{"completed", j.Status.CompletionTime.UTC().Format(time.DateTime)})
	}
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue {
			rows = append(rows, []string{"condition " + string(c.Type), c.Reason + ": " + c.Message})
		}
	}
	r.Finding.AddEnrichment("Job status", engine.Table("job", []string{"field", "value"}, rows))
	return nil
}

func rolloutRestart(ctx context.Context, r *engine.Run, _ any) error {
	var d appsv1.Deployment
	if err := as(r.Event, &d); err != nil {
		return err
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	patch := []byte(fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339)))
	dryRun, what := mutation(r, "rollout_restart", "Restarted", "restart")
	if _, err := cs.AppsV1().Deployments(d.Namespace).Patch(ctx, d.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{DryRun: dryRun}); err != nil {
		return r.KF.Explain(err, "patch", "deployments", d.Namespace)
	}
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("%s deployment %s/%s", what, d.Namespace, d.Name)))
	return nil
}
