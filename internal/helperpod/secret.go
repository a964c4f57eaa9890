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
	return runJob(ctx, kf, job, secret, timeout)
}

// ownedSecret is secret in pod's namespace, owned by pod.
func ownedSecret(secret *corev1.Secret, pod *corev1.Pod) *corev1.Secret {
	s := secret.DeepCopy()
	s.Namespace = pod.Namespace
	no, yes := false, true
	s.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID,
		BlockOwnerDeletion: &no, Controller: &yes}}
	return s
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
