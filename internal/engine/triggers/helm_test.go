package triggers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	helmtime "helm.sh/helm/v3/pkg/time"
	"k8s.io/client-go/kubernetes/fake"
)

func helmIn(ns, name, status string, deployed time.Time) *Incoming {
	return &Incoming{Helm: &HelmRelease{Name: name, Namespace: ns, Status: status, LastDeployed: deployed}}
}

func TestHelmTriggers(t *testing.T) {
	start := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	now := start.Add(time.Hour)
	oldStart, oldNow := processStart, helmNow
	processStart, helmNow = start, func() time.Time { return now }
	defer func() { processStart, helmNow = oldStart, oldNow }()
	after := start.Add(30 * time.Minute)
	before := start.Add(-time.Minute)
	for _, tc := range []struct {
		name   string
		key    string
		params map[string]any
		in     *Incoming
		want   bool
	}{
		{"deploy fires on deployed", "on_helm_release_deploy", nil, helmIn("ns", "r", "deployed", after), true},
		{"deploy: not for a release deployed before the start", "on_helm_release_deploy", nil, helmIn("ns", "r", "deployed", before), false},
		{"deploy: not on failed", "on_helm_release_deploy", nil, helmIn("ns", "r", "failed", after), false},
		{"deploy: names", "on_helm_release_deploy", map[string]any{"names": []any{"a", "r"}}, helmIn("ns", "r", "deployed", after), true},
		{"deploy: other name", "on_helm_release_deploy", map[string]any{"names": []any{"a"}}, helmIn("ns", "r", "deployed", after), false},
		{"deploy: namespace", "on_helm_release_deploy", map[string]any{"namespace": "ns"}, helmIn("ns", "r", "deployed", after), true},
		{"deploy: other namespace", "on_helm_release_deploy", map[string]any{"namespace": "prod"}, helmIn("ns", "r", "deployed", after), false},
		{"fail on failed", "on_helm_release_fail", nil, helmIn("ns", "r", "failed", after), true},
		{"fail on unknown", "on_helm_release_fail", nil, helmIn("ns", "r", "unknown", after), true},
		{"fail: not before the start", "on_helm_release_fail", nil, helmIn("ns", "r", "failed", before), false},
		{"unhealthy after its duration", "on_helm_release_unhealthy", map[string]any{"rate_limit": 3600}, helmIn("ns", "r", "pending-upgrade", now.Add(-16*time.Minute)), true},
		{"unhealthy: within the default 900 s", "on_helm_release_unhealthy", map[string]any{"rate_limit": 3600}, helmIn("ns", "r", "pending-install", now.Add(-10*time.Minute)), false},
		{"unhealthy: even if stuck since before the start", "on_helm_release_unhealthy", map[string]any{"rate_limit": 3600, "duration": 60}, helmIn("ns", "r", "uninstalling", before), true},
		{"unhealthy: not on deployed", "on_helm_release_unhealthy", map[string]any{"rate_limit": 3600, "duration": 0}, helmIn("ns", "r", "deployed", after), false},
		{"not a helm event", "on_helm_release_deploy", nil, &Incoming{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Compile(context.Background(), tc.key, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			if got := tr.Matches(tc.in); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHelmRateLimit(t *testing.T) {
	deployed := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	dep, _ := Compile(context.Background(), "on_helm_release_deploy", nil)
	key, period, ok := dep.(RateLimited).RateLimit(helmIn("ns", "r", "deployed", deployed))
	if !ok || key != "ns:r-2026-01-05T10:00:00Z" || period < 100*365*24*time.Hour {
		t.Fatalf("deploy: %q %v %v: want once per deployment", key, period, ok)
	}
	un, _ := Compile(context.Background(), "on_helm_release_unhealthy", map[string]any{"rate_limit": 600})
	key, period, _ = un.(RateLimited).RateLimit(helmIn("ns", "r", "pending-install", deployed))
	if key != "ns:r" || period != 10*time.Minute {
		t.Fatalf("unhealthy: %q %v", key, period)
	}
	fl, _ := Compile(context.Background(), "on_helm_release_fail", map[string]any{"rate_limit": 60})
	if _, period, _ = fl.(RateLimited).RateLimit(helmIn("ns", "r", "failed", deployed)); period != time.Minute {
		t.Fatalf("fail rate_limit %v", period)
	}
}

func TestHelmBadParams(t *testing.T) {
	for _, tc := range []struct {
		key    string
		params map[string]any
		want   string
	}{
		{"on_helm_release_unhealthy", nil, `missing required parameter "rate_limit"`},
		{"on_helm_release_deploy", map[string]any{"duration": 5}, `unknown parameter "duration"`},
		{"on_helm_release_fail", map[string]any{"names": "x", "nam": 1}, `unknown parameter "nam"`},
		{"on_helm_release_upgrade", nil, "not a Helm trigger"},
	} {
		_, err := Compile(context.Background(), tc.key, tc.params)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "trigger "+tc.key) {
			t.Errorf("%s %v: err %v, want %q", tc.key, tc.params, err, tc.want)
		}
	}
}

func storeRelease(t *testing.T, cs *fake.Clientset, ns, name string, version int, status release.Status, deployed time.Time) {
	t.Helper()
	rel := &release.Release{Name: name, Namespace: ns, Version: version,
		Info:  &release.Info{Status: status, LastDeployed: helmtime.Time{Time: deployed}},
		Chart: &chart.Chart{Metadata: &chart.Metadata{Name: "demo", Version: "0.1.0", AppVersion: "1.2.3"}}}
	key := fmt.Sprintf("sh.helm.release.v1.%s.v%d", name, version)
	if err := driver.NewSecrets(cs.CoreV1().Secrets(ns)).Create(key, rel); err != nil {
		t.Fatal(err)
	}
}

func TestPollHelmReleases(t *testing.T) {
	cs := fake.NewClientset()
	d := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	storeRelease(t, cs, "a", "web", 1, release.StatusSuperseded, d)
	storeRelease(t, cs, "a", "web", 2, release.StatusFailed, d.Add(time.Hour))
	storeRelease(t, cs, "b", "web", 1, release.StatusDeployed, d)
	storeRelease(t, cs, "b", "db", 3, release.StatusPendingUpgrade, d)
	ins, err := PollHelmReleases(context.Background(), cs, "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*HelmRelease{}
	for _, in := range ins {
		got[in.Helm.Namespace+"/"+in.Helm.Name] = in.Helm
		if in.Event == nil || in.Event.Class != HelmEvent || in.Event.Obj.GetKind() != "Secret" || !in.Event.Yields("ExecutionBaseEvent") {
			t.Fatalf("event %+v", in.Event)
		}
		if want := fmt.Sprintf("sh.helm.release.v1.%s.v%d", in.Helm.Name, in.Helm.Version); in.Event.Obj.GetName() != want {
			t.Fatalf("event object %s, want %s", in.Event.Obj.GetName(), want)
		}
	}
	if len(got) != 3 {
		t.Fatalf("releases %v", got)
	}
	if w := got["a/web"]; w.Version != 2 || w.Status != "failed" || !w.LastDeployed.Equal(d.Add(time.Hour)) || w.Chart != "demo" || w.AppVersion != "1.2.3" {
		t.Fatalf("a/web %+v: want the newest revision", w)
	}
	if got["b/db"].Status != "pending-upgrade" || got["b/web"].Status != "deployed" {
		t.Fatalf("statuses %+v %+v", got["b/db"], got["b/web"])
	}
	only, err := PollHelmReleases(context.Background(), cs, "b")
	if err != nil || len(only) != 2 {
		t.Fatalf("namespace b: %d releases, %v", len(only), err)
	}
}

func TestHelmSourceEmitsEveryPoll(t *testing.T) {
	cs := fake.NewClientset()
	storeRelease(t, cs, "a", "web", 1, release.StatusDeployed, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := make(chan *Incoming, 10)
	s := &HelmSource{Client: cs, Interval: 20 * time.Millisecond}
	go s.Run(ctx, func(in *Incoming) bool { n <- in; return true })
	for i := 0; i < 2; i++ {
		select {
		case in := <-n:
			if in.Helm.Name != "web" {
				t.Fatalf("got %+v", in.Helm)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no poll")
		}
	}
}
