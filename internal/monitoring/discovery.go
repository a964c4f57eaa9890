// Package monitoring finds and reaches the services the runner's Prometheus,
// Alertmanager and Grafana actions talk to, from a laptop: a URL when one is given,
// else the first Service matching the runner's well-known label selectors in any
// namespace, reached through a client-go port-forward to one of its pods.
package monitoring

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// Service is a kind of monitoring service.
type Service string

const (
	Prometheus   Service = "prometheus"
	Alertmanager Service = "alertmanager"
	Grafana      Service = "grafana"
)

// selectors are the label selectors the runner tries, in its order (Robusta's
// PrometheusDiscovery, AlertManagerDiscovery and its Grafana lookups). Prometheus
// falls back to VictoriaMetrics' selectors, as the runner's find_vm_url does.
func selectors(s Service) []string {
	switch s {
	case Prometheus:
		return []string{
			"app=kube-prometheus-stack-prometheus",
			"app=prometheus,component=server,release!=kubecost",
			"app.kubernetes.io/name=prometheus,app.kubernetes.io/component=server",
			"app=prometheus-server",
			"app=prometheus-operator-prometheus",
			"app=rancher-monitoring-prometheus",
			"app=prometheus-prometheus",
			"app.kubernetes.io/component=query,app.kubernetes.io/name=thanos",
			"app.kubernetes.io/name=thanos-query",
			"app=thanos-query",
			"app=thanos-querier",
			// VictoriaMetrics
			"app.kubernetes.io/name=vmsingle",
			"app.kubernetes.io/name=victoria-metrics-single",
			"app.kubernetes.io/name=vmselect",
			"app=vmselect",
		}
	case Alertmanager:
		return []string{
			"app=kube-prometheus-stack-alertmanager",
			"app=prometheus,component=alertmanager",
			"app=prometheus-operator-alertmanager",
			"app=alertmanager",
			"app=rancher-monitoring-alertmanager",
			"app=prometheus-alertmanager",
			"operated-alertmanager=true",
			"app.kubernetes.io/name=alertmanager",
			"app.kubernetes.io/name=vmalertmanager",
		}
	case Grafana:
		return []string{"app.kubernetes.io/name=grafana"}
	}
	return nil
}

// Selectors lists the label selectors tried for s, in order.
func Selectors(s Service) []string { return selectors(s) }

// target is a Service port to forward to.
type target struct {
	Namespace, Name string
	Port            corev1.ServicePort
	// Selector is the label selector that found the Service ("" when a URL named it).
	Selector string
}

// discover returns the first Service matching one of s's selectors, in any namespace,
// with its first port, as the runner's find_service_url picks it.
func discover(ctx context.Context, cs kubernetes.Interface, s Service) (*target, error) {
	for _, sel := range selectors(s) {
		list, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("list services with %s: %w", sel, err)
		}
		for _, svc := range list.Items {
			if len(svc.Spec.Ports) == 0 {
				continue
			}
			return &target{Namespace: svc.Namespace, Name: svc.Name, Port: svc.Spec.Ports[0], Selector: sel}, nil
		}
	}
	return nil, nil
}

// clusterService reads an in-cluster URL (http://NAME.NAMESPACE.svc[.cluster.local][:PORT]):
// the form the chart's globalConfig usually holds, which only resolves inside the
// cluster. ok is false for any other host.
func clusterService(u *url.URL) (name, namespace string, port int, ok bool) {
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		return "", "", 0, false
	}
	parts := strings.Split(host, ".")
	if len(parts) < 3 || parts[2] != "svc" {
		return "", "", 0, false
	}
	port = 80
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return "", "", 0, false
		}
		port = n
	}
	return parts[0], parts[1], port, true
}

// podFor picks a running pod behind the Service and the container port its target
// port means.
func podFor(ctx context.Context, cs kubernetes.Interface, svc *corev1.Service, sp corev1.ServicePort) (string, int, error) {
	if len(svc.Spec.Selector) == 0 {
		return "", 0, fmt.Errorf("service %s/%s has no pod selector, so there is no pod to forward to", svc.Namespace, svc.Name)
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector).String()
	pods, err := cs.CoreV1().Pods(svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return "", 0, fmt.Errorf("list pods of service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	var pick *corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		if pick == nil || (podReady(p) && !podReady(pick)) {
			pick = p
		}
	}
	if pick == nil {
		return "", 0, fmt.Errorf("service %s/%s has no running pod (selector %s)", svc.Namespace, svc.Name, sel)
	}
	port, err := containerPort(pick, sp)
	if err != nil {
		return "", 0, fmt.Errorf("service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return pick.Name, port, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// containerPort resolves a Service port's targetPort on a pod: a number, a named
// container port, or (unset) the Service port itself.
func containerPort(p *corev1.Pod, sp corev1.ServicePort) (int, error) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.Int && tp.IntVal != 0:
		return int(tp.IntVal), nil
	case tp.Type == intstr.String && tp.StrVal != "":
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal {
					return int(cp.ContainerPort), nil
				}
			}
		}
		return 0, fmt.Errorf("pod %s has no container port named %q", p.Name, tp.StrVal)
	}
	return int(sp.Port), nil
}
