package actions

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
)

func init() {
	engine.Register(&engine.Action{Name: "generate_high_cpu", Event: "ExecutionBaseEvent", RunsCommands: true, Mutating: true,
		Doc:       "Load the cluster's CPU for 60 seconds with a stress Deployment, then delete it (with --apply; dry run shows it)",
		NewParams: nil, Do: generateHighCPU})
}

// stressDeployment is the runner's RobustaDeployment.from_image("stress-test",
// "jfusterm/stress", "stress --cpu 100") in its namespace.
func stressDeployment() *appsv1.Deployment {
	one := int32(1)
	labels := map[string]string{"app": "stress-test"}
	podLabels := map[string]string{"app": "stress-test", helperpod.LabelHelper: "true"}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "stress-test", Namespace: helperpod.DefaultNamespace, Labels: map[string]string{"app": "stress-test", helperpod.LabelHelper: "true"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "runner", Image: "jfusterm/stress", ImagePullPolicy: corev1.PullAlways,
					Command: strings.Split("stress --cpu 100", " "),
				}}},
			},
		},
	}
}

func generateHighCPU(ctx context.Context, r *engine.Run, _ any) error {
	dep := stressDeployment()
	if !r.Apply {
		b, err := yaml.Marshal(dep)
		if err != nil {
			return fmt.Errorf("render deployment: %w", err)
		}
		r.Finding.AddEnrichment("Stress deployment (dry run)",
			engine.Markdown("With --apply this creates the Deployment below, keeps it for 60 seconds and deletes it."),
			engine.File(dep.Name+".yaml", []byte(nullTimestampLines(string(b)))))
		r.Notes = append(r.Notes, fmt.Sprintf("dry run: deployment %s/%s not created (pass --apply to run it)", dep.Namespace, dep.Name))
		return nil
	}
	if err := helperpod.HoldDeployment(ctx, r.KF, dep, 60*time.Second); err != nil {
		return err
	}
	r.Notes = append(r.Notes, fmt.Sprintf("deployment %s/%s ran for 60s and was deleted", dep.Namespace, dep.Name))
	return nil
}

func nullTimestampLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "creationTimestamp: null" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
