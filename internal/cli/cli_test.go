package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseOutputFormat(t *testing.T) {
	cases := []struct {
		in      string
		want    OutputFormat
		wantErr bool
	}{
		{"", OutputText, false}, {"text", OutputText, false}, {"JSON", OutputJSON, false},
		{" yaml ", OutputYAML, false}, {"xml", "", true}, {"table", "", true},
	}
	for _, tc := range cases {
		got, err := ParseOutputFormat(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseOutputFormat(%q) = %q, %v", tc.in, got, err)
		}
		if err != nil && ExitCode(err) != ExitUsage {
			t.Errorf("bad format must be a usage error, exit %d", ExitCode(err))
		}
	}
}

func TestPrintStructured(t *testing.T) {
	v := struct {
		Name  string            `json:"name"`
		Count int               `json:"count"`
		Tags  map[string]string `json:"tags,omitempty"`
		HTML  string            `json:"html"`
	}{"runner", 2, map[string]string{"a": "b"}, "<b>&</b>"}
	var j, y bytes.Buffer
	if err := PrintStructured(&j, OutputJSON, v); err != nil {
		t.Fatal(err)
	}
	wantJSON := "{\n  \"name\": \"runner\",\n  \"count\": 2,\n  \"tags\": {\n    \"a\": \"b\"\n  },\n  \"html\": \"<b>&</b>\"\n}\n"
	if j.String() != wantJSON {
		t.Errorf("json:\n%s", j.String())
	}
	if err := PrintStructured(&y, OutputYAML, v); err != nil {
		t.Fatal(err)
	}
	wantYAML := "count: 2\nhtml: <b>&</b>\nname: runner\ntags:\n  a: b\n"
	if y.String() != wantYAML {
		t.Errorf("yaml:\n%s", y.String())
	}
	if err := PrintStructured(&y, OutputText, v); err == nil {
		t.Error("text is not structured, want an error")
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	tb := NewTable(&b, "name", "namespace")
	tb.Row("robusta-runner-1", "robusta")
	tb.Row("x\ty", "multi\nline")
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "NAME               NAMESPACE\nrobusta-runner-1   robusta\nx y                multi ⏎ line\n"
	if b.String() != want {
		t.Errorf("table:\n%q", b.String())
	}
}

func TestExitCodeAndPrintError(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		code     int
		wantText string
	}{
		{"plain", errors.New("boom"), ExitError, "Error: boom\n"},
		{"wrapped usage", fmt.Errorf("parse: %w", UsageErrorf("bad arg %q", "k")), ExitUsage, "Error: parse: bad arg \"k\"\n"},
		{"hint", WithHint(errors.New("no runner"), "pass --namespace"), ExitError, "Error: no runner\nHint: pass --namespace\n"},
		{"multi-line folded", errors.New("line one\n  line two"), ExitError, "Error: line one line two\n"},
		{"aborted", fmt.Errorf("push: %w", ErrAborted), ExitAborted, "Error: push: aborted\n"},
		{"canceled", context.Canceled, ExitAborted, "Error: context canceled\n"},
	}
	ios, _, _, _ := Test()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCode(tc.err); got != tc.code {
				t.Errorf("exit = %d, want %d", got, tc.code)
			}
			var b bytes.Buffer
			PrintError(&b, ios.StderrStyles(), tc.err)
			if b.String() != tc.wantText {
				t.Errorf("printed %q, want %q", b.String(), tc.wantText)
			}
		})
	}
	if ExitCode(nil) != ExitOK || WithHint(nil, "x") != nil {
		t.Error("nil error handling")
	}
}

func TestStylesPlainUnlessTTYAndColor(t *testing.T) {
	ios, _, _, _ := Test()
	if s := ios.Styles().Error("x"); s != "x" {
		t.Errorf("non-TTY styles emitted %q", s)
	}
	ios.SetTTY(true, true, true)
	if s := ios.Styles().Error("x"); !strings.Contains(s, "\x1b[") {
		t.Errorf("TTY styles emitted no colour: %q", s)
	}
	ios.SetColorDisabled(true)
	if s := ios.Styles().Bold("x") + ios.StderrStyles().Warning("y"); s != "xy" {
		t.Errorf("--no-color styles emitted %q", s)
	}
}

func TestSystemHonoursNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	ios := System()
	ios.SetTTY(true, true, true)
	if ios.ColorEnabled() || ios.ColorEnabledStderr() {
		t.Error("NO_COLOR set but colour enabled")
	}
}

func TestSpinnerAndProgressSilentWithoutTTY(t *testing.T) {
	ios, _, _, errOut := Test()
	sp := ios.StartSpinner("working")
	sp.SetMessage("still working")
	sp.Stop()
	sp.Stop()
	pb := ios.NewProgressBar("push", 100)
	_, _ = pb.Write(make([]byte, 60))
	pb.Finish()
	if errOut.Len() != 0 {
		t.Errorf("non-TTY stderr got %q", errOut.String())
	}

	ios.SetTTY(false, false, true)
	pb = ios.NewProgressBar("push", 100)
	pb.Add(50)
	pb.Finish()
	if !strings.Contains(errOut.String(), "50%") || !strings.Contains(errOut.String(), "50 B/100 B") {
		t.Errorf("TTY progress bar drew %q", errOut.String())
	}
}

func TestCanPrompt(t *testing.T) {
	ios, _, _, _ := Test()
	if ios.CanPrompt() {
		t.Error("buffers cannot prompt")
	}
	ios.SetTTY(true, true, false)
	if !ios.CanPrompt() {
		t.Error("stdin+stdout TTY should prompt")
	}
	ios.SetNeverPrompt(true)
	if ios.CanPrompt() {
		t.Error("never-prompt ignored")
	}
}

func TestHumanBytes(t *testing.T) {
	cases := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 50 << 20: "50.0 MiB", 3 << 30: "3.0 GiB"}
	for in, want := range cases {
		if got := HumanBytes(in); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", in, got, want)
		}
	}
}
