// Package config models the playbooks configuration (Helm values or the rendered
// active_playbooks.yaml) and validates it against catalogues of Robusta's triggers and
// of known actions, reporting YAML paths and line numbers.
package config

import "strings"

// Param describes one parameter of a trigger or action.
type Param struct {
	Type     string // string, int, bool, list, map, any
	Required bool
	Enum     []string // allowed values, when the set is closed
}

// Trigger is a known trigger: the event it produces and its parameters.
type Trigger struct {
	Event  string
	Params map[string]Param
}

// Action is a known action: the event it needs and, when Strict, its full parameter list.
type Action struct {
	Event  string
	Params map[string]Param
	Strict bool
}

var filterParams = map[string]Param{
	"name_prefix": {Type: "string"}, "namespace_prefix": {Type: "string"}, "labels_selector": {Type: "string"},
	"scope": {Type: "map"}, "rate_limit": {Type: "int"}, "change_filters": {Type: "map"},
}

func with(base map[string]Param, extra map[string]Param) map[string]Param {
	out := map[string]Param{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// kinds maps trigger resource names to the event class name stem.
var kinds = map[string]string{
	"pod": "Pod", "deployment": "Deployment", "replicaset": "ReplicaSet", "daemonset": "DaemonSet",
	"statefulset": "StatefulSet", "service": "Service", "configmap": "ConfigMap", "secret": "Secret",
	"job": "Job", "node": "Node", "namespace": "Namespace", "ingress": "Ingress", "event": "Event",
	"hpa": "HorizontalPodAutoscaler", "pv": "PersistentVolume", "pvc": "PersistentVolumeClaim",
	"serviceaccount": "ServiceAccount", "clusterrole": "ClusterRole", "clusterrolebinding": "ClusterRoleBinding",
	"role": "Role", "rolebinding": "RoleBinding", "networkpolicy": "NetworkPolicy", "cronjob": "CronJob",
}

// Triggers is the trigger catalogue.
var Triggers = buildTriggers()

func buildTriggers() map[string]Trigger {
	t := map[string]Trigger{}
	for name, kind := range kinds {
		for _, op := range []string{"create", "update", "delete", "all_changes"} {
			t["on_"+name+"_"+op] = Trigger{Event: kind + "ChangeEvent", Params: filterParams}
		}
	}
	t["on_kubernetes_any_resource_create"] = Trigger{Event: "KubernetesAnyChangeEvent", Params: filterParams}
	t["on_kubernetes_any_resource_update"] = Trigger{Event: "KubernetesAnyChangeEvent", Params: filterParams}
	t["on_kubernetes_any_resource_delete"] = Trigger{Event: "KubernetesAnyChangeEvent", Params: filterParams}
	t["on_kubernetes_any_resource_all_changes"] = Trigger{Event: "KubernetesAnyChangeEvent", Params: filterParams}
	t["on_pod_crash_loop"] = Trigger{Event: "PodEvent", Params: with(filterParams, map[string]Param{"restart_reason": {Type: "string"}, "restart_count": {Type: "int"}})}
	t["on_image_pull_backoff"] = Trigger{Event: "PodEvent", Params: with(filterParams, map[string]Param{"fire_delay": {Type: "int"}})}
	t["on_pod_oom_killed"] = Trigger{Event: "PodEvent", Params: with(filterParams, map[string]Param{"exclude": {Type: "list"}})}
	t["on_container_oom_killed"] = Trigger{Event: "PodEvent", Params: with(filterParams, map[string]Param{"exclude": {Type: "list"}})}
	t["on_pod_evicted"] = Trigger{Event: "PodEvent", Params: filterParams}
	t["on_job_failure"] = Trigger{Event: "JobEvent", Params: filterParams}
	t["on_kubernetes_warning_event_create"] = Trigger{Event: "EventChangeEvent", Params: with(filterParams, map[string]Param{"include": {Type: "list"}, "exclude": {Type: "list"}})}
	t["on_kubernetes_warning_event"] = t["on_kubernetes_warning_event_create"]
	t["on_prometheus_alert"] = Trigger{Event: "PrometheusKubernetesAlert", Params: map[string]Param{
		"alert_name": {Type: "string"}, "status": {Type: "string"}, "pod_name_prefix": {Type: "string"},
		"namespace_prefix": {Type: "string"}, "instance_name_prefix": {Type: "string"}, "k8s_providers": {Type: "list"},
		"rate_limit": {Type: "int"}, "scope": {Type: "map"}}}
	t["on_schedule"] = Trigger{Event: "ScheduledExecutionEvent", Params: map[string]Param{"fixed_delay_repeat": {Type: "map"}, "cron_schedule_repeat": {Type: "map"}}}
	t["on_recurring_trigger"] = Trigger{Event: "RecurringTriggerEvent", Params: map[string]Param{"seconds_delay": {Type: "int"}, "repeat": {Type: "int"}}}
	t["on_manual_trigger"] = Trigger{Event: "ExecutionBaseEvent", Params: map[string]Param{}}
	return t
}

// Actions is the catalogue of known actions. Actions not listed draw a warning (they may
// live in a pushed repository).
var Actions = map[string]Action{
	"create_finding": {Event: "ExecutionBaseEvent", Strict: true, Params: map[string]Param{
		"title": {Type: "string", Required: true}, "aggregation_key": {Type: "string"}, "severity": {Type: "string"}, "description": {Type: "string"}}},
	"logs_enricher":                       {Event: "PodEvent", Params: map[string]Param{"container_name": {Type: "string"}, "previous": {Type: "bool"}, "tail": {Type: "int"}, "filter_regex": {Type: "string"}, "warn_on_missing_label": {Type: "bool"}}},
	"pod_events_enricher":                 {Event: "PodEvent", Params: map[string]Param{"max_events": {Type: "int"}, "included_types": {Type: "list"}}},
	"deployment_events_enricher":          {Event: "DeploymentEvent", Params: map[string]Param{"max_events": {Type: "int"}, "included_types": {Type: "list"}, "dependent_pod_mode": {Type: "bool"}}},
	"job_events_enricher":                 {Event: "JobEvent", Params: map[string]Param{"max_events": {Type: "int"}, "included_types": {Type: "list"}}},
	"resource_events_enricher":            {Event: "KubernetesResourceEvent", Params: map[string]Param{"max_events": {Type: "int"}, "included_types": {Type: "list"}}},
	"pod_bash_enricher":                   {Event: "PodEvent", Strict: true, Params: map[string]Param{"bash_command": {Type: "string", Required: true}}},
	"pod_ps":                              {Event: "PodEvent", Strict: true, Params: map[string]Param{}},
	"related_pods":                        {Event: "KubernetesResourceEvent", Params: map[string]Param{}},
	"job_info_enricher":                   {Event: "JobEvent", Params: map[string]Param{}},
	"job_pod_enricher":                    {Event: "JobEvent", Params: map[string]Param{"events_type": {Type: "string"}, "tail": {Type: "int"}}},
	"node_status_enricher":                {Event: "NodeEvent", Params: map[string]Param{}},
	"node_running_pods_enricher":          {Event: "NodeEvent", Params: map[string]Param{}},
	"node_allocatable_resources_enricher": {Event: "NodeEvent", Params: map[string]Param{}},
	"get_resource_yaml":                   {Event: "KubernetesResourceEvent", Params: map[string]Param{}},
	"pod_issue_investigator":              {Event: "PodEvent", Params: map[string]Param{}},
	"report_crash_loop":                   {Event: "PodEvent", Params: map[string]Param{}},
	"image_pull_backoff_reporter":         {Event: "PodEvent", Params: map[string]Param{}},
	"resource_babysitter": {Event: "KubernetesAnyChangeEvent", Strict: true, Params: map[string]Param{
		"fields_to_monitor": {Type: "list"}, "omitted_fields": {Type: "list"}}},
	"delete_pod":      {Event: "PodEvent", Strict: true, Params: map[string]Param{}},
	"rollout_restart": {Event: "DeploymentEvent", Params: map[string]Param{}},
}

// DefineAction records what an implementation knows of an action: the local engine
// registers each of its actions here, so the validator checks the event class, types,
// required params and enums the engine itself uses. Params the catalogue lists beyond
// the engine's (Robusta has some the engine does not implement) stay, and an action is
// strict only when the catalogue says its list is Robusta's whole list.
func DefineAction(name, event string, params map[string]Param) {
	a := Actions[name]
	a.Event = event
	merged := map[string]Param{}
	for k, v := range a.Params {
		merged[k] = v
	}
	for k, v := range params {
		merged[k] = v
	}
	a.Params = merged
	Actions[name] = a
}

// parents is the event class hierarchy (ROBUSTA.md): each event lists what it is also.
var parents = buildParents()

func buildParents() map[string][]string {
	p := map[string][]string{
		"KubernetesResourceEvent":   {"ExecutionBaseEvent"},
		"KubernetesAnyChangeEvent":  {"KubernetesResourceEvent"},
		"ScheduledExecutionEvent":   {"ExecutionBaseEvent"},
		"RecurringTriggerEvent":     {"ExecutionBaseEvent"},
		"PrometheusKubernetesAlert": {"PodEvent", "NodeEvent", "DeploymentEvent", "JobEvent", "DaemonSetEvent", "StatefulSetEvent", "ServiceEvent", "HorizontalPodAutoscalerEvent"},
	}
	for _, kind := range kinds {
		p[kind+"Event"] = []string{"KubernetesResourceEvent"}
		p[kind+"ChangeEvent"] = []string{kind + "Event", "KubernetesAnyChangeEvent"}
	}
	return p
}

// Fits reports whether an event of class produced can be passed to an action that takes
// class wanted (produced is wanted or one of its descendants).
func Fits(produced, wanted string) bool {
	if produced == wanted {
		return true
	}
	for _, p := range parents[produced] {
		if Fits(p, wanted) {
			return true
		}
	}
	return false
}

// IsChangeEvent reports whether class needs an old and a new object.
func IsChangeEvent(class string) bool {
	return strings.HasSuffix(class, "ChangeEvent")
}
