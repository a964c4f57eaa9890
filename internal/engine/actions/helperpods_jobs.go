package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/helperpod"
)

// Actions the runner implements with a Job: the same Job spec, created only with
// --apply (the dry run attaches the manifest), its pod's log collected, the Job
// deleted afterwards.
func init() {
	engine.Register(&engine.Action{Name: "kubectl_command", Event: "ExecutionBaseEvent", RunsCommands: true,
		Doc:       "Run a kubectl command (templated from the subject) in a Job under the runner's service account and attach its output (with --apply; dry run shows the Job)",
		NewParams: func() any { return &kubectlParams{} }, Do: kubectlCommand})
	engine.Register(&engine.Action{Name: "alert_handling_job", Event: engine.AlertEvent, RunsCommands: true, Mutating: true,
		Doc:       "Create a Job from an image and command with the alert in its environment, wait for it and attach its log (with --apply; dry run shows the Job)",
		NewParams: func() any { return &jobParams{} }, Do: alertHandlingJob})
	engine.Register(&engine.Action{Name: "incluster_ping", Event: "ExecutionBaseEvent", RunsCommands: true,
		Doc:       "Ping a host once from a Job inside the cluster and attach the output (with --apply; dry run shows the Job)",
		NewParams: func() any { return &pingParams{} }, Do: inclusterPing})
	engine.Register(&engine.Action{Name: "http_stress_test", Event: "ExecutionBaseEvent", RunsCommands: true, Mutating: true,
		Doc:       "Send n HTTP requests to a URL from a Job in the cluster (hey) and attach the results (with --apply; dry run shows the Job)",
		NewParams: func() any { return &stressParams{} }, Do: httpStressTest})
}

// kubectlImage is the runner's default (its KUBECTL_IMAGE_OVERRIDE unset).
const kubectlImage = "bitnami/kubectl:latest"

type kubectlParams struct {
	CustomAnnotations map[string]string `param:"custom_annotations" doc:"annotations for the helper Job and its pod"`
	Command           string            `param:"command" doc:"the kubectl command line, run with /bin/sh -c; $name, $namespace, ${labels.x} ... are filled from the subject"`
	Description       string            `param:"description" doc:"the enrichment's title (default: Kubectl Command)"`
	Timeout           int               `param:"timeout" default:"3600" doc:"seconds to wait for the Job"`
}

// subjectTemplateVars are format_event_templated_string's names for the event's
// subject: an event without an object is the runner's "Unresolved" subject of no kind.
func subjectTemplateVars(e *engine.Event) map[string]string {
	if e.Obj == nil {
		ns := ""
		if e.Alert != nil {
			ns = e.Alert.Labels["namespace"]
		}
		return subjectVars("None", "Unresolved", ns, "", nil, nil)
	}
	kind := "None"
	if _, ok := subjectTypes[strings.ToLower(e.Kind)]; ok {
		kind = strings.ToLower(e.Kind)
	}
	ns, node := e.Obj.GetNamespace(), ""
	if e.Kind == "Node" {
		node = e.Obj.GetName()
	} else {
		node, _, _ = unstructured.NestedString(e.Obj.Object, "spec", "nodeName")
	}
	return subjectVars(kind, e.Obj.GetName(), ns, node, e.Obj.GetLabels(), e.Obj.GetAnnotations())
}

func kubectlCommand(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*kubectlParams)
	if params.Command == "" {
		return fmt.Errorf("kubectl_command needs command, the kubectl command line: pass command='kubectl get pods -n $namespace'")
	}
	cmd := pySubstitute(params.Command, true, withDefault(subjectTemplateVars(r.Event), "<missing>"))
	spec := corev1.PodSpec{
		ServiceAccountName: helperpod.DefaultServiceAccount,
		Containers: []corev1.Container{{
			Name:            "kubectl",
			Image:           kubectlImage,
			ImagePullPolicy: corev1.PullAlways,
			Command:         []string{"/bin/sh", "-c"},
			Args:            []string{cmd},
		}},
		RestartPolicy: corev1.RestartPolicyNever,
	}
	// The runner keeps the Job name as given (a uuid, no time suffix) and a 12 h TTL.
	job := helperpod.SimpleJob("robusta-kubectl-command-"+uuid.NewString(), spec, params.CustomAnnotations, 43200)
	res, ran, err := runHelperJob(ctx, r, job, time.Duration(params.Timeout)*time.Second)
	if err != nil || !ran {
		return err
	}
	title := params.Description
	if title == "" {
		title = "Kubectl Command"
	}
	r.Finding.AddEnrichment(title, engine.Markdown("*"+cmd+"*"), engine.File("kubectl.txt", []byte(res.Logs)))
	return nil
}

// runHelperJob runs job with --apply; without it, it attaches the manifest and says
// nothing ran.
func runHelperJob(ctx context.Context, r *engine.Run, job *batchv1.Job, timeout time.Duration) (*helperpod.JobResult, bool, error) {
	if !r.Apply {
		return nil, false, dryRunJob(r, job, "waits for it (up to "+timeout.String()+"), reads its pod's log")
	}
	res, err := helperpod.RunJob(ctx, r.KF, job, timeout)
	return res, err == nil, err
}

func dryRunJob(r *engine.Run, job *batchv1.Job, then string) error {
	spec, err := helperpod.JobYAML(job)
	if err != nil {
		return err
	}
	r.Finding.AddEnrichment("Helper job (dry run)",
		engine.Markdown(fmt.Sprintf("With --apply this creates the Job below in namespace %s, %s, and deletes it afterwards.", job.Namespace, then)),
		engine.File(job.Name+".yaml", []byte(spec)))
	r.Notes = append(r.Notes, fmt.Sprintf("dry run: helper job %s/%s not created (pass --apply to run it)", job.Namespace, job.Name))
	return nil
}

// jobParams is Robusta's JobParams.
type jobParams struct {
	Image                 string           `param:"image" required:"true" doc:"the Job's image"`
	Command               []string         `param:"command" required:"true" doc:"the Job's command, a list of strings"`
	Name                  string           `param:"name" default:"robusta-action-job" doc:"name of the Job (a time suffix is added) and its container"`
	Namespace             string           `param:"namespace" default:"default" doc:"namespace of the Job"`
	ServiceAccount        string           `param:"service_account" doc:"service account of the Job's pod (default: the namespace's default)"`
	RestartPolicy         string           `param:"restart_policy" default:"OnFailure" doc:"restart policy of the Job's pod"`
	JobTTLAfterFinished   int              `param:"job_ttl_after_finished" default:"120" doc:"seconds the finished Job is kept (TTL controller)"`
	Notify                bool             `param:"notify" doc:"say in the finding that the Job was created"`
	WaitForCompletion     bool             `param:"wait_for_completion" default:"true" doc:"wait for the Job and attach its log"`
	CompletionTimeout     int              `param:"completion_timeout" default:"300" doc:"seconds to wait for the Job"`
	BackoffLimit          any              `param:"backoff_limit" doc:"whole number: retries before the Job fails (unset: Kubernetes' default 6)"`
	ActiveDeadlineSeconds any              `param:"active_deadline_seconds" doc:"whole number: seconds the Job may run (unset: no limit)"`
	Env                   []map[string]any `param:"env" doc:"more environment variables, as in a container spec (name, value or valueFrom)"`
}

// alertEnv is the environment the runner gives the Job: the alert's name and status,
// its subject, the extra variables, then one ALERT_LABEL_<NAME> per label.
func alertEnv(e *engine.Event, extra []corev1.EnvVar) []corev1.EnvVar {
	vars := subjectTemplateVars(e)
	kind := vars["kind"]
	if kind == "None" {
		kind = "" // the runner's subject type None becomes an unset value
	}
	env := []corev1.EnvVar{
		{Name: "ALERT_NAME", Value: e.Alert.Name()},
		{Name: "ALERT_STATUS", Value: e.Alert.Status},
		{Name: "ALERT_OBJ_KIND", Value: kind},
		{Name: "ALERT_OBJ_NAME", Value: vars["name"]},
	}
	if ns := vars["namespace"]; ns != "<missing>" && ns != "" {
		env = append(env, corev1.EnvVar{Name: "ALERT_OBJ_NAMESPACE", Value: ns})
	}
	if node := vars["node"]; node != "<missing>" && node != "" {
		env = append(env, corev1.EnvVar{Name: "ALERT_OBJ_NODE", Value: node})
	}
	env = append(env, extra...)
	for _, k := range sortedKeys(e.Alert.Labels) {
		env = append(env, corev1.EnvVar{Name: "ALERT_LABEL_" + strings.ToUpper(k), Value: e.Alert.Labels[k]})
	}
	return env
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// optionalInt reads an int param whose Python default is None: nil stays unset.
func optionalInt(name string, v any) (*int64, error) {
	var n int64
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int:
		n = int64(x)
	case int64:
		n = x
	case float64:
		if x != float64(int64(x)) {
			return nil, fmt.Errorf("parameter %q: want a whole number, got %v", name, x)
		}
		n = int64(x)
	case string:
		parsed, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: want a whole number, got %q", name, x)
		}
		n = parsed
	case fmt.Stringer: // json.Number
		parsed, err := strconv.ParseInt(x.String(), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: want a whole number, got %q", name, x.String())
		}
		n = parsed
	default:
		return nil, fmt.Errorf("parameter %q: want a whole number, got %T", name, v)
	}
	return &n, nil
}

func isTimeout(err error) bool { return errors.Is(err, helperpod.ErrTimeout) }

func alertHandlingJob(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*jobParams)
	var extra []corev1.EnvVar
	if params.Env != nil {
		b, _ := json.Marshal(params.Env)
		if err := json.Unmarshal(b, &extra); err != nil {
			return fmt.Errorf("parameter \"env\": want a list of environment variables (name, value or valueFrom): %v", err)
		}
	}
	backoff, err := optionalInt("backoff_limit", params.BackoffLimit)
	if err != nil {
		return err
	}
	activeDeadline, err := optionalInt("active_deadline_seconds", params.ActiveDeadlineSeconds)
	if err != nil {
		return err
	}
	var limit *int32
	if backoff != nil {
		l := int32(*backoff)
		limit = &l
	}
	ttl := int32(params.JobTTLAfterFinished)
	name := helperpod.Name("", params.Name, time.Now())
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: params.Namespace, Labels: map[string]string{helperpod.LabelHelper: "true"}},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{helperpod.LabelHelper: "true"}},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:    params.Name,
						Image:   params.Image,
						Command: params.Command,
						Env:     alertEnv(r.Event, extra),
					}},
					ServiceAccountName: params.ServiceAccount,
					RestartPolicy:      corev1.RestartPolicy(params.RestartPolicy),
				},
			},
			BackoffLimit:            limit,
			ActiveDeadlineSeconds:   activeDeadline,
			TTLSecondsAfterFinished: &ttl,
		},
	}
	var info []string
	if params.Notify {
		info = append(info, fmt.Sprintf("*Created Job from alert*: %s.", name))
	}
	if !r.Apply {
		then := "leaves it to its TTL (as the runner does: wait_for_completion is false)"
		if params.WaitForCompletion {
			then = fmt.Sprintf("waits for it (up to %ds), reads its pod's log", params.CompletionTimeout)
		}
		return dryRunJob(r, job, then)
	}
	if !params.WaitForCompletion {
		// The Job is the action's product here, as in the runner: it keeps running and
		// its TTL removes it.
		if _, err := helperpod.CreateJob(ctx, r.KF, job); err != nil {
			return err
		}
		r.Notes = append(r.Notes, fmt.Sprintf("job %s/%s created; not waited for (wait_for_completion is false), removed %ds after it finishes", job.Namespace, name, params.JobTTLAfterFinished))
	} else {
		res, err := helperpod.RunJob(ctx, r.KF, job, time.Duration(params.CompletionTimeout)*time.Second)
		switch {
		case err == nil:
			r.Finding.AddEnrichment("", engine.File("job-runner-logs.txt", []byte(res.Logs)))
		case isTimeout(err):
			// The runner's wording for a Job that did not finish in time.
			info = append(info, "*Status:* Timed out, could not fetch output.")
			r.Notes = append(r.Notes, err.Error())
		default:
			return err
		}
	}
	if len(info) > 0 {
		r.Finding.AddEnrichment("", engine.Markdown(strings.Join(info, "\n")))
	}
	return nil
}

type pingParams struct {
	Hostname string `param:"hostname" required:"true" doc:"host to ping from inside the cluster"`
}

func inclusterPing(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*pingParams)
	job := helperpod.SimpleJobFromImage("nicolaka/netshoot", "ping -c 1 "+params.Hostname)
	res, ran, err := runHelperJob(ctx, r, job, 60*time.Second)
	if err != nil || !ran {
		return err
	}
	r.Finding.AddEnrichment("", engine.File("ping-"+params.Hostname+".txt", []byte(res.Logs)))
	return nil
}

type stressParams struct {
	N   int    `param:"n" default:"1000" doc:"number of requests"`
	URL string `param:"url" required:"true" doc:"URL to send them to (reachable from inside the cluster)"`
}

func httpStressTest(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*stressParams)
	job := helperpod.SimpleJobFromImage("williamyeh/hey", fmt.Sprintf("/hey -n %d %s", params.N, params.URL))
	res, ran, err := runHelperJob(ctx, r, job, 120*time.Second)
	if err != nil || !ran {
		return err
	}
	// The runner reports this as a finding of its own.
	r.Finding.Title = fmt.Sprintf("Done running stress test with %d http requests for url %s", params.N, params.URL)
	r.Finding.AggregationKey = "HttpStressTest"
	r.Finding.Type = engine.TypeReport
	if res.Logs != "" {
		r.Finding.AddEnrichment("HTTP Tests Results", engine.File("result.txt", []byte(res.Logs)))
	}
	return nil
}
