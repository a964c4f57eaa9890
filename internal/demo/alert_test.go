package demo

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string // JSON of the parsed labels
		wantErr string
	}{
		{in: "", want: `{}`},
		{in: "env=prod,team=infra", want: `{"env":"prod","team":"infra"}`},
		{in: " env = prod , team=infra ", want: `{"env":"prod","team":"infra"}`},
		{in: "query=a=b", want: `{"query":"a=b"}`},
		{in: "env=prod,env=dev", want: `{"env":"dev"}`},
		{in: "env=", want: `{"env":""}`},
		{in: "env", wantErr: `label "env" has no value`},
		{in: "=prod", wantErr: `label "=prod" has no name`},
		{in: "env=prod,,team=x", wantErr: "empty item"},
		{in: "env=prod,", wantErr: "empty item"},
	} {
		ls, err := ParseLabels(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		b, _ := json.Marshal(ls)
		if string(b) != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, b, tc.want)
		}
	}
}

func TestAlertsBody(t *testing.T) {
	extra, err := ParseLabels("env=prod,severity=warning")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Alerts("KubePodNotReady", "web-1", "default", extra))
	if err != nil {
		t.Fatal(err)
	}
	// The Python CLI's body: labels in its order, an extra label replacing a built-in
	// one in place, no startsAt/endsAt/generatorURL.
	want := `[{"status":"firing","labels":{"alertname":"KubePodNotReady","severity":"warning","pod":"web-1","namespace":"default","env":"prod"},` +
		`"annotations":{"description":"Nothing wrong here. This alert will be resolved soon","summary":"This is a demo alert manager alert created by Robusta"}}]`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestCurlJob(t *testing.T) {
	j, err := CurlJob("alert-job-7", "apps", "curlimages/curl", "http://am.monitoring.svc.cluster.local:9093/", Alerts("X", "p", "apps", nil))
	if err != nil {
		t.Fatal(err)
	}
	c := j.Spec.Template.Spec.Containers[0]
	if got := strings.Join(c.Command[:7], " "); got != "curl -X POST http://am.monitoring.svc.cluster.local:9093/api/v2/alerts -H Content-Type: application/json -d" {
		t.Errorf("command %q", got)
	}
	if *j.Spec.TTLSecondsAfterFinished != 0 || *j.Spec.Completions != 1 || *c.SecurityContext.RunAsUser != 2000 ||
		j.Spec.Template.Spec.RestartPolicy != "Never" || c.Name != "alert-curl" || j.Namespace != "apps" {
		t.Errorf("job %+v", j)
	}
}

func TestDeploymentManifest(t *testing.T) {
	d, err := Deployment("ns1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != Name || d.Namespace != "ns1" || d.Spec.Template.Labels["app"] != Name || d.Annotations[MarkerAnnotation] != "true" {
		t.Errorf("%+v", d.ObjectMeta)
	}
	// Each call is a fresh copy.
	d.Name = "changed"
	if d2, _ := Deployment("ns1"); d2.Name != Name {
		t.Error("Deployment returned a shared object")
	}
}
