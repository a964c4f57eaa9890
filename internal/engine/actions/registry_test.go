package actions

import (
	"sort"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// builtIns is what this package must register, written down independently of the
// registrations: each action's event class as Robusta declares it, whether it changes
// the cluster or runs commands in pods, and its required params.
var builtIns = map[string]struct {
	event           string
	mutating, execs bool
	required        []string
}{
	"node_bash_enricher":                       {event: "NodeEvent", execs: true, required: []string{"bash_command"}},
	"node_dmesg_enricher":                      {event: "NodeEvent", execs: true},
	"pod_dmesg_enricher":                       {event: "PodEvent", execs: true},
	"node_disk_analyzer":                       {event: "NodeEvent", execs: true},
	"volume_analysis":                          {event: "PersistentVolumeEvent", execs: true},
	"generate_high_cpu":                        {event: "ExecutionBaseEvent", mutating: true, execs: true},
	"disk_benchmark":                           {event: "ExecutionBaseEvent", mutating: true, execs: true, required: []string{"storage_class_name"}},
	"kubectl_command":                          {event: "ExecutionBaseEvent", execs: true},
	"alert_handling_job":                       {event: "PrometheusKubernetesAlert", mutating: true, execs: true, required: []string{"image", "command"}},
	"incluster_ping":                           {event: "ExecutionBaseEvent", execs: true, required: []string{"hostname"}},
	"http_stress_test":                         {event: "ExecutionBaseEvent", mutating: true, execs: true, required: []string{"url"}},
	"java_process_inspector":                   {event: "PodEvent", execs: true},
	"pod_jmap_pid":                             {event: "PodEvent", execs: true},
	"pod_jstack_pid":                           {event: "PodEvent", execs: true},
	"krr_scan":                                 {event: "ExecutionBaseEvent", execs: true},
	"popeye_scan":                              {event: "ExecutionBaseEvent", execs: true},
	"python_profiler":                          {event: "PodEvent"},
	"python_memory":                            {event: "PodEvent"},
	"debugger_stack_trace":                     {event: "PodEvent"},
	"python_process_inspector":                 {event: "PodEvent"},
	"python_debugger":                          {event: "PodEvent"},
	"create_finding":                           {event: "ExecutionBaseEvent", required: []string{"title"}},
	"logs_enricher":                            {event: "PodEvent"},
	"pod_events_enricher":                      {event: "PodEvent"},
	"deployment_events_enricher":               {event: "DeploymentEvent"},
	"job_events_enricher":                      {event: "JobEvent"},
	"resource_events_enricher":                 {event: "KubernetesResourceEvent"},
	"pod_bash_enricher":                        {event: "PodEvent", execs: true, required: []string{"bash_command"}},
	"pod_ps":                                   {event: "PodEvent", execs: true},
	"related_pods":                             {event: "KubernetesResourceEvent"},
	"job_info_enricher":                        {event: "JobEvent"},
	"job_pod_enricher":                         {event: "JobEvent"},
	"node_status_enricher":                     {event: "NodeEvent"},
	"node_running_pods_enricher":               {event: "NodeEvent"},
	"node_allocatable_resources_enricher":      {event: "NodeEvent"},
	"get_resource_yaml":                        {event: "KubernetesResourceEvent"},
	"pod_issue_investigator":                   {event: "PodEvent"},
	"report_crash_loop":                        {event: "PodEvent"},
	"restart_loop_reporter":                    {event: "PodEvent"},
	"count_pod_creations":                      {event: "DeploymentEvent"},
	"cpu_throttling_analysis_enricher":         {event: "PodEvent"},
	"test_pod_orm":                             {event: "PodEvent", mutating: true, execs: true},
	"create_pvc_snapshot":                      {event: "ExecutionBaseEvent", mutating: true, required: []string{"name"}},
	"image_pull_backoff_reporter":              {event: "PodEvent"},
	"resource_babysitter":                      {event: "KubernetesAnyChangeEvent"},
	"delete_pod":                               {event: "PodEvent", mutating: true},
	"rollout_restart":                          {event: "DeploymentEvent", mutating: true},
	"template_enricher":                        {event: "KubernetesResourceEvent"},
	"button_enricher":                          {event: "KubernetesResourceEvent", required: []string{"button_text", "button_url"}},
	"alert_explanation_enricher":               {event: "PrometheusKubernetesAlert"},
	"alert_definition_enricher":                {event: "PrometheusKubernetesAlert"},
	"echo":                                     {event: "ExecutionBaseEvent", required: []string{"message"}},
	"external_video_enricher":                  {event: "ExecutionBaseEvent", required: []string{"url"}},
	"report_image_changes":                     {event: "KubernetesAnyChangeEvent"},
	"cordon":                                   {event: "NodeEvent", mutating: true},
	"uncordon":                                 {event: "NodeEvent", mutating: true},
	"drain":                                    {event: "NodeEvent", mutating: true},
	"delete_job":                               {event: "JobEvent", mutating: true},
	"scale_hpa_callback":                       {event: "HorizontalPodAutoscalerEvent", mutating: true, required: []string{"max_replicas"}},
	"restart_named_rollout":                    {event: "ExecutionBaseEvent", mutating: true, required: []string{"name", "namespace"}},
	"status_enricher":                          {event: "KubernetesResourceEvent"},
	"daemonset_status_enricher":                {event: "DaemonSetEvent"},
	"deployment_status_enricher":               {event: "DeploymentEvent"},
	"node_pods_capacity_enricher":              {event: "NodeEvent"},
	"pod_evicted_enricher":                     {event: "PodEvent"},
	"hpa_events_enricher":                      {event: "PrometheusKubernetesAlert"},
	"enrich_pod_with_node_events":              {event: "PodEvent"},
	"event_resource_events":                    {event: "EventChangeEvent"},
	"fetch_resource_events":                    {event: "ExecutionBaseEvent", required: []string{"kind", "name"}},
	"fetch_resource_yaml":                      {event: "ExecutionBaseEvent", required: []string{"kind", "name"}},
	"list_pods":                                {event: "ExecutionBaseEvent", required: []string{"name"}},
	"list_resource_names":                      {event: "ExecutionBaseEvent", required: []string{"kind"}},
	"fetch_crds":                               {event: "ExecutionBaseEvent"},
	"event_history":                            {event: "ExecutionBaseEvent"},
	"helm_status_enricher":                     {event: "HelmReleasesEvent"},
	"fetch_cr_instances":                       {event: "ExecutionBaseEvent", required: []string{"kind"}},
	"statefulset_replicas_enricher":            {event: "PrometheusKubernetesAlert"},
	"hpa_mismatch_enricher":                    {event: "PrometheusKubernetesAlert"},
	"daemonset_misscheduled_analysis_enricher": {event: "DaemonSetEvent"},
	"api_service_status_enricher":              {event: "PrometheusKubernetesAlert"},
	"prometheus_rules_enricher":                {event: "PrometheusKubernetesAlert"},
	"default_enricher":                         {event: "PrometheusKubernetesAlert"},
	"minimal_default_enricher":                 {event: "PrometheusKubernetesAlert"},
	"delete_alert_pod":                         {event: "PrometheusKubernetesAlert", mutating: true},
	"foreign_logs_enricher":                    {event: "ExecutionBaseEvent", required: []string{"label_selectors"}},
	"alert_foreign_logs_enricher":              {event: "PrometheusKubernetesAlert", required: []string{"label_selectors"}},
	"target_down_dns_enricher":                 {event: "PrometheusKubernetesAlert"},
	"event_report":                             {event: "EventChangeEvent"},
	"create_event_finding":                     {event: "EventChangeEvent", required: []string{"aggregation_key"}},
	"warning_events_report":                    {event: "EventChangeEvent", required: []string{"warning_event_groups"}},
	"node_health_watcher":                      {event: "NodeChangeEvent"},
	"alert_on_hpa_reached_limit":               {event: "HorizontalPodAutoscalerChangeEvent"},
	"kubectl_describe":                         {event: "ExecutionBaseEvent", required: []string{"kind", "name"}},
	"pod_oom_killer_enricher":                  {event: "PodEvent"},
	"job_restart_on_oomkilled_community":       {event: "JobEvent", mutating: true, required: []string{"max_resource"}},
	// Prometheus (class C)
	"prometheus_enricher":              {event: "ExecutionBaseEvent", required: []string{"promql_query", "duration"}},
	"prometheus_all_available_metrics": {event: "ExecutionBaseEvent"},
	"prometheus_get_series":            {event: "ExecutionBaseEvent", required: []string{"match"}},
	"prometheus_get_label_names":       {event: "ExecutionBaseEvent"},
	"prometheus_sla_enricher":          {event: "ExecutionBaseEvent", required: []string{"promql_query", "operator", "threshold"}},
	"pod_graph_enricher":               {event: "PodEvent", required: []string{"resource_type"}},
	"pod_node_graph_enricher":          {event: "PodEvent", required: []string{"resource_type"}},
	"node_graph_enricher":              {event: "NodeEvent", required: []string{"resource_type"}},
	"alert_graph_enricher":             {event: "PrometheusKubernetesAlert", required: []string{"resource_type", "item_type"}},
	"custom_graph_enricher":            {event: "PrometheusKubernetesAlert", required: []string{"promql_query"}},
	"graph_enricher":                   {event: "PrometheusKubernetesAlert"},
	"cpu_overcommited_enricher":        {event: "PrometheusKubernetesAlert"},
	"memory_overcommited_enricher":     {event: "PrometheusKubernetesAlert"},
	// Alertmanager (class C)
	"get_silences":       {event: "ExecutionBaseEvent"},
	"add_silence":        {event: "ExecutionBaseEvent", mutating: true, required: []string{"comment", "createdBy", "startsAt", "endsAt", "matchers"}},
	"delete_silence":     {event: "ExecutionBaseEvent", mutating: true, required: []string{"id"}},
	"alertmanager_alert": {event: "ExecutionBaseEvent", mutating: true},
	// HTTP (class C)
	"http_get":  {event: "ExecutionBaseEvent", required: []string{"url"}},
	"http_post": {event: "ExecutionBaseEvent", required: []string{"url"}},
	"http_put":  {event: "ExecutionBaseEvent", required: []string{"url"}},
	// silencers and finding post-processing (class D, the watch's loop)
	"pod_status_silencer":   {event: "PodEvent"},
	"name_silencer":         {event: "PrometheusKubernetesAlert", required: []string{"names"}},
	"severity_silencer":     {event: "PrometheusKubernetesAlert"},
	"silence_alert":         {event: "PrometheusKubernetesAlert"},
	"node_restart_silencer": {event: "PrometheusKubernetesAlert"},
	"customise_finding":     {event: "ExecutionBaseEvent"},
	// Grafana, git, Argo CD and the rest of class C
	"add_alert_lines_to_grafana":         {event: "PrometheusKubernetesAlert", mutating: true, required: []string{"grafana_api_key", "grafana_dashboard_uid"}},
	"add_deployment_lines_to_grafana":    {event: "KubernetesAnyChangeEvent", mutating: true, required: []string{"grafana_api_key", "grafana_dashboard_uid"}},
	"node_cpu_enricher":                  {event: "NodeEvent"},
	"oomkilled_container_graph_enricher": {event: "PodEvent", required: []string{"resource_type"}},
	"oom_killer_enricher":                {event: "PrometheusKubernetesAlert"},
	"version_mismatch_enricher":          {event: "PrometheusKubernetesAlert"},
	"argo_app_sync":                      {event: "ExecutionBaseEvent", mutating: true, required: []string{"argo_url", "argo_token", "argo_app_name"}},
	"show_stackoverflow_search":          {event: "ExecutionBaseEvent", required: []string{"search_term"}},
	"json_change_tracker":                {event: "KubernetesAnyChangeEvent", required: []string{"url"}},
	"report_rendering_task":              {event: "ExecutionBaseEvent", required: []string{"grafana_api_key", "delays", "reports_panel_urls"}},
	"git_change_audit":                   {event: "KubernetesAnyChangeEvent", mutating: true, required: []string{"cluster_name", "git_url", "git_key"}},
	"config_ab_testing":                  {event: "ScheduledExecutionEvent", mutating: true, required: []string{"grafana_api_key", "grafana_dashboard_uid", "kind", "name", "configuration_sets"}},
}

// The registry holds exactly the built-in actions, each as declared above.
func TestBuiltInActions(t *testing.T) {
	var want []string
	for name := range builtIns {
		want = append(want, name)
	}
	sort.Strings(want)
	if got := engine.Names(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("registered:\n%v\nwant:\n%v", got, want)
	}
	for name, exp := range builtIns {
		a, _ := engine.Lookup(name)
		if a.Event != exp.event || a.Mutating != exp.mutating || a.RunsCommands != exp.execs {
			t.Errorf("%s: event %s mutating %v runs commands %v; want %s %v %v", name, a.Event, a.Mutating, a.RunsCommands, exp.event, exp.mutating, exp.execs)
		}
		var required []string
		if a.NewParams != nil {
			for _, p := range engine.Params(a.NewParams()) {
				if p.Required {
					required = append(required, p.Name)
				}
			}
		}
		if strings.Join(required, ",") != strings.Join(exp.required, ",") {
			t.Errorf("%s: required params %v, want %v", name, required, exp.required)
		}
		if a.Doc == "" {
			t.Errorf("%s has no doc", name)
		}
	}
}
