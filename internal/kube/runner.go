package kube

// Names the Robusta Helm chart gives the runner (see ROBUSTA.md).
const (
	RunnerLabelKey   = "robustaComponent"
	RunnerLabelValue = "runner"
	RunnerSelector   = RunnerLabelKey + "=" + RunnerLabelValue
	RunnerContainer  = "runner"
	RunnerPort       = 5000
)
