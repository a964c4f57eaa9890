package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

const abNS = "h30-ab"

// startABStandIn runs a Grafana stand-in with dashboard "ab" (id 7) behind a Service
// and returns its recorder and in-cluster URL (reached through a port-forward).
func startABStandIn(t *testing.T, c *sandbox.Cluster) (*recorder, string) {
	t.Helper()
	gf := &recorder{reply: func(r *http.Request, _ string) (int, string) {
		switch r.URL.Path {
		case "/-/ready", "/api/health":
			return 200, `{}`
		case "/api/dashboards/uid/ab":
			return 200, `{"dashboard":{"id":7,"uid":"ab","panels":[{"id":1,"title":"Latency"}]}}`
		case "/api/annotations":
			return 200, `{"id":1,"message":"Annotation added"}`
		}
		return 404, `{"message":"Dashboard not found"}`
	}}
	startStandIn(t, c, "h30-grafana", "h30-grafana", map[string]string{"app": "h30-grafana"}, gf, nil)
	gf.take()
	return gf, "http://h30-grafana." + promNS + ".svc:9090"
}

// abDeployment (re)creates a Deployment with one container at image and CPU request.
func abDeployment(t *testing.T, c *sandbox.Cluster, name string) {
	t.Helper()
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, abNS); err != nil {
		t.Fatal(err)
	}
	one := int32(1)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: abNS, Labels: map[string]string{"app": name}},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.26",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}}}}
	_ = c.Client.AppsV1().Deployments(abNS).Delete(ctx, name, metav1.DeleteOptions{})
	waitFor(t, func() bool {
		_, err := c.Client.AppsV1().Deployments(abNS).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, "the old deployment is still there")
	if _, err := c.Client.AppsV1().Deployments(abNS).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client.AppsV1().Deployments(abNS).Delete(ctx, name, metav1.DeleteOptions{}) })
}

// abState is the deployment's image, CPU request and ab-set label.
func abState(t *testing.T, c *sandbox.Cluster, name string) string {
	t.Helper()
	d, err := c.Client.AppsV1().Deployments(abNS).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ct := d.Spec.Template.Spec.Containers[0]
	cpu := ct.Resources.Requests[corev1.ResourceCPU]
	return ct.Image + " " + cpu.String() + " " + d.Labels["ab-set"]
}

// annotation decodes the body of a POST /api/annotations.
func annotation(t *testing.T, body string) (text string, tags string, dashboard float64, panel any) {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("annotation body %q: %v", body, err)
	}
	b, _ := json.Marshal(a["tags"])
	text, _ = a["text"].(string)
	dashboard, _ = a["dashboardId"].(float64)
	return text, string(b), dashboard, a["panelId"]
}

// TestLocalConfigABTesting runs config_ab_testing through the built binary: a dry run
// changes nothing (the server-side dry run shows the diff, Grafana is only read);
// --apply with --recurrence 0 and 1 patches the Deployment with set 0 and set 1 and
// posts the runner's annotation; mistakes are one-line usage errors.
func TestLocalConfigABTesting(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	lr := func(args ...string) result {
		return run(t, env, append([]string{"local", "run", "config_ab_testing"}, args...)...)
	}
	gf, gfURL := startABStandIn(t, c)
	abDeployment(t, c, "h30-web")

	params := filepath.Join(t.TempDir(), "ab.yaml")
	writeText(t, params, `grafana_api_key: gk
grafana_dashboard_uid: ab
grafana_url: `+gfURL+`
api_version: apps/v1
kind: Deployment
name: h30-web
namespace: `+abNS+`
configuration_sets:
- config_set_name: small
  config_items:
    spec.template.spec.containers[0].image: nginx:1.27
    spec.template.spec.containers[0].resources.requests.cpu: 200m
- config_set_name: big
  config_items:
    spec.template.spec.containers[0].image: nginx:1.28
    spec.template.spec.containers[0].resources.requests.cpu: 500m
    metadata.labels.ab-set: big
`)
	const initial = "nginx:1.26 100m "

	// Dry run (run 0 by default): the diff, nothing changed, Grafana only read.
	r := lr("--params-file", params)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, s := range []string{"Dry run: configuration set small would be applied to deployment h30-ab/h30-web", "recurrence 0",
		"spec.template.spec.containers[0].image", "nginx:1.26", "nginx:1.27", "200m", "Would send POST /api/annotations", "AB Testing"} {
		mustContain(t, r, "stdout", s)
	}
	mustContain(t, r, "stderr", "server-side dry run")
	if got := abState(t, c, "h30-web"); got != initial {
		t.Errorf("the dry run changed the deployment: %s", got)
	}
	if reqs, _ := gf.take(); strings.Join(reqs, "\n") != "GET /api/dashboards/uid/ab auth=Bearer gk" {
		t.Errorf("the dry run sent %q", reqs)
	}

	// --apply, run 0 then run 1: each set in turn, each with its annotation.
	for i, tc := range []struct {
		recurrence, state, text string
	}{
		{"0", "nginx:1.27 200m ", "configuration:<pre>small</pre><hr class='solid'><pre>spec.template.spec.containers[0].image : nginx:1.27<br>spec.template.spec.containers[0].resources.requests.cpu : 200m<br></pre>"},
		{"1", "nginx:1.28 500m big", "configuration:<pre>big</pre><hr class='solid'><pre>metadata.labels.ab-set : big<br>spec.template.spec.containers[0].image : nginx:1.28<br>spec.template.spec.containers[0].resources.requests.cpu : 500m<br></pre>"},
	} {
		r = lr("--params-file", params, "--recurrence", tc.recurrence, "--apply", "-o", "json")
		if r.code != 0 {
			t.Fatal(r)
		}
		if got := abState(t, c, "h30-web"); got != tc.state {
			t.Errorf("run %s: deployment %q, want %q", tc.recurrence, got, tc.state)
		}
		if !strings.Contains(r.stdout, "applied to deployment h30-ab/h30-web") || strings.Contains(r.stdout, "Dry run") || strings.Contains(r.stdout+r.stderr, "gk") {
			t.Errorf("run %s: %s", tc.recurrence, r)
		}
		reqs, bodies := gf.take()
		if len(reqs) != 2 || reqs[1] != "POST /api/annotations auth=Bearer gk" {
			t.Fatalf("run %s: requests %q", tc.recurrence, reqs)
		}
		text, tags, dash, panel := annotation(t, bodies[1])
		if text != tc.text || tags != `["AB Testing"]` || dash != 7 || panel != nil {
			t.Errorf("run %d annotation: %q %s %v %v", i, text, tags, dash, panel)
		}
	}

	// Mistakes: one line naming the fix, exit 2, the deployment left as it was.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--recurrence", "2"}, "no configuration set for recurrence 2: there are 2, for recurrences 0 to 1"},
		{[]string{"kind=deployment"}, `kind "deployment": the runner looks kinds up by their exact name: use Deployment`},
		{[]string{"api_version=autoscaling/v2", "kind=HorizontalPodAutoscaler"}, "knows only v1 kinds"},
		{[]string{"kind=Node"}, "cluster-scoped"},
		{[]string{"--pod", "default/x"}, "--recurrence makes a scheduled event"},
	} {
		args := append([]string{"--params-file", params, "--apply"}, tc.args...)
		if tc.args[0] == "--pod" {
			args = append(args, "--recurrence", "0")
		}
		r = lr(args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 || strings.Contains(r.stderr, "goroutine") {
			t.Errorf("%v: %s", tc.args, r)
		}
	}
	// A path the object lacks: the runner changes only fields under existing ones.
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	orig, err := os.ReadFile(params)
	if err != nil {
		t.Fatal(err)
	}
	writeText(t, missing, strings.Replace(string(orig), "metadata.labels.ab-set: big", "spec.template.spec.containers[0].resources.limits.cpu: 1", 1))
	r = lr("--params-file", missing, "--recurrence", "1", "--apply")
	if r.code != 2 || !strings.Contains(r.stderr, "the object has no spec.template.spec.containers.0.resources.limits") {
		t.Errorf("missing path: %s", r)
	}
	if got := abState(t, c, "h30-web"); got != "nginx:1.28 500m big" {
		t.Errorf("a refused run changed the deployment: %s", got)
	}
	if reqs, _ := gf.take(); len(reqs) != 0 {
		t.Errorf("a refused run talked to Grafana: %q", reqs)
	}
}

// TestLocalWatchConfigABTesting: an on_schedule playbook (repeat 99, rewritten to the
// two configuration sets at load, the floor lowered) cycles the Deployment through
// both sets, one per run, each with its annotation, and then its schedule is done.
func TestLocalWatchConfigABTesting(t *testing.T) {
	c := sandbox.Get(t)
	env := kubeconfigEnv(c.KubeconfigPath)
	gf, gfURL := startABStandIn(t, c)
	abDeployment(t, c, "h30-cycle")
	dir := t.TempDir()
	sink := filepath.Join(dir, "findings.jsonl")
	values := filepath.Join(dir, "values.yaml")
	writeText(t, values, `sinksConfig:
- file_sink: {name: out, file_name: `+sink+`}
customPlaybooks:
- name: ab
  triggers:
  - on_schedule:
      fixed_delay_repeat: {seconds_delay: 1, repeat: 99}
  actions:
  - config_ab_testing:
      grafana_api_key: gk
      grafana_dashboard_uid: ab
      grafana_url: `+gfURL+`
      kind: Deployment
      name: h30-cycle
      namespace: `+abNS+`
      configuration_sets:
      - config_set_name: one
        config_items: {"spec.template.spec.containers[0].image": "nginx:2.0"}
      - config_set_name: two
        config_items: {"spec.template.spec.containers[0].image": "nginx:2.1"}
`)
	w := startWatch(t, env, "-f", values, "--schedule-floor", "0", "--schedule-state", filepath.Join(dir, "state.json"), "--apply")
	w.waitLog(t, "its schedule is done")
	got := waitFindings(t, sink, 2)
	if len(got) != 2 {
		t.Fatalf("findings: %+v", got)
	}
	// Each run's diff starts from what the previous run left: the Deployment changed
	// each time.
	for i, want := range []struct{ title, before, after string }{
		{"Configuration set one applied to deployment h30-ab/h30-cycle", "nginx:1.26", "nginx:2.0"},
		{"Configuration set two applied to deployment h30-ab/h30-cycle", "nginx:2.0", "nginx:2.1"},
	} {
		b, _ := json.Marshal(got[i])
		if got[i].Title != want.title || !hasDiffRow(got[i], "spec.template.spec.containers[0].image", want.before, want.after) {
			t.Errorf("finding %d: %s", i, b)
		}
	}
	if s := abState(t, c, "h30-cycle"); s != "nginx:2.1 100m " {
		t.Errorf("deployment after the schedule: %s", s)
	}
	reqs, bodies := gf.take()
	var texts []string
	for i, r := range reqs {
		if strings.HasPrefix(r, "POST /api/annotations") {
			text, _, _, _ := annotation(t, bodies[i])
			texts = append(texts, text)
		}
	}
	if len(texts) != 2 || !strings.Contains(texts[0], "<pre>one</pre>") || !strings.Contains(texts[1], "<pre>two</pre>") {
		t.Errorf("annotations %q", texts)
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// hasDiffRow reports whether a diff block of f changes path from old to new.
func hasDiffRow(f sentFinding, path, old, new string) bool {
	for _, e := range f.Enrichments {
		for _, b := range e.Blocks {
			for _, r := range b.Rows {
				if len(r) == 3 && r[0] == path && r[1] == old && r[2] == new {
					return true
				}
			}
		}
	}
	return false
}
