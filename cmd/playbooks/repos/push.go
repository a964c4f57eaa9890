// Package repos implements the playbook repository commands: validate-repo, package,
// push, list-dirs, pull and delete.
package repos

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
	"github.com/robusta-dev/robusta-go/internal/playbooks/repo"
)

// StorageFlags locate the runner and its storage folder.
type StorageFlags struct {
	Runner      cmdutil.RunnerFlags
	StoragePath string
}

func addStorageFlags(cmd *cobra.Command, s *StorageFlags) {
	cmdutil.AddRunnerFlags(cmd, &s.Runner)
	cmd.Flags().StringVar(&s.StoragePath, "storage-path", playbooks.DefaultStoragePath, "the playbook storage folder in the runner container")
}

// storage finds the runner and returns its storage.
func storage(ctx context.Context, f *cmdutil.Factory, s StorageFlags) (*playbooks.Storage, error) {
	// Before the runner is even looked for: nothing runs in it with a bad path.
	dir, err := playbooks.ValidateStoragePath(s.StoragePath)
	if err != nil {
		return nil, err
	}
	kf := f.Kube()
	pod, err := kf.FindRunner(ctx, f.FindOptions(s.Runner))
	if err != nil {
		return nil, err
	}
	return &playbooks.Storage{KF: kf, Pod: *pod, Path: dir}, nil
}

// PushOptions for `robusta playbooks push`.
type PushOptions struct {
	IO     *cli.IOStreams
	F      *cmdutil.Factory
	Output func() cli.OutputFormat

	Dir      string
	Name     string
	Reload   bool
	Checksum bool
	Full     bool
	Compress string
	Storage  StorageFlags
}

// NewCmdPush builds `robusta playbooks push DIR`.
func NewCmdPush(f *cmdutil.Factory, runF func(context.Context, *PushOptions) error) *cobra.Command {
	opts := &PushOptions{IO: f.IOStreams, F: f, Output: f.OutputFormat}
	cmd := &cobra.Command{
		Use:   "push DIR",
		Short: "Ship a playbook repository to the runner's storage, atomically",
		Long: `Validate DIR as a playbook repository, package it and stream it into the runner's
playbook storage (` + playbooks.DefaultStoragePath + `/NAME).

When NAME is already there, the runner lists the sha256 of its files and only the
files whose content changed are sent; the unchanged ones are hard links to the live
version's (--full sends everything). The stream is gzip-compressed (fastest level)
when a sample of the files compresses, as source text does; incompressible data goes
as plain tar (--compress). The new version is built beside the live one and checked
(file count and bytes; with --checksum also the sha256 of every file) before one
atomic exchange (or two renames) swaps it in, so the runner never loads a half-copied
tree. Pushing again replaces; the previous version is kept as .NAME.prev. An
interrupted push leaves the live version untouched.

Afterwards the runner's Helm release is checked: the push only lasts with
playbooksPersistentVolume: true, and is only loaded when playbookRepos points at it.`,
		Example: `  robusta playbooks push ./my_playbooks
  robusta playbooks push ./my_playbooks --name my_playbooks --reload`,
		Args: cmdutil.ExactArgs(1, "the repository folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPush(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "folder name in the storage (default: the repository folder's name)")
	cmd.Flags().BoolVar(&opts.Reload, "reload", false, "ask the runner to reload its playbooks afterwards")
	cmd.Flags().BoolVar(&opts.Checksum, "checksum", false, "also verify the sha256 of every file of the new version in the pod")
	cmd.Flags().BoolVar(&opts.Full, "full", false, "send every file, reusing none of the live version's")
	cmd.Flags().StringVar(&opts.Compress, "compress", "auto", "gzip the stream: auto (when a sample of the files compresses), always or never")
	addStorageFlags(cmd, &opts.Storage)
	return cmd
}

func runPush(ctx context.Context, o *PushOptions) error {
	compress := map[string]string{"auto": playbooks.CompressAuto, "always": playbooks.CompressAlways, "never": playbooks.CompressNever}
	mode, ok := compress[o.Compress]
	if !ok {
		return cli.UsageErrorf("--compress %q: use auto, always or never", o.Compress)
	}
	r, err := repo.Load(o.Dir)
	if err != nil {
		return err
	}
	name := o.Name
	if name == "" {
		abs, _ := filepath.Abs(o.Dir)
		name = filepath.Base(abs)
	}
	if err := playbooks.CheckName(name); err != nil {
		return cli.WithHint(err, "pass --name NAME")
	}
	errSt := o.IO.StderrStyles()
	for _, w := range r.Warnings {
		fmt.Fprintf(o.IO.ErrOut, "%s %s\n", errSt.WarningIcon(), w)
	}
	st, err := storage(ctx, o.F, o.Storage)
	if err != nil {
		return err
	}
	// Will the runner use it, and will it survive a restart? Asked while the push runs.
	type releaseCheck struct {
		rel *playbooks.Release
		err error
	}
	relc := make(chan releaseCheck, 1)
	go func() {
		cs, err := st.KF.Clientset()
		if err != nil {
			relc <- releaseCheck{err: err}
			return
		}
		rel, err := playbooks.FindRunnerRelease(ctx, cs, st.Pod.Namespace, st.Pod.Name)
		relc <- releaseCheck{rel, err}
	}()
	bar := o.IO.NewProgressBar("Pushing "+name, 0)
	res, err := st.Push(ctx, r, playbooks.PushOptions{Name: name, Progress: bar, CutAfter: testCutAfter(), Checksum: o.Checksum, Full: o.Full, Compress: mode,
		Packaged: func(info repo.ArchiveInfo) { bar.SetTotal(info.Size) }})
	bar.Finish()
	if err != nil {
		return err
	}
	var warnings []string
	switch rc := <-relc; {
	case rc.err != nil:
		fmt.Fprintf(o.IO.ErrOut, "%s could not check the runner's Helm release: %v\n", errSt.WarningIcon(), rc.err)
	case rc.rel == nil:
		fmt.Fprintf(o.IO.ErrOut, "%s no Helm release found for runner %s: check playbooksPersistentVolume and playbookRepos yourself\n", errSt.WarningIcon(), st.Pod.Ref())
	default:
		warnings = playbooks.PushWarnings(rc.rel, name, st.Path)
	}
	for _, w := range warnings {
		fmt.Fprintf(o.IO.ErrOut, "%s %s\n", errSt.WarningIcon(), w)
	}

	if o.Reload {
		sess, err := playbooks.Connect(ctx, st.KF, st.Pod, 30*time.Second)
		if err != nil {
			return fmt.Errorf("pushed, but reload failed: %w", err)
		}
		_, err = sess.Client.Reload(ctx)
		sess.Close()
		if err != nil {
			return fmt.Errorf("pushed, but reload failed: %w", err)
		}
	}
	if of := o.Output(); of.Structured() {
		return cli.PrintStructured(o.IO.Out, of, map[string]any{"name": res.Name, "path": res.Path, "runner": res.Runner,
			"files": res.Archive.Files, "bytes": res.Archive.Size, "sha256": res.Archive.SHA256, "warnings": warnings, "reloaded": o.Reload, "swap": res.Swap, "compressed": res.Compressed,
			"reused": res.Reused, "sent": res.Sent})
	}
	s := o.IO.Styles()
	verified := "file count and sizes verified"
	if o.Checksum {
		verified = "sha256 of every file verified"
	}
	reused := ""
	if res.Reused > 0 {
		reused = fmt.Sprintf("; %d unchanged files reused, %s sent", res.Reused, cli.HumanBytes(res.Sent))
	}
	fmt.Fprintf(o.IO.Out, "%s Pushed %s to %s:%s (%d files, %s, %s%s)\n", s.SuccessIcon(), s.Bold(name), res.Runner, res.Path,
		res.Archive.Files, cli.HumanBytes(res.Archive.Size), verified, reused)
	if o.Reload {
		fmt.Fprintf(o.IO.Out, "%s Playbooks reloaded\n", s.SuccessIcon())
	}
	return nil
}

// ValidateOptions for `robusta playbooks validate-repo`.
type ValidateOptions struct {
	IO     *cli.IOStreams
	Output func() cli.OutputFormat
	Dir    string
}

// NewCmdValidateRepo builds `robusta playbooks validate-repo DIR`.
func NewCmdValidateRepo(f *cmdutil.Factory) *cobra.Command {
	opts := &ValidateOptions{IO: f.IOStreams, Output: f.OutputFormat}
	return &cobra.Command{
		Use:   "validate-repo DIR",
		Short: "Check that DIR is a playbook repository push can ship",
		Long: `Check a playbook repository: pyproject.toml parses and names the package
([tool.poetry] name or [project] name), the package folder of that name (- and . become _)
holds .py files, the name does not clash with robusta_playbooks, symlinks stay inside.`,
		Args: cmdutil.ExactArgs(1, "the repository folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			r, err := repo.Load(opts.Dir)
			if err != nil {
				return err
			}
			if of := opts.Output(); of.Structured() {
				return cli.PrintStructured(opts.IO.Out, of, map[string]any{"package": r.PackageName, "module": r.ModuleDir,
					"files": r.FileCount(), "bytes": r.TotalSize(), "warnings": r.Warnings})
			}
			for _, w := range r.Warnings {
				fmt.Fprintf(opts.IO.ErrOut, "%s %s\n", opts.IO.StderrStyles().WarningIcon(), w)
			}
			fmt.Fprintf(opts.IO.Out, "%s %s is a valid playbook repository: package %s in %s/ (%d files, %s)\n",
				opts.IO.Styles().SuccessIcon(), opts.Dir, r.PackageName, r.ModuleDir, r.FileCount(), cli.HumanBytes(r.TotalSize()))
			return nil
		},
	}
}
