package playbooks

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robusta-dev/robusta-go/internal/cli"
)

func TestValidateStoragePath(t *testing.T) {
	for _, tc := range []struct {
		path, want, problem string
	}{
		{DefaultStoragePath, DefaultStoragePath, ""},
		{DefaultStoragePath + "/", DefaultStoragePath, ""},
		{"/etc/robusta/playbooks", "/etc/robusta/playbooks", ""},
		{"/data/playbooks", "/data/playbooks", ""},
		{"/opt/playbooks", "/opt/playbooks", ""},
		{"/tmp/robusta-storage", "/tmp/robusta-storage", ""},
		{"/usr/local/playbooks", "/usr/local/playbooks", ""},
		{"/var/playbooks", "/var/playbooks", ""},
		{"/usr/lib/x/y", "/usr/lib/x/y", ""},
		{"/home/u/playbooks", "/home/u/playbooks", ""},
		{"/librarian", "", "system folder"}, // /lib*

		{"", "", "is empty"},
		{"etc/robusta", "", "must be an absolute path"},
		{"./storage", "", "must be an absolute path"},
		{"/", "", "is the root folder"},
		{"//", "", "is the root folder"},
		{"/tmp/robusta-canary-x/../..", "", `not a clean path (it has "..", "." or "//" in it; it stands for "/")`},
		{"/etc/robusta/playbooks/storage/..", "", "not a clean path"},
		{"/etc/robusta/./storage", "", "not a clean path"},
		{"/etc//robusta", "", "not a clean path"},
		{"/etc/robusta/playbooks/storage//", "", "not a clean path"},
		{"/etc", "", "system folder"},
		{"/etc/", "", "system folder"},
		{"/etc/robusta", "", "system folder"},
		{"/bin", "", "system folder"},
		{"/boot", "", "system folder"},
		{"/dev", "", "system folder"},
		{"/dev/shm/x", "", "system folder"},
		{"/home", "", "system folder"},
		{"/home/user", "", "system folder"},
		{"/lib", "", "system folder"},
		{"/lib64", "", "system folder"},
		{"/lib/x86_64-linux-gnu", "", "system folder"},
		{"/opt", "", "system folder"},
		{"/proc", "", "system folder"},
		{"/proc/self/root", "", "system folder"},
		{"/proc/1/cwd/etc", "", "system folder"},
		{"/root", "", "system folder"},
		{"/root/.ssh", "", "system folder"},
		{"/run", "", "system folder"},
		{"/run/secrets", "", "system folder"},
		{"/sbin", "", "system folder"},
		{"/srv", "", "system folder"},
		{"/sys", "", "system folder"},
		{"/sys/fs/cgroup", "", "system folder"},
		{"/tmp", "", "system folder"},
		{"/usr", "", "system folder"},
		{"/usr/lib", "", "system folder"},
		{"/usr/bin", "", "system folder"},
		{"/usr/local", "", "system folder"},
		{"/usr/local/lib", "", "system folder"},
		{"/usr/share", "", "system folder"},
		{"/var", "", "system folder"},
		{"/var/lib", "", "system folder"},
		{"/var/log", "", "system folder"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := ValidateStoragePath(tc.path)
			if tc.problem == "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted as %q, want refused (%s)", got, tc.problem)
			}
			if !strings.Contains(err.Error(), tc.problem) || !strings.Contains(err.Error(), "--storage-path") {
				t.Fatalf("error %q does not say %q", err, tc.problem)
			}
			var ue *cli.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("%v is not a usage error", err)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"my_playbooks", true},
		{"repo-1.2", true},
		{"_x", true},
		{"", false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{".x.prev", false},
		{"a/b", false},
		{"../x", false},
		{`a\b`, false},
		{"-rf", false},
		{"--help", false},
		{"a b", false},
		{"a\nb", false},
		{"*", false},
	} {
		err := CheckName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// The delete and pull scripts check the name again in the pod, and the check script
// refuses what is not a folder: run here by sh on temp folders only.
func TestScriptsRefuseBadNamesAndMissingFolders(t *testing.T) {
	root := t.TempDir()
	storage := filepath.Join(root, "storage")
	canary := filepath.Join(storage, "keep")
	if err := os.MkdirAll(canary, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", ".", "..", "-rf", "a/b", "../storage", ".keep"} {
		for script, body := range map[string]string{"delete": deleteScript, "pull": pullScript} {
			out, err := exec.Command("sh", "-c", body, "sh", storage, name).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "refusing repository name") {
				t.Errorf("%s %q: %v %s", script, name, err, out)
			}
		}
	}
	if _, err := os.Stat(canary); err != nil {
		t.Fatalf("canary gone: %v", err)
	}
	out, err := exec.Command("sh", "-c", deleteScript, "sh", storage, "keep").CombinedOutput()
	if err != nil {
		t.Fatalf("delete keep: %v %s", err, out)
	}
	if _, err := os.Stat(canary); !os.IsNotExist(err) {
		t.Fatalf("keep not deleted: %v", err)
	}

	file := filepath.Join(root, "file")
	_ = os.WriteFile(file, nil, 0o644)
	link := filepath.Join(root, "link")
	_ = os.Symlink(storage, link)
	for _, tc := range []struct {
		path, want string
		code       int
	}{
		{storage, storage, 0},
		{link, storage, 0},
		{filepath.Join(root, "missing"), "does not exist", 3},
		{file, "does not exist in the runner (or is not a folder)", 3},
	} {
		cmd := exec.Command("sh", "-c", checkScript, "sh", tc.path)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("check %s: exit %d %q, want %d %q", tc.path, code, out, tc.code, tc.want)
		}
	}
}

func TestParseListing(t *testing.T) {
	got, err := parseListing("12\t3\t1700000000\tmy_repo\n0\t0\t1700000001\twith\ttab\n")
	if err != nil || len(got) != 2 || got[0].Name != "my_repo" || got[0].Size != 12*1024 || got[0].Files != 3 ||
		got[0].Modified.Unix() != 1700000000 || got[1].Name != "with\ttab" {
		t.Fatalf("%+v %v", got, err)
	}
	if got, err := parseListing(""); err != nil || len(got) != 0 {
		t.Fatalf("empty: %+v %v", got, err)
	}
	for _, bad := range []string{
		"\t3\t1700000000\tno_size\n", // du failed
		"12\t\t1700000000\tno_count\n",
		"12\t3\t\tno_time\n", // find printed nothing
		"12\tx\t1700000000\tbad_count\n",
		"12\t3\t1700000000\n",   // no name
		"12\t3\t1700000000\t\n", // empty name
		"line\n",                // a folder name with a line break splits its line
	} {
		if got, err := parseListing(bad); err == nil || !strings.Contains(err.Error(), "unexpected line") {
			t.Errorf("%q: %+v %v", bad, got, err)
		}
	}
}

// The listing script itself, run by sh on a temp folder: its lines parse.
func TestListScript(t *testing.T) {
	storage := t.TempDir()
	_ = os.MkdirAll(filepath.Join(storage, "repo_a", "pkg"), 0o755)
	_ = os.WriteFile(filepath.Join(storage, "repo_a", "pkg", "x.py"), []byte("x = 1\n"), 0o644)
	_ = os.MkdirAll(filepath.Join(storage, ".repo_a.prev"), 0o755)
	out, err := exec.Command("sh", "-c", listScript, "sh", storage).Output()
	if err != nil {
		t.Fatal(err)
	}
	repos, err := parseListing(string(out))
	if err != nil || len(repos) != 1 || repos[0].Name != "repo_a" || repos[0].Files != 1 || repos[0].Size <= 0 {
		t.Fatalf("%+v %v (%q)", repos, err, out)
	}
}
