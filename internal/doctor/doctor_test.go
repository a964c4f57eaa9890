package doctor

import (
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestImageTag(t *testing.T) {
	for _, c := range []struct{ image, want string }{
		{"us-central1-docker.pkg.dev/genuine-flight-317411/devel/robusta-runner:0.47.0", "0.47.0"},
		{"registry:5000/robusta-runner", ""},
		{"robusta-runner:0.10.1@sha256:abc", "0.10.1"},
		{"robusta-runner", ""},
	} {
		if got := imageTag(c.image); got != c.want {
			t.Errorf("imageTag(%q) = %q, want %q", c.image, got, c.want)
		}
	}
}

func TestNewerThanCatalogue(t *testing.T) {
	for tag, want := range map[string]bool{"0.47.0": false, "0.47.9": false, "0.48.0": true, "v1.0.0": true, "0.10.0": false, "latest": false, "": false} {
		if got := newerThanCatalogue(tag); got != want {
			t.Errorf("newerThanCatalogue(%q) = %v, want %v", tag, got, want)
		}
	}
}

func TestReleaseName(t *testing.T) {
	rel := func(name, chartName string) *release.Release {
		return &release.Release{Name: name, Chart: &chart.Chart{Metadata: &chart.Metadata{Name: chartName}}}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "robusta-dev-runner-5d9f-abcde"}}
	cases := []struct {
		name string
		rels []*release.Release
		pod  *corev1.Pod
		want string
	}{
		{"longest prefix owns the pod", []*release.Release{rel("robusta", "robusta"), rel("robusta-dev", "robusta")}, pod, "robusta-dev"},
		{"default name without pod", []*release.Release{rel("other", "nginx"), rel("robusta", "robusta")}, nil, "robusta"},
		{"only robusta chart", []*release.Release{rel("mine", "robusta"), rel("other", "nginx")}, nil, "mine"},
		{"two robusta charts: none picked", []*release.Release{rel("a", "robusta"), rel("b", "robusta")}, nil, ""},
		{"none", nil, pod, ""},
	}
	for _, c := range cases {
		if got := releaseName(c.rels, c.pod); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n          int
		word, want string
	}{{1, "entry", "1 entry"}, {2, "entry", "2 entries"}, {0, "sink", "0 sinks"}} {
		if got := plural(c.n, c.word); got != c.want {
			t.Errorf("plural(%d, %q) = %q, want %q", c.n, c.word, got, c.want)
		}
	}
}
