// Command graph measures a Prometheus graph action from start to finding: `robusta
// local run prometheus_enricher` over the last hour at the runner's step (14.4 s, 251
// points a series) against a Prometheus stand-in in this process, next to what it
// cannot avoid: one Prometheus round trip of the same query and `robusta version`.
// It also runs a 10-series, 10,000-point graph rendered to SVG and PNG. Runs are
// interleaved; it prints a Markdown report for docs/PERFORMANCE.md.
//
// With -render it measures rendering alone: the same 10-series, 10,000-point chart drawn
// to SVG and PNG in a process of its own (this program run again with -render-once), so
// its peak RSS is the renderer's and not the whole CLI's.
//
//	go run ./hack/bench/graph -n 21
//	go run ./hack/bench/graph -render -n 21
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/hack/bench/benchutil"
	"github.com/robusta-dev/robusta-go/internal/graph"
)

func main() {
	n := flag.Int("n", 21, "timed runs of each command")
	render := flag.Bool("render", false, "measure rendering alone (time and peak RSS of a process that only draws)")
	once := flag.Bool("render-once", false, "draw the chart once to SVG and PNG and exit (what -render times)")
	flag.Parse()
	switch {
	case *once:
		benchutil.Main(renderOnce)
	case *render:
		benchutil.Main(func() error { return runRender(*n) })
	default:
		benchutil.Main(func() error { return run(*n) })
	}
}

// bigChart is 10 series of 1,000 points, 14 s apart (the hour-scale step).
func bigChart() *graph.Chart {
	c := &graph.Chart{Title: "10 series", Format: graph.CPUUsage}
	for s := 0; s < 10; s++ {
		ser := graph.Series{Label: fmt.Sprintf("web-%d", s)}
		for i := 0; i < 1000; i++ {
			ser.Timestamps = append(ser.Timestamps, float64(1700000000+i*14))
			ser.Values = append(ser.Values, float64(s)+math.Sin(float64(i)/50))
		}
		c.Series = append(c.Series, ser)
	}
	return c
}

// renderOnce draws the chart and prints how long the drawing took (excluding start-up).
func renderOnce() error {
	c := bigChart()
	start := time.Now()
	svg, err := c.SVG()
	if err != nil {
		return err
	}
	png, err := c.PNG()
	if err != nil {
		return err
	}
	fmt.Printf("%d %d %d\n", time.Since(start).Nanoseconds(), len(svg), len(png))
	return nil
}

func runRender(n int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "robusta-bench-render-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := benchutil.Build(filepath.Join(tmp, "robusta")); err != nil { // also the RSS wrapper Timed needs
		return err
	}
	var walls, draws []time.Duration
	var peak int64
	for i := 0; i < n; i++ {
		d, rss, out, err := benchutil.Timed(nil, self, "-render-once")
		if err != nil {
			return err
		}
		var ns, svgLen, pngLen int64
		if _, err := fmt.Sscan(string(out), &ns, &svgLen, &pngLen); err != nil || svgLen == 0 || pngLen == 0 {
			return fmt.Errorf("render-once printed %q: %v", out, err)
		}
		walls, draws, peak = append(walls, d), append(draws, time.Duration(ns)), max(peak, rss)
	}
	lo, hi := benchutil.Range(draws)
	fmt.Printf("Measured %s on %s/%s, %d CPUs, load %s: %d runs, each a process of its own.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), benchutil.LoadAvg(), n)
	fmt.Println("| what | median | min | max | peak RSS |")
	fmt.Println("|---|---|---|---|---|")
	fmt.Printf("| drawing 10 series x 1,000 points to SVG and PNG | %s | %s | %s | |\n", benchutil.MS(benchutil.Median(draws)), benchutil.MS(lo), benchutil.MS(hi))
	lo, hi = benchutil.Range(walls)
	fmt.Printf("| the whole process (start, draw, exit) | %s | %s | %s | %.1f MiB |\n", benchutil.MS(benchutil.Median(walls)), benchutil.MS(lo), benchutil.MS(hi), float64(peak)/1024)
	return nil
}

// standIn answers query_range with `series` series (10 for the query "big", at 1,000
// points each; 2 otherwise, at the step asked).
func standIn(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
	end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
	step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
	nSeries, points := 2, int((end-start)/step)+1
	if r.Form.Get("query") == "big" {
		nSeries, points = 10, 1000
		step = (end - start) / float64(points-1)
	}
	var result []any
	for s := 0; s < nSeries; s++ {
		vals := make([][2]any, points)
		for i := range vals {
			vals[i] = [2]any{start + float64(i)*step, strconv.FormatFloat(float64(s)+math.Sin(float64(i)/20), 'f', 4, 64)}
		}
		result = append(result, map[string]any{"metric": map[string]string{"pod": fmt.Sprintf("web-%d", s), "job": "kubelet"}, "values": vals})
	}
	b, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": result}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

type subject struct {
	name string
	args []string
	wall []time.Duration
	rss  []int64
}

func run(n int) error {
	tmp, err := os.MkdirTemp("", "robusta-bench-graph-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "robusta")
	if err := benchutil.Build(bin); err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(l, http.HandlerFunc(standIn)) }()
	prom := "http://" + l.Addr().String()
	files := filepath.Join(tmp, "files")
	if err := os.Mkdir(files, 0o700); err != nil {
		return err
	}
	home := filepath.Join(tmp, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_CACHE_HOME=" + home, "PATH=" + os.Getenv("PATH"), "KUBECONFIG=" + filepath.Join(tmp, "none")}
	query := `sum(irate(container_cpu_usage_seconds_total{namespace="prod", pod=~"web-.*"}[5m])) by (pod, job)`
	hour := `duration:={"duration_minutes": 60}`
	subjects := []*subject{
		{name: "`robusta version`", args: []string{"version"}},
		{name: "`local run prometheus_enricher` (1 h, finding as text)", args: []string{"local", "run", "prometheus_enricher", "promql_query=" + query, hour, "--prometheus-url", prom}},
		{name: "the same with `--save-files` (SVG and PNG drawn)", args: []string{"local", "run", "prometheus_enricher", "promql_query=" + query, hour, "--prometheus-url", prom, "--save-files", files}},
		{name: "10 series, 10,000 points, `--save-files`", args: []string{"local", "run", "prometheus_enricher", "promql_query=big", hour, "--prometheus-url", prom, "--save-files", files}},
	}
	var trips []time.Duration
	floor := benchutil.Floor()
	for i := 0; i < n; i++ {
		for _, s := range subjects {
			d, rss, out, err := benchutil.Timed(env, bin, s.args...)
			if err != nil {
				return err
			}
			if len(s.args) > 2 && !strings.Contains(string(out), "graph ") {
				return fmt.Errorf("%s: no graph in the finding:\n%s", s.name, out)
			}
			s.wall, s.rss = append(s.wall, d), append(s.rss, rss)
		}
		// One round trip as a client that has just started: a new connection, the
		// same query and range, the answer read and decoded.
		d, err := roundTrip(prom, query)
		if err != nil {
			return err
		}
		trips = append(trips, d)
	}
	version, action, saved, big := benchutil.Median(subjects[0].wall), benchutil.Median(subjects[1].wall), benchutil.Median(subjects[2].wall), benchutil.Median(subjects[3].wall)
	trip := benchutil.Median(trips)
	fmt.Printf("Measured %s on %s/%s, %d CPUs, load %s: median of %d interleaved runs. Peak RSS is getrusage of each command (floor %.1f MiB).\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), benchutil.LoadAvg(), n, float64(floor)/1024)
	fmt.Println("| command | median | min | max | peak RSS |")
	fmt.Println("|---|---|---|---|---|")
	for _, s := range subjects {
		lo, hi := benchutil.Range(s.wall)
		var peak int64
		for _, r := range s.rss {
			peak = max(peak, r)
		}
		fmt.Printf("| %s | %s | %s | %s | %.1f MiB |\n", s.name, benchutil.MS(benchutil.Median(s.wall)), benchutil.MS(lo), benchutil.MS(hi), float64(peak)/1024)
	}
	lo, hi := benchutil.Range(trips)
	fmt.Printf("| one Prometheus round trip (same query, new connection) | %s | %s | %s | |\n\n", benchutil.MS(trip), benchutil.MS(lo), benchutil.MS(hi))
	base := version + trip
	fmt.Printf("- Graph action vs `robusta version` + round trip (%s): %.2fx as text, %.2fx with the SVG and PNG drawn (target under 2x).\n",
		benchutil.MS(base), float64(action)/float64(base), float64(saved)/float64(base))
	fmt.Printf("- 10 series, 10,000 points from start to saved SVG and PNG: %s, of which start-up and the round trip are about %s.\n", benchutil.MS(big), benchutil.MS(base))
	return nil
}

func roundTrip(prom, query string) (time.Duration, error) {
	end := time.Now()
	form := url.Values{"query": {query}, "start": {strconv.FormatInt(end.Add(-time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(end.Unix(), 10)}, "step": {"14.4"}}
	c := &http.Client{Transport: &http.Transport{}}
	start := time.Now()
	resp, err := c.PostForm(prom+"/api/v1/query_range", form)
	if err != nil {
		return 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
