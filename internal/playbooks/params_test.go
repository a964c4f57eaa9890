package playbooks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

func TestParseParams(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // JSON of the result
	}{
		{"none", nil, `{}`},
		{"plain", []string{"name=my-pod", "namespace=default"}, `{"name":"my-pod","namespace":"default"}`},
		{"first equals only", []string{"cmd=a=b", "q=x==y"}, `{"cmd":"a=b","q":"x==y"}`},
		{"empty value", []string{"filter="}, `{"filter":""}`},
		{"quotes and shell chars kept", []string{`bash_command=echo "hi" 'there' $HOME; ls | wc`}, `{"bash_command":"echo \"hi\" 'there' $HOME; ls | wc"}`},
		{"unicode and newline", []string{"msg=héllo ✓\nnext"}, `{"msg":"héllo ✓\nnext"}`},
		{"typed int", []string{"count:=3"}, `{"count":3}`},
		{"typed bool", []string{"enabled:=true"}, `{"enabled":true}`},
		{"typed list", []string{`names:=["a","b"]`}, `{"names":["a","b"]}`},
		{"typed object", []string{`sel:={"app":"web"}`}, `{"sel":{"app":"web"}}`},
		{"typed big number exact", []string{"n:=12345678901234567890"}, `{"n":12345678901234567890}`},
		{"typed null", []string{"x:=null"}, `{"x":null}`},
		{"colon inside value is plain", []string{"url=http://a:b@c"}, `{"url":"http://a:b@c"}`},
		{"value containing :=", []string{"expr=a:=b"}, `{"expr":"a:=b"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseParams(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tc.want {
				t.Fatalf("got %s, want %s", b, tc.want)
			}
		})
	}
}

func TestParseParamsErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"novalue"}, `"novalue" has no '='`},
		{[]string{"=v"}, `"=v" has an empty key`},
		{[]string{":=3"}, `":=3" has an empty key`},
		{[]string{"a=1", "a=2"}, `"a" is given twice`},
		{[]string{"a=1", "a:=2"}, `"a" is given twice`},
		{[]string{"n:=[1,"}, `"n:=[1," : value after ':=' is not valid JSON`},
		{[]string{"n:=hello"}, `not valid JSON`},
		{[]string{"n:=1 2"}, `not valid JSON`},
	}
	for _, tc := range cases {
		_, err := ParseParams(tc.args)
		if err == nil || cli.ExitCode(err) != cli.ExitUsage {
			t.Errorf("%v: want a usage error, got %v", tc.args, err)
			continue
		}
		want := strings.Replace(tc.want, `" : `, `": `, 1)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %q does not contain %q", tc.args, err, want)
		}
	}
}

func TestParamsFileAndMerge(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "p.yaml")
	_ = os.WriteFile(yml, []byte("tail: 50\nfilter_regex: 'err.*'\nnames: [a, b]\n"), 0o600)
	m, err := ReadParamsFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	if string(b) != `{"filter_regex":"err.*","names":["a","b"],"tail":50}` {
		t.Fatalf("got %s", b)
	}
	if err := MergeParams(m, map[string]any{"tail": "5"}, "the command line", "--params-file"); err == nil ||
		!strings.Contains(err.Error(), `"tail" is given by both the command line and --params-file`) {
		t.Fatalf("merge conflict: %v", err)
	}
	for _, bad := range []string{"[1, 2]", "just a string", "{unclosed"} {
		p := filepath.Join(dir, "bad.yaml")
		_ = os.WriteFile(p, []byte(bad), 0o600)
		if _, err := ReadParamsFile(p); err == nil || cli.ExitCode(err) != cli.ExitUsage {
			t.Errorf("%q: want usage error, got %v", bad, err)
		}
	}
	if _, err := ReadParamsFile(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "--params-file") {
		t.Errorf("missing file: %v", err)
	}
}
