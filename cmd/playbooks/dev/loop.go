package dev

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/fswatch"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
	"github.com/robusta-dev/robusta-go/internal/playbooks/repo"
)

// loop is the state of one dev session.
type loop struct {
	io      *cli.IOStreams
	kf      *kube.Factory
	find    kube.FindOptions
	dir     string
	name    string
	storage string
	trigger string
	params  map[string]any
	logWait time.Duration

	sess     *playbooks.Session
	lastHash string // tree hash of the last good push
	pushes   int
}

func (l *loop) close() {
	if l.sess != nil {
		l.sess.Close()
	}
}

func (l *loop) stopped() {
	s := l.io.StderrStyles()
	if l.lastHash == "" {
		fmt.Fprintf(l.io.ErrOut, "Stopped; nothing was pushed.\n")
		return
	}
	fmt.Fprintf(l.io.ErrOut, "Stopped; %s stays live in the runner (tree %s).\n", s.Bold(l.name), l.lastHash[:12])
}

// cycle looks at the tree once: validate, compare, push, reload, show logs, trigger.
func (l *loop) cycle(ctx context.Context) {
	out, s := l.io.Out, l.io.Styles()
	keep := "nothing is live yet"
	if l.lastHash != "" {
		keep = "the last good push (tree " + l.lastHash[:12] + ") stays live"
	}
	r, err := repo.Load(l.dir)
	if err != nil {
		fmt.Fprintf(out, "%s not pushed: %s; %s\n", s.FailureIcon(), cli.Printable(err.Error()), keep)
		return
	}
	hash, err := treeHash(r)
	if err != nil {
		fmt.Fprintf(out, "%s not pushed: %s; %s\n", s.FailureIcon(), cli.Printable(err.Error()), keep)
		return
	}
	if hash == l.lastHash {
		fmt.Fprintf(out, "%s unchanged (tree %s), not pushed\n", s.Muted("·"), hash[:12])
		return
	}
	start := time.Now()
	pod, err := l.kf.FindRunner(ctx, l.find)
	if err != nil {
		fmt.Fprintf(out, "%s not pushed: %s; %s\n", s.FailureIcon(), cli.Printable(err.Error()), keep)
		return
	}
	st := &playbooks.Storage{KF: l.kf, Pod: *pod, Path: l.storage}
	res, err := st.Push(ctx, r, playbooks.PushOptions{Name: l.name})
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		fmt.Fprintf(out, "%s push failed: %s; %s\n", s.FailureIcon(), cli.Printable(err.Error()), keep)
		return
	}
	l.lastHash = hash
	l.pushes++
	for _, w := range r.Warnings {
		fmt.Fprintf(l.io.ErrOut, "%s %s\n", l.io.StderrStyles().WarningIcon(), w)
	}
	fmt.Fprintf(out, "%s Pushed %s to %s:%s (push %d, %d files, %d sent, %d reused, tree %s)\n", s.SuccessIcon(), s.Bold(l.name),
		res.Runner, res.Path, l.pushes, res.Archive.Files, res.Archive.Files-res.Reused, res.Reused, hash[:12])
	if l.pushes == 1 {
		l.releaseWarnings(ctx, *pod)
	}

	sess, err := l.session(ctx, *pod)
	if err != nil {
		fmt.Fprintf(out, "%s pushed, but the runner could not be reached to reload: %s\n", s.FailureIcon(), cli.Printable(err.Error()))
		return
	}
	if _, err := sess.Client.Reload(ctx); err != nil {
		fmt.Fprintf(out, "%s pushed, but the reload failed: %s\n", s.FailureIcon(), cli.Printable(err.Error()))
		l.dropSession()
		return
	}
	fmt.Fprintf(out, "%s Runner reloaded\n", s.SuccessIcon())
	errs := l.showLogs(ctx, *pod, start, r)
	if errs > 0 {
		fmt.Fprintf(out, "%s the runner logged %s while loading it\n", s.FailureIcon(), plural(errs, "error"))
	}
	if l.trigger != "" {
		l.runTrigger(ctx, sess)
	}
}

// releaseWarnings says, once, what would keep the pushed repository from being loaded
// or from surviving a restart, as push does.
func (l *loop) releaseWarnings(ctx context.Context, pod kube.RunnerPod) {
	warn := l.io.StderrStyles().WarningIcon()
	cs, err := l.kf.Clientset()
	if err != nil {
		return
	}
	rel, err := playbooks.FindRunnerRelease(ctx, cs, pod.Namespace, pod.Name)
	switch {
	case err != nil:
		fmt.Fprintf(l.io.ErrOut, "%s could not check the runner's Helm release: %s\n", warn, cli.Printable(err.Error()))
	case rel == nil:
		fmt.Fprintf(l.io.ErrOut, "%s no Helm release found for runner %s: check playbooksPersistentVolume and playbookRepos yourself\n", warn, pod.Ref())
	default:
		for _, w := range playbooks.PushWarnings(rel, l.name, l.storage) {
			fmt.Fprintf(l.io.ErrOut, "%s %s\n", warn, w)
		}
	}
}

// session keeps one port-forward to the runner for the whole session, opening a new
// one when the runner pod changed or the last one broke.
func (l *loop) session(ctx context.Context, pod kube.RunnerPod) (*playbooks.Session, error) {
	if l.sess != nil && l.sess.Pod.Ref() == pod.Ref() {
		return l.sess, nil
	}
	l.dropSession()
	sess, err := playbooks.Connect(ctx, l.kf, pod, 30*time.Second)
	if err != nil {
		return nil, err
	}
	l.sess = sess
	return sess, nil
}

func (l *loop) dropSession() {
	if l.sess != nil {
		l.sess.Close()
		l.sess = nil
	}
}

func (l *loop) runTrigger(ctx context.Context, sess *playbooks.Session) {
	out, s := l.io.Out, l.io.Styles()
	resp, err := sess.Client.Trigger(ctx, playbooks.TriggerRequest{ActionName: l.trigger, ActionParams: l.params})
	switch {
	case err != nil:
		fmt.Fprintf(out, "%s trigger %s: %s\n", s.FailureIcon(), l.trigger, cli.Printable(err.Error()))
		l.dropSession()
	case !resp.Success:
		fmt.Fprintf(out, "%s trigger %s: %s (error %d)\n", s.FailureIcon(), l.trigger, cli.Printable(resp.Msg), resp.ErrorCode)
	default:
		fmt.Fprintf(out, "%s Triggered %s\n", s.SuccessIcon(), l.trigger)
	}
}

// showLogs follows the runner's log from since for logWait and prints the lines about
// the repository and every error with its traceback. It returns how many errors it saw.
func (l *loop) showLogs(ctx context.Context, pod kube.RunnerPod, since time.Time, r *repo.Repo) int {
	if l.logWait <= 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, l.logWait)
	defer cancel()
	f := &logFilter{w: l.io.Out, s: l.io.Styles(), words: []string{l.name, r.PackageName, repo.ModuleName(r.PackageName), "Reloading playbook"}}
	err := l.kf.StreamLogs(ctx, pod.Namespace, pod.Name, kube.LogOptions{Container: kube.RunnerContainer, Follow: true, SinceTime: since, Tail: -1}, f)
	f.flush()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(l.io.ErrOut, "%s could not read the runner's log: %s\n", l.io.StderrStyles().WarningIcon(), cli.Printable(err.Error()))
	}
	return f.errors
}

// logFilter passes on the log lines that name one of words, and error lines with the
// indented traceback lines after them, highlighted.
type logFilter struct {
	w       io.Writer
	s       *cli.Styles
	words   []string
	buf     []byte
	inError bool
	errors  int
	mu      sync.Mutex
}

func (f *logFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf = append(f.buf, p...)
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			break
		}
		f.line(string(f.buf[:i]))
		f.buf = f.buf[i+1:]
	}
	return len(p), nil
}

func (f *logFilter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.buf) > 0 {
		f.line(string(f.buf))
		f.buf = nil
	}
}

func (f *logFilter) line(line string) {
	line = cli.Printable(strings.TrimRight(line, "\r"))
	continuation := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "Traceback")
	switch {
	case isErrorLine(line) && !continuation:
		f.inError = true
		f.errors++
		fmt.Fprintf(f.w, "  %s %s\n", f.s.FailureIcon(), f.s.Error(line))
	case f.inError && (continuation || looksLikeException(line)):
		fmt.Fprintf(f.w, "    %s\n", f.s.Error(line))
	default:
		f.inError = false
		for _, w := range f.words {
			if w != "" && strings.Contains(line, w) {
				fmt.Fprintf(f.w, "  %s %s\n", f.s.Muted("runner:"), line)
				break
			}
		}
	}
}

// isErrorLine: the runner logs through Python's logging, whose level names appear in
// the line; a failed import is logged as an error with the traceback after it.
func isErrorLine(line string) bool {
	for _, w := range []string{"ERROR", "CRITICAL", "Traceback (most recent call last)", "failed to module", "Failed to add playbooks repo"} {
		if strings.Contains(line, w) {
			return true
		}
	}
	return false
}

// looksLikeException is the last line of a Python traceback: "ModuleNotFoundError: ...".
func looksLikeException(line string) bool {
	head, _, ok := strings.Cut(line, ":")
	return ok && !strings.Contains(head, " ") && (strings.HasSuffix(head, "Error") || strings.HasSuffix(head, "Exception"))
}

// treeHash is the sha256 of the repository as push ships it: each file's path, type,
// permission bits, link target and content, in path order.
func treeHash(r *repo.Repo) (string, error) {
	h := sha256.New()
	files := append([]repo.File(nil), r.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%o\x00%s\x00", f.Path, uint32(f.Mode), f.Link)
		if f.Mode.IsRegular() {
			fh, err := os.Open(f.AbsPath)
			if err != nil {
				return "", fmt.Errorf("read %s: %w", f.Path, err)
			}
			c := sha256.New()
			_, err = io.Copy(c, fh)
			fh.Close()
			if err != nil {
				return "", fmt.Errorf("read %s: %w", f.Path, err)
			}
			h.Write(c.Sum(nil))
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// skipDirs are not watched: tools write there all the time and push leaves them out.
var skipDirs = map[string]bool{".git": true, "__pycache__": true, ".venv": true, "node_modules": true, ".mypy_cache": true, ".pytest_cache": true}

// watchTree watches every folder under root (fsnotify is not recursive; folders
// created later are added as they appear) and sends on the returned channel once no
// change came for debounce.
func watchTree(ctx context.Context, root string, debounce time.Duration, warnf func(string, ...any)) (<-chan struct{}, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	add := func(dir string) {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if p != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			if err := w.Add(p); err != nil {
				warnf("cannot watch %s: %v", p, err)
			}
			return nil
		})
	}
	add(root)
	return fswatch.Debounce(ctx, w, debounce, func(ev fsnotify.Event) bool {
		if inSkipped(root, ev.Name) {
			return false
		}
		if ev.Op&fsnotify.Create != 0 {
			if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
				add(ev.Name)
			}
		}
		return ev.Op != fsnotify.Chmod || modeMatters(ev.Name)
	}, func(err error) { warnf("watching %s: %v", root, err) }), nil
}

// modeMatters: a chmod changes what push ships only for files (the executable bit);
// editors touch attributes of other things too.
func modeMatters(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode().IsRegular()
}

func inSkipped(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if skipDirs[part] {
			return true
		}
	}
	return false
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
