package engine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

// Links are shown beside the finding in every format, and kept in JSON.
func TestRenderLinks(t *testing.T) {
	ios, _, _, _ := cli.Test()
	f := &Finding{Title: "t", Severity: Info, Source: "manual"}
	f.AddLink(Link{URL: "https://example.com/v", Name: "Demo", Type: LinkVideo})
	for _, tc := range []struct {
		format cli.OutputFormat
		want   string
	}{
		{cli.OutputText, "link Demo: https://example.com/v"},
		{cli.OutputMarkdown, "🔗 [Demo](https://example.com/v)"},
		{cli.OutputJSON, `"links": [`},
	} {
		var b bytes.Buffer
		if err := Render(&b, ios.Styles(), tc.format, f, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s: %q not in\n%s", tc.format, tc.want, b.String())
		}
	}
}
