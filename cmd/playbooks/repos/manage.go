package repos

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
	"github.com/robusta-dev/robusta-go/internal/playbooks/repo"
)

// NewCmdListDirs builds `robusta playbooks list-dirs`.
func NewCmdListDirs(f *cmdutil.Factory) *cobra.Command {
	var sf StorageFlags
	cmd := &cobra.Command{
		Use:   "list-dirs",
		Short: "List the playbook repositories in the runner's storage",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := storage(cmd.Context(), f, sf)
			if err != nil {
				return err
			}
			repos, err := st.List(cmd.Context())
			if err != nil {
				return err
			}
			if of := f.OutputFormat(); of.Structured() {
				if repos == nil {
					repos = []playbooks.StoredRepo{}
				}
				return cli.PrintStructured(f.IOStreams.Out, of, repos)
			}
			if len(repos) == 0 {
				fmt.Fprintf(f.IOStreams.ErrOut, "No playbook repositories in %s on %s\n", st.Path, st.Pod.Ref())
				return nil
			}
			t := cli.NewTable(f.IOStreams.Out, "name", "size", "files", "modified")
			for _, r := range repos {
				t.Row(r.Name, cli.HumanBytes(r.Size), fmt.Sprint(r.Files), r.Modified.Local().Format(time.DateTime))
			}
			return t.Flush()
		},
	}
	addStorageFlags(cmd, &sf)
	return cmd
}

// PullOptions for `robusta playbooks pull`.
type PullOptions struct {
	F      *cmdutil.Factory
	IO     *cli.IOStreams
	Output func() cli.OutputFormat

	// Name is empty to pull the whole storage.
	Name  string
	Dest  string
	Force bool
	// AllDir is --dir: where pull without NAME copies to.
	AllDir  string
	Storage StorageFlags
}

// NewCmdPull builds `robusta playbooks pull [NAME [DIR]]`.
func NewCmdPull(f *cmdutil.Factory) *cobra.Command {
	opts := &PullOptions{F: f, IO: f.IOStreams, Output: f.OutputFormat}
	cmd := &cobra.Command{
		Use:   "pull [NAME [DIR]]",
		Short: "Copy playbook repositories from the runner's storage to a local folder",
		Long: `Copy NAME from the runner's storage into DIR (default: ./NAME).

Without NAME, copy the whole storage as the Python CLI's pull did: every repository
into a folder of its own under --dir (default: ./playbooks), so ./playbooks/NAME/...
(hidden entries, such as the .NAME.prev copies push keeps, are left out).

The archive is checked as it is unpacked, beside DIR, and DIR is replaced only when all
of it arrived (an error or Ctrl-C leaves DIR as it was): absolute paths, "..", hard
links, devices and symlinks that resolve outside DIR (also through other links) are
refused, as are archives of more than 100,000 entries, 2 GiB of files or names longer
than 1,024 bytes.`,
		Example: `  robusta playbooks pull                      # every repository, into ./playbooks
  robusta playbooks pull --dir backup/playbooks
  robusta playbooks pull my_playbooks ./my_playbooks`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 2 {
				return cli.UsageErrorf("%q takes NAME and optionally DIR, or nothing to pull every repository", cmd.CommandPath())
			}
			if len(args) > 0 && opts.AllDir != "" {
				return cli.UsageErrorf("--dir is where pull without NAME puts every repository; with NAME, give the folder as DIR: %s %s DIR", cmd.CommandPath(), args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				opts.Dest = opts.AllDir
				if opts.Dest == "" {
					opts.Dest = defaultPullAllDir
				}
				return runPull(cmd.Context(), opts)
			}
			opts.Name = args[0]
			opts.Dest = args[0]
			if len(args) == 2 {
				opts.Dest = args[1]
			}
			return runPull(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace the contents of a non-empty DIR")
	cmd.Flags().StringVar(&opts.AllDir, "dir", "", "without NAME: the folder every repository is copied into (default ./"+defaultPullAllDir+")")
	addStorageFlags(cmd, &opts.Storage)
	return cmd
}

// defaultPullAllDir is where the Python CLI's pull copied the storage.
const defaultPullAllDir = "playbooks"

func runPull(ctx context.Context, o *PullOptions) error {
	all := o.Name == ""
	if !all {
		if err := playbooks.CheckName(o.Name); err != nil {
			return err
		}
	}
	again := "robusta playbooks pull " + o.Name + " DIR"
	if all {
		again = "robusta playbooks pull --dir DIR"
	}
	abs, err := filepath.Abs(o.Dest)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(abs); err == nil {
		if fi.Mode()&fs.ModeSymlink != 0 {
			// Replace the folder the link names, and keep the link.
			if abs, err = filepath.EvalSymlinks(abs); err != nil {
				return fmt.Errorf("pull into %s: %w", o.Dest, err)
			}
			fi, err = os.Stat(abs)
			if err != nil {
				return fmt.Errorf("pull into %s: %w", o.Dest, err)
			}
		}
		if !fi.IsDir() {
			return cli.WithHint(fmt.Errorf("%s exists and is not a folder: refusing to replace it", o.Dest), "pull into a folder: "+again)
		}
		if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 && !o.Force {
			return cli.WithHint(fmt.Errorf("%s is not empty: refusing to overwrite it", o.Dest), "pass --force, or pull into another folder")
		}
	}
	st, err := storage(ctx, o.F, o.Storage)
	if err != nil {
		return err
	}
	// Unpack next to dest and move into place, so a failed pull leaves no half tree.
	tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".pull-")
	if err != nil {
		return fmt.Errorf("pull into %s: %w", o.Dest, err)
	}
	defer os.RemoveAll(tmp)
	var n int
	if all {
		n, err = st.PullAll(ctx, tmp)
	} else {
		n, err = st.Pull(ctx, o.Name, tmp)
		if err != nil && strings.Contains(err.Error(), "no repository "+o.Name) {
			err = cli.WithHint(err, "see robusta playbooks list-dirs; without NAME, pull copies every repository (into --dir, default ./playbooks)")
		}
	}
	if err != nil {
		return err
	}
	// Ctrl-C while unpacking: the temporary folder goes, DIR stays as it was.
	if err := ctx.Err(); err != nil {
		return err
	}
	var names []string
	if all {
		entries, _ := os.ReadDir(tmp)
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	if err := replaceDir(tmp, abs); err != nil {
		return fmt.Errorf("pull into %s: %w", o.Dest, err)
	}
	if of := o.Output(); of.Structured() {
		if all {
			if names == nil {
				names = []string{}
			}
			return cli.PrintStructured(o.IO.Out, of, map[string]any{"repositories": names, "dir": abs, "files": n})
		}
		return cli.PrintStructured(o.IO.Out, of, map[string]any{"name": o.Name, "dir": abs, "files": n})
	}
	if all {
		what := strings.Join(names, ", ")
		if what == "" {
			what = "empty"
		}
		fmt.Fprintf(o.IO.Out, "%s Pulled the storage %s:%s (%s) into %s (%d files)\n", o.IO.Styles().SuccessIcon(),
			st.Pod.Ref(), st.Path, what, o.Dest, n)
		return nil
	}
	fmt.Fprintf(o.IO.Out, "%s Pulled %s from %s into %s (%d files)\n", o.IO.Styles().SuccessIcon(), o.Name, st.Pod.Ref(), o.Dest, n)
	return nil
}

// rename is os.Rename; tests make it fail.
var rename = os.Rename

// replaceDir moves src to dst, replacing dst (and what it holds) if it exists. The old
// dst is renamed aside first and put back if the second rename fails.
func replaceDir(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		old := dst + ".old-" + fmt.Sprint(time.Now().UnixNano())
		if err := rename(dst, old); err != nil {
			return err
		}
		if err := rename(src, dst); err != nil {
			if rerr := rename(old, dst); rerr != nil {
				return fmt.Errorf("%w; putting the previous contents of %s back failed too (%v): they are in %s", err, dst, rerr, old)
			}
			return fmt.Errorf("%w; %s is unchanged", err, dst)
		}
		return os.RemoveAll(old)
	}
	return rename(src, dst)
}

// NewCmdDelete builds `robusta playbooks delete NAME`.
func NewCmdDelete(f *cmdutil.Factory) *cobra.Command {
	var sf StorageFlags
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a playbook repository from the runner's storage",
		Args:  cmdutil.ExactArgs(1, "the repository name (see list-dirs)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := playbooks.CheckName(name); err != nil {
				return err
			}
			st, err := storage(cmd.Context(), f, sf)
			if err != nil {
				return err
			}
			if !yes {
				if !f.IOStreams.CanPrompt() {
					return cli.UsageErrorf("deleting %s needs confirmation: pass --yes", name)
				}
				ok, err := cli.Confirm(f.IOStreams, fmt.Sprintf("Delete %s/%s on %s?", st.Path, name, st.Pod.Ref()))
				if err != nil {
					return err
				}
				if !ok {
					return cli.ErrAborted
				}
			}
			if err := st.Delete(cmd.Context(), name); err != nil {
				return err
			}
			fmt.Fprintf(f.IOStreams.Out, "%s Deleted %s from %s (the previous push stays as .%s.prev)\n", f.IOStreams.Styles().SuccessIcon(), name, st.Pod.Ref(), name)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	addStorageFlags(cmd, &sf)
	return cmd
}

// PackageOptions for `robusta playbooks package`.
type PackageOptions struct {
	IO      *cli.IOStreams
	Output  func() cli.OutputFormat
	Verbose bool

	Dir  string
	File string // "-" is standard output
}

// NewCmdPackage builds `robusta playbooks package DIR`.
func NewCmdPackage(f *cmdutil.Factory) *cobra.Command {
	opts := &PackageOptions{IO: f.IOStreams, Output: f.OutputFormat}
	cmd := &cobra.Command{
		Use:   "package DIR",
		Short: "Build a reproducible .tgz of a playbook repository",
		Long: `Build a gzip tarball of a playbook repository: sorted entries, fixed times and
owners, so the same tree always gives the same bytes (and sha256). .git, caches,
virtualenvs and what .robustaignore lists are left out, and so are the output file and
the archives this command wrote before: packaging twice in the repository gives the same
archive. -v lists the files.

-f - writes the archive to standard output (not to a terminal); the summary then goes
to standard error.`,
		Example: `  robusta playbooks package .
  robusta playbooks package ./my_playbooks -f /tmp/my_playbooks.tgz
  robusta playbooks package ./my_playbooks -f - | ssh host 'cat > my_playbooks.tgz'`,
		Args: cmdutil.ExactArgs(1, "the repository folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			opts.Verbose = f.Settings.Verbose
			return runPackage(opts)
		},
	}
	// -o is the global output format, so the file is -f/--file.
	cmd.Flags().StringVarP(&opts.File, "file", "f", "", "output file, - for standard output (default: PACKAGE.tgz)")
	return cmd
}

func runPackage(o *PackageOptions) error {
	toStdout := o.File == "-"
	if toStdout && o.IO.IsStdoutTTY() {
		return cli.UsageErrorf("-f - writes the archive to standard output, which is a terminal: redirect it (> FILE.tgz), pipe it, or name a file with -f FILE")
	}
	r, err := repo.Load(o.Dir)
	if err != nil {
		return err
	}
	out := o.File
	if out == "" {
		out = r.PackageName + ".tgz"
	}
	summary := o.IO.Out
	var info repo.ArchiveInfo
	if toStdout {
		summary = o.IO.ErrOut // stdout holds the archive
		if info, err = r.WriteArchive(o.IO.Out, ""); err != nil {
			return fmt.Errorf("write the archive to standard output: %w", err)
		}
	} else {
		// Written into the repository (the default when run in it), the output must
		// not be packed into itself.
		r.Exclude(out)
		if info, err = writeArchiveFile(r, out); err != nil {
			return err
		}
	}
	if o.Verbose {
		for _, fl := range r.Files {
			fmt.Fprintln(o.IO.ErrOut, fl.Path)
		}
	}
	if of := o.Output(); of.Structured() {
		return cli.PrintStructured(summary, of, map[string]any{"file": out, "files": info.Files, "bytes": info.Size, "sha256": info.SHA256})
	}
	styles := o.IO.Styles()
	if toStdout {
		styles = o.IO.StderrStyles()
		out = "standard output"
	}
	fmt.Fprintf(summary, "%s Wrote %s (%d files, %s, sha256 %s)\n", styles.SuccessIcon(), out, info.Files, cli.HumanBytes(info.Size), info.SHA256)
	return nil
}

// writeArchiveFile writes atomically: a temp file beside out, renamed when complete.
func writeArchiveFile(r *repo.Repo, out string) (repo.ArchiveInfo, error) {
	if strings.HasSuffix(out, string(os.PathSeparator)) {
		return repo.ArchiveInfo{}, cli.UsageErrorf("--file %q is a folder: name the .tgz file", out)
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return repo.ArchiveInfo{}, cli.UsageErrorf("--file %q is a folder: name the .tgz file", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-")
	if err != nil {
		return repo.ArchiveInfo{}, fmt.Errorf("write %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	info, err := r.WriteArchive(tmp, "")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, fmt.Errorf("write %s: %w", out, err)
	}
	_ = os.Chmod(tmp.Name(), 0o644)
	if err := os.Rename(tmp.Name(), out); err != nil {
		return info, fmt.Errorf("write %s: %w", out, err)
	}
	return info, nil
}
