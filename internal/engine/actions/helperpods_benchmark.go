package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
)

func init() {
	engine.Register(&engine.Action{Name: "disk_benchmark", Event: "ExecutionBaseEvent", RunsCommands: true, Mutating: true,
		Doc:       "Benchmark a storage class: a claim of that class and an fio Job writing to it; both deleted afterwards (with --apply; dry run shows them)",
		NewParams: func() any { return &diskBenchmarkParams{} }, Do: diskBenchmark})
}

// fioImage is the runner's FIO_IMAGE default, under IMAGE_REGISTRY.
const fioImage = "robusta-fio-benchmark:1.0"

type diskBenchmarkParams struct {
	CustomAnnotations map[string]string `param:"custom_annotations" doc:"annotations for the helper Job and its pod"`
	PVCName           string            `param:"pvc_name" default:"robusta-disk-benchmark" doc:"name of the claim created for the benchmark"`
	TestSeconds       int               `param:"test_seconds" default:"20" doc:"how long fio runs"`
	Namespace         string            `param:"namespace" default:"robusta" doc:"namespace of the claim (the Job runs in the runner's namespace, as in the runner)"`
	DiskSize          string            `param:"disk_size" default:"10Gi" doc:"size of the claim"`
	StorageClassName  string            `param:"storage_class_name" required:"true" doc:"storage class to benchmark"`
}

func diskBenchmark(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*diskBenchmarkParams)
	size, err := resource.ParseQuantity(params.DiskSize)
	if err != nil {
		return fmt.Errorf("parameter \"disk_size\": %q is not a size such as 10Gi", params.DiskSize)
	}
	claim := &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: params.PVCName, Namespace: params.Namespace, Labels: map[string]string{helperpod.LabelHelper: "true"}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &params.StorageClassName,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	const volume, name, mountPath = "robusta-benchmark-pv", "robusta-fio-disk-benchmark", "/robusta/data"
	spec := corev1.PodSpec{
		Volumes: []corev1.Volume{{Name: volume, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: params.PVCName}}}},
		Containers: []corev1.Container{{
			Name:            name,
			Image:           helperpod.Image(ctx, fioImage),
			ImagePullPolicy: corev1.PullAlways,
			VolumeMounts:    []corev1.VolumeMount{{MountPath: mountPath, Name: volume}},
			Args: []string{"--directory", mountPath, "--output-format", "json", "--group_reporting",
				"--runtime", fmt.Sprint(params.TestSeconds), "/jobs/rand-rw.fio"},
		}},
		RestartPolicy: corev1.RestartPolicyNever,
	}
	job := helperpod.SimpleJob(helperpod.Name("", name, time.Now()), spec, params.CustomAnnotations, 120)
	timeout := time.Duration(120+params.TestSeconds) * time.Second
	if !r.Apply {
		claimYAML, err := yaml.Marshal(claim)
		if err != nil {
			return fmt.Errorf("render claim: %w", err)
		}
		r.Finding.AddEnrichment("Benchmark claim (dry run)", engine.File(claim.Name+".yaml", []byte(nullTimestampLines(string(claimYAML)))))
		return dryRunJob(r, job, fmt.Sprintf("after the claim above; waits for it (up to %s), reads fio's JSON", timeout))
	}
	remove, err := helperpod.CreatePVC(ctx, r.KF, claim)
	if err != nil {
		return err
	}
	// Deferred before the Job runs, so the claim goes after the Job and its pod.
	defer remove()
	res, err := helperpod.RunJob(ctx, r.KF, job, timeout)
	if err != nil {
		return err
	}
	var out struct {
		Jobs []struct {
			Read  struct{ BW, IOPS float64 } `json:"read"`
			Write struct{ BW, IOPS float64 } `json:"write"`
		} `json:"jobs"`
	}
	// The runner turns single quotes into double ones before parsing.
	if err := json.Unmarshal([]byte(strings.ReplaceAll(res.Logs, "'", `"`)), &out); err != nil || len(out.Jobs) == 0 {
		return fmt.Errorf("fio printed no job results (%v): %q", err, truncate(res.Logs, 200))
	}
	j := out.Jobs[0]
	r.Finding.Title = "Fio disk benchmark for storage class " + params.StorageClassName
	r.Finding.AggregationKey = "DiskBenchmark"
	r.Finding.Type = engine.TypeReport
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("\nfio benchmark:\nTotal Time: %d Sec\nRead Band Width: %.2f KB \nRead IO Ops/Sec: %.2f\nWrite Band Width: %.2f KB \nWrite Ops/Sec: %.2f\n ",
		params.TestSeconds, j.Read.BW, j.Read.IOPS, j.Write.BW, j.Write.IOPS)))
	return nil
}
