package actions

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/robusta-dev/robusta-go/internal/kube"
)

// revisionAnnotation is where the Deployment controller numbers a ReplicaSet.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// DeploymentAtRevision rebuilds a Deployment as it was at revision: the live object
// with the pod template of the ReplicaSet of that revision (without the
// pod-template-hash label the controller adds), so "what changed in the last
// rollout" is an update event without a saved file.
func DeploymentAtRevision(ctx context.Context, kf *kube.Factory, dep *unstructured.Unstructured, revision int) (*unstructured.Unstructured, error) {
	cs, err := kf.Clientset()
	if err != nil {
		return nil, err
	}
	ns := dep.GetNamespace()
	list, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, kf.Explain(err, "list", "replicasets", ns)
	}
	var have []int
	for i := range list.Items {
		rs := &list.Items[i]
		if !ownedByDeployment(rs.OwnerReferences, string(dep.GetUID())) {
			continue
		}
		n, err := strconv.Atoi(rs.Annotations[revisionAnnotation])
		if err != nil {
			continue
		}
		have = append(have, n)
		if n == revision {
			return withTemplate(dep, rs)
		}
	}
	sort.Ints(have)
	if len(have) == 0 {
		return nil, fmt.Errorf("deployment %s/%s has no ReplicaSet with a revision: --old-revision needs its rollout history", ns, dep.GetName())
	}
	strs := make([]string, len(have))
	for i, n := range have {
		strs[i] = strconv.Itoa(n)
	}
	return nil, fmt.Errorf("deployment %s/%s has no revision %d; its ReplicaSets have revisions %s", ns, dep.GetName(), revision, strings.Join(strs, ", "))
}

func ownedByDeployment(refs []metav1.OwnerReference, uid string) bool {
	for _, r := range refs {
		if r.Kind == "Deployment" && string(r.UID) == uid {
			return true
		}
	}
	return false
}

func withTemplate(dep *unstructured.Unstructured, rs *appsv1.ReplicaSet) (*unstructured.Unstructured, error) {
	tmpl := rs.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tmpl)
	if err != nil {
		return nil, err
	}
	old := dep.DeepCopy()
	if err := unstructured.SetNestedField(old.Object, m, "spec", "template"); err != nil {
		return nil, err
	}
	// The old version's metadata names the revision it stands for.
	ann := old.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[revisionAnnotation] = rs.Annotations[revisionAnnotation]
	old.SetAnnotations(ann)
	return old, nil
}
