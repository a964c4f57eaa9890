package repos

import (
	"fmt"
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

// NewCmdPull builds `robusta playbooks pull NAME [DIR]`.
func NewCmdPull(f *cmdutil.Factory) *cobra.Command {
	var sf StorageFlags
	var force bool
	cmd := &cobra.Command{
		Use:   "pull NAME [DIR]",
		Short: "Copy a playbook repository from the runner's storage to a local folder",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return cli.UsageErrorf("%q needs NAME and optionally DIR", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := playbooks.CheckName(name); err != nil {
				return err
			}
			dest := name
			if len(args) == 2 {
				dest = args[1]
			}
			if entries, err := os.ReadDir(dest); err == nil && len(entries) > 0 && !force {
				return cli.WithHint(fmt.Errorf("%s is not empty: refusing to overwrite it", dest), "pass --force, or pull into another folder")
			}
			st, err := storage(cmd.Context(), f, sf)
			if err != nil {
				return err
			}
			// Unpack next to dest and move into place, so a failed pull leaves no half tree.
			abs, err := filepath.Abs(dest)
			if err != nil {
				return err
			}
			tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".pull-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			n, err := st.Pull(cmd.Context(), name, tmp)
			if err != nil {
				return err
			}
			if err := replaceDir(tmp, abs); err != nil {
				return err
			}
			if of := f.OutputFormat(); of.Structured() {
				return cli.PrintStructured(f.IOStreams.Out, of, map[string]any{"name": name, "dir": abs, "files": n})
			}
			fmt.Fprintf(f.IOStreams.Out, "%s Pulled %s from %s into %s (%d files)\n", f.IOStreams.Styles().SuccessIcon(), name, st.Pod.Ref(), dest, n)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace the contents of a non-empty DIR")
	addStorageFlags(cmd, &sf)
	return cmd
}

// rename is os.Rename; tests make it fail.
var rename = os.Rename

// replaceDir moves src to dst, replacing dst (and what it holds) if it exists.
func replaceDir(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
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

// NewCmdPackage builds `robusta playbooks package DIR`.
func NewCmdPackage(f *cmdutil.Factory) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "package DIR",
		Short: "Build a reproducible .tgz of a playbook repository",
		Long: `Build a gzip tarball of a playbook repository: sorted entries, fixed times and
owners, so the same tree always gives the same bytes (and sha256). .git, caches,
virtualenvs and what .robustaignore lists are left out. -v lists the files.`,
		Args: cmdutil.ExactArgs(1, "the repository folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := repo.Load(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				out = r.PackageName + ".tgz"
			}
			info, err := writeArchiveFile(r, out)
			if err != nil {
				return err
			}
			if f.Settings.Verbose {
				for _, fl := range r.Files {
					fmt.Fprintln(f.IOStreams.ErrOut, fl.Path)
				}
			}
			if of := f.OutputFormat(); of.Structured() {
				return cli.PrintStructured(f.IOStreams.Out, of, map[string]any{"file": out, "files": info.Files, "bytes": info.Size, "sha256": info.SHA256})
			}
			fmt.Fprintf(f.IOStreams.Out, "%s Wrote %s (%d files, %s, sha256 %s)\n", f.IOStreams.Styles().SuccessIcon(), out, info.Files, cli.HumanBytes(info.Size), info.SHA256)
			return nil
		},
	}
	// -o is the global output format, so the file is -f/--file.
	cmd.Flags().StringVarP(&out, "file", "f", "", "output file (default: PACKAGE.tgz)")
	return cmd
}

// writeArchiveFile writes atomically: a temp file beside out, renamed when complete.
func writeArchiveFile(r *repo.Repo, out string) (repo.ArchiveInfo, error) {
	if strings.HasSuffix(out, string(os.PathSeparator)) {
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
	return info, os.Rename(tmp.Name(), out)
}
