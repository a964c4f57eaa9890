package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/kube"
)

func init() {
	engine.Register(&engine.Action{Name: "volume_analysis", Event: "PersistentVolumeEvent", RunsCommands: true,
		Doc:       "List the files on a persistent volume: ls -R in the pod that mounts its claim, else in a reader pod mounting it (created only with --apply)",
		NewParams: nil, Do: volumeAnalysis})
}

// volumeReaderPod is the runner's persistent_volume_reader: busybox idling with the
// claim mounted at /pvc, in the claim's namespace, under a fixed name.
func volumeReaderPod(namespace, claim string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "volume-inspector", Namespace: namespace, Labels: map[string]string{helperpod.LabelHelper: "true"}},
		Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{{Name: "pvc-mount", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
			Containers: []corev1.Container{{
				Name: "pvc-inspector", Image: "busybox",
				Command:      []string{"tail"},
				Args:         []string{"-f", "/dev/null"},
				VolumeMounts: []corev1.VolumeMount{{MountPath: "/pvc", Name: "pvc-mount"}},
			}},
		},
	}
}

func volumeAnalysis(ctx context.Context, r *engine.Run, _ any) error {
	var pv corev1.PersistentVolume
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(r.Event.Obj.Object, &pv); err != nil {
		return fmt.Errorf("read persistent volume: %w", err)
	}
	// The runner reports this in a finding of its own.
	r.Finding.Title = "Persistent Volume content"
	r.Finding.AggregationKey = "VolumeAnalysis"
	r.Finding.Type = engine.TypeReport
	ref := pv.Spec.ClaimRef
	if ref == nil {
		r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("Persistent volume named %s have no persistent volume claim.", pv.Name)))
		return nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}); err != nil {
		return r.KF.Explain(err, "get", "persistentvolumeclaims", ref.Namespace)
	}
	pods, err := cs.CoreV1().Pods(ref.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return r.KF.Explain(err, "list", "pods", ref.Namespace)
	}
	// The first pod of the claim's namespace with a volume of that claim, and the
	// mount of that volume in its containers.
	for _, p := range pods.Items {
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != ref.Name {
				continue
			}
			for _, c := range p.Spec.Containers {
				for _, m := range c.VolumeMounts {
					if m.Name != v.Name {
						continue
					}
					out, err := execOutput(ctx, r.KF, p.Namespace, p.Name, c.Name, "ls -R "+m.MountPath+"/")
					if err != nil {
						return err
					}
					volumeFiles(r, &pv, out)
					return nil
				}
			}
			r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("Pod %s/%s has the claim %s as volume %s but mounts it in no container.", p.Namespace, p.Name, ref.Name, v.Name)))
			return nil
		}
	}
	reader := volumeReaderPod(ref.Namespace, ref.Name)
	out, ran, err := execHelper(ctx, r, reader, "ls -R /pvc")
	if err != nil || !ran {
		return err
	}
	volumeFiles(r, &pv, out)
	return nil
}

func volumeFiles(r *engine.Run, pv *corev1.PersistentVolume, out string) {
	r.Finding.Title = fmt.Sprintf("Files present on persistent volume %s are: ", pv.Name)
	// The runner's file name, trailing colon and space included.
	r.Finding.AddEnrichment("", engine.File("Data.txt: ", []byte(out)))
}

// execOutput runs command with /bin/sh -c in a container and returns what it printed;
// a non-zero exit keeps the output and adds the status, as the runner's exec returns it.
func execOutput(ctx context.Context, kf *kube.Factory, namespace, pod, container, command string) (string, error) {
	var stdout, stderr strings.Builder
	err := kf.Exec(ctx, kube.ExecOptions{Namespace: namespace, Pod: pod, Container: container,
		Command: []string{"/bin/sh", "-c", command}, Stdout: &stdout, Stderr: &stderr})
	out := stdout.String() + stderr.String()
	var exit *kube.ExitError
	if errors.As(err, &exit) {
		return strings.TrimRight(out, "\n") + fmt.Sprintf("\n(%v)", err), nil
	}
	return out, err
}
