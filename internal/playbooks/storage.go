package playbooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/playbooks/repo"
)

// DefaultStoragePath is where the chart mounts the playbooks volume in the runner.
const DefaultStoragePath = "/etc/robusta/playbooks/storage"

// Storage is the runner's playbook storage folder, reached by exec in the runner
// container. Every command is a POSIX sh script with its inputs as arguments, never
// spliced into the script text.
type Storage struct {
	KF   *kube.Factory
	Pod  kube.RunnerPod
	Path string
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// CheckName accepts a plain folder name: no '/', no "..", not empty, no leading dot.
func CheckName(name string) error {
	switch {
	case name == "":
		return cli.UsageErrorf("the repository name is empty")
	case strings.Contains(name, "/") || strings.Contains(name, `\`):
		return cli.UsageErrorf("%q is not a plain folder name: it contains a slash", name)
	case name == "." || name == ".." || strings.HasPrefix(name, "."):
		return cli.UsageErrorf("%q is not allowed: names starting with a dot are reserved for push's temporary and previous versions", name)
	case !validName.MatchString(name):
		return cli.UsageErrorf("%q is not a plain folder name: use letters, digits, _, - and .", name)
	}
	return nil
}

// systemDirs are folders refused as the storage folder, with the direct children that
// are refused too ("*": every one). A repository name is removed with rm -rf below the
// storage folder, so a storage folder of / and NAME etc would remove /etc. Top-level
// folders whose name starts with "lib" count as /lib.
var systemDirs = map[string][]string{
	"/bin": {"*"}, "/boot": {"*"}, "/etc": {"*"}, "/home": {"*"}, "/lib": {"*"}, "/root": {"*"}, "/sbin": {"*"}, "/run": {"*"},
	"/opt": nil, "/srv": nil, "/tmp": nil,
	"/usr": {"bin", "games", "include", "lib", "lib32", "lib64", "libexec", "libx32", "local", "sbin", "share", "src"},
	"/var": {"backups", "cache", "lib", "local", "lock", "log", "mail", "opt", "run", "spool", "tmp"},
}

// usrLocalDirs are the system children of /usr/local.
var usrLocalDirs = []string{"bin", "etc", "games", "include", "lib", "libexec", "man", "sbin", "share", "src"}

// pseudoFS are kernel file systems: nothing below them is a storage folder (and
// /proc/self/root leads back to /).
var pseudoFS = []string{"dev", "proc", "sys"}

// ValidateStoragePath checks a storage folder before anything is run in the runner: it
// must be absolute and clean (no "..", ".", "//"; a trailing slash is dropped), and
// neither / nor a system folder. It returns the path to use.
func ValidateStoragePath(p string) (string, error) {
	clean, problem := checkStoragePath(p)
	if problem != "" {
		return "", cli.WithHint(cli.UsageErrorf("--storage-path %q %s", p, problem), "the chart mounts the storage at "+DefaultStoragePath)
	}
	return clean, nil
}

// checkStoragePath returns the path without a trailing slash, or what is wrong with it.
func checkStoragePath(p string) (string, string) {
	if p == "" {
		return "", "is empty"
	}
	if !strings.HasPrefix(p, "/") {
		return "", "must be an absolute path in the runner container"
	}
	trimmed := p
	if len(trimmed) > 1 {
		trimmed = strings.TrimSuffix(trimmed, "/")
	}
	if clean := path.Clean(trimmed); clean != trimmed {
		return "", fmt.Sprintf("is not a clean path (it has \"..\", \".\" or \"//\" in it; it stands for %q)", clean)
	}
	if trimmed == "/" {
		return "", "is the root folder: refusing to manage repositories there"
	}
	if isSystemDir(trimmed) {
		return "", "is a system folder: refusing to manage repositories there"
	}
	return trimmed, ""
}

func isSystemDir(p string) bool {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	top := parts[0]
	for _, d := range pseudoFS {
		if top == d {
			return true
		}
	}
	if strings.HasPrefix(top, "lib") {
		top = "lib"
	}
	children, ok := systemDirs["/"+top]
	switch {
	case !ok:
		return false
	case len(parts) == 1:
		return true
	case len(parts) == 2:
		for _, c := range children {
			if c == "*" || c == parts[1] {
				return true
			}
		}
	case len(parts) == 3 && top == "usr" && parts[1] == "local":
		for _, c := range usrLocalDirs {
			if c == parts[2] {
				return true
			}
		}
	}
	return false
}

// checkScript is harmless: it tests that the storage folder is a folder and prints its
// real path (symbolic links resolved), or "missing" when it does not exist and $2 says
// that is fine (push creates it).
const checkScript = `if [ ! -d "$1" ]; then
  if [ "$2" = missing-ok ] && [ ! -e "$1" ] && [ ! -L "$1" ]; then echo missing; exit 0; fi
  echo "storage folder $1 does not exist in the runner (or is not a folder)" >&2; exit 3
fi
cd -P -- "$1" && pwd -P
`

// checkInPod runs checkScript before a command that changes, removes or reads
// repositories: the storage folder must exist as a folder (unless missingOK), and its
// real path (a symbolic link could lead to /) must pass ValidateStoragePath too. It
// returns the real path, which the command then uses.
func (s *Storage) checkInPod(ctx context.Context, missingOK bool) (string, error) {
	if _, err := ValidateStoragePath(s.Path); err != nil {
		return "", err
	}
	mode := ""
	if missingOK {
		mode = "missing-ok"
	}
	var out strings.Builder
	if err := s.exec(ctx, checkScript, []string{s.Path, mode}, nil, &out); err != nil {
		var ee *kube.ExitError
		if errors.As(err, &ee) && ee.Code == 3 {
			return "", cli.WithHint(fmt.Errorf("storage folder %s does not exist in runner %s", s.Path, s.Pod.Ref()),
				"check --storage-path; the chart creates "+DefaultStoragePath+" with playbooksPersistentVolume: true")
		}
		return "", fmt.Errorf("check storage folder %s in %s: %w", s.Path, s.Pod.Ref(), err)
	}
	resolved := strings.TrimSuffix(out.String(), "\n")
	if resolved == "missing" && missingOK {
		return s.Path, nil
	}
	if strings.Contains(resolved, "\n") || !strings.HasPrefix(resolved, "/") {
		return "", fmt.Errorf("check storage folder %s in %s: unexpected reply %q", s.Path, s.Pod.Ref(), out.String())
	}
	if resolved != s.Path {
		if _, problem := checkStoragePath(resolved); problem != "" {
			return "", cli.WithHint(cli.UsageErrorf("--storage-path %q leads to %s in the runner (through a symbolic link), which %s", s.Path, resolved, problem),
				"the chart mounts the storage at "+DefaultStoragePath)
		}
	}
	return resolved, nil
}

func (s *Storage) exec(ctx context.Context, script string, args []string, stdin io.Reader, stdout io.Writer) error {
	cmd := append([]string{"sh", "-c", script, "sh"}, args...)
	return s.KF.Exec(ctx, kube.ExecOptions{Namespace: s.Pod.Namespace, Pod: s.Pod.Name, Container: kube.RunnerContainer,
		Command: cmd, Stdin: stdin, Stdout: stdout})
}

// pushScript receives exactly N bytes of tar (so it needs no stdin EOF, which not
// every exec path passes on) and unpacks them while they arrive, into a hidden temp
// folder beside the target. It then checks what arrived: the file count and the total
// of file sizes always (a cut stream fails here or in tar), and, with SUM set, the
// sha256 of the stream, computed on the side through a FIFO. Only then does it swap
// the new tree in: with one atomic exchange (renameat2 RENAME_EXCHANGE, reached
// through perl or python3, as Debian 12's mv cannot) where the kernel allows it, else
// with two renames, between which the folder is missing for an instant. Either way the runner sees the old tree or the new one, never a mix. The
// old one is kept as .NAME.prev. The receiver records its pid so an interrupted push
// can stop it (stopScript).
//
// Two pushes of one name never interleave: a push holds .NAME.lock (mkdir is atomic)
// with its shell's pid inside. A second push finds the holder alive and gives up (exit
// 7) without touching anything (it still reads its stream to the end: an exec whose
// command exits with stdin unread may lose the exit status on the way back). A lock
// whose holder died (the exec was killed) is stale and taken over, and so are the
// dead push's temporary files.
const pushScript = `set -eu
S=$1 NAME=$2 N=$3 SUM=$4 FILES=$5 BYTES=$6 TAG=$7 LIMIT=$8
EXCHANGE='import ctypes, os, sys
f = ctypes.CDLL(None, use_errno=True).renameat2
f.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
sys.exit(0 if f(-100, os.fsencode(sys.argv[1]), -100, os.fsencode(sys.argv[2]), 2) == 0 else 1)'
# exchange A B swaps two paths atomically: renameat2(AT_FDCWD, A, AT_FDCWD, B,
# RENAME_EXCHANGE) through perl (Debian's perl-base is always there; the syscall
# number is the architecture's) or else python3's ctypes. Fails when neither can.
exchange() {
  case $(uname -m) in x86_64) NR=316 ;; aarch64 | arm64) NR=276 ;; *) NR= ;; esac
  if [ -n "$NR" ] && command -v perl >/dev/null 2>&1 &&
    perl -e 'exit(syscall($ARGV[0], -100, $ARGV[1], -100, $ARGV[2], 2) == 0 ? 0 : 1)' "$NR" "$1" "$2" 2>/dev/null; then
    return 0
  fi
  command -v python3 >/dev/null 2>&1 && python3 -S -c "$EXCHANGE" "$1" "$2" 2>/dev/null
}
TMP="$S/.$NAME.tmp-$TAG"
LOCK="$S/.$NAME.lock"
RECV='echo $$ > "$1"; if command -v timeout >/dev/null 2>&1; then exec timeout "$2" head -c "$3"; fi; exec head -c "$3"'
mkdir -p "$S"
if ! mkdir "$LOCK" 2>/dev/null; then
  OWNER=$(cat "$LOCK/pid" 2>/dev/null || true)
  if [ -z "$OWNER" ]; then sleep 1; OWNER=$(cat "$LOCK/pid" 2>/dev/null || true); fi
  if [ -n "$OWNER" ] && kill -0 "$OWNER" 2>/dev/null; then
    echo "another push of $NAME is in progress (shell $OWNER in the runner): wait for it to finish" >&2
    sh -c "$RECV" sh /dev/null "$LIMIT" "$N" > /dev/null || true
    exit 7
  fi
  rm -rf "$LOCK"
  mkdir "$LOCK"
fi
echo $$ > "$LOCK/pid"
trap 'rm -rf "$LOCK"' EXIT
for d in "$S/.$NAME.tmp-"*; do
  if [ -e "$d" ]; then rm -rf "$d"; fi
done
mkdir "$TMP"
trap 'rm -rf "$TMP" "$TMP.fifo" "$TMP.sum" "$TMP.pid" "$TMP.main" "$TMP.swapping" "$LOCK"' EXIT
echo $$ > "$TMP.main"
if [ -n "$SUM" ]; then
  mkfifo "$TMP.fifo"
  sha256sum < "$TMP.fifo" > "$TMP.sum" &
  HASHER=$!
  sh -c "$RECV" sh "$TMP.pid" "$LIMIT" "$N" | tee "$TMP.fifo" | tar -xmf - -C "$TMP" --no-same-owner
  wait $HASHER
  HASH=$(cut -d' ' -f1 < "$TMP.sum")
  if [ "$HASH" != "$SUM" ]; then echo "transfer incomplete or damaged: sha256 $HASH, sent $SUM" >&2; exit 4; fi
else
  sh -c "$RECV" sh "$TMP.pid" "$LIMIT" "$N" | tar -xmf - -C "$TMP" --no-same-owner
fi
COUNT=$(find "$TMP" \( -type f -o -type l \) | wc -l | tr -d ' ')
if [ "$COUNT" != "$FILES" ]; then echo "transfer incomplete: unpacked $COUNT files, expected $FILES" >&2; exit 5; fi
GOT=$(find "$TMP" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%d", s}')
if [ "$GOT" != "$BYTES" ]; then echo "transfer incomplete: unpacked $GOT bytes of file data, expected $BYTES" >&2; exit 6; fi
# From here on the swap must finish: no signal stops it, and stopScript keeps off.
trap '' TERM INT HUP
: > "$TMP.swapping"
SWAP=rename
if [ -e "$S/$NAME" ]; then
  rm -rf "$S/.$NAME.prev"
  if exchange "$TMP" "$S/$NAME"; then
    SWAP=exchange
    mv "$TMP" "$S/.$NAME.prev" || rm -rf "$TMP" # the new tree is live either way
  else
    SWAP=renames
    mv "$S/$NAME" "$S/.$NAME.prev"
    if ! mv "$TMP" "$S/$NAME"; then
      if mv "$S/.$NAME.prev" "$S/$NAME"; then
        echo "could not move the new version of $NAME into place; the previous version is live again" >&2
        exit 9
      fi
      echo "could not move the new version of $NAME into place, nor the previous version back: $NAME is missing, its previous version is in $S/.$NAME.prev" >&2
      exit 10
    fi
  fi
else
  mv "$TMP" "$S/$NAME"
fi
rm -f "$TMP.fifo" "$TMP.sum" "$TMP.pid" "$TMP.main" "$TMP.swapping"
rm -rf "$LOCK"
trap - EXIT
echo "pushed $COUNT $SWAP"
`

// PushResult is what a push did.
type PushResult struct {
	Name    string           `json:"name"`
	Path    string           `json:"path"`
	Runner  string           `json:"runner"`
	Archive repo.ArchiveInfo `json:"archive"`
	// Swap is how the new tree went live: rename (first push), exchange (one atomic
	// renameat2) or renames (two renames: the folder was missing for an instant).
	Swap    string        `json:"swap"`
	Elapsed time.Duration `json:"-"`
}

// PushOptions tune a push.
type PushOptions struct {
	Name string
	// Progress receives the bytes as they are sent (a progress bar), may be nil.
	Progress io.Writer
	// Packaged is told the archive's size before sending starts, may be nil.
	Packaged func(repo.ArchiveInfo)
	// Checksum adds a sha256 of the whole stream, computed in the pod, to the
	// file-count and byte-total checks. It reads the repository twice locally.
	Checksum bool
	// CutAfter, when positive, breaks the stream after that many bytes: a test hook
	// standing for a dropped connection.
	CutAfter int64
}

// ErrTransferCut is returned when the stream to the runner broke mid-way.
var ErrTransferCut = errors.New("the connection to the runner broke during the transfer")

// Push streams r as a tar and installs it as <storage>/<name>. The receiver needs the
// stream's length up front: it comes from the file sizes, or, with Checksum, from a
// first pass that also hashes. Nothing is held in memory or written to disk.
func (s *Storage) Push(ctx context.Context, r *repo.Repo, o PushOptions) (*PushResult, error) {
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	start := time.Now()
	// The storage folder is checked in the pod while the repository is read here.
	type checked struct {
		dir string
		err error
	}
	check := make(chan checked, 1)
	go func() {
		dir, err := s.checkInPod(ctx, true)
		check <- checked{dir, err}
	}()
	var info repo.ArchiveInfo
	var err error
	if o.Checksum {
		info, err = r.WriteTar(io.Discard, "")
	} else {
		info, err = r.TarInfo()
	}
	c := <-check
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", r.Root, err)
	}
	if c.err != nil {
		return nil, c.err
	}
	if o.Packaged != nil {
		o.Packaged(info)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pr, pw := io.Pipe()
	go func() {
		second, err := r.WriteTar(pw, "")
		if err == nil && (second.Size != info.Size || (o.Checksum && second.SHA256 != info.SHA256)) {
			err = fmt.Errorf("the repository changed while it was being pushed: push again")
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	var src io.Reader = pr
	if o.CutAfter > 0 {
		src = &cutReader{r: src, left: o.CutAfter}
	}
	if o.Progress != nil {
		src = io.TeeReader(src, o.Progress)
	}
	src = &cancelOnError{r: src, cancel: cancel}

	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	limit := 120 + info.Size/(256<<10)
	var out strings.Builder
	sum := ""
	if o.Checksum {
		sum = info.SHA256
	}
	err = s.exec(ctx, pushScript, []string{c.dir, o.Name, strconv.FormatInt(info.Size, 10), sum,
		strconv.Itoa(info.Files), strconv.FormatInt(r.TotalSize(), 10), tag, strconv.FormatInt(limit, 10)}, src, &out)
	if err != nil {
		if ctx.Err() != nil {
			// Interrupted or cut: a receiver that never sees the end of its input (some
			// exec paths do not pass stdin EOF on) would wait; stop it now.
			s.stopReceiver(c.dir, o.Name, tag)
		}
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		var ee *kube.ExitError
		if errors.As(err, &ee) && ee.Code == 10 {
			// The rollback failed too: nothing is live, and the message says where the old tree is.
			return nil, fmt.Errorf("push %s to %s: %w", o.Name, s.Pod.Ref(), err)
		}
		return nil, fmt.Errorf("push %s to %s: %w; the previous version (if any) is still live", o.Name, s.Pod.Ref(), err)
	}
	reply := strings.Fields(out.String())
	if len(reply) != 3 || reply[0] != "pushed" {
		return nil, fmt.Errorf("push %s to %s: unexpected reply %q", o.Name, s.Pod.Ref(), out.String())
	}
	return &PushResult{Name: o.Name, Path: path.Join(c.dir, o.Name), Runner: s.Pod.Ref(), Archive: info,
		Swap: reply[2], Elapsed: time.Since(start)}, nil
}

// stopScript ends an interrupted push in the pod: it stops the script and its receiver
// and removes their files. The exec'd shell may already be gone with its trap never run
// (some runtimes kill it when the stream closes), so it cannot be left to clean up. A
// push already swapping (marker file; the script ignores signals from then on) is left
// to finish. The push's lock goes too, if it is still that push's.
const stopScript = `P="$1/.$2.tmp-$3" LOCK="$1/.$2.lock"
[ -e "$P.swapping" ] && exit 0
MAIN=$(cat "$P.main" 2>/dev/null || true)
for f in "$P.main" "$P.pid"; do
  if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
done
sleep 0.2
[ -e "$P.swapping" ] && exit 0
rm -rf "$P" "$P.fifo" "$P.sum" "$P.pid" "$P.main"
if [ -n "$MAIN" ] && [ "$(cat "$LOCK/pid" 2>/dev/null || true)" = "$MAIN" ]; then rm -rf "$LOCK"; fi
`

func (s *Storage) stopReceiver(dir, name, tag string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.exec(ctx, stopScript, []string{dir, name, tag}, nil, io.Discard)
}

type cutReader struct {
	r    io.Reader
	left int64
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, ErrTransferCut
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// cancelOnError ends the exec when reading the local side fails: without it a remote
// command waiting for the rest of its input would keep the stream open.
type cancelOnError struct {
	r      io.Reader
	cancel context.CancelCauseFunc
}

func (c *cancelOnError) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.cancel(err)
	}
	return n, err
}

// StoredRepo is a folder in the storage.
type StoredRepo struct {
	Name     string    `json:"name"`
	Size     int64     `json:"sizeBytes"`
	Files    int       `json:"files"`
	Modified time.Time `json:"modified"`
}

const listScript = `S=$1
[ -d "$S" ] || { echo "storage folder $S does not exist in the runner: is playbooksPersistentVolume enabled?" >&2; exit 3; }
for d in "$S"/*/; do
  [ -d "$d" ] || continue
  d=${d%/}
  n=$(basename "$d")
  size=$(du -sk "$d" | cut -f1)
  files=$(find "$d" \( -type f -o -type l \) | wc -l | tr -d ' ')
  mt=$(find "$d" -exec stat -c %Y {} + | sort -n | tail -1)
  printf '%s\t%s\t%s\t%s\n' "$size" "$files" "$mt" "$n"
done
`

// List returns the repositories in storage (hidden temp and previous folders are not
// listed).
func (s *Storage) List(ctx context.Context) ([]StoredRepo, error) {
	if _, err := ValidateStoragePath(s.Path); err != nil {
		return nil, err
	}
	var out strings.Builder
	if err := s.exec(ctx, listScript, []string{s.Path}, nil, &out); err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", s.Path, s.Pod.Ref(), err)
	}
	repos, err := parseListing(out.String())
	if err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", s.Path, s.Pod.Ref(), err)
	}
	return repos, nil
}

// parseListing reads listScript's lines: KiB, files, modification time (Unix seconds),
// name (last, so a tab in it does no harm). A line it cannot read is an error, not a
// row of zeros.
func parseListing(out string) ([]StoredRepo, error) {
	var repos []StoredRepo
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, "\t", 4)
		if len(parts) != 4 || parts[3] == "" {
			return nil, fmt.Errorf("unexpected line %q from the runner (want size, files, time and name)", line)
		}
		kb, err1 := strconv.ParseInt(parts[0], 10, 64)
		files, err2 := strconv.Atoi(parts[1])
		mt, err3 := strconv.ParseInt(parts[2], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("unexpected line %q from the runner for %s: %w", line, parts[3], err)
		}
		repos = append(repos, StoredRepo{Name: parts[3], Size: kb * 1024, Files: files, Modified: time.Unix(mt, 0).UTC()})
	}
	return repos, nil
}

// pullScript and deleteScript run after checkInPod, on the real storage path. They
// check the name again in the pod, so a name could never reach rm as an option or a
// path.
const nameCheck = `case $NAME in "" | . | .. | -* | */* | .*) echo "refusing repository name $NAME" >&2; exit 2 ;; esac
`

const pullScript = `S=$1 NAME=$2
` + nameCheck + `[ -d "$S/$NAME" ] || { echo "no repository $NAME in $S" >&2; exit 3; }
tar -czf - -C "$S" -- "$NAME"
`

// Pull streams <storage>/<name> into dest (which must exist), checking every entry.
func (s *Storage) Pull(ctx context.Context, name, dest string) (int, error) {
	if err := CheckName(name); err != nil {
		return 0, err
	}
	dir, err := s.checkInPod(ctx, false)
	if err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := s.exec(ctx, pullScript, []string{dir, name}, nil, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	n, xerr := repo.Extract(pr, dest, repo.ExtractOptions{StripPrefix: name})
	pr.CloseWithError(xerr)
	eerr := <-done
	if eerr != nil {
		return n, fmt.Errorf("pull %s from %s: %w", name, s.Pod.Ref(), eerr)
	}
	if xerr != nil {
		return n, fmt.Errorf("pull %s from %s: %w", name, s.Pod.Ref(), xerr)
	}
	return n, nil
}

const deleteScript = `S=$1 NAME=$2
` + nameCheck + `[ -d "$S/$NAME" ] || { echo "no repository $NAME in $S" >&2; exit 3; }
rm -rf -- "$S/$NAME"
`

// Delete removes <storage>/<name>, after checkInPod. The .prev copy is kept.
func (s *Storage) Delete(ctx context.Context, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	dir, err := s.checkInPod(ctx, false)
	if err != nil {
		return err
	}
	if err := s.exec(ctx, deleteScript, []string{dir, name}, nil, io.Discard); err != nil {
		return fmt.Errorf("delete %s in %s: %w", name, s.Pod.Ref(), err)
	}
	return nil
}
