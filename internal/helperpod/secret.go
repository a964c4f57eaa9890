package helperpod

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/robusta-dev/robusta-go/internal/kube"
)

// RunJobWithSecret is RunJob for a Job whose pod reads secret (krr_scan's Prometheus
// credentials). As the runner's create_job_owned_secret does, the Secret is created
// once the Job has its pod, in the pod's namespace and owned by that pod, so the
// cluster's garbage collector removes it even if this process dies. It is also
// deleted explicitly before RunJobWithSecret returns, in every case, as is the Job.
// A nil secret is plain RunJob.
func RunJobWithSecret(ctx context.Context, kf *kube.Factory, job *batchv1.Job, secret *corev1.Secret, timeout time.Duration) (*JobResult, error) {
	if secret == nil {
		return RunJob(ctx, kf, job, timeout)
	}
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
	pod, err := jobPod(runCtx, cs, created)
	if err != nil {
		return nil, jobErr(ctx, runCtx, err, created, timeout)
	}
	s := secret.DeepCopy()
	s.Namespace = pod.Namespace
	no, yes := false, true
	s.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID,
		BlockOwnerDeletion: &no, Controller: &yes}}
	if err := createSecret(ctx, cs, s); err != nil {
		return nil, err
	}
	defer DeleteSecret(cs, s.Namespace, s.Name)
	done, err := waitJob(runCtx, cs, created)
	if err != nil {
		return nil, jobErr(ctx, runCtx, err, created, timeout)
	}
	logs, err := podLog(runCtx, cs, pod)
	if err != nil {
		return nil, jobErr(ctx, runCtx, fmt.Errorf("read the log of pod %s: %w", pod.Name, err), created, timeout)
	}
	return &JobResult{Logs: logs, Failed: done.Status.Failed > 0 && done.Status.CompletionTime == nil, Pod: pod.Name}, nil
}

// createSecret creates on a context Ctrl-C does not cancel, for the reason createPod
// gives; when the answer is lost the Secret is deleted by name in case it was made.
func createSecret(ctx context.Context, cs kubernetes.Interface, s *corev1.Secret) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	if _, err := cs.CoreV1().Secrets(s.Namespace).Create(cctx, s, metav1.CreateOptions{}); err != nil {
		var status apierrors.APIStatus
		if !errors.As(err, &status) {
			DeleteSecret(cs, s.Namespace, s.Name)
		}
		return fmt.Errorf("create the helper job's secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return nil
}

// DeleteSecret deletes the Secret on a context of its own, so a cancelled run still
// cleans up, and waits briefly until it is gone.
func DeleteSecret(cs kubernetes.Interface, namespace, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cs.CoreV1().Secrets(namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return
	}
	for ctx.Err() == nil {
		if _, err := cs.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
