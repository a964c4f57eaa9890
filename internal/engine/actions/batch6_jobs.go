package actions

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/robusta-dev/robusta-go/internal/engine"
	"github.com/robusta-dev/robusta-go/internal/pyfmt"
)

func init() {
	engine.Register(&engine.Action{Name: "job_restart_on_oomkilled_community", Event: "JobEvent", Mutating: true,
		Doc:       "Re-create a job whose latest pod was OOMKilled with increase_by more memory (up to max_resource), as the runner does: delete, then create a rebuilt job (server-side dry run unless --apply)",
		NewParams: func() any { return &increaseResourcesParams{} }, Do: jobRestartOnOOMKilled})
}

// increaseResourcesParams is Robusta's IncreaseResources.
type increaseResourcesParams struct {
	IncreaseBy  string `param:"increase_by" default:"500MiB" doc:"memory added to the request at each restart (bitmath units: 500MiB, 1GiB, 200MB)"`
	MaxResource string `param:"max_resource" required:"true" doc:"the request is never raised above this (e.g. 2GiB): a job that keeps being OOMKilled stops growing"`
}

// deletedWait bounds the wait for the old job to be gone before its replacement is
// created: Jobs are deleted with the orphan policy, so the garbage collector must
// release the pods first.
const deletedWait = 60 * time.Second

func jobRestartOnOOMKilled(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*increaseResourcesParams)
	const action = "job_restart_on_oomkilled_community"
	increaseBy, err := parseBitmath(params.IncreaseBy)
	if err != nil {
		return &engine.ParamsError{Action: action, Err: fmt.Errorf("parameter \"increase_by\": %w", err)}
	}
	maxResource, err := parseBitmath(params.MaxResource)
	if err != nil {
		return &engine.ParamsError{Action: action, Err: fmt.Errorf("parameter \"max_resource\": %w", err)}
	}
	var job batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(r.Event.Obj.Object, &job); err != nil {
		return fmt.Errorf("read job: %w", err)
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	pod, err := latestJobPod(ctx, r, &job)
	if err != nil {
		return err
	}
	if pod == nil {
		// The runner fails on a job without pods.
		return fmt.Errorf("job %s/%s has no pods, so there is no OOMKilled container to restart it for", job.Namespace, job.Name)
	}

	f := r.Finding
	f.Title, f.Source, f.AggregationKey, f.Severity = "JOB RESTARTED", "manual", "JobRestartOnOomkilledCommunity", engine.Info
	f.Type = engine.TypeReport
	oomKilled, running := map[string]bool{}, map[string]bool{}
	for _, s := range pod.Status.ContainerStatuses {
		switch {
		case s.State.Running != nil:
			running[s.Name] = true
		case s.State.Terminated != nil && s.State.Terminated.Reason == "OOMKilled":
			oomKilled[s.Name] = true
		}
	}
	var containers []corev1.Container
	for _, c := range pod.Spec.Containers {
		switch {
		case oomKilled[c.Name]:
			if len(c.Resources.Limits) == 0 || len(c.Resources.Requests) == 0 {
				// The runner logs this and stops: nothing is changed.
				r.Notes = append(r.Notes, fmt.Sprintf("%s: container %s of pod %s has no resource limits and requests: the runner changes nothing", action, c.Name, pod.Name))
				f.Title = fmt.Sprintf("Job %s/%s not restarted", job.Namespace, job.Name)
				f.AddEnrichment("", engine.Markdown(fmt.Sprintf("Container *%s* was OOMKilled but has no resource limits and requests, so its memory cannot be raised: nothing changed.", c.Name)))
				return nil
			}
			req, err := memoryOf(c.Resources.Requests, c.Name, "request")
			if err != nil {
				return err
			}
			keep := !req.less(maxResource)
			if keep {
				f.Title = "MAX REACHED"
				f.AddEnrichment("", engine.Markdown(fmt.Sprintf("*container request memory has reached the limit*\n```\n%s\n```", c.Name)))
			}
			nc, err := rebuiltContainer(c, increaseBy, maxResource, keep)
			if err != nil {
				return err
			}
			containers = append(containers, nc)
		case running[c.Name]:
			nc, err := rebuiltContainer(c, increaseBy, maxResource, true)
			if err != nil {
				return err
			}
			containers = append(containers, nc)
		default:
			// Neither running nor OOMKilled: the runner's rebuilt job leaves it out.
			r.Notes = append(r.Notes, fmt.Sprintf("%s: container %s of pod %s is neither running nor OOMKilled, so the runner's rebuilt job leaves it out", action, c.Name, pod.Name))
		}
	}
	if len(oomKilled) == 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%s: no container of pod %s was OOMKilled; the runner re-creates the job all the same", action, pod.Name))
	}
	next := rebuiltJob(&job, containers)

	dryRun, _ := mutation(r, action, "", "delete and re-create the job")
	jobs := cs.BatchV1().Jobs(job.Namespace)
	// The replacement is checked by the server before anything is deleted: a dry-run
	// create under a generated name (the old job still holds its name).
	probe := next.DeepCopy()
	probe.Name, probe.GenerateName = "", job.Name+"-"
	after, err := jobs.Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return fmt.Errorf("the re-created job would be refused, so nothing was changed: %w", r.KF.Explain(err, "create", "jobs", job.Namespace))
	}
	if dryRun == nil {
		// No propagation policy, as the runner's job.delete(): the pods stay, orphaned.
		if err := jobs.Delete(ctx, job.Name, metav1.DeleteOptions{}); err != nil {
			return r.KF.Explain(err, "delete", "jobs", job.Namespace)
		}
		if err := waitJobGone(ctx, r, job.Namespace, job.Name, job.UID); err != nil {
			return err
		}
		if after, err = jobs.Create(ctx, next, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("job %s/%s was deleted but its replacement was refused (recreate it from the diff above): %w", job.Namespace, job.Name, r.KF.Explain(err, "create", "jobs", job.Namespace))
		}
	}

	var list []string
	for _, c := range after.Spec.Template.Spec.Containers {
		mem := "None"
		if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
			mem = q.String()
		}
		list = append(list, pyfmt.StrRepr(c.Name), pyfmt.StrRepr(mem))
	}
	text := fmt.Sprintf("*containers memory after restart*\n```\n[%s]\n```", strings.Join(list, ", "))
	head := fmt.Sprintf("Job *%s/%s* deleted and re-created", job.Namespace, job.Name)
	if dryRun != nil {
		head = fmt.Sprintf("Dry run: job *%s/%s* would be deleted and re-created (nothing changed)", job.Namespace, job.Name)
	}
	f.AddEnrichment("", engine.Markdown(text))
	f.AddEnrichment("Changes", engine.Markdown(head), changesBlock(jobShape(&job), jobShape(after)))
	r.Notes = append(r.Notes, action+": the runner rebuilds the job from some of its fields only (the diff shows what is lost); the old job's pods are left in place")
	return nil
}

// latestJobPod is the runner's get_job_latest_pod: the job's pods by the
// controller-uid label, else the job's selector, else its job-name label; the one
// that started last.
func latestJobPod(ctx context.Context, r *engine.Run, job *batchv1.Job) (*corev1.Pod, error) {
	sel := ""
	switch {
	case job.Labels["controller-uid"] != "":
		sel = "controller-uid=" + job.Labels["controller-uid"]
	case job.Spec.Selector != nil:
		s, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
		if err != nil {
			return nil, fmt.Errorf("job %s/%s: selector: %w", job.Namespace, job.Name, err)
		}
		sel = s.String()
	case job.Labels["job-name"] != "":
		sel = "job-name=" + job.Labels["job-name"]
	default:
		return nil, nil
	}
	cs, err := r.KF.Clientset()
	if err != nil {
		return nil, err
	}
	pods, err := cs.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, r.KF.Explain(err, "list", "pods", job.Namespace)
	}
	if len(pods.Items) == 0 {
		return nil, nil
	}
	items := pods.Items
	sort.SliceStable(items, func(i, j int) bool { return startTime(&items[j]).Before(startTime(&items[i])) })
	return &items[0], nil
}

func startTime(p *corev1.Pod) time.Time {
	if p.Status.StartTime == nil {
		return time.Time{}
	}
	return p.Status.StartTime.Time
}

func memoryOf(list corev1.ResourceList, container, what string) (bitmathValue, error) {
	q, ok := list[corev1.ResourceMemory]
	if !ok {
		return bitmathValue{}, fmt.Errorf("container %s has no memory %s (the runner's action fails on it): set resources.requests.memory and resources.limits.memory", container, what)
	}
	v, err := parseBitmath(q.String())
	if err != nil {
		return bitmathValue{}, fmt.Errorf("container %s: memory %s %s: %w", container, what, q.String(), err)
	}
	return v, nil
}

// rebuiltContainer is the runner's increase_resource: the container rebuilt from the
// fields the runner copies, its memory raised unless keep. Without both limits and
// requests the container gets no resources.
func rebuiltContainer(c corev1.Container, increaseBy, maxResource bitmathValue, keep bool) (corev1.Container, error) {
	nc := corev1.Container{Name: c.Name, Image: c.Image, LivenessProbe: c.LivenessProbe, SecurityContext: c.SecurityContext,
		Args: c.Args, Command: c.Command, Ports: c.Ports, Lifecycle: c.Lifecycle, ReadinessProbe: c.ReadinessProbe,
		WorkingDir: c.WorkingDir, Env: c.Env, StartupProbe: c.StartupProbe, EnvFrom: c.EnvFrom, ImagePullPolicy: c.ImagePullPolicy}
	if len(c.Resources.Limits) == 0 || len(c.Resources.Requests) == 0 {
		return nc, nil
	}
	if keep {
		nc.Resources = c.Resources
		return nc, nil
	}
	req, err := memoryOf(c.Resources.Requests, c.Name, "request")
	if err != nil {
		return nc, err
	}
	lim, err := memoryOf(c.Resources.Limits, c.Name, "limit")
	if err != nil {
		return nc, err
	}
	// memory_increment: the request grows by increase_by, capped at max_resource; the
	// limit is at least the request. Only memory is kept, as in the runner.
	newReq := bitmathMin(increaseBy.add(req), maxResource)
	newLim := bitmathMax(newReq, lim)
	rq, err := resource.ParseQuantity(newReq.format())
	if err != nil {
		return nc, fmt.Errorf("container %s: the new memory request %q is not a Kubernetes quantity: %w", c.Name, newReq.format(), err)
	}
	lq, err := resource.ParseQuantity(newLim.format())
	if err != nil {
		return nc, fmt.Errorf("container %s: the new memory limit %q is not a Kubernetes quantity: %w", c.Name, newLim.format(), err)
	}
	nc.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: rq},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: lq},
	}
	return nc, nil
}

// rebuiltJob is the runner's job_fields: a new Job of the same name with only the
// spec fields the runner copies (no labels, no selector, no template metadata).
func rebuiltJob(job *batchv1.Job, containers []corev1.Container) *batchv1.Job {
	old := job.Spec.Template.Spec
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name, Namespace: job.Namespace},
		Spec: batchv1.JobSpec{
			Completions: job.Spec.Completions, Parallelism: job.Spec.Parallelism, BackoffLimit: job.Spec.BackoffLimit,
			ActiveDeadlineSeconds: job.Spec.ActiveDeadlineSeconds, TTLSecondsAfterFinished: job.Spec.TTLSecondsAfterFinished,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: containers, RestartPolicy: old.RestartPolicy, NodeName: old.NodeName,
				ActiveDeadlineSeconds: old.ActiveDeadlineSeconds, NodeSelector: old.NodeSelector, Affinity: old.Affinity,
				InitContainers: old.InitContainers, DeprecatedServiceAccount: old.DeprecatedServiceAccount,
				SecurityContext: old.SecurityContext, Volumes: old.Volumes, SchedulerName: old.SchedulerName,
			}},
		},
	}
}

// jobShape is what the diff compares of a job: its labels, annotations and spec;
// fields that name the job's identity (its uid in selectors and labels) always change
// on re-creation and are left out.
func jobShape(job *batchv1.Job) map[string]any {
	j := job.DeepCopy()
	for _, m := range []map[string]string{j.Labels, j.Spec.Template.Labels} {
		for k := range m {
			if strings.HasSuffix(k, "controller-uid") || strings.HasSuffix(k, "job-name") {
				delete(m, k)
			}
		}
	}
	j.Spec.Selector = nil
	m := toMap(j)
	meta, _ := m["metadata"].(map[string]any)
	shape := map[string]any{"spec": m["spec"]}
	if meta != nil {
		shape["metadata"] = map[string]any{"labels": meta["labels"], "annotations": meta["annotations"]}
	}
	return shape
}

// waitJobGone waits until the job of that uid is gone, so its name is free again.
func waitJobGone(ctx context.Context, r *engine.Run, ns, name string, uid types.UID) error {
	cs, err := r.KF.Clientset()
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, deletedWait, true, func(ctx context.Context) (bool, error) {
		j, err := cs.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, r.KF.Explain(err, "get", "jobs", ns)
		}
		return j.UID != uid, nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("job %s/%s was deleted but is still there after %s (the garbage collector releases its pods first), so no replacement was created: recreate it when it is gone", ns, name, deletedWait)
	}
	return err
}

// bitmathValue is a size as Python's bitmath keeps it: a value in a unit.
type bitmathValue struct {
	value  float64
	unit   string // Byte, kB, MB, ..., KiB, MiB, ...
	factor float64
}

var bitmathUnits = map[string]float64{
	"Byte": 1,
	"kB":   1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15, "EB": 1e18, "ZB": 1e21, "YB": 1e24,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50, "EiB": 1 << 60,
	"ZiB": 1 << 70, "YiB": 1 << 80,
}

func (b bitmathValue) bytes() float64           { return b.value * b.factor }
func (b bitmathValue) less(o bitmathValue) bool { return b.bytes() < o.bytes() }
func (b bitmathValue) add(o bitmathValue) bitmathValue {
	return bitmathValue{(b.bytes() + o.bytes()) / b.factor, b.unit, b.factor}
}

// bitmathMin and bitmathMax are Python's min and max: the first on a tie.
func bitmathMin(a, b bitmathValue) bitmathValue {
	if b.less(a) {
		return b
	}
	return a
}

func bitmathMax(a, b bitmathValue) bitmathValue {
	if a.less(b) {
		return b
	}
	return a
}

// format is the runner's format("{value:.0f}{unit}").rstrip("B"): 600MiB is "600Mi".
func (b bitmathValue) format() string {
	return strings.TrimRight(strconv.FormatFloat(b.value, 'f', 0, 64)+b.unit, "B")
}

// parseBitmath is bitmath.parse_string_unsafe (SI system): a plain number is bytes;
// otherwise a number and a unit whose trailing B is optional, one letter for SI (k, M,
// G, ...; K is k), two for binary (Ki, Mi, Gi, ...).
func parseBitmath(s string) (bitmathValue, error) {
	if v, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return bitmathValue{v, "Byte", 1}, nil
	}
	i := strings.IndexFunc(s, unicode.IsLetter)
	if i <= 0 {
		return bitmathValue{}, fmt.Errorf("%q is not a size: use a number and a unit, e.g. 500MiB or 1GiB", s)
	}
	val, unit := s[:i], strings.TrimRight(s[i:], "Bb")+"B"
	switch len(unit) {
	case 2:
		switch {
		case unit[0] == 'K':
			unit = "k" + unit[1:]
		case unit[0] != 'k':
			unit = strings.ToUpper(unit[:1]) + unit[1:]
		}
	case 3:
		unit = strings.ToUpper(unit[:1]) + unit[1:]
	}
	factor, ok := bitmathUnits[unit]
	if !ok || unit == "Byte" {
		return bitmathValue{}, fmt.Errorf("%q: %s is not a bitmath unit: use kB, MB, GB, ... or KiB, MiB, GiB, ...", s, unit)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
	if err != nil {
		return bitmathValue{}, fmt.Errorf("%q is not a size: use a number and a unit, e.g. 500MiB or 1GiB", s)
	}
	return bitmathValue{v, unit, factor}, nil
}
