package playbooks

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

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
// real path (symbolic links resolved).
const checkScript = `if [ ! -d "$1" ]; then
  echo "storage folder $1 does not exist in the runner (or is not a folder)" >&2; exit 3
fi
cd -P -- "$1" && pwd -P
`

// checkInPod runs checkScript before a command that removes or reads repositories: the
// storage folder must exist as a folder, and its real path (a symbolic link could lead
// to /) must pass ValidateStoragePath too. It returns the real path, which the command
// then uses.
func (s *Storage) checkInPod(ctx context.Context) (string, error) {
	if _, err := ValidateStoragePath(s.Path); err != nil {
		return "", err
	}
	var out strings.Builder
	if err := s.exec(ctx, checkScript, []string{s.Path}, nil, &out); err != nil {
		var ee *kube.ExitError
		if errors.As(err, &ee) && ee.Code == 3 {
			return "", cli.WithHint(fmt.Errorf("storage folder %s does not exist in runner %s", s.Path, s.Pod.Ref()),
				"check --storage-path; the chart creates "+DefaultStoragePath+" with playbooksPersistentVolume: true")
		}
		return "", fmt.Errorf("check storage folder %s in %s: %w", s.Path, s.Pod.Ref(), err)
	}
	resolved := strings.TrimSuffix(out.String(), "\n")
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

// pushScript receives a repository and installs it as <storage>/<name>, in one exec
// that talks both ways, so a push costs one round trip:
//
//  1. It takes the lock and, when the client asks for reuse and a live version exists,
//     lists the regular files of the live version: size, modification time and path
//     (REUSE=stat), or their sha256 (REUSE=sum, sha256sum's lines); then "ready". The client sends nothing before "ready": a
//     script that gives up earlier (lock held, linked storage) needs no drain.
//  2. It reads three framed sections from stdin (each frame a line with its length,
//     then that many bytes; a frame of length 0 ends the section, so nothing depends
//     on stdin EOF, which not every exec path passes on): the files to keep (paths,
//     one a line, each one the listing offered), a tar (MODE tar) or gzip'd tar (MODE
//     tgz) of everything else, and with CHECK set the sha256 of every regular file of
//     the new version.
//  3. It builds the new version in a hidden temp folder beside the live one: kept
//     files are hard links to the live ones (same content, no copy; nothing ever
//     writes into a pushed file, each push makes new files), the rest unpacked as it
//     arrives.
//  4. It checks what it built: the file count and the total of file sizes always (a
//     cut stream fails here or in tar), and with CHECK the sha256 of every file,
//     kept or sent.
//  5. Only then does it swap the new tree in: with one atomic exchange (renameat2
//     RENAME_EXCHANGE, reached through perl or python3, as Debian 12's mv cannot)
//     where the kernel allows it, else with two renames, between which the folder is
//     missing for an instant (if the second fails, the first is undone). Either way
//     the runner sees the old tree or the new one, never a mix. The old one is kept as
//     .NAME.prev; the one before it is renamed aside and removed in the background
//     after the reply. The receiver records its pid so an interrupted push can stop it
//     (stopScript).
//
// Two pushes of one name never interleave: a push holds .NAME.lock (mkdir is atomic)
// with its shell's pid inside. A second push finds the holder alive and gives up (exit
// 7) without touching anything. A lock whose holder died (the exec was killed) is stale
// and taken over, and so are the dead push's temporary files.
const pushScript = `set -eu
S=$1 NAME=$2 MODE=$3 CHECK=$4 FILES=$5 BYTES=$6 TAG=$7 LIMIT=$8 REUSE=$9
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
case $MODE in
  tar) TARX=-xf ;;
  tgz) TARX=-xzf ;;
  *) echo "unknown transfer mode $MODE" >&2; exit 2 ;;
esac
# FRAMES copies one framed section of stdin to stdout (head -c never reads ahead).
FRAMES='while IFS= read -r n && [ "$n" -gt 0 ]; do head -c "$n"; done'
# RECV PIDFILE LIMIT: FRAMES with its own pid (stopScript kills it) and a time limit.
RECV='echo $$ > "$1"; if command -v timeout >/dev/null 2>&1; then exec timeout "$2" sh -c "$3"; fi; exec sh -c "$3"'
section() { sh -c "$RECV" sh "$TMP.pid" "$LIMIT" "$FRAMES"; }
mkdir -p "$S"
# The client checked the path as written (not / nor a system folder); a symbolic link
# could still lead there. Push only into a real path.
REAL=$(cd -P -- "$S" && pwd -P)
if [ "$REAL" != "$S" ]; then
  echo "storage folder $S leads to $REAL (through a symbolic link): pass --storage-path $REAL if that is the folder you mean" >&2
  exit 11
fi
if ! mkdir "$LOCK" 2>/dev/null; then
  OWNER=$(cat "$LOCK/pid" 2>/dev/null || true)
  if [ -z "$OWNER" ]; then sleep 1; OWNER=$(cat "$LOCK/pid" 2>/dev/null || true); fi
  if [ -n "$OWNER" ] && kill -0 "$OWNER" 2>/dev/null; then
    echo "another push of $NAME is in progress (shell $OWNER in the runner): wait for it to finish" >&2
    exit 7
  fi
  rm -rf "$LOCK"
  mkdir "$LOCK"
fi
echo $$ > "$LOCK/pid"
trap 'rm -rf "$LOCK"' EXIT
echo $$ > "$TMP.main"
# stopScript marks a push it stops before it could see .main: give up then.
if [ -e "$TMP.cancel" ]; then rm -f "$TMP.main" "$TMP.cancel"; exit 8; fi
for d in "$S/.$NAME.tmp-"*; do
  case $d in "$TMP.main") continue ;; esac
  if [ -e "$d" ]; then rm -rf "$d"; fi
done
mkdir "$TMP"
trap 'rm -rf "$TMP" "$TMP.live" "$TMP.keep" "$TMP.sums" "$TMP.bad" "$TMP.pid" "$TMP.main" "$TMP.swapping" "$LOCK"' EXIT
: > "$TMP.live"
# Listed: every regular file whose path has no newline (one file a line).
NL='
'
LISTED=
case $REUSE in
  stat) LISTED='^[0-9]+ [0-9.]+ \./' ;;
  sum) LISTED='^[0-9a-f]+  \./' ;;
  *) REUSE= ;;
esac
if [ -n "$REUSE" ] && [ -d "$S/$NAME" ]; then
  if [ "$REUSE" = stat ]; then
    (cd "$S/$NAME" && find . -type f ! -path "*$NL*" -printf '%s %T@ %p\n') > "$TMP.live"
  else
    (cd "$S/$NAME" && find . -type f ! -path "*$NL*" -print0 | xargs -0 -r sha256sum) > "$TMP.live"
  fi
  cat "$TMP.live"
fi
echo ready
section > "$TMP.keep"
KEPT=0
if [ -s "$TMP.keep" ]; then
  # Only files the listing offered: a path of the live version, as listed.
  if ! awk -v listed="$LISTED" 'NR == FNR { if (sub(listed, "")) live[$0] = 1; next } { n++ } !($0 in live) { bad = 1; exit } END { if (bad) exit 1; print n }' "$TMP.live" "$TMP.keep" > "$TMP.bad"; then
    echo "the client asked to keep a file the live version does not hold" >&2; exit 12
  fi
  KEPT=$(cat "$TMP.bad")
  (cd "$S/$NAME" && tr '\n' '\0' < "$TMP.keep" | xargs -0 cp -l --parents -t "$TMP" --)
fi
section | tar "$TARX" - -C "$TMP" --no-same-owner
if [ -n "$CHECK" ]; then
  section > "$TMP.sums"
  if ! (cd "$TMP" && sha256sum --quiet --strict -c "$TMP.sums") > "$TMP.bad" 2>&1; then
    echo "transfer incomplete or damaged: $(head -c 300 "$TMP.bad" | tr '\n' ' ')" >&2; exit 4
  fi
fi
# One walk for both checks: entries (files and links) and the bytes of the files.
set -- $(find "$TMP" \( -type f -o -type l \) -printf '%y %s\n' | awk '{n++} $1 == "f" {s += $2} END {printf "%d %d", n, s}')
COUNT=$1 GOT=$2
if [ "$COUNT" != "$FILES" ]; then echo "transfer incomplete: unpacked $COUNT files, expected $FILES" >&2; exit 5; fi
if [ "$GOT" != "$BYTES" ]; then echo "transfer incomplete: unpacked $GOT bytes of file data, expected $BYTES" >&2; exit 6; fi
# From here on the swap must finish: no signal stops it, and stopScript keeps off.
trap '' TERM INT HUP
: > "$TMP.swapping"
SWAP=rename
OLD=
if [ -e "$S/$NAME" ]; then
  # The previous .prev is renamed aside now and removed after the reply.
  if [ -e "$S/.$NAME.prev" ]; then OLD="$S/.$NAME.tmp-$TAG.old"; mv "$S/.$NAME.prev" "$OLD"; fi
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
rm -f "$TMP.live" "$TMP.keep" "$TMP.sums" "$TMP.bad" "$TMP.pid" "$TMP.main" "$TMP.swapping"
rm -rf "$LOCK"
trap - EXIT
echo "pushed $COUNT $SWAP $KEPT"
# Detached, so the exec ends now; a push that finds it unfinished removes it (tmp-*).
if [ -n "$OLD" ]; then (rm -rf "$OLD" < /dev/null > /dev/null 2>&1 &); fi
`

// PushResult is what a push did.
type PushResult struct {
	Name    string           `json:"name"`
	Path    string           `json:"path"`
	Runner  string           `json:"runner"`
	Archive repo.ArchiveInfo `json:"archive"`
	// Swap is how the new tree went live: rename (first push), exchange (one atomic
	// renameat2) or renames (two renames: the folder was missing for an instant).
	Swap string `json:"swap"`
	// Compressed: the stream went gzip-compressed.
	Compressed bool `json:"compressed"`
	// Reused is how many files were unchanged in the live version and linked from it
	// instead of sent; Sent the bytes of the stream that carried the rest.
	Reused  int           `json:"reused"`
	Sent    int64         `json:"sent"`
	Elapsed time.Duration `json:"-"`
}

// Compression choices for a push.
const (
	CompressAuto   = "" // gzip when a sample of the data compresses
	CompressAlways = "always"
	CompressNever  = "never"
)

// PushOptions tune a push.
type PushOptions struct {
	Name string
	// Progress receives the tar stream's bytes as they are sent (before compression;
	// a progress bar), may be nil.
	Progress io.Writer
	// Packaged is told, before sending starts, how many bytes of file data will be
	// sent (Size) and how many files the repository has (Files); may be nil.
	Packaged func(repo.ArchiveInfo)
	// Checksum has the pod check the sha256 of every file of the new version, sent or
	// reused, against the local files. ArchiveInfo.SHA256 is then the sha256 of that
	// list of sums (a digest of the whole tree).
	Checksum bool
	// Full sends every file, reusing nothing from the live version.
	Full bool
	// CutAfter, when positive, breaks the stream after that many bytes: a test hook
	// standing for a dropped connection.
	CutAfter int64
	// Compress is CompressAuto, CompressAlways or CompressNever.
	Compress string
}

// ErrTransferCut is returned when the stream to the runner broke mid-way.
var ErrTransferCut = errors.New("the connection to the runner broke during the transfer")

// execFrame is the SPDY frame size for push's stdin (see kube.ExecOptions.StdinFrame).
const execFrame = 1 << 20

// Push installs r as <storage>/<name> through pushScript: the pod lists the sha256 of
// the live version's files, files whose local content is the same are linked from it,
// the rest go as a tar stream, gzip-compressed (fast level) when a sample shows the
// data compresses. Nothing is held in memory beyond one frame, or written to disk.
func (s *Storage) Push(ctx context.Context, r *repo.Repo, o PushOptions) (*PushResult, error) {
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	start := time.Now()
	// The path as written; the push script refuses one that a symbolic link leads
	// elsewhere (checking in the pod first would cost a round trip).
	if _, err := ValidateStoragePath(s.Path); err != nil {
		return nil, err
	}
	mode := "tar"
	if o.Compress == CompressAlways || (o.Compress == CompressAuto && compressible(r)) {
		mode = "tgz"
	}
	files := r.FileCount()
	total := r.TotalSize()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	inR, inW := io.Pipe()
	defer inR.Close() // a sender still writing when the exec failed stops
	outR, outW := io.Pipe()
	var src io.Reader = inR
	if o.CutAfter > 0 {
		src = &repo.CappedReader{R: src, N: o.CutAfter, Err: ErrTransferCut}
	}
	sent := &countingReader{r: src}
	src = &cancelOnError{r: sent, cancel: cancel}

	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	limit := 120 + total/(256<<10)
	// Unchanged files are told by size and modification time, as rsync does; with
	// Checksum by their sha256 (the pod hashes the live version, the client its files).
	check, reuse := "", "stat"
	if o.Checksum {
		check, reuse = "1", "sum"
	}
	if o.Full {
		reuse = ""
	}
	done := make(chan error, 1)
	go func() {
		err := s.KF.Exec(ctx, kube.ExecOptions{Namespace: s.Pod.Namespace, Pod: s.Pod.Name, Container: kube.RunnerContainer,
			Command: append([]string{"sh", "-c", pushScript, "sh"}, s.Path, o.Name, mode, check, strconv.Itoa(files),
				strconv.FormatInt(total, 10), tag, strconv.FormatInt(limit, 10), reuse),
			Stdin: src, Stdout: outW, StdinFrame: execFrame})
		outW.CloseWithError(err)
		done <- err
	}()
	fail := func(err error) (*PushResult, error) {
		if ctx.Err() != nil {
			// Interrupted or cut: a receiver that never sees the end of its input (some
			// exec paths do not pass stdin EOF on) would wait; stop it now.
			s.stopReceiver(s.Path, o.Name, tag)
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

	out := bufio.NewReader(outR)
	live, ready := readLiveListing(out, reuse)
	if !ready {
		// The script gave up before reading anything (its error is the exec's): end
		// stdin so the exec can finish.
		inW.Close()
		_, _ = io.Copy(io.Discard, out)
		err := <-done
		if err == nil {
			err = fmt.Errorf("the runner ended the push without a reply")
		}
		return fail(err)
	}
	plan, err := planPush(r, live, reuse, start)
	if err != nil {
		inW.CloseWithError(err)
		<-done
		return nil, fmt.Errorf("package %s: %w", r.Root, err)
	}
	if o.Packaged != nil {
		o.Packaged(repo.ArchiveInfo{Size: plan.sendBytes, Files: files})
	}
	sums := make(chan string, 1)
	go func() {
		digest, err := plan.send(inW, r, mode, o, start)
		inW.CloseWithError(err)
		sums <- digest
	}()
	reply, _ := io.ReadAll(out)
	if err := <-done; err != nil {
		return fail(err)
	}
	digest := <-sums
	fields := strings.Fields(string(reply))
	if len(fields) != 4 || fields[0] != "pushed" {
		return nil, fmt.Errorf("push %s to %s: unexpected reply %q", o.Name, s.Pod.Ref(), reply)
	}
	reused, _ := strconv.Atoi(fields[3])
	return &PushResult{Name: o.Name, Path: path.Join(s.Path, o.Name), Runner: s.Pod.Ref(),
		Archive: repo.ArchiveInfo{Size: total, Files: files, SHA256: digest},
		Swap:    fields[2], Compressed: mode == "tgz", Reused: reused, Sent: sent.n, Elapsed: time.Since(start)}, nil
}

// readLiveListing reads pushScript's listing of the live version up to "ready": path
// -> "SIZE SECONDS" (mode stat) or path -> sha256 in hex (mode sum). Lines it cannot
// read (sha256sum escapes a name with a backslash) are left out: those files are sent.
func readLiveListing(r *bufio.Reader, mode string) (map[string]string, bool) {
	live := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, false
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "ready" {
			return live, true
		}
		switch mode {
		case "sum":
			sum, p, ok := strings.Cut(line, "  ./")
			if ok && len(sum) == 64 {
				live[p] = sum
			}
		case "stat":
			size, rest, ok1 := strings.Cut(line, " ")
			mtime, p, ok2 := strings.Cut(rest, " ./")
			secs, _, _ := strings.Cut(mtime, ".")
			if ok1 && ok2 {
				live[p] = size + " " + secs
			}
		}
	}
}

// pushPlan is what to keep from the live version and what to send.
type pushPlan struct {
	keep      map[string]string // path -> sha256 (hex) of the files linked from the live version
	sendBytes int64
}

// planPush keeps the regular files that are unchanged in the live version: same size
// and modification time (the time push writes, see repo.PushModTime) in mode stat,
// same sha256 in mode sum. Names with a newline cannot be listed in the keep section:
// they are always sent.
func planPush(r *repo.Repo, live map[string]string, mode string, now time.Time) (*pushPlan, error) {
	p := &pushPlan{keep: map[string]string{}}
	for _, f := range r.Files {
		if !f.Mode.IsRegular() {
			continue
		}
		if have, ok := live[f.Path]; ok && !strings.ContainsAny(f.Path, "\n\\") {
			switch mode {
			case "stat":
				// A recent file always goes: an edit later in the same second would
				// give the same size and time as the version sent now.
				if !repo.Recent(f, now) && have == fmt.Sprintf("%d %d", f.Size, repo.PushModTime(f, now).Unix()) {
					p.keep[f.Path] = ""
					continue
				}
			case "sum":
				local, err := repo.HashFile(f)
				if err != nil {
					return nil, err
				}
				if hex.EncodeToString(local[:]) == have {
					p.keep[f.Path] = have
					continue
				}
			}
		}
		p.sendBytes += f.Size
	}
	return p, nil
}

// send writes the three sections pushScript reads: the paths to keep, the tar (or
// gzip'd tar) of the other files, and with o.Checksum every file's sha256. It returns
// the sha256 of that last section (empty without o.Checksum).
func (p *pushPlan) send(w io.Writer, r *repo.Repo, mode string, o PushOptions, now time.Time) (string, error) {
	fw := newFrameWriter(w)
	for _, f := range r.Files {
		if _, ok := p.keep[f.Path]; ok {
			if _, err := io.WriteString(fw, f.Path+"\n"); err != nil {
				return "", err
			}
		}
	}
	if err := fw.Close(); err != nil {
		return "", err
	}

	var tw io.Writer = fw
	var gz *gzip.Writer
	if mode == "tgz" {
		gz, _ = gzip.NewWriterLevel(fw, gzip.BestSpeed)
		tw = gz
	}
	if o.Progress != nil {
		tw = io.MultiWriter(tw, o.Progress)
	}
	sums := map[string]string{}
	topts := repo.TarOptions{Skip: func(f repo.File) bool { _, ok := p.keep[f.Path]; return ok }, ModTimes: true, Now: now}
	if o.Checksum {
		topts.FileSum = func(f repo.File, sum [sha256.Size]byte) { sums[f.Path] = hex.EncodeToString(sum[:]) }
	}
	if _, err := r.WriteTarSelect(tw, topts); err != nil {
		return "", err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return "", err
		}
	}
	if err := fw.Close(); err != nil {
		return "", err
	}
	if !o.Checksum {
		return "", nil
	}

	// sha256sum -c lines; a name with a backslash or a newline is escaped as
	// sha256sum escapes it (the line then starts with a backslash).
	h := sha256.New()
	mw := io.MultiWriter(fw, h)
	for _, f := range r.Files {
		if !f.Mode.IsRegular() {
			continue
		}
		sum, ok := p.keep[f.Path]
		if !ok {
			sum = sums[f.Path]
		}
		line := sum + "  " + f.Path + "\n"
		if strings.ContainsAny(f.Path, "\n\\") {
			line = `\` + sum + "  " + strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(f.Path) + "\n"
		}
		if _, err := io.WriteString(mw, line); err != nil {
			return "", err
		}
	}
	if err := fw.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// compressible reads a sample of the repository (up to 64 files spread over it, 16 KiB
// of each) and says whether gzip's fastest level shrinks it by a fifth or more. Below
// 256 KiB of data compression is not worth starting gzip in the pod for.
func compressible(r *repo.Repo) bool {
	var files []repo.File
	var total int64
	for _, f := range r.Files {
		if f.Mode.IsRegular() && f.Size > 0 {
			files = append(files, f)
			total += f.Size
		}
	}
	if total < 256<<10 {
		return false
	}
	var in int64
	var out countingWriter
	zw, _ := flate.NewWriter(&out, flate.BestSpeed)
	step := max(1, len(files)/64)
	buf := make([]byte, 16<<10)
	for i := 0; i < len(files); i += step {
		fh, err := os.Open(files[i].AbsPath)
		if err != nil {
			continue // the push itself will report it
		}
		n, _ := io.ReadFull(fh, buf)
		fh.Close()
		_, _ = zw.Write(buf[:n])
		in += int64(n)
	}
	_ = zw.Close()
	return in > 0 && out.n*5 <= in*4
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// frameSize is the most a frame holds: big enough that the pod starts few head
// processes (one per frame), small enough that the first bytes leave early.
const frameSize = 4 << 20

// frameWriter cuts a stream of unknown length into frames for pushScript's sections:
// "LEN\n" then LEN bytes, each frame one write, and "0\n" at Close. After Close it
// can carry the next section.
type frameWriter struct {
	w   io.Writer
	buf []byte // frameHead bytes kept free for the header, then the data
}

const frameHead = 16

func newFrameWriter(w io.Writer) *frameWriter {
	return &frameWriter{w: w, buf: make([]byte, frameHead, frameHead+frameSize)}
}

func (f *frameWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), frameHead+frameSize-len(f.buf))
		f.buf = append(f.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(f.buf) == frameHead+frameSize {
			if err := f.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (f *frameWriter) flush() error {
	data := len(f.buf) - frameHead
	if data == 0 {
		return nil
	}
	head := strconv.AppendInt(nil, int64(data), 10)
	head = append(head, '\n')
	start := frameHead - len(head)
	copy(f.buf[start:], head)
	_, err := f.w.Write(f.buf[start:])
	f.buf = f.buf[:frameHead]
	return err
}

// Close sends what is left and the end frame.
func (f *frameWriter) Close() error {
	if err := f.flush(); err != nil {
		return err
	}
	_, err := f.w.Write([]byte("0\n"))
	return err
}

// stopScript ends an interrupted push in the pod: it stops the script and its receiver
// and removes their files. The exec'd shell may already be gone with its trap never run
// (some runtimes kill it when the stream closes), so it cannot be left to clean up. A
// push already swapping (marker file; the script ignores signals from then on) is left
// to finish. A push that has not yet written its pid finds the .cancel marker and gives
// up (the marker is made before .main is read, and the push writes .main before it
// looks for the marker, so one of the two sees the other). The lock goes too, if it is
// that push's or its holder is dead.
const stopScript = `P="$1/.$2.tmp-$3" LOCK="$1/.$2.lock"
[ -e "$P.swapping" ] && exit 0
[ -d "$1" ] && : > "$P.cancel"
MAIN=$(cat "$P.main" 2>/dev/null || true)
for f in "$P.main" "$P.pid"; do
  if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
done
sleep 0.2
[ -e "$P.swapping" ] && exit 0
rm -rf "$P" "$P.live" "$P.keep" "$P.sums" "$P.bad" "$P.pid" "$P.main"
OWNER=$(cat "$LOCK/pid" 2>/dev/null || true)
if [ -n "$OWNER" ] && { [ "$OWNER" = "$MAIN" ] || ! kill -0 "$OWNER" 2>/dev/null; }; then rm -rf "$LOCK"; fi
if [ -n "$MAIN" ]; then rm -f "$P.cancel"; fi
`

func (s *Storage) stopReceiver(dir, name, tag string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.exec(ctx, stopScript, []string{dir, name, tag}, nil, io.Discard)
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
	dir, err := s.checkInPod(ctx)
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

// pullAllScript archives every entry of the storage folder that is not hidden (push's
// .NAME.prev copies and temporary folders are its own bookkeeping). Entries go in as
// ./NAME so no name reaches tar as an option; an empty storage is an empty archive.
const pullAllScript = `S=$1
cd -- "$S" || exit 3
set --
for e in *; do
  [ -e "$e" ] || [ -L "$e" ] || continue
  set -- "$@" "./$e"
done
if [ $# -eq 0 ]; then tar -czf - -T /dev/null; else tar -czf - -- "$@"; fi
`

// PullAll streams the whole storage folder (what the Python CLI's pull copied, less
// hidden entries) into dest, which must exist, checking every entry as Pull does.
func (s *Storage) PullAll(ctx context.Context, dest string) (int, error) {
	dir, err := s.checkInPod(ctx)
	if err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := s.exec(ctx, pullAllScript, []string{dir}, nil, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	n, xerr := repo.Extract(pr, dest, repo.ExtractOptions{})
	pr.CloseWithError(xerr)
	eerr := <-done
	// A refused entry is the cause; the remote tar then fails only on the closed pipe.
	if xerr != nil {
		return n, fmt.Errorf("pull %s from %s: %w", s.Path, s.Pod.Ref(), xerr)
	}
	if eerr != nil {
		return n, fmt.Errorf("pull %s from %s: %w", s.Path, s.Pod.Ref(), eerr)
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
	dir, err := s.checkInPod(ctx)
	if err != nil {
		return err
	}
	if err := s.exec(ctx, deleteScript, []string{dir, name}, nil, io.Discard); err != nil {
		return fmt.Errorf("delete %s in %s: %w", name, s.Pod.Ref(), err)
	}
	return nil
}
