package doctor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/catalogue"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
	"github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// slowAPI is the round trip above which the API server check turns yellow.
const slowAPI = 2 * time.Second

func (st *state) checkKubeconfig(ctx context.Context) Result {
	kf := st.opts.KF
	if _, err := kf.RESTConfig(); err != nil {
		err = kf.Explain(err, "", "", "")
		return red(hintOr(err, "set KUBECONFIG or pass --kubeconfig / --context"), "%v", err)
	}
	cs, err := kf.Clientset()
	if err != nil {
		return red("check the kubeconfig's credentials", "%v", err)
	}
	st.commit(func(s *state) { s.cs = cs })
	return green("context %q, server %s", kf.ContextName(), kf.ServerURL())
}

func (st *state) checkAPI(ctx context.Context) Result {
	kf := st.opts.KF
	start := time.Now()
	// /version with the check's context, so an unanswering server is cut at the deadline.
	body, err := st.cs.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(ctx)
	took := time.Since(start)
	if err != nil {
		err = kf.Explain(err, "get", "version", "")
		return red(hintOr(err, "check that the cluster runs and that your network reaches it"), "%v", err)
	}
	version := ""
	if i := strings.Index(string(body), `"gitVersion"`); i >= 0 {
		rest := string(body[i+len(`"gitVersion"`):])
		if parts := strings.SplitN(rest, `"`, 3); len(parts) == 3 {
			version = parts[1]
		}
	}
	msg := fmt.Sprintf("reachable, %s round trip", took.Round(time.Millisecond))
	if version != "" {
		msg += ", Kubernetes " + version
	}
	if took > slowAPI {
		return yellow("a slow API server makes every command slow: check the network or VPN path to it", "%s", msg)
	}
	return green("%s", msg)
}

// checkRunner finds the runner pod and settles the namespace later checks use.
func (st *state) checkRunner(ctx context.Context) Result {
	kf := st.opts.KF
	pods, search, err := kf.ListRunners(ctx, st.opts.Find)
	if err != nil {
		ns := st.fallbackNamespace(ctx)
		st.commit(func(s *state) { s.namespace = ns })
		return red(hintOr(err, "pass --namespace NS or --runner-pod NS/NAME"), "%v", err)
	}
	if len(pods) == 0 {
		ns := st.fallbackNamespace(ctx)
		st.commit(func(s *state) { s.namespace = ns })
		return red("install Robusta (helm install robusta robusta/robusta -n NS -f generated_values.yaml), or pass --namespace NS where it runs",
			"no runner pod (label %s) in %s", kube.RunnerSelector, search.Where)
	}
	namespaces := map[string]bool{}
	for _, p := range pods {
		namespaces[p.Namespace] = true
	}
	if len(namespaces) > 1 {
		refs := make([]string, len(pods))
		for i, p := range pods {
			refs[i] = p.Ref()
		}
		return red("pick one install with --namespace NS", "runners of several installs: %s", strings.Join(refs, ", "))
	}
	// Newest ready pod, else the newest one, so a broken runner is still inspected.
	best := pods[0]
	for _, p := range pods[1:] {
		if (p.Ready && !best.Ready) || (p.Ready == best.Ready && p.Created.After(best.Created)) {
			best = p
		}
	}
	st.commit(func(s *state) { s.namespace = best.Namespace })
	pod, err := st.cs.CoreV1().Pods(best.Namespace).Get(ctx, best.Name, metav1.GetOptions{})
	if err != nil {
		return red("check your rights to get pods in "+best.Namespace, "%v", kf.Explain(err, "get", "pods", best.Namespace))
	}
	st.commit(func(s *state) { s.pod, s.podReady = pod, best.Ready })
	if !best.Ready {
		return red(fmt.Sprintf("see why with: robusta logs -n %s, or kubectl describe pod -n %s %s", best.Namespace, best.Namespace, best.Name),
			"runner %s is not ready: %s", best.Ref(), best.State)
	}
	restarts, last := runnerRestarts(pod)
	if restarts > 0 {
		r := yellow(fmt.Sprintf("read the previous run's log: robusta logs -n %s --previous", best.Namespace),
			"runner %s is ready but has restarted %s", best.Ref(), plural(int(restarts), "time"))
		if last != "" {
			r.Details = []string{"last restart: " + last}
		}
		return r
	}
	return green("runner %s is ready, no restarts", best.Ref())
}

// runnerRestarts reads the runner container's restart count and why it last ended.
func runnerRestarts(p *corev1.Pod) (int32, string) {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name != kube.RunnerContainer {
			continue
		}
		last := ""
		if t := c.LastTerminationState.Terminated; t != nil {
			last = fmt.Sprintf("exit code %d", t.ExitCode)
			if t.Reason != "" {
				last = t.Reason + ", " + last
			}
			if !t.FinishedAt.IsZero() {
				last += " at " + t.FinishedAt.UTC().Format(time.RFC3339)
			}
		}
		return c.RestartCount, last
	}
	return 0, ""
}

// fallbackNamespace is where to look for the config and release when no runner was
// found: the explicit namespace, else the one namespace holding the config Secret,
// else the kubeconfig's namespace.
func (st *state) fallbackNamespace(ctx context.Context) string {
	if st.opts.Find.Namespace != "" {
		return st.opts.Find.Namespace
	}
	list, err := st.cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + config.SecretName})
	if err == nil && len(list.Items) == 1 {
		return list.Items[0].Namespace
	}
	return st.opts.KF.Namespace()
}

func (st *state) checkHealth(ctx context.Context) Result {
	if st.pod == nil || !st.podReady {
		return skipped("no ready runner to ask")
	}
	rp := kube.RunnerPod{Namespace: st.pod.Namespace, Name: st.pod.Name}
	start := time.Now()
	// Connect retries until its own timeout; end it before the check's deadline so
	// its error, which says what failed, is what the report shows.
	wait := st.opts.Timeout * 9 / 10
	if deadline, ok := ctx.Deadline(); ok {
		wait = time.Until(deadline) * 9 / 10
	}
	sess, err := playbooks.Connect(ctx, st.opts.KF, rp, wait)
	if err != nil {
		return red("read the runner's log (robusta logs -n "+rp.Namespace+"): its HTTP server on port 5000 does not answer",
			"/healthz through a port-forward to %s failed: %v", rp.Ref(), err)
	}
	defer sess.Close()
	return green("/healthz answered through a port-forward to %s port %d in %s", rp.Ref(), kube.RunnerPort, time.Since(start).Round(time.Millisecond))
}

func (st *state) checkRelease(ctx context.Context) Result {
	if st.namespace == "" {
		return skipped("no namespace to look in")
	}
	d := driver.NewSecrets(st.cs.CoreV1().Secrets(st.namespace))
	rels, err := d.List(func(*release.Release) bool { return true })
	if err != nil {
		if apierrors.IsForbidden(err) {
			return yellow("ask for the right to list Secrets in "+st.namespace+" (Helm keeps releases there)",
				"cannot read Helm releases in namespace %s: forbidden", st.namespace)
		}
		return yellow("", "cannot read Helm releases in namespace %s: %v", st.namespace, err)
	}
	name := releaseName(rels, st.pod)
	if name == "" {
		return yellow("install Robusta with Helm (helm install robusta robusta/robusta -n "+st.namespace+"), so configure and upgrades work",
			"no Helm release of the runner in namespace %s", st.namespace)
	}
	var revs []*release.Release
	for _, r := range rels {
		if r.Name == name {
			revs = append(revs, r)
		}
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Version > revs[j].Version })
	latest := revs[0]
	var deployed *release.Release
	for _, r := range revs {
		if r.Info != nil && r.Info.Status == release.StatusDeployed {
			deployed = r
			break
		}
	}
	st.commit(func(s *state) { s.release, s.deployed = latest, deployed })
	status := release.StatusUnknown
	if latest.Info != nil {
		status = latest.Info.Status
	}
	chartName := ""
	if latest.Chart != nil && latest.Chart.Metadata != nil {
		chartName = fmt.Sprintf(", chart %s-%s", latest.Chart.Metadata.Name, latest.Chart.Metadata.Version)
	}
	rollback := fmt.Sprintf("helm uninstall %s -n %s, then install again", name, st.namespace)
	if deployed != nil {
		rollback = fmt.Sprintf("helm rollback %s %d -n %s", name, deployed.Version, st.namespace)
	}
	switch {
	case status == release.StatusDeployed:
		return green("release %s revision %d is deployed%s", name, latest.Version, chartName)
	case status.IsPending():
		return red("if no helm command is still running, end the stuck operation: "+rollback,
			"release %s revision %d is %s: an install, upgrade or rollback did not finish, and Helm refuses new ones", name, latest.Version, status)
	case status == release.StatusFailed:
		return red("see helm history "+name+" -n "+st.namespace+", fix the values and upgrade again, or "+rollback,
			"release %s revision %d failed", name, latest.Version)
	}
	return yellow("see helm history "+name+" -n "+st.namespace, "release %s revision %d is %s", name, latest.Version, status)
}

// releaseName picks the release that owns the runner pod (<release>-runner-...), else
// the release named "robusta", else the only release with "robusta" in its chart.
func releaseName(rels []*release.Release, pod *corev1.Pod) string {
	names := map[string]bool{}
	for _, r := range rels {
		names[r.Name] = true
	}
	if pod != nil {
		best := ""
		for n := range names {
			if strings.HasPrefix(pod.Name, n+"-runner-") && len(n) > len(best) {
				best = n
			}
		}
		if best != "" {
			return best
		}
	}
	if names[kube.DefaultRelease] {
		return kube.DefaultRelease
	}
	found := ""
	for _, r := range rels {
		if r.Chart != nil && r.Chart.Metadata != nil && r.Chart.Metadata.Name == "robusta" {
			if found != "" && found != r.Name {
				return ""
			}
			found = r.Name
		}
	}
	return found
}

func (st *state) checkConfig(ctx context.Context) Result {
	if st.namespace == "" {
		return skipped("no namespace to look in")
	}
	f, _, err := config.ReadSecret(ctx, st.cs, st.namespace)
	if err != nil {
		var pe *config.ParseError
		switch {
		case errors.As(err, &pe):
			return red("fix the values it is rendered from and apply them (robusta playbooks configure FILE), or robusta playbooks edit-config -n "+st.namespace,
				"Secret %s/%s does not parse: %v", st.namespace, config.SecretName, err)
		case apierrors.IsForbidden(err):
			return red("ask for the right to get Secrets in "+st.namespace, "%v", st.opts.KF.Explain(err, "get", "secrets", st.namespace))
		}
		return red("install Robusta with Helm, which creates it, or pass --namespace NS where it runs", "%v", err)
	}
	var values map[string]any
	if err := f.Root.Decode(&values); err != nil {
		return red("fix its content with robusta playbooks edit-config -n "+st.namespace, "Secret %s/%s: %v", st.namespace, config.SecretName, err)
	}
	st.commit(func(s *state) { s.cfg, s.cfgValues = f, values })
	findings := config.ValidateWith(f, st.opts.Known)
	var errs, warns []config.Finding
	for _, fd := range findings {
		switch fd.Severity {
		case config.SevError:
			errs = append(errs, fd)
		case config.SevWarning:
			warns = append(warns, fd)
		}
	}
	pbs := len(f.Playbooks(true))
	switch {
	case len(errs) > 0:
		r := red("see robusta playbooks show-config -n "+st.namespace+"; fix the values and apply them with robusta playbooks configure",
			"Secret %s/%s does not validate: %s", st.namespace, config.SecretName, plural(len(errs), "error"))
		r.Details = findingLines(errs)
		return r
	case len(warns) > 0:
		r := yellow("see robusta playbooks show-config -n "+st.namespace,
			"Secret %s/%s parses (%s) with %s", st.namespace, config.SecretName, plural(pbs, "playbook"), plural(len(warns), "warning"))
		r.Details = findingLines(warns)
		return r
	}
	return green("Secret %s/%s parses and validates (%s)", st.namespace, config.SecretName, plural(pbs, "playbook"))
}

func findingLines(fs []config.Finding) []string {
	const max = 5
	var out []string
	for i, f := range fs {
		if i == max {
			out = append(out, fmt.Sprintf("... and %d more", len(fs)-max))
			break
		}
		out = append(out, f.String())
	}
	return out
}

// repoEntry is one playbookRepos entry.
type repoEntry struct {
	name, url string
	path      string // for file:// URLs
}

func (st *state) repoEntries() []repoEntry {
	repos, _ := st.cfgValues["playbook_repos"].(map[string]any)
	var out []repoEntry
	for name, v := range repos {
		m, _ := v.(map[string]any)
		u := fmt.Sprint(m["url"])
		e := repoEntry{name: name, url: u}
		if p, ok := strings.CutPrefix(u, "file://"); ok {
			e.path = strings.TrimRight(p, "/")
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (st *state) storagePath() string {
	if st.opts.StoragePath != "" {
		return strings.TrimRight(st.opts.StoragePath, "/")
	}
	return playbooks.DefaultStoragePath
}

// PVCName is the claim the chart creates with playbooksPersistentVolume: true.
const PVCName = "persistent-playbooks-pv-claim"

func (st *state) checkPVC(ctx context.Context) Result {
	if st.cfgValues == nil {
		return skipped("needs the config Secret")
	}
	var inStorage []string
	for _, e := range st.repoEntries() {
		if e.path != "" && strings.HasPrefix(e.path+"/", st.storagePath()+"/") {
			inStorage = append(inStorage, e.name)
		}
	}
	if len(inStorage) == 0 {
		return green("not needed: no playbookRepos entry points at %s", st.storagePath())
	}
	fix := "set playbooksPersistentVolume: true in your values and helm upgrade; pushed repositories are lost when the runner restarts until then"
	pvc, err := st.cs.CoreV1().PersistentVolumeClaims(st.namespace).Get(ctx, PVCName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return red(fix, "no PVC %s in namespace %s, but %s in %s", PVCName, st.namespace,
			plural(len(inStorage), "playbookRepos entry")+" ("+strings.Join(inStorage, ", ")+") point", st.storagePath())
	case err != nil:
		return yellow("ask for the right to get persistentvolumeclaims in "+st.namespace, "%v", st.opts.KF.Explain(err, "get", "persistentvolumeclaims", st.namespace))
	case pvc.Status.Phase != corev1.ClaimBound:
		return red("see kubectl describe pvc -n "+st.namespace+" "+PVCName+": it needs a matching PersistentVolume or a StorageClass that provisions one",
			"PVC %s/%s is %s, not Bound", st.namespace, PVCName, orUnknown(string(pvc.Status.Phase)))
	}
	return green("PVC %s/%s is Bound (volume %s)", st.namespace, PVCName, pvc.Spec.VolumeName)
}

// reposScript reports, for each path argument, whether it is a folder holding
// pyproject.toml. It only reads.
const reposScript = `for p; do
  if [ -f "$p/pyproject.toml" ]; then echo ok
  elif [ -d "$p" ]; then echo nopyproject
  else echo missing; fi
done
`

func (st *state) checkRepos(ctx context.Context) Result {
	if st.cfgValues == nil {
		return skipped("needs the config Secret")
	}
	entries := st.repoEntries()
	if len(entries) == 0 {
		return green("none configured: the runner loads only its built-in playbooks")
	}
	var paths []string
	var git []string
	for _, e := range entries {
		if e.path != "" {
			paths = append(paths, e.path)
		} else {
			git = append(git, e.name)
		}
	}
	details := []string{}
	for _, n := range git {
		details = append(details, n+": a git repository, cloned by the runner (not checked from here)")
	}
	if len(paths) == 0 {
		r := green("%s, all git repositories", plural(len(entries), "entry"))
		r.Details = details
		return r
	}
	if st.pod == nil || !st.podReady {
		return skipped("needs a ready runner to look into its storage")
	}
	var out strings.Builder
	err := st.opts.KF.Exec(ctx, kube.ExecOptions{Namespace: st.pod.Namespace, Pod: st.pod.Name, Container: kube.RunnerContainer,
		Command: append([]string{"sh", "-c", reposScript, "sh"}, paths...), Stdout: &out})
	if err != nil {
		return red("check your right to create pods/exec in "+st.pod.Namespace, "cannot look into the runner's storage: %v", err)
	}
	answers := strings.Fields(out.String())
	if len(answers) != len(paths) {
		return red("", "unexpected answer from the runner: %q", out.String())
	}
	var missing []string
	i := 0
	for _, e := range entries {
		if e.path == "" {
			continue
		}
		switch answers[i] {
		case "ok":
			details = append(details, fmt.Sprintf("%s: %s present", e.name, e.path))
		case "nopyproject":
			missing = append(missing, e.name)
			details = append(details, fmt.Sprintf("%s: %s exists but has no pyproject.toml", e.name, e.path))
		default:
			missing = append(missing, e.name)
			details = append(details, fmt.Sprintf("%s: %s missing", e.name, e.path))
		}
		i++
	}
	if len(missing) > 0 {
		r := red("push each one: robusta playbooks push DIR --name NAME (or remove the entry from playbookRepos)",
			"%s of %s not in the runner: %s", plural(len(missing), "entry"), plural(len(entries), "entry"), strings.Join(missing, ", "))
		r.Details = details
		return r
	}
	r := green("%s, every local one present in the runner", plural(len(entries), "entry"))
	r.Details = details
	return r
}

func (st *state) checkSinks(ctx context.Context) Result {
	if st.cfgValues == nil {
		return skipped("needs the config Secret")
	}
	list, _ := st.cfgValues["sinks_config"].([]any)
	var names []string
	for _, item := range list {
		m, _ := item.(map[string]any)
		for typ, v := range m {
			p, _ := v.(map[string]any)
			names = append(names, fmt.Sprintf("%v (%s)", p["name"], typ))
		}
	}
	if len(names) == 0 {
		return yellow("add a sink to sinksConfig (robusta gen-config asks for Slack, MS Teams or the Robusta UI) and apply it",
			"no sinks configured: findings are sent nowhere")
	}
	sort.Strings(names)
	return green("%s: %s", plural(len(names), "sink"), strings.Join(names, ", "))
}

func (st *state) checkMonitoring(id string) func(context.Context) Result {
	svc, key, what := monitoring.Prometheus, "prometheus_url", "Prometheus"
	if id == CheckAlertmanager {
		svc, key, what = monitoring.Alertmanager, "alertmanager_url", "Alertmanager"
	}
	return func(ctx context.Context) Result {
		if st.cfgValues != nil {
			global, _ := st.cfgValues["global_config"].(map[string]any)
			if u, _ := global[key].(string); u != "" {
				return green("globalConfig.%s is %s", key, u)
			}
		}
		for _, sel := range monitoring.Selectors(svc) {
			list, err := st.cs.CoreV1().Services("").List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil {
				return yellow("ask for the right to list Services in all namespaces, or set globalConfig."+key,
					"cannot look for %s: %v", what, st.opts.KF.Explain(err, "list", "services", ""))
			}
			for _, s := range list.Items {
				if len(s.Spec.Ports) > 0 {
					return green("found Service %s/%s by label %s", s.Namespace, s.Name, sel)
				}
			}
		}
		return yellow(fmt.Sprintf("set globalConfig.%s in your values if %s runs outside the cluster or under other labels", key, what),
			"no %s found by the runner's label selectors, and globalConfig.%s is not set: alerts and graphs from it will not work", what, key)
	}
}

func (st *state) checkVersions(ctx context.Context) Result {
	if st.pod == nil {
		return skipped("needs the runner pod")
	}
	image := ""
	for _, c := range st.pod.Spec.Containers {
		if c.Name == kube.RunnerContainer {
			image = c.Image
		}
	}
	tag := imageTag(image)
	details := []string{
		"runner image: " + orUnknown(image),
		"this CLI: " + st.opts.CLIVersion + " (its catalogue describes Robusta " + catalogueRobusta + ", commit " + catalogue.RobustaCommit[:8] + ")",
	}
	appVersion := ""
	if st.deployed != nil && st.deployed.Chart != nil && st.deployed.Chart.Metadata != nil {
		appVersion = st.deployed.Chart.Metadata.AppVersion
		details = append(details, fmt.Sprintf("chart: %s-%s, appVersion %s", st.deployed.Chart.Metadata.Name, st.deployed.Chart.Metadata.Version, orUnknown(appVersion)))
	}
	var r Result
	switch {
	case appVersion != "" && tag != "" && strings.TrimPrefix(tag, "v") != strings.TrimPrefix(appVersion, "v"):
		r = yellow("unless you pinned runner.image on purpose, drop the override so the image matches the chart",
			"runner image %s differs from the chart's appVersion %s", tag, appVersion)
	case newerThanCatalogue(tag):
		r = yellow("validate and local run may not know this runner's newest actions and params; pass --no-check to trigger them",
			"the runner (%s) is newer than the Robusta this CLI's catalogue describes (%s)", tag, catalogueRobusta)
	default:
		r = green("runner %s, chart appVersion %s, CLI %s", orUnknown(tag), orUnknown(appVersion), st.opts.CLIVersion)
	}
	r.Details = details
	return r
}

// catalogueRobusta is the Robusta release catalogue.RobustaCommit belongs to
// (acf0db9a is 0.47.0 plus 7 commits).
const catalogueRobusta = "0.47.0"

func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") {
		return image[i+1:]
	}
	return ""
}

// newerThanCatalogue says whether tag is a release (X.Y.Z) newer in major or minor.
func newerThanCatalogue(tag string) bool {
	maj, min, ok := majorMinor(tag)
	cmaj, cmin, _ := majorMinor(catalogueRobusta)
	return ok && (maj > cmaj || (maj == cmaj && min > cmin))
}

func majorMinor(v string) (int, int, bool) {
	var maj, min int
	if _, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d", &maj, &min); err != nil {
		return 0, 0, false
	}
	return maj, min, true
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	if strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// hintOr is the hint an error carries, else def.
func hintOr(err error, def string) string {
	var he *cli.HintError
	if errors.As(err, &he) && he.Hint != "" {
		return he.Hint
	}
	return def
}
