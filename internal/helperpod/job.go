package helperpod

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/kube"
)

// SimpleJob is the Job the runner's run_simple_job_spec wraps around spec: in the
// runner's namespace, no retries (backoffLimit 0), removed by the TTL controller
// ttl seconds after it finishes, and annotations on both the Job and its pod.
func SimpleJob(name string, spec corev1.PodSpec, annotations map[string]string, ttl int32) *batchv1.Job {
	zero := int32(0)
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   DefaultNamespace,
			Annotations: annotations,
			Labels:      map[string]string{LabelHelper: "true"},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &zero,
			TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: annotations, Labels: map[string]string{LabelHelper: "true"}},
				Spec:       spec,
			},
		},
	}
}

// SimpleJobFromImage is the runner's run_simple_job: one container named after the
// image, the command split on spaces, never restarted.
func SimpleJobFromImage(image, command string) *batchv1.Job {
	now := time.Now()
	spec := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:    strings.ToLower(Name("", image, now)),
			Image:   image,
			Command: strings.Split(command, " "),
		}},
		RestartPolicy: corev1.RestartPolicyNever,
	}
	return SimpleJob(Name("", image, now), spec, nil, 120)
}

// JobYAML renders the Job as the manifest the dry run shows.
func JobYAML(job *batchv1.Job) (string, error) {
	out := job.DeepCopy()
	out.Status = batchv1.JobStatus{}
	b, err := yaml.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("render helper job: %w", err)
	}
	// The zero creationTimestamps are noise in a spec nobody has created yet.
	return nullTimestamp.ReplaceAllString(string(b), ""), nil
}

var nullTimestamp = regexp.MustCompile(`(?m)^ *creationTimestamp: null\n`)

// JobResult is what a finished Job left: its pod's log and whether it failed.
type JobResult struct {
	Logs   string
	Failed bool
	Pod    string
}

// RunJob creates job, waits until it completes or fails (as the runner's
// wait_until_job_complete: a completion time or any failed pod), and returns the log
// of its single pod. The Job and its pods are deleted before RunJob returns, in every
// case (foreground propagation, as the runner deletes it). timeout bounds the wait;
// zero uses the --helper-timeout of ctx, else 6 minutes.
func RunJob(ctx context.Context, kf *kube.Factory, job *batchv1.Job, timeout time.Duration) (*JobResult, error) {
	return runJob(ctx, kf, job, nil, timeout)
}

// runJob is RunJob, and RunJobWithSecret when secret is set: then the Secret is made,
// owned by the Job's pod, as soon as the pod exists, before the wait.
func runJob(ctx context.Context, kf *kube.Factory, job *batchv1.Job, secret *corev1.Secret, timeout time.Duration) (*JobResult, error) {
	o := FromContext(ctx)
	timeout = runTimeout(o, timeout)
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	created, err := createJob(ctx, cs, job)
	if err != nil {
		return nil, err
	}
	defer DeleteJob(cs, created.Namespace, created.Name)
	stop := spin(o.Progress, "waiting for helper job "+created.Namespace+"/"+created.Name)
	defer stop()
	var pod *corev1.Pod
	if secret != nil {
		if pod, err = jobPod(runCtx, cs, created); err != nil {
			return nil, jobErr(ctx, runCtx, err, created, timeout)
		}
		s := ownedSecret(secret, pod)
		if err := createSecret(ctx, cs, s); err != nil {
			return nil, err
		}
		defer DeleteSecret(cs, s.Namespace, s.Name)
	}
	done, err := waitJob(runCtx, cs, created)
	if err != nil {
		return nil, jobErr(ctx, runCtx, err, created, timeout)
	}
	if pod == nil {
		if pod, err = jobPod(runCtx, cs, created); err != nil {
			return nil, jobErr(ctx, runCtx, err, created, timeout)
		}
	}
	logs, err := podLog(runCtx, cs, pod)
	if err != nil {
		return nil, jobErr(ctx, runCtx, fmt.Errorf("read the log of pod %s: %w", pod.Name, err), created, timeout)
	}
	return &JobResult{Logs: logs, Failed: done.Status.Failed > 0 && done.Status.CompletionTime == nil, Pod: pod.Name}, nil
}

func jobErr(parent, run context.Context, err error, job *batchv1.Job, timeout time.Duration) error {
	if parent.Err() != nil {
		return fmt.Errorf("interrupted; helper job %s/%s deleted: %w", job.Namespace, job.Name, parent.Err())
	}
	if run.Err() != nil {
		return fmt.Errorf("%w: job %s/%s did not finish within %s; it was deleted (is image %s reachable? pass --image-registry for a mirror, or a longer --helper-timeout)",
			ErrTimeout, job.Namespace, job.Name, timeout, job.Spec.Template.Spec.Containers[0].Image)
	}
	return fmt.Errorf("helper job %s/%s: %w", job.Namespace, job.Name, err)
}

// CreateJob creates job and leaves it: for actions whose product is the Job itself
// (alert_handling_job without waiting), which the runner leaves to the Job's TTL.
func CreateJob(ctx context.Context, kf *kube.Factory, job *batchv1.Job) (*batchv1.Job, error) {
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	return createJob(ctx, cs, job)
}

// createJob creates job through createDetached (see there why Ctrl-C does not cut
// the create short).
func createJob(ctx context.Context, cs kubernetes.Interface, job *batchv1.Job) (*batchv1.Job, error) {
	created, err := createDetached(ctx, func(cctx context.Context) (*batchv1.Job, error) {
		return cs.BatchV1().Jobs(job.Namespace).Create(cctx, job, metav1.CreateOptions{})
	}, func() { DeleteJob(cs, job.Namespace, job.Name) })
	if err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("create helper job in namespace %s: %w (helper jobs run where the runner does: install Robusta there first, or pass the action's namespace param where it has one)", job.Namespace, err)
		}
		return nil, fmt.Errorf("create helper job %s/%s: %w", job.Namespace, job.Name, err)
	}
	return created, nil
}

func waitJob(ctx context.Context, cs kubernetes.Interface, job *batchv1.Job) (*batchv1.Job, error) {
	for {
		j, err := cs.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("read helper job: %w", err)
		}
		if err == nil && (j.Status.CompletionTime != nil || j.Status.Failed > 0) {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// jobPod finds the Job's single pod by the job-name label, as the runner does.
func jobPod(ctx context.Context, cs kubernetes.Interface, job *batchv1.Job) (*corev1.Pod, error) {
	for {
		pods, err := cs.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job.Name})
		if err != nil {
			return nil, fmt.Errorf("list the job's pods: %w", err)
		}
		switch len(pods.Items) {
		case 1:
			return &pods.Items[0], nil
		case 0:
		default:
			return nil, fmt.Errorf("got %d pods for job %s, expected 1", len(pods.Items), job.Name)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// DeleteJob deletes the Job with foreground propagation (its pods first), on a
// context of its own so a cancelled run still cleans up, and waits briefly until
// the Job is gone.
func DeleteJob(cs kubernetes.Interface, namespace, name string) {
	fg := metav1.DeletePropagationForeground
	deleteAndWait(cs.BatchV1().Jobs(namespace), name, metav1.DeleteOptions{PropagationPolicy: &fg})
}

// podLog reads the whole log of the pod's first container.
func podLog(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod) (string, error) {
	b, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: pod.Spec.Containers[0].Name}).DoRaw(ctx)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// CreatePVC creates claim (on a context Ctrl-C does not cancel, for the reason
// createPod gives) and returns a function that deletes it and waits briefly until it
// is gone; callers defer that function at once.
func CreatePVC(ctx context.Context, kf *kube.Factory, claim *corev1.PersistentVolumeClaim) (remove func(), err error) {
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	claims := cs.CoreV1().PersistentVolumeClaims(claim.Namespace)
	remove = func() { deleteAndWait(claims, claim.Name, metav1.DeleteOptions{}) }
	if _, err := createDetached(ctx, func(cctx context.Context) (*corev1.PersistentVolumeClaim, error) {
		return claims.Create(cctx, claim, metav1.CreateOptions{})
	}, remove); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("claim %s/%s already exists (left from an earlier benchmark?): delete it or pass another pvc_name", claim.Namespace, claim.Name)
		}
		return nil, fmt.Errorf("create claim %s/%s: %w", claim.Namespace, claim.Name, err)
	}
	return remove, nil
}

// HoldDeployment creates dep, keeps it for d (a spinner meanwhile) and deletes it
// (foreground, so its pods go too) when d is over, on error or on Ctrl-C. The create
// is not cancelled by Ctrl-C, for the reason createPod gives.
func HoldDeployment(ctx context.Context, kf *kube.Factory, dep *appsv1.Deployment, d time.Duration) error {
	cs, err := kf.Clientset()
	if err != nil {
		return err
	}
	deps := cs.AppsV1().Deployments(dep.Namespace)
	fg := metav1.DeletePropagationForeground
	remove := func() { deleteAndWait(deps, dep.Name, metav1.DeleteOptions{PropagationPolicy: &fg}) }
	if _, err := createDetached(ctx, func(cctx context.Context) (*appsv1.Deployment, error) {
		return deps.Create(cctx, dep, metav1.CreateOptions{})
	}, remove); err != nil {
		return fmt.Errorf("create deployment %s/%s: %w", dep.Namespace, dep.Name, err)
	}
	defer remove()
	stop := spin(FromContext(ctx).Progress, fmt.Sprintf("deployment %s/%s runs for %s", dep.Namespace, dep.Name, d))
	defer stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("interrupted; deployment %s/%s deleted: %w", dep.Namespace, dep.Name, ctx.Err())
	case <-time.After(d):
		return nil
	}
}
