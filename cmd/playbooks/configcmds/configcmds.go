// Package configcmds implements the playbook configuration commands: validate, list,
// show-config and configure.
package configcmds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	_ "github.com/robusta-dev/robusta-go/internal/engine/actions" // the validator checks actions against the engine's definitions
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// NewCmdValidate builds `robusta playbooks validate FILE...`.
func NewCmdValidate(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check playbook configuration files (Helm values or active_playbooks.yaml)",
		Long: `Check Helm values files or active_playbooks.yaml: known triggers and their parameters,
known actions and theirs, that each action fits the events its triggers give, that sinks
are defined and playbook names unique. Prints file:line: findings; exits 1 on errors,
0 with only warnings. -o json for CI.`,
		Args: cmdutil.MinimumArgs(1, "at least one file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var all []pbconfig.Finding
			for _, name := range args {
				data, err := os.ReadFile(name)
				if err != nil {
					return cli.UsageErrorf("%v", err)
				}
				file, err := pbconfig.Parse(name, data)
				if err != nil {
					all = append(all, pbconfig.Finding{File: name, Severity: "error", Message: err.Error(), Path: "(file)"})
					continue
				}
				all = append(all, pbconfig.Validate(file)...)
			}
			if of := f.OutputFormat(); of.Structured() {
				if all == nil {
					all = []pbconfig.Finding{}
				}
				if err := cli.PrintStructured(f.IOStreams.Out, of, all); err != nil {
					return err
				}
			} else {
				st := f.IOStreams.Styles()
				for _, fd := range all {
					sev := st.Warning(fd.Severity)
					if fd.Severity == "error" {
						sev = st.Error(fd.Severity)
					}
					fmt.Fprintf(f.IOStreams.Out, "%s:%d: %s: %s (%s)\n", fd.File, fd.Line, sev, fd.Message, fd.Path)
				}
				if len(all) == 0 {
					fmt.Fprintf(f.IOStreams.Out, "%s %s valid\n", st.SuccessIcon(), strings.Join(args, ", "))
				}
			}
			if pbconfig.HasErrors(all) {
				return errors.New("the configuration has errors (see above)")
			}
			return nil
		},
	}
}

func runnerNamespace(ctx context.Context, f *cmdutil.Factory, r cmdutil.RunnerFlags) (*kube.RunnerPod, error) {
	kf := f.Kube()
	pods, search, err := kf.ListRunners(ctx, f.FindOptions(r))
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return nil, cli.WithHint(&kube.NoRunnerError{Where: search.Where}, "pass --namespace NS")
	}
	for _, p := range pods[1:] {
		if p.Namespace != pods[0].Namespace {
			return nil, cli.WithHint(&kube.SeveralRunnersError{Pods: pods}, "pick one install with --namespace NS")
		}
	}
	return &pods[0], nil
}

// NewCmdList builds `robusta playbooks list`.
func NewCmdList(f *cmdutil.Factory) *cobra.Command {
	var r cmdutil.RunnerFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the active playbooks (from the config Secret)",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			active, err := readActive(cmd.Context(), f, r)
			if err != nil {
				return err
			}
			pod, file := active.pod, active.file
			// The rendered Secret holds built-in and custom playbooks alike.
			pbs := file.Playbooks(true)
			if of := f.OutputFormat(); of.Structured() {
				var v any
				if err := file.Doc.Decode(&v); err != nil {
					return err
				}
				return cli.PrintStructured(f.IOStreams.Out, of, map[string]any{"namespace": pod.Namespace, "playbooks": pbs, "config": v})
			}
			t := cli.NewTable(f.IOStreams.Out, "#", "name", "triggers", "actions", "sinks")
			for i, pb := range pbs {
				sinks := strings.Join(pb.Sinks, ",")
				if sinks == "" {
					sinks = "(default)"
				}
				t.Row(fmt.Sprint(i), pb.Name, strings.Join(pb.Triggers, ","), strings.Join(pb.Actions, ","), sinks)
			}
			return t.Flush()
		},
	}
	cmdutil.AddRunnerFlags(cmd, &r)
	return cmd
}

// NewCmdShowConfig builds `robusta playbooks show-config`.
func NewCmdShowConfig(f *cmdutil.Factory) *cobra.Command {
	var r cmdutil.RunnerFlags
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "show-config",
		Short: "Print the active active_playbooks.yaml, secrets masked",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			active, err := readActive(cmd.Context(), f, r)
			if err != nil {
				return err
			}
			file := active.file
			if !showSecrets {
				pbconfig.MaskSecrets(file.Doc)
			}
			if of := f.OutputFormat(); of == cli.OutputJSON {
				var v any
				if err := file.Doc.Decode(&v); err != nil {
					return err
				}
				return cli.PrintStructured(f.IOStreams.Out, of, v)
			}
			b, err := yaml.Marshal(file.Doc)
			if err != nil {
				return err
			}
			_, err = f.IOStreams.Out.Write(b)
			return err
		},
	}
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "print tokens, keys and webhooks in full")
	cmdutil.AddRunnerFlags(cmd, &r)
	return cmd
}

// ConfigureOptions for `robusta playbooks configure FILE`.
type ConfigureOptions struct {
	F         *cmdutil.Factory
	File      string
	Secret    bool
	Force     bool
	DryRun    bool
	BackupDir string
	Runner    cmdutil.RunnerFlags
}

// NewCmdConfigure builds `robusta playbooks configure FILE`.
func NewCmdConfigure(f *cmdutil.Factory) *cobra.Command {
	o := &ConfigureOptions{F: f}
	cmd := &cobra.Command{
		Use:   "configure FILE",
		Short: "Apply a playbooks configuration (values file) to the cluster",
		Long: `Validate FILE, then apply it:

- when the runner was installed by Helm: upgrade that release with its own stored chart
  and current values, replacing customPlaybooks (and playbookRepos, sinksConfig,
  namedCustomPlaybooks when FILE has them). No chart download. --dry-run prints the
  values that would change. As helm upgrade: a new revision in Helm's history, marked
  failed if applying fails (the previous one stays deployed); CRDs are left alone.
  Unlike it: chart hooks are not run, and subchart objects are kept as they are.
- with --secret (or without a Helm release): replace the Secret
  robusta-playbooks-config-secret in one conditional update and annotate the runner pods
  with playbooks-last-modified so the runner reloads. The previous content is saved to a
  local backup file first.

A file with errors is refused unless --force.`,
		Args: cmdutil.ExactArgs(1, "the configuration file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.File = args[0]
			return runConfigure(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.Secret, "secret", false, "write the config Secret directly instead of a Helm upgrade")
	cmd.Flags().BoolVar(&o.Force, "force", false, "apply even when validation finds errors")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "show what would change; change nothing")
	cmd.Flags().StringVar(&o.BackupDir, "backup-dir", "", "where the previous Secret content is saved (default: ~/.cache/robusta/backups)")
	cmdutil.AddRunnerFlags(cmd, &o.Runner)
	return cmd
}

var replacedKeys = []string{"customPlaybooks", "playbookRepos", "sinksConfig", "namedCustomPlaybooks"}

func runConfigure(ctx context.Context, o *ConfigureOptions) error {
	f := o.F
	data, err := os.ReadFile(o.File)
	if err != nil {
		return cli.UsageErrorf("%v", err)
	}
	file, err := pbconfig.Parse(o.File, data)
	if err != nil {
		return err
	}
	findings := pbconfig.Validate(file)
	for _, fd := range findings {
		fmt.Fprintln(f.IOStreams.ErrOut, fd.String())
	}
	if pbconfig.HasErrors(findings) && !o.Force {
		return cli.WithHint(errors.New("the configuration has errors: nothing was changed"), "fix them, or pass --force")
	}
	pod, err := runnerNamespace(ctx, f, o.Runner)
	if err != nil {
		return err
	}
	kf := f.Kube()
	cs, err := kf.Clientset()
	if err != nil {
		return err
	}
	if !o.Secret {
		rel, err := playbooks.FindRunnerRelease(ctx, cs, pod.Namespace, pod.Name)
		if err != nil {
			return err
		}
		if rel != nil {
			if file.Format != pbconfig.FormatValues {
				return cli.UsageErrorf("%s is an active_playbooks.yaml; a Helm upgrade needs a values file (customPlaybooks: ...), or pass --secret", o.File)
			}
			return helmUpgrade(ctx, o, rel, file, pod.Namespace)
		}
		fmt.Fprintf(f.IOStreams.ErrOut, "%s no Helm release owns runner %s: writing the Secret directly\n", f.IOStreams.StderrStyles().WarningIcon(), pod.Ref())
	}

	active, err := readActive(ctx, f, o.Runner)
	if err != nil {
		return err
	}
	content, err := pbconfig.ToActive(file)
	if err != nil {
		return err
	}
	if o.DryRun {
		fmt.Fprintf(f.IOStreams.Out, "Would write Secret %s/%s key %s:\n%s", pod.Namespace, pbconfig.SecretName, pbconfig.SecretKey, content)
		return nil
	}
	return applySecret(ctx, f, active, content, o.BackupDir)
}

// activeConfig is the runner's namespace and its current configuration.
type activeConfig struct {
	pod  *kube.RunnerPod
	file *pbconfig.File
	rv   string
}

func readActive(ctx context.Context, f *cmdutil.Factory, r cmdutil.RunnerFlags) (*activeConfig, error) {
	pod, err := runnerNamespace(ctx, f, r)
	if err != nil {
		return nil, err
	}
	cs, err := f.Kube().Clientset()
	if err != nil {
		return nil, err
	}
	file, rv, err := pbconfig.ReadSecret(ctx, cs, pod.Namespace)
	if err != nil {
		return nil, f.Kube().Explain(err, "get", "secrets", pod.Namespace)
	}
	return &activeConfig{pod: pod, file: file, rv: rv}, nil
}

// applySecret writes content as the active configuration, conditioned on the version
// read, keeps a backup and annotates the runner pods so the runner reloads.
func applySecret(ctx context.Context, f *cmdutil.Factory, a *activeConfig, content []byte, backupDir string) error {
	cs, err := f.Kube().Clientset()
	if err != nil {
		return err
	}
	if backupDir == "" {
		cache, _ := os.UserCacheDir()
		backupDir = filepath.Join(cache, "robusta", "backups")
	}
	ns := a.pod.Namespace
	backup, err := pbconfig.WriteSecret(ctx, cs, ns, a.rv, content, backupDir)
	if err != nil {
		return err
	}
	pods, err := pbconfig.AnnotateRunners(ctx, cs, ns, kube.RunnerSelector, time.Now())
	if err != nil {
		return fmt.Errorf("the Secret was updated, but annotating the runner pods failed (the runner reloads at its next restart): %w", err)
	}
	fmt.Fprintf(f.IOStreams.Out, "%s Updated Secret %s/%s; annotated %s so the runner reloads\n  previous config saved to %s\n",
		f.IOStreams.Styles().SuccessIcon(), ns, pbconfig.SecretName, strings.Join(pods, ", "), backup)
	return nil
}

func helmUpgrade(ctx context.Context, o *ConfigureOptions, rel *playbooks.Release, file *pbconfig.File, namespace string) error {
	f := o.F
	var fileVals map[string]any
	if err := file.Doc.Decode(&fileVals); err != nil {
		return err
	}
	newVals := chartutil.Values{}
	for k, v := range rel.Raw.Config {
		newVals[k] = v
	}
	var changed []string
	for _, k := range replacedKeys {
		if v, ok := fileVals[k]; ok {
			newVals[k] = v
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return cli.UsageErrorf("%s has none of %s: nothing to apply", o.File, strings.Join(replacedKeys, ", "))
	}
	if o.DryRun {
		before, _ := yaml.Marshal(pick(rel.Raw.Config, changed))
		after, _ := yaml.Marshal(pick(newVals, changed))
		fmt.Fprintf(f.IOStreams.Out, "Release %s/%s (revision %d) would change %s\n--- current\n%s+++ new\n%s",
			namespace, rel.Name, rel.Revision, strings.Join(changed, ", "), before, after)
		return nil
	}
	sp := f.IOStreams.StartSpinner("Upgrading Helm release " + rel.Name)
	res, err := playbooks.Upgrade(ctx, f.Kube(), rel, newVals)
	sp.Stop()
	if err != nil {
		return fmt.Errorf("helm upgrade %s: %w", rel.Name, err)
	}
	fmt.Fprintf(f.IOStreams.Out, "%s Upgraded Helm release %s/%s to revision %d (%s replaced)\n",
		f.IOStreams.Styles().SuccessIcon(), namespace, rel.Name, res.Version, strings.Join(changed, ", "))
	if skipped := playbooks.UpgradeHooks(res); len(skipped) > 0 {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s the chart's upgrade hooks were not run (%s): run helm upgrade if they matter for this change\n",
			f.IOStreams.StderrStyles().WarningIcon(), strings.Join(skipped, ", "))
	}
	return nil
}

func pick(m map[string]any, keys []string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

const editHeader = "# robusta: fix the errors below, save and close; delete everything to abort.\n"

// NewCmdEditConfig builds `robusta playbooks edit-config`.
func NewCmdEditConfig(f *cmdutil.Factory) *cobra.Command {
	var r cmdutil.RunnerFlags
	var backupDir string
	cmd := &cobra.Command{
		Use:   "edit-config",
		Short: "Edit the active playbooks configuration in $EDITOR",
		Long: `Open active_playbooks.yaml from the config Secret in $VISUAL or $EDITOR (else vi).
On save it is validated: with errors you may reopen it with the errors as comments at
the top, or abort, leaving the cluster untouched. An unchanged file changes nothing.
The Secret is written as configure --secret does (conditional update, backup,
runner annotation).`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			active, err := readActive(ctx, f, r)
			if err != nil {
				return err
			}
			original, err := yaml.Marshal(active.file.Doc)
			if err != nil {
				return err
			}
			tmp, err := os.CreateTemp("", "robusta-active-playbooks-*.yaml")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			tmp.Close()
			text := original
			for {
				if err := os.WriteFile(tmp.Name(), text, 0o600); err != nil {
					return err
				}
				if err := runEditor(f.IOStreams, tmp.Name()); err != nil {
					return err
				}
				edited, err := os.ReadFile(tmp.Name())
				if err != nil {
					return err
				}
				body := stripHeader(edited)
				if strings.TrimSpace(string(body)) == "" {
					return cli.ErrAborted
				}
				if string(body) == string(original) {
					fmt.Fprintln(f.IOStreams.Out, "No changes: nothing to update.")
					return nil
				}
				file, perr := pbconfig.Parse(pbconfig.SecretKey, body)
				var problems []string
				if perr != nil {
					problems = append(problems, perr.Error())
				} else {
					for _, fd := range pbconfig.Validate(file) {
						if fd.Severity == "error" {
							problems = append(problems, fmt.Sprintf("line %d: %s (%s)", fd.Line, fd.Message, fd.Path))
						}
					}
				}
				if len(problems) == 0 {
					break
				}
				for _, p := range problems {
					fmt.Fprintf(f.IOStreams.ErrOut, "%s %s\n", f.IOStreams.StderrStyles().FailureIcon(), p)
				}
				if !f.IOStreams.CanPrompt() {
					return errors.New("the edited configuration has errors: nothing was changed")
				}
				again, err := cli.Confirm(f.IOStreams, "Reopen the editor to fix them?")
				if err != nil || !again {
					return errors.New("the edited configuration has errors: nothing was changed")
				}
				var hdr strings.Builder
				hdr.WriteString(editHeader)
				for _, p := range problems {
					hdr.WriteString("#   " + p + "\n")
				}
				text = append([]byte(hdr.String()), body...)
			}
			return applySecret(ctx, f, active, stripHeader(mustRead(tmp.Name())), backupDir)
		},
	}
	cmd.Flags().StringVar(&backupDir, "backup-dir", "", "where the previous Secret content is saved (default: ~/.cache/robusta/backups)")
	cmdutil.AddRunnerFlags(cmd, &r)
	return cmd
}

func mustRead(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// stripHeader removes the error comments edit-config put at the top.
func stripHeader(b []byte) []byte {
	s := string(b)
	if !strings.HasPrefix(s, editHeader) {
		return b
	}
	s = strings.TrimPrefix(s, editHeader)
	for strings.HasPrefix(s, "#   ") {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		} else {
			s = ""
		}
	}
	return []byte(s)
}

func runEditor(ios *cli.IOStreams, path string) error {
	editor := os.Getenv("VISUAL")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	// Through sh, so EDITOR may carry arguments ("code --wait").
	c := exec.Command("sh", "-c", editor+` "$1"`, "sh", path)
	c.Stdin, c.Stdout, c.Stderr = ios.In, ios.Out, ios.ErrOut
	if err := c.Run(); err != nil {
		return fmt.Errorf("editor %q failed: %w", editor, err)
	}
	return nil
}
