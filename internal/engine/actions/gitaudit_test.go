package actions

import (
	"context"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

func deployment(image string, replicas int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web.api", "namespace": "prod"},
		"spec": map[string]any{"replicas": replicas, "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": image}}}}},
	}}
}

// remoteLog clones the bare repository and returns its commit messages, newest first,
// and the audited file's content ("" when absent).
func remoteLog(t *testing.T, bare, file string) ([]string, string) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainClone(dir, false, &git.CloneOptions{URL: "file://" + bare})
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	iter, err := repo.Log(&git.LogOptions{From: head.Hash()})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	c, _ := iter.Next()
	for c != nil {
		msgs = append(msgs, c.Message+" <"+c.Author.Email+">")
		c, _ = iter.Next()
	}
	commit, _ := repo.CommitObject(head.Hash())
	content := ""
	if f, err := commit.File(file); err == nil {
		content, _ = f.Contents()
	}
	return msgs, content
}

// git_change_audit commits the spec of created and changed objects to a bare
// repository over file:// (go-git's in-process transport: no git program), skips
// changes outside the spec or ignored, deletes the file on delete, and pushes only
// with --apply.
func TestGitChangeAudit(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no git-upload-pack or git-receive-pack to run
	bare := t.TempDir()
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	a, _ := engine.Lookup("git_change_audit")
	params := map[string]any{"cluster_name": "prod eu", "git_url": "file://" + bare, "git_key": "unused", "ignored_changes": []any{"replicas"}}
	do := func(ev *engine.Event, apply bool) *engine.Run {
		t.Helper()
		r := &engine.Run{Event: ev, Finding: engine.NewFinding(ev, "t"), Apply: apply}
		p := map[string]any{}
		for k, v := range params {
			p[k] = v
		}
		if err := a.Execute(context.Background(), r, p); err != nil {
			t.Fatal(err)
		}
		return r
	}
	const file = "prod-eu/prod/web-api.yaml"

	do(engine.ChangeEvent("Deployment", "create", nil, deployment("nginx:1", 1)), true)
	msgs, content := remoteLog(t, bare, file)
	if len(msgs) != 1 || msgs[0] != "Cluster prod eu::Create Deployment named web.api on namespace prod <runner@robusta.dev>" {
		t.Errorf("log %q", msgs)
	}
	if !strings.Contains(content, "image: nginx:1") || strings.Contains(content, "kind:") {
		t.Errorf("file:\n%s", content)
	}

	r := do(engine.ChangeEvent("Deployment", "update", deployment("nginx:1", 1), deployment("nginx:1", 3)), true)
	if msgs, _ := remoteLog(t, bare, file); len(msgs) != 1 || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "did not change") {
		t.Errorf("an ignored change was committed: %q %q", msgs, r.Notes)
	}

	r = do(engine.ChangeEvent("Deployment", "update", deployment("nginx:1", 1), deployment("nginx:2", 1)), false)
	if msgs, _ := remoteLog(t, bare, file); len(msgs) != 1 || !strings.Contains(strings.Join(r.Notes, " "), "dry run") {
		t.Errorf("the dry run pushed: %q %q", msgs, r.Notes)
	}

	do(engine.ChangeEvent("Deployment", "update", deployment("nginx:1", 1), deployment("nginx:2", 1)), true)
	msgs, content = remoteLog(t, bare, file)
	if len(msgs) != 2 || !strings.HasPrefix(msgs[0], "Cluster prod eu::Update Deployment named web.api") || !strings.Contains(content, "image: nginx:2") {
		t.Errorf("update: %q\n%s", msgs, content)
	}

	do(engine.ChangeEvent("Deployment", "delete", nil, deployment("nginx:2", 1)), true)
	msgs, content = remoteLog(t, bare, file)
	if len(msgs) != 3 || !strings.HasPrefix(msgs[0], "Cluster prod eu::Delete prod-eu/prod/web-api.yaml") || content != "" {
		t.Errorf("delete: %q\n%s", msgs, content)
	}

	cm := &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "prod"}}}
	r = do(engine.ChangeEvent("ConfigMap", "create", nil, cm), true)
	if msgs, _ := remoteLog(t, bare, file); len(msgs) != 3 || len(r.Notes) != 1 {
		t.Errorf("a ConfigMap was audited: %q %q", msgs, r.Notes)
	}
}
