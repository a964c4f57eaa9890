package playbooks

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/client-go/kubernetes"
)

// Release is the Helm release a runner belongs to, with its effective values.
type Release struct {
	Name      string
	Namespace string
	Revision  int
	Values    map[string]any // chart defaults coalesced with the user's values
	Raw       *release.Release
}

// FindRunnerRelease reads, through Helm's Secret storage, the deployed release in the
// runner's namespace that owns the runner pod (named <release>-runner-...). It returns
// nil and no error when there is none.
func FindRunnerRelease(ctx context.Context, cs kubernetes.Interface, namespace, runnerPod string) (*Release, error) {
	d := driver.NewSecrets(cs.CoreV1().Secrets(namespace))
	rels, err := d.List(func(r *release.Release) bool {
		return r.Info != nil && r.Info.Status == release.StatusDeployed
	})
	if err != nil {
		return nil, fmt.Errorf("read Helm releases in %s: %w", namespace, err)
	}
	// Longest name first, so release "robusta-dev" wins over "robusta" for pod robusta-dev-runner-...
	sort.Slice(rels, func(i, j int) bool { return len(rels[i].Name) > len(rels[j].Name) })
	for _, r := range rels {
		if !strings.HasPrefix(runnerPod, r.Name+"-runner-") {
			continue
		}
		vals, err := chartutil.CoalesceValues(r.Chart, r.Config)
		if err != nil {
			return nil, fmt.Errorf("values of release %s: %w", r.Name, err)
		}
		return &Release{Name: r.Name, Namespace: namespace, Revision: r.Version, Values: vals, Raw: r}, nil
	}
	return nil, nil
}

// PushWarnings says what keeps a pushed repo from being used: no persistent volume
// (the push is lost on restart), or no playbookRepos entry pointing at it.
func PushWarnings(rel *Release, name, storagePath string) []string {
	var w []string
	if pv, _ := rel.Values["playbooksPersistentVolume"].(bool); !pv {
		w = append(w, fmt.Sprintf("release %s has playbooksPersistentVolume off: %s is not on a persistent volume and the push is lost when the runner pod restarts. Set it in your values:\n\n  playbooksPersistentVolume: true\n", rel.Name, storagePath))
	}
	url := "file://" + strings.TrimRight(storagePath, "/") + "/" + name
	repos, _ := rel.Values["playbookRepos"].(map[string]any)
	found := false
	for _, v := range repos {
		if m, ok := v.(map[string]any); ok && strings.TrimRight(fmt.Sprint(m["url"]), "/") == url {
			found = true
		}
	}
	if !found {
		w = append(w, fmt.Sprintf("no playbookRepos entry of release %s points at %s, so the runner does not load it. Add to your values (then helm upgrade):\n\n  playbookRepos:\n    %s:\n      url: \"%s\"\n", rel.Name, url, name, url))
	}
	return w
}
