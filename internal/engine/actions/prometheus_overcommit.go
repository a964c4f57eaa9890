package actions

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "cpu_overcommited_enricher", Event: engine.AlertEvent,
		Doc:       "Compare the cluster's total CPU requests with its allocatable CPU",
		NewParams: func() any { return &timedPromParams{} }, Do: cpuOvercommited})
	engine.Register(&engine.Action{Name: "memory_overcommited_enricher", Event: engine.AlertEvent,
		Doc:       "Compare the cluster's total memory requests with its allocatable memory",
		NewParams: func() any { return &timedPromParams{} }, Do: memoryOvercommited})
}

type timedPromParams struct {
	promConn
	DefaultQueryDuration int `param:"default_query_duration" default:"600" doc:"seconds averaged over"`
}

// window is the runner's [Ns] range: timedelta.seconds, which drops whole days.
func (p *timedPromParams) window() int {
	return int((time.Duration(p.DefaultQueryDuration) * time.Second).Seconds()) % 86400
}

// instantValue runs an instant query and returns its first sample's value (ok false
// when there is none, or it is zero, as the runner skips then).
func instantValue(ctx context.Context, r *engine.Run, p *promConn, query string) (float64, bool, error) {
	c, done, err := p.prom(ctx, r)
	if err != nil {
		return 0, false, err
	}
	defer done()
	res, err := c.Query(ctx, query, time.Time{})
	if err != nil {
		return 0, false, err
	}
	var v float64
	switch {
	case res.Type == "scalar":
		v = res.Scalar
	case len(res.Series) > 0 && len(res.Series[0].Values) > 0:
		v = res.Series[0].Values[0]
	}
	return v, v != 0 && !math.IsNaN(v), nil
}

func overcommit(ctx context.Context, r *engine.Run, p *timedPromParams, requestsQ, allocatableQ string, show func(float64) string, what string) error {
	req, ok1, err := instantValue(ctx, r, &p.promConn, requestsQ)
	if err != nil {
		return err
	}
	total, ok2, err := instantValue(ctx, r, &p.promConn, allocatableQ)
	if err != nil {
		return err
	}
	if !ok1 || !ok2 {
		r.Notes = append(r.Notes, "Prometheus has no requests or allocatable totals (kube-state-metrics recording rules): nothing to add")
		return nil
	}
	r.Finding.AddEnrichment("", engine.Markdown(fmt.Sprintf("*Stats:* Currently the total of your pods requests is: %s, and total of allocatable %s is: %s.", show(req), what, show(total))))
	r.Finding.Description = fmt.Sprintf("Your cluster is currently OK, but if a single node fails then some pods might not be scheduled. Add more %s to your cluster to increase resilience.", what)
	return nil
}

func cpuOvercommited(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*timedPromParams)
	w := params.window()
	return overcommit(ctx, r, params,
		fmt.Sprintf("sum(avg_over_time(namespace_cpu:kube_pod_container_resource_requests:sum{}[%ds]))", w),
		fmt.Sprintf(`sum(avg_over_time(kube_node_status_allocatable{resource="cpu"}[%ds]))`, w),
		func(v float64) string { return pyFloat(math.Round(v*100) / 100) }, "CPU")
}

func memoryOvercommited(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*timedPromParams)
	w := params.window()
	return overcommit(ctx, r, params,
		fmt.Sprintf("sum(avg_over_time(namespace_memory:kube_pod_container_resource_requests:sum{}[%ds]))", w),
		fmt.Sprintf(`sum(avg_over_time(kube_node_status_allocatable{resource="memory"}[%ds]))`, w),
		prettySize, "Memory")
}

// prettySize writes bytes as the runner's pretty_size: decimal-looking units of 1024,
// two decimals at most ("1.5 GB", "512 bytes").
func prettySize(b float64) string {
	units := []struct {
		factor float64
		suffix string
	}{{1 << 50, " PB"}, {1 << 40, " TB"}, {1 << 30, " GB"}, {1 << 20, " MB"}, {1 << 10, " KB"}, {1, " bytes"}}
	for _, u := range units {
		if b >= u.factor || u.factor == 1 {
			amount := math.Round(b/u.factor*100) / 100
			if u.factor == 1 && amount == 1 {
				return "1.0 byte"
			}
			return pyFloat(amount) + u.suffix
		}
	}
	return strconv.FormatFloat(b, 'f', -1, 64)
}
