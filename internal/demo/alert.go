package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

// Label is one alert label.
type Label struct{ Name, Value string }

// Labels keep the order they were set in, as the Python CLI's dict did, so the JSON
// sent (and shown in the curl Job's command) reads the same.
type Labels []Label

// Set adds a label or, when it is there already, replaces its value in place.
func (ls *Labels) Set(name, value string) {
	for i := range *ls {
		if (*ls)[i].Name == name {
			(*ls)[i].Value = value
			return
		}
	}
	*ls = append(*ls, Label{name, value})
}

// Get returns a label's value.
func (ls Labels) Get(name string) (string, bool) {
	for _, l := range ls {
		if l.Name == name {
			return l.Value, true
		}
	}
	return "", false
}

// MarshalJSON writes the labels as one object, in order.
func (ls Labels) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(l.Name)
		v, _ := json.Marshal(l.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ParseLabels reads --labels: comma-separated name=value pairs. Unlike the Python CLI
// (which kept only the text up to a second "=" and crashed on an item without one), a
// value may hold "=", and a malformed item is an error naming it.
func ParseLabels(s string) (Labels, error) {
	var ls Labels
	if strings.TrimSpace(s) == "" {
		return ls, nil
	}
	for _, item := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case strings.TrimSpace(item) == "":
			return nil, fmt.Errorf("empty item in %q: write name=value pairs separated by single commas, e.g. env=prod,team=infra", s)
		case !ok:
			return nil, fmt.Errorf("label %q has no value: write it as name=value, e.g. env=prod", strings.TrimSpace(item))
		case name == "":
			return nil, fmt.Errorf("label %q has no name: write it as name=value, e.g. env=prod", strings.TrimSpace(item))
		}
		ls.Set(name, value)
	}
	return ls, nil
}

// Alert is one alert as the Python CLI posted it. It sets no startsAt, endsAt or
// generatorURL: Alertmanager fills in the start time and resolves the alert after its
// resolve_timeout (5 minutes by default), which is what "resolved soon" means.
type Alert struct {
	Status      string            `json:"status"`
	Labels      Labels            `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// The demo alert's annotations, word for word what the Python CLI sent, so the
// notification a user sees is the one its docs show.
const (
	AlertSummary     = "This is a demo alert manager alert created by Robusta"
	AlertDescription = "Nothing wrong here. This alert will be resolved soon"
)

// Alerts builds the body posted to /api/v2/alerts: one firing alert named alertName
// about the pod, with severity critical, and the extra labels last (they may replace
// the built-in ones, as with the Python CLI).
func Alerts(alertName, pod, namespace string, extra Labels) []Alert {
	ls := Labels{{"alertname", alertName}, {"severity", "critical"}, {"pod", pod}, {"namespace", namespace}}
	for _, l := range extra {
		ls.Set(l.Name, l.Value)
	}
	return []Alert{{
		Status: "firing",
		Labels: ls,
		Annotations: map[string]string{
			"summary":     AlertSummary,
			"description": AlertDescription,
		},
	}}
}

// Found is an Alertmanager Service found by its labels.
type Found struct {
	Namespace, Name string
	Port            int32
	Selector        string
}

// URL is the Service's in-cluster address, as the Python CLI wrote it.
func (f *Found) URL() string {
	return fmt.Sprintf("http://%s.%s.svc.cluster.local:%d", f.Name, f.Namespace, f.Port)
}

// FindAlertmanager returns the first Service in any namespace matching the label
// selectors the Python CLI tries (the runner's, monitoring.Selectors), in their order,
// with its first port; nil when none matches.
func FindAlertmanager(ctx context.Context, cs kubernetes.Interface) (*Found, error) {
	for _, sel := range monitoring.Selectors(monitoring.Alertmanager) {
		list, err := cs.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, err
		}
		// The API lists by namespace and name; keep that order explicit.
		sort.Slice(list.Items, func(i, j int) bool {
			a, b := list.Items[i], list.Items[j]
			return a.Namespace < b.Namespace || (a.Namespace == b.Namespace && a.Name < b.Name)
		})
		for _, svc := range list.Items {
			if len(svc.Spec.Ports) == 0 {
				continue
			}
			return &Found{Namespace: svc.Namespace, Name: svc.Name, Port: svc.Spec.Ports[0].Port, Selector: sel}, nil
		}
	}
	return nil, nil
}

// NoPodError says no running pod was found to name in the alert.
type NoPodError struct{ Namespaces []string }

func (e *NoPodError) Error() string {
	return fmt.Sprintf("no running pod in namespace %s to name in the alert", strings.Join(e.Namespaces, ", "))
}

// PickPod chooses the pod the alert is about: a running pod of the demo in one of the
// namespaces, else the first running pod of the first namespace that has one.
func PickPod(ctx context.Context, cs kubernetes.Interface, namespaces []string) (*corev1.Pod, error) {
	var fallback *corev1.Pod
	for _, ns := range namespaces {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
				continue
			}
			if p.Labels["app"] == Name {
				return p, nil
			}
			if fallback == nil {
				fallback = p
			}
		}
	}
	if fallback == nil {
		return nil, &NoPodError{Namespaces: namespaces}
	}
	return fallback, nil
}

// CurlJob is the Python CLI's way to post the alert from inside the cluster: a Job in
// the pod's namespace whose one container runs curl with the JSON body, as user 2000,
// never restarted, removed as soon as it finishes.
func CurlJob(name, namespace, image, alertmanagerURL string, alerts []Alert) (*batchv1.Job, error) {
	body, err := json.Marshal(alerts)
	if err != nil {
		return nil, err
	}
	one, zero, user := int32(1), int32(0), int64(2000)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: batchv1.JobSpec{
			Completions:             &one,
			TTLSecondsAfterFinished: &zero,
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:  "alert-curl",
						Image: image,
						Command: []string{"curl", "-X", "POST", strings.TrimSuffix(alertmanagerURL, "/") + "/api/v2/alerts",
							"-H", "Content-Type: application/json", "-d", string(body)},
						SecurityContext: &corev1.SecurityContext{RunAsUser: &user},
					}},
				},
			},
		},
	}, nil
}
