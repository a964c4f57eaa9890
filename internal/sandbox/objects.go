package sandbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/robusta-dev/robusta-go/internal/kube"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

var getOpts = metav1.GetOptions{}

// FakeNodeName is the node EnsureNode creates; kwok keeps it Ready.
const FakeNodeName = "kwok-node-0"

// EnsureNode creates a fake node that kwok manages (it needs the kwok annotation).
func (c *Cluster) EnsureNode(ctx context.Context, name string) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
			Labels:      map[string]string{"kubernetes.io/hostname": name, "type": "kwok"},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("32"),
				corev1.ResourceMemory: resource.MustParse("256Gi"),
				corev1.ResourcePods:   resource.MustParse("110"),
			},
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("32"),
				corev1.ResourceMemory: resource.MustParse("256Gi"),
				corev1.ResourcePods:   resource.MustParse("110"),
			},
		},
	}
	_, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	return nil
}

// EnsureNamespace creates a namespace and its default ServiceAccount if missing (the
// controller-manager makes the latter too, but a test need not wait for it).
func (c *Cluster) EnsureNamespace(ctx context.Context, name string) error {
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	_, err = c.Client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create default service account in %s: %w", name, err)
	}
	return nil
}

// RunnerSpec describes a stand-in for the Robusta runner: a Deployment shaped like the
// chart's (label robustaComponent=runner, container runner, port 5000) whose pod is
// wired by kwok to things the test owns.
type RunnerSpec struct {
	Namespace  string // default "robusta"
	Deployment string // default "robusta-runner"
	// ForwardTo is a local address ("127.0.0.1:PORT") that the pod's port 5000
	// forwards to. Empty: no port-forward.
	ForwardTo string
	// ExecDir is the working directory of commands exec'd in the runner container.
	// Empty: no exec.
	ExecDir string
	// LogFile is a CRI-format log file served as the runner container's logs.
	// Empty: no logs.
	LogFile string
	// PreviousLogFile is served for --previous.
	PreviousLogFile string
	// Unschedulable keeps the pod Pending (not ready): it is bound to a node kwok
	// does not manage.
	Unschedulable bool
	// ExtraLabels are added to the pod template.
	ExtraLabels map[string]string
}

// Runner is a runner stand-in that exists in the cluster.
type Runner struct {
	Namespace  string
	Deployment string
	Pod        string
}

var (
	gvrExec        = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "execs"}
	gvrLogs        = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}
	gvrPortForward = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}
)

// CreateRunner creates the Deployment, waits for its pod, wires the pod's exec, logs
// and port-forward, and (unless Unschedulable) waits until the pod is Ready.
func (c *Cluster) CreateRunner(ctx context.Context, spec RunnerSpec) (*Runner, error) {
	if spec.Namespace == "" {
		spec.Namespace = "robusta"
	}
	if spec.Deployment == "" {
		spec.Deployment = "robusta-runner"
	}
	if err := c.EnsureNamespace(ctx, spec.Namespace); err != nil {
		return nil, err
	}
	if err := c.EnsureNode(ctx, FakeNodeName); err != nil {
		return nil, err
	}
	labels := map[string]string{"robustaComponent": "runner", "app": spec.Deployment}
	for k, v := range spec.ExtraLabels {
		labels[k] = v
	}
	one := int32(1)
	podSpec := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:  "runner",
			Image: "robusta-runner:sandbox",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 5000}},
		}},
		Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
	}
	if spec.Unschedulable {
		podSpec.NodeName = "no-such-node"
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Deployment, Namespace: spec.Namespace, Labels: map[string]string{"app": spec.Deployment}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": spec.Deployment}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec},
		},
	}
	if _, err := c.Client.AppsV1().Deployments(spec.Namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create runner deployment: %w", err)
	}
	pod, err := c.waitPod(ctx, spec.Namespace, "app="+spec.Deployment, false)
	if err != nil {
		return nil, err
	}
	r := &Runner{Namespace: spec.Namespace, Deployment: spec.Deployment, Pod: pod}
	if err := c.WirePod(ctx, spec.Namespace, pod, "runner", spec.ForwardTo, spec.ExecDir, spec.LogFile, spec.PreviousLogFile); err != nil {
		return nil, err
	}
	if !spec.Unschedulable {
		if _, err := c.waitPod(ctx, spec.Namespace, "app="+spec.Deployment, true); err != nil {
			return nil, err
		}
		if spec.ExecDir != "" {
			if err := c.waitExec(ctx, spec.Namespace, pod); err != nil {
				return nil, err
			}
		}
		if spec.LogFile != "" {
			if err := c.waitLogs(ctx, spec.Namespace, pod); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

// waitLogs waits until kwok has seen the pod's Logs resource: reading logs succeeds.
func (c *Cluster) waitLogs(ctx context.Context, namespace, pod string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := c.Client.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: "runner"}).DoRaw(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("logs of %s/%s not ready: %w", namespace, pod, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitExec waits until kwok has seen the pod's Exec resource: a trivial exec succeeds.
func (c *Cluster) waitExec(ctx context.Context, namespace, pod string) error {
	kf := kube.NewFactory(kube.Options{Kubeconfig: c.KubeconfigPath})
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := kf.Exec(ctx, kube.ExecOptions{Namespace: namespace, Pod: pod, Container: "runner", Command: []string{"true"}})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("exec in %s/%s not ready: %w", namespace, pod, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// DeleteRunner deletes the runner's Deployment and waits until its pods are gone.
func (c *Cluster) DeleteRunner(ctx context.Context, r *Runner) error {
	bg := metav1.DeletePropagationBackground
	err := c.Client.AppsV1().Deployments(r.Namespace).Delete(ctx, r.Deployment, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	sel := metav1.ListOptions{LabelSelector: "app=" + r.Deployment}
	_ = c.Client.AppsV1().ReplicaSets(r.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &bg}, sel)
	// Pods without a kubelet (or on an unmanaged node) would linger in Terminating:
	// force them out so the next test's discovery does not see them.
	zero := int64(0)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_ = c.Client.CoreV1().Pods(r.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel)
		pods, err := c.Client.CoreV1().Pods(r.Namespace).List(ctx, sel)
		if err == nil && len(pods.Items) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("runner pods of %s/%s still present after 30s", r.Namespace, r.Deployment)
}

// WirePod points a pod's container port-forward, exec and logs at local things.
// Empty arguments leave that part unwired.
func (c *Cluster) WirePod(ctx context.Context, namespace, pod, container, forwardTo, execDir, logFile, previousLogFile string) error {
	if forwardTo != "" {
		host, portStr, err := net.SplitHostPort(forwardTo)
		if err != nil {
			return fmt.Errorf("forward address %q: %w", forwardTo, err)
		}
		var port int64
		if _, err := fmt.Sscan(portStr, &port); err != nil {
			return fmt.Errorf("forward port %q: %w", portStr, err)
		}
		obj := kwokObject("PortForward", namespace, pod, map[string]any{
			"forwards": []any{map[string]any{
				"ports":  []any{int64(5000)},
				"target": map[string]any{"address": host, "port": port},
			}},
		})
		if err := c.apply(ctx, gvrPortForward, obj); err != nil {
			return err
		}
	}
	if execDir != "" {
		obj := kwokObject("Exec", namespace, pod, map[string]any{
			"execs": []any{map[string]any{
				"containers": []any{container},
				"local":      map[string]any{"workDir": execDir},
			}},
		})
		if err := c.apply(ctx, gvrExec, obj); err != nil {
			return err
		}
	}
	if logFile != "" {
		l := map[string]any{"containers": []any{container}, "logsFile": logFile, "follow": true}
		if previousLogFile != "" {
			l["previousLogsFile"] = previousLogFile
		}
		obj := kwokObject("Logs", namespace, pod, map[string]any{"logs": []any{l}})
		if err := c.apply(ctx, gvrLogs, obj); err != nil {
			return err
		}
	}
	return nil
}

func kwokObject(kind, namespace, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": namespace},
		"spec":       spec,
	}}
}

func (c *Cluster) apply(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) error {
	ri := c.Dynamic.Resource(gvr).Namespace(obj.GetNamespace())
	_, err := ri.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := ri.Get(ctx, obj.GetName(), getOpts)
		if gerr != nil {
			return gerr
		}
		obj.SetResourceVersion(cur.GetResourceVersion())
		_, err = ri.Update(ctx, obj, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("create kwok %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// waitPod waits for a pod matching selector to exist (and, if ready, to be Ready) and
// returns its name.
func (c *Cluster) waitPod(ctx context.Context, namespace, selector string, ready bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			for _, p := range pods.Items {
				if p.DeletionTimestamp != nil {
					continue
				}
				if !ready || PodReady(&p) {
					return p.Name, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			state := "to exist"
			if ready {
				state = "to be ready"
			}
			return "", fmt.Errorf("timed out waiting for pod %s in %s %s", selector, namespace, state)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// PodReady reports whether the pod's Ready condition is true.
func PodReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// WriteCRILog writes lines to path in the CRI log format kwok serves.
func WriteCRILog(path string, lines ...string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := fmt.Fprintf(f, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), l); err != nil {
			return err
		}
	}
	return nil
}

// WriteTokenKubeconfig writes a kubeconfig for the sandbox's API server that
// authenticates with a bearer token (for tests of users with limited rights).
func (c *Cluster) WriteTokenKubeconfig(path, contextName, token string) error {
	cfg := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = c.Config.Host
	cluster.CertificateAuthorityData = c.Config.CAData
	cluster.CertificateAuthority = c.Config.CAFile
	cfg.Clusters["sandbox"] = cluster
	user := clientcmdapi.NewAuthInfo()
	user.Token = token
	cfg.AuthInfos["limited"] = user
	kctx := clientcmdapi.NewContext()
	kctx.Cluster, kctx.AuthInfo = "sandbox", "limited"
	cfg.Contexts[contextName] = kctx
	cfg.CurrentContext = contextName
	return clientcmd.WriteToFile(*cfg, path)
}

// ServiceAccountToken creates a ServiceAccount (no rights given) and returns a token for it.
func (c *Cluster) ServiceAccountToken(ctx context.Context, namespace, name string) (string, error) {
	if err := c.EnsureNamespace(ctx, namespace); err != nil {
		return "", err
	}
	_, err := c.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	exp := int64(3600)
	tr, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}

// GrantRunnerAccess gives a ServiceAccount just what talking to the runner needs, in
// one namespace: list/get pods, pods/log and create pods/portforward and pods/exec.
func (c *Cluster) GrantRunnerAccess(ctx context.Context, saNamespace, saName, namespace string) error {
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "runner-access-" + saName, Namespace: namespace},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"pods/portforward", "pods/exec"}, Verbs: []string{"create", "get"}},
		},
	}
	if _, err := c.Client.RbacV1().Roles(namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: saName, Namespace: saNamespace}},
	}
	if _, err := c.Client.RbacV1().RoleBindings(namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
