package playbooks

import (
	"context"
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

// pushScript receives the repository as a tar stream and unpacks it while it arrives,
// into a hidden temp folder beside the target. The stream must not depend on stdin EOF,
// which not every exec path passes on: in MODE tar it is exactly N bytes of tar; in MODE
// tgz it is gzip cut into frames, each a line with its length then that many bytes,
// ended by a frame of length 0 (the sender cannot know the compressed length up front).
// It then checks what arrived: the file count and the total of file sizes always (a cut
// stream fails here or in tar), and, with SUM set, the sha256 of the tar stream,
// computed on the side through a FIFO. Only then does it swap the new tree in: with one
// atomic exchange (renameat2 RENAME_EXCHANGE, reached through perl or python3, as Debian
// 12's mv cannot) where the kernel allows it, else with two renames, between which the
// folder is missing for an instant (if the second fails, the first is undone). Either way
// the runner sees the old tree or the new one, never a mix. The old one is kept as
// .NAME.prev; the one before it is renamed aside and removed in the background after the
// reply. The receiver records its pid so an interrupted push can stop it (stopScript).
//
// Two pushes of one name never interleave: a push holds .NAME.lock (mkdir is atomic)
// with its shell's pid inside. A second push finds the holder alive and gives up (exit
// 7) without touching anything (it still reads its stream to the end: an exec whose
// command exits with stdin unread may lose the exit status on the way back). A lock
// whose holder died (the exec was killed) is stale and taken over, and so are the
// dead push's temporary files.
const pushScript = `set -eu
S=$1 NAME=$2 MODE=$3 N=$4 SUM=$5 FILES=$6 BYTES=$7 TAG=$8 LIMIT=$9
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
  tar) READ='exec head -c "$1"' ;;
  tgz) READ='while IFS= read -r n && [ "$n" -gt 0 ]; do head -c "$n"; done' ;;
  *) echo "unknown transfer mode $MODE" >&2; exit 2 ;;
esac
# RECV PIDFILE: the receiver, with its own pid (stopScript kills it) and a time limit.
RECV='echo $$ > "$1"; if command -v timeout >/dev/null 2>&1; then exec timeout "$2" sh -c "$3" sh "$4"; fi; exec sh -c "$3" sh "$4"'
# drain reads the stream to its end, unused: an exec whose command exits with stdin
# unread may lose the exit status on the way back.
drain() { sh -c "$RECV" sh /dev/null "$LIMIT" "$READ" "$N" > /dev/null || true; }
mkdir -p "$S"
# The client checked the path as written (not / nor a system folder); a symbolic link
# could still lead there. Push only into a real path.
REAL=$(cd -P -- "$S" && pwd -P)
if [ "$REAL" != "$S" ]; then
  echo "storage folder $S leads to $REAL (through a symbolic link): pass --storage-path $REAL if that is the folder you mean" >&2
  drain
  exit 11
fi
if ! mkdir "$LOCK" 2>/dev/null; then
  OWNER=$(cat "$LOCK/pid" 2>/dev/null || true)
  if [ -z "$OWNER" ]; then sleep 1; OWNER=$(cat "$LOCK/pid" 2>/dev/null || true); fi
  if [ -n "$OWNER" ] && kill -0 "$OWNER" 2>/dev/null; then
    echo "another push of $NAME is in progress (shell $OWNER in the runner): wait for it to finish" >&2
    drain
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
trap 'rm -rf "$TMP" "$TMP.fifo" "$TMP.sum" "$TMP.pid" "$TMP.main" "$TMP.swapping" "$LOCK"' EXIT
UNZIP=cat
if [ "$MODE" = tgz ]; then UNZIP='gzip -dc'; fi
if [ -n "$SUM" ]; then
  mkfifo "$TMP.fifo"
  sha256sum < "$TMP.fifo" > "$TMP.sum" &
  HASHER=$!
  sh -c "$RECV" sh "$TMP.pid" "$LIMIT" "$READ" "$N" | $UNZIP | tee "$TMP.fifo" | tar -xmf - -C "$TMP" --no-same-owner
  wait $HASHER
  HASH=$(cut -d' ' -f1 < "$TMP.sum")
  if [ "$HASH" != "$SUM" ]; then echo "transfer incomplete or damaged: sha256 $HASH, sent $SUM" >&2; exit 4; fi
elif [ "$MODE" = tgz ]; then
  sh -c "$RECV" sh "$TMP.pid" "$LIMIT" "$READ" "$N" | tar -xzmf - -C "$TMP" --no-same-owner
else
  sh -c "$RECV" sh "$TMP.pid" "$LIMIT" "$READ" "$N" | tar -xmf - -C "$TMP" --no-same-owner
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
rm -f "$TMP.fifo" "$TMP.sum" "$TMP.pid" "$TMP.main" "$TMP.swapping"
rm -rf "$LOCK"
trap - EXIT
echo "pushed $COUNT $SWAP"
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
	Compressed bool          `json:"compressed"`
	Elapsed    time.Duration `json:"-"`
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
	// Packaged is told the archive's size before sending starts, may be nil.
	Packaged func(repo.ArchiveInfo)
	// Checksum adds a sha256 of the whole stream, computed in the pod, to the
	// file-count and byte-total checks. It reads the repository twice locally.
	Checksum bool
	// CutAfter, when positive, breaks the stream after that many bytes: a test hook
	// standing for a dropped connection.
	CutAfter int64
	// Compress is CompressAuto, CompressAlways or CompressNever.
	Compress string
}

// ErrTransferCut is returned when the stream to the runner broke mid-way.
var ErrTransferCut = errors.New("the connection to the runner broke during the transfer")

// Push streams r as a tar and installs it as <storage>/<name>. Source text goes
// gzip-compressed (fast level, framed: see pushScript); data that a sample shows to be
// incompressible goes as plain tar, whose length, which the receiver needs up front,
// comes from the file sizes, or, with Checksum, from a first pass that also hashes.
// Nothing is held in memory beyond one frame, or written to disk.
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
	var info repo.ArchiveInfo
	var err error
	if o.Checksum {
		info, err = r.WriteTar(io.Discard, "")
	} else {
		info, err = r.TarInfo()
	}
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", r.Root, err)
	}
	if o.Packaged != nil {
		o.Packaged(info)
	}

	mode := "tar"
	if o.Compress == CompressAlways || (o.Compress == CompressAuto && compressible(r)) {
		mode = "tgz"
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pr, pw := io.Pipe()
	go func() {
		var tw io.Writer = pw
		var fw *frameWriter
		var gz *gzip.Writer
		if mode == "tgz" {
			fw = newFrameWriter(pw)
			gz, _ = gzip.NewWriterLevel(fw, gzip.BestSpeed)
			tw = gz
		}
		if o.Progress != nil {
			tw = io.MultiWriter(tw, o.Progress)
		}
		second, err := r.WriteTar(tw, "")
		if err == nil && (second.Size != info.Size || (o.Checksum && second.SHA256 != info.SHA256)) {
			err = fmt.Errorf("the repository changed while it was being pushed: push again")
		}
		if err == nil && gz != nil {
			if err = gz.Close(); err == nil {
				err = fw.Close()
			}
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	var src io.Reader = pr
	if o.CutAfter > 0 {
		src = &repo.CappedReader{R: src, N: o.CutAfter, Err: ErrTransferCut}
	}
	src = &cancelOnError{r: src, cancel: cancel}

	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	limit := 120 + info.Size/(256<<10)
	var out strings.Builder
	sum := ""
	if o.Checksum {
		sum = info.SHA256
	}
	err = s.exec(ctx, pushScript, []string{s.Path, o.Name, mode, strconv.FormatInt(info.Size, 10), sum,
		strconv.Itoa(info.Files), strconv.FormatInt(r.TotalSize(), 10), tag, strconv.FormatInt(limit, 10)}, src, &out)
	if err != nil {
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
	reply := strings.Fields(out.String())
	if len(reply) != 3 || reply[0] != "pushed" {
		return nil, fmt.Errorf("push %s to %s: unexpected reply %q", o.Name, s.Pod.Ref(), out.String())
	}
	return &PushResult{Name: o.Name, Path: path.Join(s.Path, o.Name), Runner: s.Pod.Ref(), Archive: info,
		Swap: reply[2], Compressed: mode == "tgz", Elapsed: time.Since(start)}, nil
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
// processes, small enough that the first bytes leave early.
const frameSize = 1 << 20

// frameWriter cuts a stream of unknown length into frames for pushScript's tgz mode:
// "LEN\n" then LEN bytes, each frame one write, and "0\n" at Close.
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
rm -rf "$P" "$P.fifo" "$P.sum" "$P.pid" "$P.main"
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
