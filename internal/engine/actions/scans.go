package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
	"github.com/robusta-dev/robusta-go/internal/monitoring"
)

// The scan actions (Robusta's krr.py and popeye.py): a Job runs the scanner in the
// cluster, its JSON output is read from the pod's log and shown as tables. In the
// runner the result goes to the Robusta platform as a scan report (scan_updated
// events and a scan block); locally nothing is sent anywhere.
func init() {
	engine.Register(&engine.Action{Name: "krr_scan", Event: "ExecutionBaseEvent", RunsCommands: true,
		Doc:       "Run a KRR scan in a Job (with --apply; dry run shows the Job) and show its CPU and memory recommendations per container",
		NewParams: func() any { return &krrParams{} }, Do: krrScan})
	engine.Register(&engine.Action{Name: "popeye_scan", Event: "ExecutionBaseEvent", RunsCommands: true,
		Doc:       "Run a Popeye scan in a Job (with --apply; dry run shows the Job) and show the issues it finds per resource",
		NewParams: func() any { return &popeyeParams{} }, Do: popeyeScan})
}

// The runner's defaults for the scanner Jobs (its env vars KRR_IMAGE_OVERRIDE,
// KRR_MEMORY_LIMIT, KRR_MEMORY_REQUEST, POPEYE_IMAGE_OVERRIDE, POPEYE_MEMORY_LIMIT
// unset). KRR's image is under the chart's registry; Popeye's is Docker Hub's own.
const (
	krrImage          = "krr:v1.29.0"
	krrMemory         = "2Gi"
	popeyeImage       = "derailed/popeye:v0.11.1"
	popeyeMemoryLimit = "1Gi"
	// scanJobTTL is the 12 hours the runner leaves a finished scan Job for.
	scanJobTTL = 43200
	// pyDateTime is Python's str(datetime.now()), the runner's start-time annotation.
	pyDateTime = "2006-01-02 15:04:05.000000"
)

// krrParams is Robusta's KRRParams: PrometheusParams, PodRunningParams and KRR's own.
type krrParams struct {
	promConn
	CustomAnnotations  map[string]string `param:"custom_annotations" doc:"annotations for the scan Job and its pod"`
	ServiceAccountName string            `param:"serviceAccountName" default:"robusta-runner-service-account" doc:"service account the KRR Job runs as"`
	Strategy           string            `param:"strategy" default:"simple" doc:"KRR strategy (its first argument)"`
	Args               string            `param:"args" doc:"deprecated: use krr_args (-q, -f, -v and their long forms are refused)"`
	KRRArgs            string            `param:"krr_args" doc:"more KRR command-line arguments; $name, $namespace, ${labels.x} ... are filled from the subject"`
	Timeout            int               `param:"timeout" default:"3600" doc:"seconds to wait for the scan"`
	MaxWorkers         int               `param:"max_workers" default:"3" doc:"KRR's --max-workers"`
	KRRVerbose         bool              `param:"krr_verbose" doc:"run KRR with -v"`
	KRRJobSpec         map[string]any    `param:"krr_job_spec" doc:"more pod spec fields for the Job (camelCase, e.g. nodeSelector, tolerations)"`
}

// argsSanitized is the runner's args_sanitized: the deprecated args win when set.
func (p *krrParams) argsSanitized() (string, error) {
	if p.Args != "" {
		s, err := shlexNormalize(p.Args)
		if err != nil {
			return "", fmt.Errorf("parameter \"args\": %v", err)
		}
		return s, nil
	}
	s, err := shlexNormalize(p.KRRArgs)
	if err != nil {
		return "", fmt.Errorf("parameter \"krr_args\": %v", err)
	}
	return s, nil
}

// checkKRRArgs is the runner's validator on the deprecated args: KRR's output must
// stay JSON and quiet, so these flags are refused (as a substring, as the runner
// checks).
func checkKRRArgs(args string) error {
	for _, f := range []string{"-q", "-f", "-v", "--quiet", "--format", "--verbose"} {
		if strings.Contains(args, f) {
			return fmt.Errorf("parameter \"args\": argument %s is not allowed (the scan needs KRR's JSON output; use krr_verbose for -v)", f)
		}
	}
	return nil
}

// krrLabelFlags is the runner's get_krr_additional_flags: a single additional label
// of a multi-cluster Prometheus becomes KRR's --prometheus-label, unless the args
// name a label already.
func krrLabelFlags(labels map[string]string, args string) string {
	if len(labels) != 1 {
		return ""
	}
	for _, f := range []string{"--prometheus-label", "-l", "--prometheus-cluster-label"} {
		if strings.Contains(args, f) {
			return ""
		}
	}
	for k, v := range labels {
		return fmt.Sprintf("--prometheus-label %s -l %s", k, v)
	}
	return ""
}

// krrSecretEntry is one credential the KRR Job reads from its Secret: an environment
// variable KRR's command line refers to as $(NAME), which Kubernetes expands.
type krrSecretEntry struct {
	env, key, value, flag string
	// header, when set, makes the flag's value "header:$(ENV)".
	header string
}

// krrSecretEntries are the runner's _generate_prometheus_secrets for a plain
// Prometheus: the Authorization header, then each additional header (sorted by name
// here; the runner keeps the config's order).
func krrSecretEntries(auth string, headers map[string]string) []krrSecretEntry {
	var out []krrSecretEntry
	if auth != "" {
		out = append(out, krrSecretEntry{env: "PROMETHEUS_AUTH_HEADER", key: "prometheus-auth-header", value: auth, flag: "--prometheus-auth-header"})
	}
	for _, name := range sortedKeys(headers) {
		out = append(out, krrSecretEntry{
			env:    "PROMETHEUS_HEADER_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")),
			key:    "prometheus-header-" + strings.ToLower(name),
			value:  headers[name],
			flag:   "--prometheus-headers",
			header: name,
		})
	}
	return out
}

// krrPlan is everything krr_scan creates.
type krrPlan struct {
	Job     *batchv1.Job
	Secret  *corev1.Secret
	Command string
}

// buildKRR builds the Job (and Secret) the runner's krr_scan creates, in its
// KRR_PUSH_SCAN=false mode: the result is read from the pod's log, as a laptop cannot
// be reached by KRR's push to the runner's URL. promURL is the Prometheus URL given to
// KRR with -p ("" lets KRR find Prometheus itself, as in the runner without a
// prometheus_url); vars fill the args' templates when the event has an object.
func buildKRR(ctx context.Context, p *krrParams, promURL string, openshift bool, vars map[string]string, now time.Time, scanID string) (*krrPlan, error) {
	if p.Args != "" {
		if err := checkKRRArgs(p.Args); err != nil {
			return nil, err
		}
	}
	strategy := shlexQuote(p.Strategy)
	args, err := p.argsSanitized()
	if err != nil {
		return nil, err
	}
	labelFlags := krrLabelFlags(p.AdditionalLabels, args)
	if args != "" && vars != nil {
		args = pySubstitute(args, true, withDefault(vars, "<missing>"))
	}
	verbose := ""
	if p.KRRVerbose {
		verbose = "-v"
	}
	// The runner's f-string, spaces and all; its publish_scan_args are empty in
	// the log-reading mode.
	cmd := fmt.Sprintf("python krr.py %s %s %s %s --max-workers %d %s -f json --width 2048",
		strategy, "", args, labelFlags, p.MaxWorkers, verbose)
	if promURL != "" {
		cmd += " -p " + promURL
	}
	var env []corev1.EnvVar
	var secret *corev1.Secret
	if openshift && p.PrometheusAuth == "" {
		cmd += " --openshift"
	} else {
		// The runner adds its managed-Prometheus (EKS) flags here; they come from the
		// runner's environment, which a laptop has not, so the string is empty.
		cmd += " "
		entries := krrSecretEntries(p.PrometheusAuth, p.AdditionalHeaders)
		if len(entries) > 0 {
			name := "krr-auth-secret" + scanID
			secret = &corev1.Secret{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: helperpod.DefaultNamespace, Labels: map[string]string{helperpod.LabelHelper: "true"}},
				Data:       map[string][]byte{},
			}
			var flags []string
			for _, e := range entries {
				secret.Data[e.key] = []byte(e.value)
				env = append(env, corev1.EnvVar{Name: e.env, ValueFrom: &corev1.EnvVarSource{
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: e.key}}})
				if e.header != "" {
					flags = append(flags, fmt.Sprintf("%s '%s:$(%s)'", e.flag, e.header, e.env))
				} else {
					flags = append(flags, fmt.Sprintf("%s '$(%s)'", e.flag, e.env))
				}
			}
			cmd += " " + strings.Join(flags, " ")
		}
	}
	mem := resource.MustParse(krrMemory)
	spec := corev1.PodSpec{
		ServiceAccountName: p.ServiceAccountName,
		Containers: []corev1.Container{{
			Name:            "krr",
			Image:           helperpod.Image(ctx, krrImage),
			ImagePullPolicy: corev1.PullAlways,
			Command:         []string{"/bin/sh", "-c", cmd},
			Env:             env,
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceMemory: mem},
				Requests: corev1.ResourceList{corev1.ResourceMemory: mem},
			},
		}},
		RestartPolicy: corev1.RestartPolicyNever,
	}
	spec, err = mergeJobSpec("krr_job_spec", spec, p.KRRJobSpec, map[string]string{
		"serviceAccountName": "the serviceAccountName param", "containers": "", "restartPolicy": ""})
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{"scan-id": scanID, "start-time": now.Format(pyDateTime)}
	for k, v := range p.CustomAnnotations {
		annotations[k] = v
	}
	job := helperpod.SimpleJob("krr-job-"+scanID, spec, annotations, scanJobTTL)
	job.Spec.Template.Labels["app"] = "krr.robusta.dev"
	// The runner, reading the log, also puts a finalizer on the pod so its TTL cannot
	// remove it first. Here the Job is deleted only after the log is read, and a
	// finalizer would leave an undeletable pod behind should this process be killed,
	// so there is none.
	return &krrPlan{Job: job, Secret: secret, Command: cmd}, nil
}

// mergeJobSpec adds the job-spec param's fields to spec as the runner's
// PodSpec(..., **job_spec) does: any PodSpec field (camelCase) except those the action
// sets itself (own, with a hint for each when there is a param to use instead).
func mergeJobSpec(param string, spec corev1.PodSpec, extra map[string]any, own map[string]string) (corev1.PodSpec, error) {
	if len(extra) == 0 {
		return spec, nil
	}
	for _, k := range sortedAnyKeys(extra) {
		if hint, ok := own[k]; ok {
			msg := fmt.Sprintf("parameter %q: it sets %s, which the action sets itself", param, k)
			if hint != "" {
				msg += ": use " + hint
			}
			return spec, errors.New(msg)
		}
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return spec, fmt.Errorf("parameter %q: %w", param, err)
	}
	merged := map[string]any{}
	if err := json.Unmarshal(b, &merged); err != nil {
		return spec, fmt.Errorf("parameter %q: %w", param, err)
	}
	for k, v := range extra {
		merged[k] = v
	}
	b, err = json.Marshal(merged)
	if err != nil {
		return spec, fmt.Errorf("parameter %q: %v", param, err)
	}
	var out corev1.PodSpec
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return spec, fmt.Errorf("parameter %q: %v (its keys are pod spec fields in camelCase, e.g. nodeSelector, tolerations)", param, err)
	}
	return out, nil
}

func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// krrPrometheusURL is the URL KRR gets with -p: the param, else --prometheus-url (the
// chart's globalConfig.prometheus_url, which the runner merges into the params), with
// http:// added as the runner's validator adds it. Without either, the runner still
// insists on finding Prometheus (its generate_prometheus_config) but lets KRR find it
// itself: so locally the cluster is searched with the runner's selectors and the
// address found only reported.
func krrPrometheusURL(ctx context.Context, r *engine.Run, p *krrParams) (url, found string, err error) {
	url = p.PrometheusURL
	if url == "" {
		if c := monitoring.FromContext(ctx); c != nil {
			url = c.URLs.Prometheus
		}
	}
	if url != "" {
		if !strings.HasPrefix(url, "http") {
			url = "http://" + url
		}
		return url, "", nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return "", "", err
	}
	found, err = monitoring.InClusterURL(ctx, cs, monitoring.Prometheus)
	if err != nil {
		var nf *monitoring.NotFoundError
		if errors.As(err, &nf) {
			return "", "", err
		}
		return "", "", r.KF.Explain(errors.Unwrap(err), "list", "services", "")
	}
	return "", found, nil
}

// loopbackURL reports whether u points at this machine, which a pod cannot reach.
func loopbackURL(u string) bool {
	pu, err := monitoring.ParseURL(u)
	if err != nil {
		return false
	}
	h := pu.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func krrScan(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*krrParams)
	scanID := uuid.NewString()
	start := time.Now()
	promURL, found, err := krrPrometheusURL(ctx, r, params)
	if err != nil {
		return err
	}
	var vars map[string]string
	if r.Event.Obj != nil {
		vars = subjectTemplateVars(r.Event)
	}
	openshift, err := isOpenShift(r)
	if err != nil {
		return err
	}
	plan, err := buildKRR(ctx, params, promURL, openshift, vars, start, scanID)
	if err != nil {
		return &engine.ParamsError{Action: "krr_scan", Err: err}
	}
	if params.Args != "" {
		r.Notes = append(r.Notes, "The args param for krr_scan has been deprecated, use krr_args instead.")
	}
	if promURL != "" && loopbackURL(promURL) {
		r.Notes = append(r.Notes, fmt.Sprintf("KRR runs in the cluster, where %s is not this machine: give an address the cluster reaches (http://NAME.NAMESPACE.svc:PORT)", promURL))
	}
	if found != "" {
		r.Notes = append(r.Notes, fmt.Sprintf("KRR finds Prometheus itself in the cluster (the runner's selectors find %s; pass prometheus_url to choose)", found))
	}
	r.Finding.Title, r.Finding.AggregationKey = "KRR Report", "KrrReport"
	r.Finding.Type = engine.TypeReport
	if !r.Apply {
		return dryRunScan(r, plan.Job, plan.Secret, params.Timeout, "KRR")
	}
	res, err := helperpod.RunJobWithSecret(ctx, r.KF, plan.Job, plan.Secret, time.Duration(params.Timeout)*time.Second)
	if err != nil {
		return scanFailed(r, "KRR", "krr", err, "", params.Timeout)
	}
	report, err := parseKRRLogs(res.Logs)
	if err != nil {
		return scanFailed(r, "KRR", "krr", podFailed(res, err), res.Logs, params.Timeout)
	}
	noteFailedPod(r, res)
	addKRRReport(r.Finding, report, plan.Command, start, time.Now())
	return nil
}

// popeyeParams is Robusta's PopeyeParams.
type popeyeParams struct {
	CustomAnnotations  map[string]string `param:"custom_annotations" doc:"annotations for the scan Job and its pod"`
	ServiceAccountName string            `param:"service_account_name" default:"robusta-runner-service-account" doc:"service account the Popeye Job runs as"`
	Timeout            int               `param:"timeout" default:"300" doc:"seconds to wait for the scan"`
	Args               string            `param:"args" doc:"deprecated: use popeye_args"`
	PopeyeArgs         string            `param:"popeye_args" default:"-s no,ns,po,svc,sa,cm,dp,sts,ds,pv,pvc,hpa,pdb,cr,crb,ro,rb,ing,np,psp" doc:"Popeye command-line arguments"`
	PopeyeJobSpec      map[string]any    `param:"popeye_job_spec" doc:"more pod spec fields for the Job (camelCase, e.g. nodeSelector, tolerations)"`
	Spinach            string            `param:"spinach" default:"popeye:\n    excludes:\n        apps/v1/daemonsets:\n        - name: rx:kube-system\n        apps/v1/deployments:\n        - name: rx:kube-system\n        v1/configmaps:\n        - name: rx:kube-system\n        v1/pods:\n        - name: rx:.*\n          codes:\n          - 106\n          - 107\n        - name: rx:kube-system\n        v1/services:\n        - name: rx:kube-system\n        v1/namespaces:\n        - name: kube-system" doc:"Popeye's spinach.yaml configuration, written to a file in the pod"`
}

// buildPopeye builds the Job the runner's popeye_scan creates. The spinach config
// reaches Popeye as the runner passes it: echoed into /tmp/spinach.yaml by the
// container's shell command (no ConfigMap).
func buildPopeye(p *popeyeParams, scanID string) (*batchv1.Job, string, error) {
	raw, param := p.PopeyeArgs, "popeye_args"
	if p.Args != "" {
		raw, param = p.Args, "args"
	}
	args, err := shlexNormalize(raw)
	if err != nil {
		return nil, "", fmt.Errorf("parameter %q: %v", param, err)
	}
	// The runner puts the spinach between single quotes as it is, so one in it would
	// end the quoting; written as '\'' it reaches the file unchanged.
	spinach := strings.ReplaceAll(p.Spinach, "'", `'\''`)
	cmd := fmt.Sprintf("echo '%s' > /tmp/spinach.yaml && popeye -f /tmp/spinach.yaml %s -o json --force-exit-zero", spinach, args)
	spec := corev1.PodSpec{
		ServiceAccountName: p.ServiceAccountName,
		Containers: []corev1.Container{{
			Name:      "popeye-scanner",
			Image:     popeyeImage,
			Command:   []string{"/bin/sh", "-c", cmd},
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(popeyeMemoryLimit)}},
		}},
		// Popeye's image has no arm64 build.
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"arm64"}}},
			}}},
		}},
		RestartPolicy: corev1.RestartPolicyNever,
	}
	spec, err = mergeJobSpec("popeye_job_spec", spec, p.PopeyeJobSpec, map[string]string{
		"serviceAccountName": "the service_account_name param", "containers": "", "affinity": "", "restartPolicy": ""})
	if err != nil {
		return nil, "", err
	}
	return helperpod.SimpleJob("popeye-job-"+scanID, spec, p.CustomAnnotations, scanJobTTL), cmd, nil
}

func popeyeScan(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*popeyeParams)
	start := time.Now()
	job, _, err := buildPopeye(params, uuid.NewString())
	if err != nil {
		return &engine.ParamsError{Action: "popeye_scan", Err: err}
	}
	if params.Args != "" {
		r.Notes = append(r.Notes, "The args param for popeye_scan has been deprecated, use popeye_args instead.")
	}
	r.Finding.Title, r.Finding.AggregationKey = "Popeye Report", "PopeyeReport"
	r.Finding.Type = engine.TypeReport
	if !r.Apply {
		return dryRunScan(r, job, nil, params.Timeout, "Popeye")
	}
	res, err := helperpod.RunJob(ctx, r.KF, job, time.Duration(params.Timeout)*time.Second)
	if err != nil {
		return scanFailed(r, "Popeye", "popeye", err, "", params.Timeout)
	}
	report, err := parsePopeyeLogs(res.Logs)
	if err != nil {
		return scanFailed(r, "Popeye", "popeye", podFailed(res, err), res.Logs, params.Timeout)
	}
	noteFailedPod(r, res)
	addPopeyeReport(r.Finding, report, start, time.Now())
	return nil
}

// dryRunScan attaches the Job and Secret a scan would create; the Secret's values
// are left out, as they are credentials.
func dryRunScan(r *engine.Run, job *batchv1.Job, secret *corev1.Secret, timeout int, scanner string) error {
	spec, err := helperpod.JobYAML(job)
	if err != nil {
		return err
	}
	blocks := []engine.Block{engine.Markdown(fmt.Sprintf(
		"With --apply this creates the Job below in namespace %s, waits for it (up to %ds), reads the %s result from its pod's log, and deletes what it created. The Robusta platform's scan report is not sent locally.",
		job.Namespace, timeout, scanner)), engine.File(job.Name+".yaml", []byte(spec))}
	if secret != nil {
		shown := secret.DeepCopy()
		shown.Data = nil
		shown.StringData = map[string]string{}
		for k, v := range secret.Data {
			shown.StringData[k] = fmt.Sprintf("<hidden: %d bytes>", len(v))
		}
		b, err := yaml.Marshal(shown)
		if err != nil {
			return fmt.Errorf("render the scan's secret: %w", err)
		}
		blocks = append(blocks, engine.Markdown("Its credentials go in this Secret, created once the Job has its pod and owned by that pod:"),
			engine.File(secret.Name+".yaml", []byte(nullTimestampLine.Replace(string(b)))))
	}
	r.Finding.AddEnrichment("Scan job (dry run)", blocks...)
	r.Notes = append(r.Notes, fmt.Sprintf("dry run: scan job %s/%s not created (pass --apply to run it)", job.Namespace, job.Name))
	return nil
}

// podFailed says a result could not be read from a pod that failed; the runner
// reads the log either way.
func podFailed(res *helperpod.JobResult, err error) error {
	if res.Failed {
		return fmt.Errorf("the scan's pod failed: %w", err)
	}
	return err
}

func noteFailedPod(r *engine.Run, res *helperpod.JobResult) {
	if res.Failed {
		r.Notes = append(r.Notes, fmt.Sprintf("the scan's pod %s failed, but its log held a result: it is shown", res.Pod))
	}
}

var nullTimestampLine = strings.NewReplacer("  creationTimestamp: null\n", "")

// scanFailed reports a scan that gave no result in the finding, with the runner's
// wording for each case, and the log when there is one. The Job is gone already.
func scanFailed(r *engine.Run, scanner, file string, err error, logs string, timeout int) error {
	if errors.Is(err, context.Canceled) && !isTimeout(err) {
		return err // Ctrl-C: the run stops; helperpod said what it deleted
	}
	var msg string
	var fe *scanFormatError
	switch {
	case isTimeout(err):
		msg = fmt.Sprintf("%s scan job failed. The job wait condition timed out (%ds)", scanner, timeout)
	case errors.Is(err, errNoJSON):
		msg = fmt.Sprintf("%s scan job failed. Expecting json result.", scanner)
	case errors.As(err, &fe):
		msg = fmt.Sprintf("%s scan job failed. Result format issue.", scanner)
	default:
		msg = fmt.Sprintf("%s scan job unexpected error.", scanner)
	}
	r.Finding.Title = scanner + " scan failed"
	// Not the runner's report: a failed scan reaches no sink there.
	r.Finding.Type = engine.TypeIssue
	r.Finding.Severity = engine.High
	blocks := []engine.Block{engine.Markdown(fmt.Sprintf("*%s*\n%v\nThe scan Job was deleted. (The runner reports this to the Robusta platform as a failed scan; nothing is sent locally.)", msg, err))}
	if logs != "" {
		blocks = append(blocks, engine.File(file+"-job.log", []byte(logs)))
	}
	r.Finding.AddEnrichment("", blocks...)
	r.Notes = append(r.Notes, fmt.Sprintf("%s scan failed: %v", scanner, err))
	return nil
}
