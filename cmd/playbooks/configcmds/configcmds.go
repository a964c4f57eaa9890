// Package configcmds implements the playbook configuration commands: validate, list,
// show-config and configure.
package configcmds

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chartutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/robusta-dev/robusta-go/internal/build"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/fileio"
	"github.com/robusta-dev/robusta-go/internal/kube"
	"github.com/robusta-dev/robusta-go/internal/playbooks"
	pbconfig "github.com/robusta-dev/robusta-go/internal/playbooks/config"
)

// ValidateOptions are the inputs of `robusta playbooks validate`.
type ValidateOptions struct {
	IO     *cli.IOStreams
	Output func() cli.OutputFormat
	Files  []string
	// Strict makes warnings fail the check too (exit 1).
	Strict bool
	// ActionsFrom are playbook repository folders whose @action functions are known.
	ActionsFrom []string
}

// NewCmdValidate builds `robusta playbooks validate FILE...`; runF replaces the run
// function in tests.
func NewCmdValidate(f *cmdutil.Factory, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: f.IOStreams, Output: f.OutputFormat}
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check playbook configuration files (Helm values or active_playbooks.yaml)",
		Long: `Check Helm values files or active_playbooks.yaml against Robusta's whole vocabulary
(every trigger, action and sink type): what the runner refuses when it loads the
configuration is an error; what it accepts but fails or ignores when it runs is a
warning; what is worth knowing (values from the runner's environment, kinds the chart
does not watch) is info.

Prints file:line:col: findings. Exits 1 on errors, 0 with only warnings and info
(1 with --strict when there are warnings). -o json for scripts, -o sarif for code
scanning in CI. Actions from your own playbook repositories are warnings ("unknown
action") unless --actions-from names the repository's folder.`,
		Example: `  robusta playbooks validate values.yaml
  robusta playbooks validate values.yaml --strict -o sarif > robusta.sarif
  robusta playbooks validate values.yaml --actions-from ./my_playbook_repo`,
		Args: cmdutil.MinimumArgs(1, "at least one file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if runF != nil {
				return runF(opts)
			}
			return runValidate(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "exit 1 on warnings too")
	cmd.Flags().StringArrayVar(&opts.ActionsFrom, "actions-from", nil, "a playbook repository folder whose @action functions are known (repeatable)")
	return cmd
}

func runValidate(opts *ValidateOptions) error {
	var known *pbconfig.Known
	for _, dir := range opts.ActionsFrom {
		k, err := pbconfig.LoadActions(dir)
		if err != nil {
			return cli.UsageErrorf("--actions-from: %v", err)
		}
		known = mergeKnown(known, k)
	}
	var all []pbconfig.Finding
	for _, name := range opts.Files {
		data, err := fileio.ReadFile(name, fileio.MaxConfig)
		if err != nil {
			return cli.UsageErrorf("%v", err)
		}
		fs, err := pbconfig.ValidateBytes(name, data, known)
		if err != nil {
			var pe *pbconfig.ParseError
			if !errors.As(err, &pe) {
				return err
			}
			all = append(all, pe.Finding())
			continue
		}
		all = append(all, fs...)
	}
	out := opts.IO.Out
	switch of := opts.Output(); {
	case of == cli.OutputSARIF:
		if err := pbconfig.WriteSARIF(out, all, build.Current().Version); err != nil {
			return err
		}
	case of.Structured():
		if all == nil {
			all = []pbconfig.Finding{}
		}
		if err := cli.PrintStructured(out, of, all); err != nil {
			return err
		}
	default:
		st := opts.IO.Styles()
		w := bufio.NewWriter(out)
		counts := map[string]int{}
		for _, fd := range all {
			counts[fd.Severity]++
			sev := st.Muted(fd.Severity)
			switch fd.Severity {
			case pbconfig.SevError:
				sev = st.Error(fd.Severity)
			case pbconfig.SevWarning:
				sev = st.Warning(fd.Severity)
			}
			// Messages quote the file's values: shown, never obeyed.
			fmt.Fprintf(w, "%s %s: %s%s\n", cli.Printable(fd.Location()), sev, cli.Printable(fd.Message), cli.Printable(fd.PathSuffix()))
		}
		switch {
		case len(all) == 0:
			fmt.Fprintf(w, "%s %s valid\n", st.SuccessIcon(), strings.Join(opts.Files, ", "))
		case counts[pbconfig.SevError] == 0 && counts[pbconfig.SevWarning] == 0:
			fmt.Fprintf(w, "%s %s valid (%d info)\n", st.SuccessIcon(), strings.Join(opts.Files, ", "), counts[pbconfig.SevInfo])
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if pbconfig.HasErrors(all) {
		return errors.New("the configuration has errors (see above)")
	}
	if opts.Strict {
		for _, fd := range all {
			if fd.Severity == pbconfig.SevWarning {
				return errors.New("the configuration has warnings, and --strict fails on them (see above)")
			}
		}
	}
	return nil
}

// mergeKnown joins the actions of several repositories; a later one wins, as a later
// playbook package does in the runner.
func mergeKnown(a, b *pbconfig.Known) *pbconfig.Known {
	if a == nil {
		return b
	}
	for k, v := range b.Actions {
		a.Actions[k] = v
	}
	for k, v := range b.Models {
		a.Models[k] = v
	}
	for k, v := range b.Sources {
		a.Sources[k] = v
	}
	return a
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
	var showSecrets bool
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
				if !showSecrets {
					pbconfig.MaskSecrets(file.Doc)
				}
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
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "with -o json/yaml, print tokens, keys and webhooks in full")
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
	F      *cmdutil.Factory
	File   string
	Secret bool
	Force  bool
	DryRun bool
	// ShowSecrets prints diffs with secrets in full.
	ShowSecrets bool
	BackupDir   string
	Runner      cmdutil.RunnerFlags
	// Yes creates a missing config Secret without asking.
	Yes bool
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
- with --secret (or without a Helm release): change the Secret
  robusta-playbooks-config-secret in one conditional update and annotate the runner pods
  with playbooks-last-modified so the runner reloads. Only what FILE holds of the same
  keys is changed: sinks_config, playbook_repos, and in active_playbooks the playbooks
  that came from customPlaybooks / namedCustomPlaybooks; built-in playbooks,
  global_config and the rest are kept (an active_playbooks.yaml replaces the keys it
  has). The diff is printed (secrets masked) first, and the previous content is saved
  to a local backup file. When the Secret does not exist (the Python CLI's configure
  created it), it is created from FILE after you confirm (--yes in scripts), as the
  chart makes it: type Opaque, key active_playbooks.yaml, and when a Helm release owns
  the runner, the label and annotations Helm puts on what it creates.

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
	cmd.Flags().BoolVar(&o.ShowSecrets, "show-secrets", false, "show tokens, keys and webhooks in full in the diff")
	cmd.Flags().BoolVar(&o.Yes, "yes", false, "with --secret: create a missing config Secret without asking")
	cmd.Flags().StringVar(&o.BackupDir, "backup-dir", "", "where the previous Secret content is saved (default: ~/.cache/robusta/backups)")
	cmdutil.AddRunnerFlags(cmd, &o.Runner)
	return cmd
}

var replacedKeys = []string{"customPlaybooks", "playbookRepos", "sinksConfig", "namedCustomPlaybooks"}

func runConfigure(ctx context.Context, o *ConfigureOptions) error {
	f := o.F
	data, err := fileio.ReadFile(o.File, fileio.MaxConfig)
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

	return configureSecret(ctx, o, file, pod)
}

// configureSecret applies file to the config Secret, changing only what file holds.
func configureSecret(ctx context.Context, o *ConfigureOptions, file *pbconfig.File, pod *kube.RunnerPod) error {
	f := o.F
	warn := f.IOStreams.StderrStyles().WarningIcon()
	if !o.DryRun {
		if _, err := backupDirOrDefault(o.BackupDir); err != nil {
			return err
		}
	}
	exists, err := configSecretExists(ctx, f, pod.Namespace)
	if err != nil {
		return err
	}
	if !exists {
		return createConfigSecret(ctx, o, file, pod)
	}
	active, err := readActive(ctx, f, o.Runner)
	if err != nil {
		return err
	}
	// Which playbooks in the Secret came from customPlaybooks: recorded by an earlier
	// configure --secret, and told by the Helm release's values when there is one.
	var prov pbconfig.Provenance
	prov.AddRecorded(active.annotations)
	if o.Secret {
		cs, err := f.Kube().Clientset()
		if err != nil {
			return err
		}
		rel, err := playbooks.FindRunnerRelease(ctx, cs, pod.Namespace, pod.Name)
		if err != nil {
			fmt.Fprintf(f.IOStreams.ErrOut, "%s %v: the playbooks earlier configure --secret runs wrote are told by their record only\n", warn, err)
		} else if rel != nil {
			prov.AddHelmValues(rel.Values)
		}
	}
	merged, err := pbconfig.Merge(active.file, file, prov)
	if err != nil {
		return err
	}
	if len(merged.Changed) == 0 {
		return cli.UsageErrorf("%s has none of %s: nothing to apply", o.File, strings.Join(pbconfig.ReplacedKeys, ", "))
	}
	if len(merged.Ignored) > 0 {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s %s in %s not applied: configure changes only %s (the rest stays as it is in the cluster)\n",
			warn, strings.Join(merged.Ignored, ", "), o.File, strings.Join(pbconfig.ReplacedKeys, ", "))
	}
	for _, w := range merged.Warnings {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s %s\n", warn, w)
	}
	content, err := yaml.Marshal(merged.Doc)
	if err != nil {
		return err
	}
	diff, err := configDiff(o.ShowSecrets, active.file.Doc, merged.Doc)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("Secret %s/%s key %s", pod.Namespace, pbconfig.SecretName, pbconfig.SecretKey)
	if diff == "" {
		fmt.Fprintf(f.IOStreams.Out, "No changes: %s already holds %s.\n", where, strings.Join(merged.Changed, ", "))
		return nil
	}
	verb := "Changes to"
	if o.DryRun {
		verb = "Would change"
	}
	fmt.Fprintf(f.IOStreams.Out, "%s %s (%s):\n%s", verb, where, strings.Join(merged.Changed, ", "), diff)
	if o.DryRun {
		return nil
	}
	return applySecret(ctx, f, active, content, merged.Annotations, o.BackupDir)
}

func configSecretExists(ctx context.Context, f *cmdutil.Factory, ns string) (bool, error) {
	cs, err := f.Kube().Clientset()
	if err != nil {
		return false, err
	}
	_, err = cs.CoreV1().Secrets(ns).Get(ctx, pbconfig.SecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, f.Kube().Explain(err, "get", "secrets", ns)
	}
	return true, nil
}

// createConfigSecret makes the config Secret from file alone, after confirming: what
// configure --secret would write into an empty configuration, plus the values file's
// globalConfig (the chart renders it as global_config).
func createConfigSecret(ctx context.Context, o *ConfigureOptions, file *pbconfig.File, pod *kube.RunnerPod) error {
	f := o.F
	ns := pod.Namespace
	empty, err := pbconfig.Parse(pbconfig.SecretKey, []byte("active_playbooks: []\n"))
	if err != nil {
		return err
	}
	merged, err := pbconfig.Merge(empty, file, pbconfig.Provenance{})
	if err != nil {
		return err
	}
	if file.Format == pbconfig.FormatValues {
		var vals map[string]any
		if err := file.Doc.Decode(&vals); err != nil {
			return err
		}
		if g, ok := vals["globalConfig"]; ok {
			var gn yaml.Node
			if err := gn.Encode(g); err != nil {
				return err
			}
			root := merged.Doc.Content[0]
			root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "global_config"}, &gn)
			merged.Changed = append(merged.Changed, "globalConfig")
			merged.Ignored = slices.DeleteFunc(merged.Ignored, func(k string) bool { return k == "globalConfig" })
		}
	}
	if len(merged.Changed) == 0 {
		return cli.UsageErrorf("%s has none of %s: nothing to create the Secret from", o.File, strings.Join(pbconfig.ReplacedKeys, ", "))
	}
	warn := f.IOStreams.StderrStyles().WarningIcon()
	if len(merged.Ignored) > 0 {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s %s in %s not applied: configure writes only %s and globalConfig\n",
			warn, strings.Join(merged.Ignored, ", "), o.File, strings.Join(pbconfig.ReplacedKeys, ", "))
	}
	content, err := yaml.Marshal(merged.Doc)
	if err != nil {
		return err
	}
	var none yaml.Node
	_ = none.Encode(map[string]any{})
	diff, err := configDiff(o.ShowSecrets, &none, merged.Doc)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("Secret %s/%s", ns, pbconfig.SecretName)
	verb := "Creating"
	if o.DryRun {
		verb = "Would create"
	}
	fmt.Fprintf(f.IOStreams.Out, "%s %s (it does not exist) with key %s (%s):\n%s", verb, where, pbconfig.SecretKey, strings.Join(merged.Changed, ", "), diff)
	if o.DryRun {
		return nil
	}
	if !o.Yes {
		ok, err := cli.Confirm(f.IOStreams, fmt.Sprintf("Create %s?", where))
		if errors.Is(err, cli.ErrCannotPrompt) {
			return cli.UsageErrorf("%s does not exist; pass --yes to create it (no terminal to ask on)", where)
		}
		if err != nil {
			return err
		}
		if !ok {
			return cli.ErrAborted
		}
	}
	cs, err := f.Kube().Clientset()
	if err != nil {
		return err
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: pbconfig.SecretName, Namespace: ns, Annotations: merged.Annotations},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{pbconfig.SecretKey: content},
	}
	// The chart's template sets no labels; Helm marks every object it creates with its
	// managed-by label and release annotations. With a release owning the runner the
	// Secret gets the same marks, so it looks as the release made it and the release's
	// next upgrade manages it as its own.
	if rel, err := playbooks.FindRunnerRelease(ctx, cs, ns, pod.Name); err != nil {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s %v: the Secret is created without Helm's ownership marks\n", warn, err)
	} else if rel != nil {
		sec.Labels = map[string]string{"app.kubernetes.io/managed-by": "Helm"}
		if sec.Annotations == nil {
			sec.Annotations = map[string]string{}
		}
		sec.Annotations["meta.helm.sh/release-name"] = rel.Name
		sec.Annotations["meta.helm.sh/release-namespace"] = ns
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s was created by someone else meanwhile: nothing was written, run the command again", where)
		}
		return f.Kube().Explain(err, "create", "secrets", ns)
	}
	pods, err := pbconfig.AnnotateRunners(ctx, cs, ns, kube.RunnerSelector, time.Now())
	if err != nil {
		return fmt.Errorf("the Secret was created, but annotating the runner pods failed (the runner reads it at its next restart): %w", err)
	}
	fmt.Fprintf(f.IOStreams.Out, "%s Created %s; annotated %s so the runner reloads\n", f.IOStreams.Styles().SuccessIcon(), where, strings.Join(pods, ", "))
	return nil
}

// configDiff is the diff of two configurations, secrets masked unless showSecrets.
func configDiff(showSecrets bool, before, after any) (string, error) {
	if showSecrets {
		return pbconfig.PlainDiff(before, after)
	}
	return pbconfig.MaskedDiff(before, after)
}

// activeConfig is the runner's namespace and its current configuration.
type activeConfig struct {
	pod         *kube.RunnerPod
	file        *pbconfig.File
	rv          string
	annotations map[string]string
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
	file, rv, ann, err := pbconfig.ReadSecretAnnotated(ctx, cs, pod.Namespace)
	if err != nil {
		return nil, f.Kube().Explain(err, "get", "secrets", pod.Namespace)
	}
	return &activeConfig{pod: pod, file: file, rv: rv, annotations: ann}, nil
}

// backupDirOrDefault is dir, else robusta/backups in the user's cache directory. Without
// one (no $HOME, no $XDG_CACHE_HOME) it is an error: a relative default would scatter
// backups of the Secret, which hold its tokens, into whatever the working directory is.
func backupDirOrDefault(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", cli.WithHint(fmt.Errorf("no cache directory for the backup of the current config: %w", err), "pass --backup-dir DIR")
	}
	return filepath.Join(cache, "robusta", "backups"), nil
}

// applySecret writes content as the active configuration, conditioned on the version
// read, keeps a backup and annotates the runner pods so the runner reloads.
func applySecret(ctx context.Context, f *cmdutil.Factory, a *activeConfig, content []byte, annotations map[string]string, backupDir string) error {
	cs, err := f.Kube().Clientset()
	if err != nil {
		return err
	}
	backupDir, err = backupDirOrDefault(backupDir)
	if err != nil {
		return err
	}
	ns := a.pod.Namespace
	backup, err := pbconfig.WriteSecretWith(ctx, cs, ns, a.rv, content, annotations, backupDir)
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
		// Through the same masking as every other path (secrets masked unless --show-secrets).
		diff, err := configDiff(o.ShowSecrets, pick(rel.Raw.Config, changed), pick(newVals, changed))
		if err != nil {
			return err
		}
		fmt.Fprintf(f.IOStreams.Out, "Release %s/%s (revision %d) would change %s\n%s",
			namespace, rel.Name, rel.Revision, strings.Join(changed, ", "), diff)
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
	var showSecrets bool
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
			// Before the editor opens: an edit that cannot be backed up is lost work.
			backupDir, err := backupDirOrDefault(backupDir)
			if err != nil {
				return err
			}
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
			var body []byte
			var editedDoc *yaml.Node
			for {
				if err := os.WriteFile(tmp.Name(), text, 0o600); err != nil {
					return err
				}
				if err := runEditor(f.IOStreams, tmp.Name()); err != nil {
					return err
				}
				edited, err := fileio.ReadFile(tmp.Name(), fileio.MaxConfig)
				if err != nil {
					return fmt.Errorf("read the edited config back (nothing was changed): %w", err)
				}
				body = stripHeader(edited)
				if strings.TrimSpace(string(body)) == "" {
					return cli.ErrAborted
				}
				if string(body) == string(original) {
					fmt.Fprintln(f.IOStreams.Out, "No changes: nothing to update.")
					return nil
				}
				file, perr := pbconfig.Parse(pbconfig.SecretKey, body)
				if perr == nil {
					editedDoc = file.Doc
				}
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
			diff, err := configDiff(showSecrets, active.file.Doc, editedDoc)
			if err != nil {
				return err
			}
			if diff == "" {
				diff = "(only comments or layout changed)\n"
			}
			fmt.Fprintf(f.IOStreams.Out, "Changes to Secret %s/%s key %s:\n%s", active.pod.Namespace, pbconfig.SecretName, pbconfig.SecretKey, diff)
			return applySecret(ctx, f, active, body, nil, backupDir)
		},
	}
	cmd.Flags().StringVar(&backupDir, "backup-dir", "", "where the previous Secret content is saved (default: ~/.cache/robusta/backups)")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "show tokens, keys and webhooks in full in the diff")
	cmdutil.AddRunnerFlags(cmd, &r)
	return cmd
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
