package actions

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "test_pod_orm", Event: "PodEvent", Mutating: true, RunsCommands: true,
		Doc: "Example action: list the pod's images, run ls -l / in it, then delete the pod", Do: testPodORM})
}

// testPodORM is Robusta's example of the pod API: read, exec, delete. The runner only
// logs the images and the listing; here they go into the finding so a run shows them.
func testPodORM(ctx context.Context, r *engine.Run, _ any) error {
	pod := r.Event.Pod()
	images := make([]string, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		images[i] = c.Image
	}
	r.Finding.AddEnrichment("Images", engine.Markdown(strings.Join(images, "\n")))
	if err := execInto(ctx, r, "ls -l /", "ls -l /"); err != nil {
		return fmt.Errorf("test_pod_orm: running ls -l / in pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	dryRun, what := mutation(r, "test_pod_orm", "Deleted", "delete")
	if err := cs.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{DryRun: dryRun}); err != nil {
		return r.KF.Explain(err, "delete", "pods", pod.Namespace)
	}
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("%s pod %s/%s", what, pod.Namespace, pod.Name)))
	return nil
}
