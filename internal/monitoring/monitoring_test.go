package monitoring

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

func svc(ns, name string, labels map[string]string, port int32) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: port}}, Selector: map[string]string{"app": name}}}
}

// Discovery follows the runner's selector order, not the order Services were made in,
// and skips kubecost's bundled Prometheus.
func TestDiscoverOrder(t *testing.T) {
	cs := fake.NewSimpleClientset(
		svc("vm", "vmsingle", map[string]string{"app.kubernetes.io/name": "vmsingle"}, 8429),
		svc("kubecost", "kc-prom", map[string]string{"app": "prometheus", "component": "server", "release": "kubecost"}, 80),
		svc("monitoring", "thanos", map[string]string{"app": "thanos-query"}, 10902),
	)
	for _, tc := range []struct {
		svc        Service
		want, sel  string
		deleteWant bool
	}{
		{Prometheus, "monitoring/thanos", "app=thanos-query", true},
		{Prometheus, "vm/vmsingle", "app.kubernetes.io/name=vmsingle", false},
	} {
		got, err := discover(context.Background(), cs, tc.svc)
		if err != nil || got == nil {
			t.Fatalf("discover: %v %v", got, err)
		}
		if got.Namespace+"/"+got.Name != tc.want || got.Selector != tc.sel {
			t.Errorf("found %s/%s by %s, want %s by %s", got.Namespace, got.Name, got.Selector, tc.want, tc.sel)
		}
		if tc.deleteWant {
			_ = cs.CoreV1().Services(got.Namespace).Delete(context.Background(), got.Name, metav1.DeleteOptions{})
		}
	}
	got, err := discover(context.Background(), cs, Alertmanager)
	if err != nil || got != nil {
		t.Errorf("alertmanager: %v %v, want none", got, err)
	}
}

func TestNotFoundSaysSelectorsAndFix(t *testing.T) {
	err := notFound(Alertmanager)
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("%T", err)
	}
	msg := err.Error()
	for _, want := range []string{"no alertmanager found", "app=kube-prometheus-stack-alertmanager", "operated-alertmanager=true"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	var h *cli.HintError
	if !errors.As(err, &h) || !strings.Contains(h.Hint, "--alertmanager-url URL") || !strings.Contains(h.Hint, "alertmanager_url=URL") {
		t.Errorf("hint: %v", h)
	}
}

func TestClusterServiceURL(t *testing.T) {
	for _, tc := range []struct {
		raw      string
		name, ns string
		port     int
		ok       bool
	}{
		{"http://prometheus-operated.monitoring.svc.cluster.local:9090", "prometheus-operated", "monitoring", 9090, true},
		{"http://grafana.obs.svc", "grafana", "obs", 80, true},
		{"https://am.x.svc", "am", "x", 443, true},
		{"http://127.0.0.1:9090", "", "", 0, false},
		{"http://prometheus.example.com", "", "", 0, false},
	} {
		u, err := ParseURL(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		name, ns, port, ok := clusterService(u)
		if name != tc.name || ns != tc.ns || port != tc.port || ok != tc.ok {
			t.Errorf("%s: %s %s %d %v", tc.raw, name, ns, port, ok)
		}
	}
}

func TestParseURL(t *testing.T) {
	u, err := ParseURL("prom:9090/sub/")
	if err != nil || u.String() != "http://prom:9090/sub" {
		t.Errorf("%v %v", u, err)
	}
	if _, err := ParseURL("http://"); err == nil {
		t.Error("no host accepted")
	}
}

func TestContainerPort(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 9091}}}}}}
	for _, tc := range []struct {
		sp   corev1.ServicePort
		want int
		err  bool
	}{
		{corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt(9090)}, 9090, false},
		{corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("web")}, 9091, false},
		{corev1.ServicePort{Port: 80}, 80, false},
		{corev1.ServicePort{Port: 80, TargetPort: intstr.FromString("nope")}, 0, true},
	} {
		got, err := containerPort(p, tc.sp)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%v: %d %v", tc.sp, got, err)
		}
	}
}

func TestAdditionalLabels(t *testing.T) {
	a := PromAuth{AdditionalLabels: map[string]string{"cluster": "c2", "env": "prod"}, AddAdditionalLbls: true}
	for q, want := range map[string]string{
		`up{job="x"}`:         `up{job="x", cluster="c2", env="prod"}`,
		`sum(rate(x{}[5m]))`:  `sum(rate(x{ cluster="c2", env="prod"}[5m]))`,
		`a{ }`:                `a{ cluster="c2", env="prod"}`,
		`a{n="1"} / b{m="2"}`: `a{n="1", cluster="c2", env="prod"} / b{m="2", cluster="c2", env="prod"}`,
	} {
		if got := WithAdditionalLabels(q, a); got != want {
			t.Errorf("%s:\n got %s\nwant %s", q, got, want)
		}
	}
	a.AddAdditionalLbls = false
	if got := WithAdditionalLabels(`up{}`, a); got != `up{}` {
		t.Errorf("add_additional_labels false changed the query: %s", got)
	}
}

func TestDefaultStep(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour:        "14.4",
		10 * time.Minute: "2.4",
		2 * time.Minute:  "1.0",
		6 * time.Hour:    "60.0",
		48 * time.Hour:   "300.0",
	} {
		if got := DefaultStep(d); got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}

// The client sends the runner's auth header, extra headers and query string, and
// posts the query; Prometheus' own error text comes back on a bad query.
func TestPromClient(t *testing.T) {
	var got *http.Request
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_ = r.ParseForm()
		form = r.Form
		w.Header().Set("Content-Type", "application/json")
		if r.Form.Get("query") == "bad(" {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"status":"error","errorType":"bad_data","error":"parse error at char 5"}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},"values":[[1700000000,"1.5"],[1700000014.4,"NaN"]]}]}}`)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c, err := NewPromClient(&Endpoint{Base: u, Via: srv.URL}, PromAuth{Auth: "Basic abc", QueryString: "?tenant=t1", Headers: map[string]string{"X-Scope-OrgID": "org"}})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Unix(1700003600, 0)
	res, err := c.QueryRange(context.Background(), "up", end.Add(-time.Hour), end, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.URL.Path != "/api/v1/query_range" || got.URL.Query().Get("tenant") != "t1" ||
		got.Header.Get("Authorization") != "Basic abc" || got.Header.Get("X-Scope-OrgID") != "org" {
		t.Errorf("request %s %s %v", got.Method, got.URL, got.Header)
	}
	if form.Get("step") != "14.4" || form.Get("start") != "1700000000.000" || form.Get("end") != "1700003600.000" {
		t.Errorf("form %v", form)
	}
	if res.Type != "matrix" || len(res.Series) != 1 || res.Series[0].Values[0] != 1.5 || len(res.Series[0].Timestamps) != 2 {
		t.Errorf("result %+v", res)
	}
	_, err = c.Query(context.Background(), "bad(", time.Time{})
	if err == nil || err.Error() != "prometheus: parse error at char 5" {
		t.Errorf("bad query: %v", err)
	}
}

func TestEndpointGivenURLNeedsNoCluster(t *testing.T) {
	c := NewConnector(nil, URLs{Prometheus: "prom.example:9090"})
	ep, err := c.Endpoint(context.Background(), Prometheus, "")
	if err != nil || ep.Base.String() != "http://prom.example:9090" {
		t.Fatalf("%v %v", ep, err)
	}
	ep2, _ := c.Endpoint(context.Background(), Prometheus, "")
	if ep2 != ep {
		t.Error("second lookup did not reuse the endpoint")
	}
	ep3, err := c.Endpoint(context.Background(), Prometheus, "http://other:1")
	if err != nil || ep3.Base.Host != "other:1" {
		t.Errorf("param url: %v %v", ep3, err)
	}
	if _, err := c.Endpoint(context.Background(), Grafana, ""); err == nil || !strings.Contains(err.Error(), "no grafana found") {
		t.Errorf("grafana: %v", err)
	}
}
