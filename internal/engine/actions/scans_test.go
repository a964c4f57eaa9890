package actions

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
)

func TestShlexNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", "", ""},
		{"  -n  default ", "-n default", ""},
		{`--namespace "my ns"`, `--namespace 'my ns'`, ""},
		{`-s 'a b' c\ d`, `-s 'a b' 'c d'`, ""},
		{`"it's"`, `'it'"'"'s'`, ""},
		{`"a\"b" "c\d"`, `'a"b' 'c\d'`, ""},
		{`x '' y`, `x '' y`, ""},
		{`-s no,ns,po --selector=app=web`, `-s no,ns,po --selector=app=web`, ""},
		{`$namespace`, `'$namespace'`, ""},
		{`"open`, "", "no closing quotation"},
		{`trailing\`, "", "no escaped character"},
	} {
		got, err := shlexNormalize(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// newKRRParams decodes raw as the engine does, so defaults come from the tags.
func newKRRParams(t *testing.T, raw map[string]any) *krrParams {
	t.Helper()
	p := &krrParams{}
	if err := engine.Decode(raw, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildKRRDefaults(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 891000000, time.UTC)
	plan, err := buildKRR(context.Background(), newKRRParams(t, nil), "http://prom.monitoring.svc:9090", false, nil, now, "abc")
	if err != nil {
		t.Fatal(err)
	}
	// The runner's f-string with empty parts keeps their spaces; the trailing space is
	// its empty managed-Prometheus flags.
	want := "python krr.py simple    --max-workers 3  -f json --width 2048 -p http://prom.monitoring.svc:9090 "
	if plan.Command != want {
		t.Fatalf("command\n got %q\nwant %q", plan.Command, want)
	}
	if plan.Secret != nil {
		t.Fatalf("a secret without credentials: %+v", plan.Secret)
	}
	job := plan.Job
	if job.Name != "krr-job-abc" || job.Namespace != "robusta" || *job.Spec.BackoffLimit != 0 || *job.Spec.TTLSecondsAfterFinished != 43200 {
		t.Fatalf("job meta: %+v %+v", job.ObjectMeta, job.Spec)
	}
	if job.Annotations["scan-id"] != "abc" || job.Annotations["start-time"] != "2026-03-04 05:06:07.891000" ||
		job.Spec.Template.Annotations["scan-id"] != "abc" || job.Spec.Template.Labels["app"] != "krr.robusta.dev" {
		t.Fatalf("annotations/labels: %v %v %v", job.Annotations, job.Spec.Template.Annotations, job.Spec.Template.Labels)
	}
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	if spec.ServiceAccountName != "robusta-runner-service-account" || spec.RestartPolicy != corev1.RestartPolicyNever ||
		c.Name != "krr" || c.Image != "robustadev/krr:v1.29.0" || c.ImagePullPolicy != corev1.PullAlways ||
		strings.Join(c.Command[:2], " ") != "/bin/sh -c" || c.Command[2] != want ||
		c.Resources.Limits.Memory().String() != "2Gi" || c.Resources.Requests.Memory().String() != "2Gi" || len(c.Env) != 0 {
		t.Fatalf("pod spec: %+v", spec)
	}
	if len(job.Finalizers) != 0 || len(job.Spec.Template.Finalizers) != 0 {
		t.Fatal("finalizers")
	}
}

func TestBuildKRRParams(t *testing.T) {
	vars := map[string]string{"name": "web", "namespace": "shop"}
	for _, tc := range []struct {
		name    string
		raw     map[string]any
		url     string
		shift   bool
		vars    map[string]string
		want    string // the command line
		wantErr string
	}{
		{name: "strategy args workers verbose", raw: map[string]any{"strategy": "simple-limit", "krr_args": `-n "my ns"`, "max_workers": "7", "krr_verbose": true},
			want: "python krr.py simple-limit  -n 'my ns'  --max-workers 7 -v -f json --width 2048 "},
		{name: "strategy quoted", raw: map[string]any{"strategy": "a b"},
			want: "python krr.py 'a b'    --max-workers 3  -f json --width 2048 "},
		{name: "deprecated args win", raw: map[string]any{"args": "-n old", "krr_args": "-n new"},
			want: "python krr.py simple  -n old  --max-workers 3  -f json --width 2048 "},
		// The runner fills the templates after quoting, so the values stay quoted.
		{name: "templated from the subject", raw: map[string]any{"krr_args": "-n $namespace --selector app=${name}"}, vars: vars,
			want: "python krr.py simple  -n 'shop' --selector 'app=web'  --max-workers 3  -f json --width 2048 "},
		{name: "no subject, no templating", raw: map[string]any{"krr_args": "-n $namespace"},
			want: "python krr.py simple  -n '$namespace'  --max-workers 3  -f json --width 2048 "},
		{name: "one additional label", raw: map[string]any{"prometheus_additional_labels": map[string]any{"cluster": "eu-1"}},
			want: "python krr.py simple   --prometheus-label cluster -l eu-1 --max-workers 3  -f json --width 2048 "},
		{name: "label already in args", raw: map[string]any{"prometheus_additional_labels": map[string]any{"cluster": "eu-1"}, "krr_args": "-l x"},
			want: "python krr.py simple  -l x  --max-workers 3  -f json --width 2048 "},
		{name: "two labels are not passed", raw: map[string]any{"prometheus_additional_labels": map[string]any{"a": "1", "b": "2"}},
			want: "python krr.py simple    --max-workers 3  -f json --width 2048 "},
		{name: "openshift without auth", raw: nil, shift: true,
			want: "python krr.py simple    --max-workers 3  -f json --width 2048 --openshift"},
		{name: "openshift with auth uses the secret", raw: map[string]any{"prometheus_auth": "Bearer t"}, shift: true,
			want: "python krr.py simple    --max-workers 3  -f json --width 2048  --prometheus-auth-header '$(PROMETHEUS_AUTH_HEADER)'"},
		{name: "forbidden deprecated arg", raw: map[string]any{"args": "--format table"}, wantErr: "argument -f is not allowed"},
		{name: "forbidden is a substring check", raw: map[string]any{"args": "-n dev-quiet"}, wantErr: "argument -q is not allowed"},
		{name: "krr_args is not checked", raw: map[string]any{"krr_args": "-q"},
			want: "python krr.py simple  -q  --max-workers 3  -f json --width 2048 "},
		{name: "unbalanced quote", raw: map[string]any{"krr_args": `-n "x`}, wantErr: `"krr_args": no closing quotation`},
		{name: "job spec sets the service account", raw: map[string]any{"krr_job_spec": map[string]any{"serviceAccountName": "x"}}, wantErr: "use the serviceAccountName param"},
		{name: "job spec unknown field", raw: map[string]any{"krr_job_spec": map[string]any{"node_selector": map[string]any{"a": "b"}}}, wantErr: `unknown field "node_selector"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := buildKRR(context.Background(), newKRRParams(t, tc.raw), tc.url, tc.shift, tc.vars, time.Now(), "id1")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.Command != tc.want {
				t.Fatalf("command\n got %q\nwant %q", plan.Command, tc.want)
			}
		})
	}
}

func TestBuildKRRSecretAndJobSpec(t *testing.T) {
	ctx := helperpod.WithOptions(context.Background(), helperpod.Options{ImageRegistry: "mirror.example/robusta/"})
	p := newKRRParams(t, map[string]any{
		"prometheus_auth":               "Bearer s3cret",
		"prometheus_additional_headers": map[string]any{"X-Scope-OrgID": "team-a", "Foo": "bar"},
		"serviceAccountName":            "scanner",
		"custom_annotations":            map[string]any{"owner": "sre"},
		"krr_job_spec": map[string]any{
			"nodeSelector": map[string]any{"pool": "infra"},
			"tolerations":  []any{map[string]any{"key": "dedicated", "operator": "Exists"}},
		},
	})
	plan, err := buildKRR(ctx, p, "http://thanos:9090", false, nil, time.Now(), "x1")
	if err != nil {
		t.Fatal(err)
	}
	want := "python krr.py simple    --max-workers 3  -f json --width 2048 -p http://thanos:9090  " +
		"--prometheus-auth-header '$(PROMETHEUS_AUTH_HEADER)' --prometheus-headers 'Foo:$(PROMETHEUS_HEADER_FOO)' " +
		"--prometheus-headers 'X-Scope-OrgID:$(PROMETHEUS_HEADER_X_SCOPE_ORGID)'"
	if plan.Command != want {
		t.Fatalf("command\n got %q\nwant %q", plan.Command, want)
	}
	s := plan.Secret
	if s == nil || s.Name != "krr-auth-secretx1" || string(s.Data["prometheus-auth-header"]) != "Bearer s3cret" ||
		string(s.Data["prometheus-header-x-scope-orgid"]) != "team-a" || string(s.Data["prometheus-header-foo"]) != "bar" || len(s.Data) != 3 {
		t.Fatalf("secret: %+v", s)
	}
	spec := plan.Job.Spec.Template.Spec
	c := spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "krr-auth-secretx1" {
			t.Fatalf("env %+v", e)
		}
		env[e.Name] = e.ValueFrom.SecretKeyRef.Key
	}
	if env["PROMETHEUS_AUTH_HEADER"] != "prometheus-auth-header" || env["PROMETHEUS_HEADER_X_SCOPE_ORGID"] != "prometheus-header-x-scope-orgid" || len(env) != 3 {
		t.Fatalf("env %v", env)
	}
	if c.Image != "mirror.example/robusta/krr:v1.29.0" || spec.ServiceAccountName != "scanner" || spec.NodeSelector["pool"] != "infra" ||
		len(spec.Tolerations) != 1 || spec.Tolerations[0].Key != "dedicated" || spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Fatalf("spec %+v", spec)
	}
	if plan.Job.Annotations["owner"] != "sre" || plan.Job.Spec.Template.Annotations["owner"] != "sre" || plan.Job.Annotations["scan-id"] != "x1" {
		t.Fatalf("annotations %v", plan.Job.Annotations)
	}
}

func newPopeyeParams(t *testing.T, raw map[string]any) *popeyeParams {
	t.Helper()
	p := &popeyeParams{}
	if err := engine.Decode(raw, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildPopeye(t *testing.T) {
	job, cmd, err := buildPopeye(newPopeyeParams(t, nil), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cmd, "echo 'popeye:\n    excludes:\n        apps/v1/daemonsets:\n        - name: rx:kube-system\n") ||
		!strings.HasSuffix(cmd, "        v1/namespaces:\n        - name: kube-system' > /tmp/spinach.yaml && popeye -f /tmp/spinach.yaml "+
			"-s no,ns,po,svc,sa,cm,dp,sts,ds,pv,pvc,hpa,pdb,cr,crb,ro,rb,ing,np,psp -o json --force-exit-zero") ||
		!strings.Contains(cmd, "        - name: rx:.*\n          codes:\n          - 106\n          - 107\n") {
		t.Fatalf("command %q", cmd)
	}
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	req := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
	if job.Name != "popeye-job-p1" || job.Namespace != "robusta" || *job.Spec.TTLSecondsAfterFinished != 43200 ||
		c.Name != "popeye-scanner" || c.Image != "derailed/popeye:v0.11.1" || c.Command[2] != cmd || c.Resources.Limits.Memory().String() != "1Gi" ||
		c.Resources.Requests != nil || spec.ServiceAccountName != "robusta-runner-service-account" ||
		req.Key != "kubernetes.io/arch" || req.Operator != corev1.NodeSelectorOpNotIn || req.Values[0] != "arm64" || len(job.Annotations) != 0 {
		t.Fatalf("job %+v", job)
	}

	// The deprecated args win; a quote in the spinach survives the shell's quoting.
	job, cmd, err = buildPopeye(newPopeyeParams(t, map[string]any{"args": "-s po", "popeye_args": "-s no", "spinach": "popeye: {a: 'b'}",
		"service_account_name": "sa2", "popeye_job_spec": map[string]any{"priorityClassName": "low"}, "custom_annotations": map[string]any{"k": "v"}}), "p2")
	if err != nil {
		t.Fatal(err)
	}
	if cmd != `echo 'popeye: {a: '\''b'\''}' > /tmp/spinach.yaml && popeye -f /tmp/spinach.yaml -s po -o json --force-exit-zero` {
		t.Fatalf("command %q", cmd)
	}
	if job.Spec.Template.Spec.ServiceAccountName != "sa2" || job.Spec.Template.Spec.PriorityClassName != "low" || job.Annotations["k"] != "v" {
		t.Fatalf("job %+v", job)
	}
	for _, tc := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"popeye_job_spec": map[string]any{"affinity": map[string]any{}}}, "sets affinity, which the action sets itself"},
		{map[string]any{"popeye_job_spec": map[string]any{"serviceAccountName": "x"}}, "use the service_account_name param"},
		{map[string]any{"popeye_args": "-s 'po"}, `"popeye_args": no closing quotation`},
	} {
		if _, _, err := buildPopeye(newPopeyeParams(t, tc.raw), "p3"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.raw, err, tc.want)
		}
	}
}

func TestLoopbackURL(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:9090": true, "localhost:9090": true, "http://[::1]:9090": true,
		"http://prometheus.monitoring.svc:9090": false, "http://10.0.0.3": false,
	} {
		if got := loopbackURL(u); got != want {
			t.Errorf("%s: %v", u, got)
		}
	}
}
