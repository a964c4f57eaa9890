package engine

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/graph"
)

// graphRows is the height of a terminal chart.
const graphRows = 10

// graphText writes a graph block for a terminal: a summary line, the braille chart
// when the output is a terminal (o.Width set), and the saved files.
func graphText(bw *errWriter, st *cli.Styles, b Block, o RenderOptions) error {
	c := b.Graph
	if c == nil {
		return nil
	}
	bw.printf("  %s %s (%s)\n", st.Accent("graph"), cli.Printable(c.Title), graphSummary(c))
	if c.Query != "" {
		bw.printf("    %s %s\n", st.Muted("query:"), cli.Printable(c.Query))
	}
	if o.Width > 0 {
		colours := []func(string) string{st.Accent, st.Warning, st.Success, st.Error, st.Bold}
		chart := c.Terminal(o.Width-4, graphRows, func(i int, s string) string { return colours[i%len(colours)](s) })
		// The title was printed above; the chart's own first line repeats it.
		_, chart, _ = strings.Cut(chart, "\n")
		for _, l := range strings.Split(strings.TrimRight(chart, "\n"), "\n") {
			bw.printf("    %s\n", l)
		}
	}
	if o.SaveDir != "" {
		paths, err := saveGraph(o.SaveDir, b)
		if err != nil {
			return err
		}
		bw.printf("    saved to %s\n", cli.Printable(strings.Join(paths, ", ")))
	}
	return nil
}

// graphMarkdown writes a graph block as an image link to the saved SVG (with
// --save-files), else a table of its series.
func graphMarkdown(bw *errWriter, b Block, o RenderOptions) error {
	c := b.Graph
	if c == nil {
		return nil
	}
	if o.SaveDir != "" {
		paths, err := saveGraph(o.SaveDir, b)
		if err != nil {
			return err
		}
		bw.printf("![%s](%s)\n\n", mdEscape(c.Title), mdLink(paths[0]))
		bw.printf("PNG: [%s](%s)\n\n", mdEscape(filepath.Base(paths[1])), mdLink(paths[1]))
	} else {
		bw.printf("📈 **%s** (%s; save the picture with --save-files DIR)\n\n", mdEscape(c.Title), graphSummary(c))
	}
	if c.Query != "" {
		bw.printf("```promql\n%s\n```\n\n", c.Query)
	}
	rows := make([][]string, 0, len(c.Series))
	for _, s := range c.Series {
		lo, hi, last := seriesStats(s)
		rows = append(rows, []string{s.Label, fmt.Sprint(len(s.Values)), graph.FormatValue(c.Format, lo), graph.FormatValue(c.Format, hi), graph.FormatValue(c.Format, last)})
	}
	if len(rows) > 0 {
		mdTable(bw, []string{"series", "points", "min", "max", "last"}, rows)
	}
	return nil
}

func mdLink(p string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29").Replace(p)
}

func graphSummary(c *graph.Chart) string {
	return fmt.Sprintf("%d series, %d points", len(c.Series), c.Points())
}

// seriesStats are a series' lowest, highest and last finite values.
func seriesStats(s graph.Series) (lo, hi, last float64) {
	lo, hi, last = math.Inf(1), math.Inf(-1), math.NaN()
	for _, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo, hi, last = math.Min(lo, v), math.Max(hi, v), v
	}
	if math.IsInf(lo, 1) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return lo, hi, last
}

// graphFileName makes a file name of a chart's title (which may hold slashes or
// quotes from a PromQL query).
func graphFileName(title string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\' || r == ':' || r == '"' || r == '\'' || r == '*' || r == '?' || r == '<' || r == '>' || r == '|' || r < ' ':
			return '_'
		}
		return r
	}, strings.TrimSpace(title))
	if len(name) > 120 {
		name = name[:120]
	}
	if name == "" || name == "." || name == ".." {
		name = "graph"
	}
	return name
}

// saveGraph writes the chart as NAME.svg and NAME.png into dir and returns their paths.
func saveGraph(dir string, b Block) ([]string, error) {
	name := graphFileName(b.Graph.Title)
	svg, err := b.Graph.SVG()
	if err != nil {
		return nil, fmt.Errorf("graph %s: %w", b.Graph.Title, err)
	}
	png, err := b.Graph.PNG()
	if err != nil {
		return nil, fmt.Errorf("graph %s: %w", b.Graph.Title, err)
	}
	var paths []string
	for _, f := range []Block{{Name: name + ".svg", Data: svg}, {Name: name + ".png", Data: png}} {
		p, err := saveFile(dir, f)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
