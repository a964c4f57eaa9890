package actions

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"sigs.k8s.io/yaml"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func init() {
	engine.Register(&engine.Action{Name: "git_change_audit", Event: "KubernetesAnyChangeEvent", Mutating: true,
		Doc:       "Commit the changed object's spec as YAML to a git repository (CLUSTER/NAMESPACE/NAME.yaml) and push it, as an audit trail",
		NewParams: func() any { return &gitAuditParams{} }, Do: gitChangeAudit})
}

type gitAuditParams struct {
	ClusterName    string   `param:"cluster_name" required:"true" doc:"the cluster's folder in the repository and the commits' prefix"`
	GitURL         string   `param:"git_url" required:"true" doc:"the audit repository: git@HOST:OWNER/REPO.git (SSH), https://... or file:///..."`
	GitKey         string   `param:"git_key" required:"true" doc:"SSH private key with write access (PEM, or base64 of it); unused for file:// and https:// URLs"`
	IgnoredChanges []string `param:"ignored_changes" doc:"changes whose path holds one of these texts are not audited"`
}

// auditSkippedKinds have no spec to audit (the runner's list).
var auditSkippedKinds = map[string]bool{"Event": true, "ClusterRole": true, "ClusterRoleBinding": true, "ServiceAccount": true, "ConfigMap": true}

var gitUnsafe = regexp.MustCompile(`[^0-9a-zA-Z\-]+`)

func gitSafeName(s string) string { return gitUnsafe.ReplaceAllString(s, "-") }

// gitMaxTries is the runner's GIT_MAX_RETRIES default: pushes rejected because the
// remote moved are retried on a fresh clone.
const gitMaxTries = 3

// gitAuth is the SSH key for SSH URLs; other transports get none, as the runner's git
// uses the key only through ssh.
func gitAuth(rawURL, key string) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, fmt.Errorf("git_url %q: %v", rawURL, err)
	}
	if ep.Protocol != "ssh" {
		return nil, nil
	}
	pem := strings.TrimSpace(key)
	if b, err := base64.StdEncoding.DecodeString(pem); err == nil && strings.Contains(string(b), "PRIVATE KEY") {
		pem = string(b)
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	auth, err := gitssh.NewPublicKeys(user, []byte(pem+"\n"), "")
	if err != nil {
		return nil, fmt.Errorf("git_key: not an SSH private key (PEM, or base64 of one): %v", err)
	}
	return auth, nil
}

// auditChange is one commit to make.
type auditChange struct {
	file, message string
	data          []byte // nil: delete the file
}

func gitChangeAudit(ctx context.Context, r *engine.Run, p any) error {
	params := p.(*gitAuditParams)
	ev := r.Event
	obj := ev.Obj
	if auditSkippedKinds[ev.Kind] {
		r.Notes = append(r.Notes, fmt.Sprintf("git_change_audit: %s objects are not audited (no spec), as in the runner", ev.Kind))
		return nil
	}
	if len(obj.GetOwnerReferences()) != 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("git_change_audit: %s %s is owned by another object; the runner audits only top-level objects", strings.ToLower(ev.Kind), obj.GetName()))
		return nil
	}
	auth, err := gitAuth(params.GitURL, params.GitKey)
	if err != nil {
		return &engine.ParamsError{Action: "git_change_audit", Err: err}
	}
	ns := obj.GetNamespace()
	if ns == "" {
		ns = "None"
	}
	dir := gitSafeName(params.ClusterName) + "/" + gitSafeName(ns)
	name := gitSafeName(obj.GetName()) + ".yaml"
	ch := auditChange{file: dir + "/" + name}
	spec, hasSpec := obj.Object["spec"]
	switch ev.Operation {
	case "delete":
		ch.message = fmt.Sprintf("Delete %s/%s", dir, name)
	case "create", "update":
		if !hasSpec {
			r.Notes = append(r.Notes, fmt.Sprintf("git_change_audit: %s %s has no spec to audit (the runner's action fails on it)", strings.ToLower(ev.Kind), obj.GetName()))
			return nil
		}
		if ev.Operation == "update" && ev.Old != nil {
			changes := map[string][2]string{}
			diff(ev.Kind+"Spec", ev.Old.Object["spec"], spec, changes)
			kept := 0
			for p := range changes {
				if !containsAny(p, params.IgnoredChanges) {
					kept++
				}
			}
			if kept == 0 {
				r.Notes = append(r.Notes, fmt.Sprintf("git_change_audit: the spec of %s %s did not change (ignoring %v): nothing to commit", strings.ToLower(ev.Kind), obj.GetName(), params.IgnoredChanges))
				return nil
			}
		}
		verb := map[string]string{"create": "Create", "update": "Update"}[ev.Operation]
		ch.message = fmt.Sprintf("%s %s named %s on namespace %s", verb, ev.Kind, obj.GetName(), ns)
		if ch.data, err = yaml.Marshal(spec); err != nil {
			return fmt.Errorf("spec of %s %s as YAML: %w", strings.ToLower(ev.Kind), obj.GetName(), err)
		}
	default:
		return fmt.Errorf("git_change_audit runs on create, update and delete events, not %q", ev.Operation)
	}
	ch.message = fmt.Sprintf("Cluster %s::%s", params.ClusterName, ch.message)

	var hash string
	var pushed bool
	for try := 1; ; try++ {
		hash, pushed, err = commitAudit(ctx, params.GitURL, auth, ch, r.Apply)
		if !errors.Is(err, git.ErrNonFastForwardUpdate) || try == gitMaxTries {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("git audit of %s %s to %s: %w", strings.ToLower(ev.Kind), obj.GetName(), params.GitURL, err)
	}
	switch {
	case hash == "":
		r.Notes = append(r.Notes, fmt.Sprintf("git_change_audit: %s is not in the repository, so there is nothing to delete (as in the runner)", ch.file))
		return nil
	case !pushed:
		r.Notes = append(r.Notes, "dry run: the commit was made in a temporary clone and not pushed; run again with --apply to push it")
	}
	verb := map[bool]string{true: "Pushed", false: "Would push"}[pushed]
	r.Finding.AddEnrichment("Git audit", engine.Table("", []string{"field", "value"}, [][]string{
		{"repository", params.GitURL}, {"file", ch.file}, {"commit", ch.message}, {"id", hash}, {"result", verb}}))
	return nil
}

var fileTransport sync.Once

// inProcessFileTransport serves file:// repositories (bare ones) inside this process:
// go-git's default runs the git-upload-pack and git-receive-pack programs, and this
// action needs no git installed.
func inProcessFileTransport() {
	fileTransport.Do(func() { client.InstallProtocol("file", server.NewClient(server.DefaultLoader)) })
}

// commitAudit clones url into a temporary folder, makes ch's commit as the runner's
// user and, with push, pushes it. It returns the commit id ("" when a deleted file was
// not there).
func commitAudit(ctx context.Context, url string, auth transport.AuthMethod, ch auditChange, push bool) (string, bool, error) {
	inProcessFileTransport()
	tmp, err := os.MkdirTemp("", "robusta-git-audit-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(tmp)
	repo, err := git.PlainCloneContext(ctx, tmp, false, &git.CloneOptions{URL: url, Auth: auth})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		// A new audit repository: the first commit starts its default branch.
		if repo, err = git.PlainInit(tmp, false); err == nil {
			_, err = repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{url}})
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("clone: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", false, err
	}
	local := filepath.Join(tmp, filepath.FromSlash(ch.file))
	if ch.data == nil {
		if _, err := os.Stat(local); errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		if _, err := wt.Remove(ch.file); err != nil {
			return "", false, fmt.Errorf("remove %s: %w", ch.file, err)
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			return "", false, err
		}
		if err := os.WriteFile(local, ch.data, 0o644); err != nil {
			return "", false, err
		}
		if _, err := wt.Add(path.Clean(ch.file)); err != nil {
			return "", false, fmt.Errorf("add %s: %w", ch.file, err)
		}
	}
	h, err := wt.Commit(ch.message, &git.CommitOptions{AllowEmptyCommits: ch.data != nil,
		Author: &object.Signature{Name: "Robusta Runner", Email: "runner@robusta.dev", When: time.Now()}})
	if err != nil {
		return "", false, fmt.Errorf("commit: %w", err)
	}
	if !push {
		return h.String(), false, nil
	}
	if err := repo.PushContext(ctx, &git.PushOptions{Auth: auth}); err != nil {
		return "", false, fmt.Errorf("push: %w", err)
	}
	return h.String(), true, nil
}

// containsAny says whether path contains one of parts.
func containsAny(path string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(path, p) {
			return true
		}
	}
	return false
}
