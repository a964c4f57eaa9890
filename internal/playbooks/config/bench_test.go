package config

import (
	"fmt"
	"strings"
	"testing"
)

// genPlaybooks is a values file of n small playbooks, the shape hack/bench/validate
// times through the binary.
func genPlaybooks(n int) []byte {
	trig := []string{"on_pod_update: {}", "on_deployment_update: {}", "on_job_failure: {}", "on_pod_crash_loop: {}", "on_prometheus_alert: {}"}
	act := []string{"pod_events_enricher: {}", "status_enricher: {}", "job_info_enricher: {}", "report_crash_loop: {}", "default_enricher: {}"}
	var b strings.Builder
	b.WriteString("customPlaybooks:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "- triggers: [{%s}]\n  actions: [{%s}]\n", trig[i%5], act[i%5])
	}
	return []byte(b.String())
}

// go test -bench Validate10k -benchmem ./internal/playbooks/config
func BenchmarkValidate10kStreamed(b *testing.B) {
	data := genPlaybooks(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := ValidateBytes("v.yaml", data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate10kWholeFile(b *testing.B) {
	data := genPlaybooks(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f, err := Parse("v.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		_ = Validate(f)
	}
}
