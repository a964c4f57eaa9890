// Package genconfig implements `robusta gen-config`: the Helm values wizard.
package genconfig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/AlecAivazis/survey/v2/terminal"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/robusta-dev/robusta-go/internal/backend"
	"github.com/robusta-dev/robusta-go/internal/build"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
	"github.com/robusta-dev/robusta-go/internal/config"
	"github.com/robusta-dev/robusta-go/internal/fileio"
	"github.com/robusta-dev/robusta-go/internal/helmvalues"
)

// Options for `robusta gen-config`.
type Options struct {
	IO       *cli.IOStreams
	Settings func() *config.Settings

	Answers    helmvalues.Answers
	OutputPath string
	NoInput    bool
	Force      bool
	Update     bool
	Debug      bool
	SkipVerify bool
	AcceptEULA bool
	BackendURL string

	// SlackAPI is Slack's Web API base (ROBUSTA_SLACK_API_URL overrides it).
	SlackAPI string
	Getenv   func(string) string
	ReadIn   io.Reader

	changed func(string) bool
}

// secretFlags are the flags whose values are secrets: each also reads
// ROBUSTA_<FLAG> and --<flag>-file PATH (- for stdin), so tokens stay out of ps
// and the shell history.
var secretFlags = []string{"slack-api-key", "robusta-api-key", "msteams-webhook", "discord-webhook", "webhook-url"}

// boolFlags are the yes/no answers; each also has the Python CLI's --no-X form.
var boolFlags = []string{"is-small-cluster", "enable-prometheus-stack", "playbooks-persistent-volume", "enable-crash-report"}

func secretEnv(flag string) string {
	return "ROBUSTA_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func (o *Options) secretDst(flag string) *string {
	a := &o.Answers
	return map[string]*string{
		"slack-api-key": &a.SlackAPIKey, "robusta-api-key": &a.RobustaAPIKey, "msteams-webhook": &a.MSTeamsWebhook,
		"discord-webhook": &a.DiscordWebhook, "webhook-url": &a.GenericWebhook,
	}[flag]
}

// resolveSecrets fills each secret not given as a flag from its file flag or its
// environment variable, and returns the flags so answered.
func resolveSecrets(o *Options, fl *pflag.FlagSet, files map[string]*string) (map[string]bool, error) {
	answered := map[string]bool{}
	stdinUsed := ""
	for _, name := range secretFlags {
		dst := o.secretDst(name)
		file := *files[name]
		fromFile := fl.Changed(name + "-file")
		switch {
		case fl.Changed(name) && fromFile:
			return nil, cli.UsageErrorf("--%s and --%s-file both given: pass one", name, name)
		case fromFile:
			var b []byte
			var err error
			if file == "-" {
				if stdinUsed != "" {
					return nil, cli.UsageErrorf("--%s-file - and --%s-file - both read stdin: pass one of them as a file", stdinUsed, name)
				}
				stdinUsed = name
				b, err = io.ReadAll(io.LimitReader(o.ReadIn, 1<<20))
			} else {
				b, err = fileio.ReadFile(file, 1<<20)
			}
			if err != nil {
				return nil, cli.UsageErrorf("--%s-file %s: %v", name, file, err)
			}
			v := strings.TrimSpace(string(b))
			if v == "" {
				return nil, cli.UsageErrorf("--%s-file %s is empty: put the value in it", name, file)
			}
			*dst = v
			answered[name] = true
		case !fl.Changed(name):
			if v := strings.TrimSpace(o.Getenv(secretEnv(name))); v != "" {
				*dst = v
				answered[name] = true
			}
		}
	}
	return answered, nil
}

// NewCmdGenConfig builds the command.
func NewCmdGenConfig(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Settings: func() *config.Settings { return f.Settings }, Getenv: os.Getenv, ReadIn: f.IOStreams.In}
	var small, prom, pv, crash bool
	files := map[string]*string{}
	noFlags := map[string]*bool{}
	cmd := &cobra.Command{
		Use:   "gen-config",
		Short: "Generate generated_values.yaml for installing Robusta with Helm",
		Long: `Ask a few questions (or take them all from flags) and write the Helm values for the
Robusta chart: cluster name, where notifications go (Slack, MS Teams, Discord, a webhook,
the Robusta UI), the bundled Prometheus stack, playbook storage and crash reports.

On a terminal it asks what no flag answered; with --no-input (or without a terminal) it
never asks: unanswered questions take their defaults.

The file is written atomically with mode 0600 (it holds secrets); through a symlink,
the link's target is written and the link kept. An existing file is only replaced with
--force or after you confirm; --update reads it and keeps what the answers do not
cover, its signing key and account id included, and stops on a key of the wrong type
(sinksConfig that is not a list, ...), writing nothing.`,
		Example: `  robusta gen-config
  robusta gen-config --no-input --cluster-name prod --slack-api-key xoxb-... --slack-channel alerts
  robusta gen-config --update --msteams-webhook https://example.webhook.office.com/...
  robusta gen-config --no-input --cluster-name dev --output-path - | less`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			for _, b := range boolFlags {
				if fl.Changed(b) && fl.Changed("no-"+b) {
					return cli.UsageErrorf("--%s and --no-%s both given: pass one", b, b)
				}
			}
			// --no-X is --X=false.
			for b, dst := range map[string]*bool{"is-small-cluster": &small, "enable-prometheus-stack": &prom, "playbooks-persistent-volume": &pv, "enable-crash-report": &crash} {
				if fl.Changed("no-" + b) {
					*dst = !*noFlags[b]
					_ = fl.Set(b, fmt.Sprint(*dst))
				}
			}
			answered, err := resolveSecrets(opts, fl, files)
			if err != nil {
				return err
			}
			opts.changed = func(name string) bool { return fl.Changed(name) || answered[name] }
			if fl.Changed("is-small-cluster") {
				opts.Answers.IsSmallCluster = helmvalues.Bool(small)
			}
			if fl.Changed("enable-prometheus-stack") {
				opts.Answers.EnablePrometheusStack = helmvalues.Bool(prom)
			}
			if fl.Changed("playbooks-persistent-volume") {
				opts.Answers.PlaybooksPersistentVolume = helmvalues.Bool(pv)
			}
			if fl.Changed("enable-crash-report") {
				opts.Answers.EnableCrashReport = helmvalues.Bool(crash)
			}
			if runF != nil {
				return runF(opts)
			}
			return runGenConfig(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Answers.ClusterName, "cluster-name", "", "cluster name shown in notifications (default: the current kube context's cluster, cleaned)")
	fl.BoolVar(&small, "is-small-cluster", false, "a small or local cluster (default: guessed from the context: kind, minikube, k3d, ...)")
	fl.StringVar(&opts.Answers.SlackAPIKey, "slack-api-key", "", "Slack bot token (with --slack-channel)")
	fl.StringVar(&opts.Answers.SlackChannel, "slack-channel", "", "Slack channel, without #")
	fl.StringVar(&opts.Answers.MSTeamsWebhook, "msteams-webhook", "", "MS Teams incoming webhook (https URL)")
	fl.StringVar(&opts.Answers.RobustaAPIKey, "robusta-api-key", "", "Robusta UI token (enables the UI sink and platform playbooks)")
	fl.StringVar(&opts.Answers.DiscordWebhook, "discord-webhook", "", "Discord webhook (https URL)")
	fl.StringVar(&opts.Answers.GenericWebhook, "webhook-url", "", "generic webhook sink URL")
	fl.BoolVar(&prom, "enable-prometheus-stack", false, "install the bundled kube-prometheus-stack")
	fl.BoolVar(&pv, "playbooks-persistent-volume", true, "keep pushed playbooks on a persistent volume (robusta playbooks push needs it)")
	fl.BoolVar(&crash, "enable-crash-report", false, "send exception reports to the Robusta team")
	fl.StringVar(&opts.OutputPath, "output-path", "./generated_values.yaml", "file to write, - for stdout")
	fl.BoolVar(&opts.NoInput, "no-input", false, "never prompt; unanswered questions take their defaults")
	fl.BoolVar(&opts.Force, "force", false, "replace an existing output file")
	fl.BoolVar(&opts.Update, "update", false, "update an existing output file, keeping what the answers do not cover")
	fl.BoolVar(&opts.Debug, "debug", false, "print the replies of Slack and the Robusta platform")
	fl.BoolVar(&opts.SkipVerify, "skip-verify", false, "write the Slack sink without posting a welcome message to check the channel")
	fl.BoolVar(&opts.AcceptEULA, "accept-eula", false, "accept the Robusta UI's End User License Agreement without being asked")
	fl.StringVar(&opts.BackendURL, "backend-url", "", "Robusta platform API address (default: from "+backend.ProfileEnv+", else https://api.robusta.dev)")
	for _, name := range secretFlags {
		files[name] = new(string)
		fl.StringVar(files[name], name+"-file", "", "read --"+name+" from this file (- for stdin); also $"+secretEnv(name))
	}
	for _, b := range boolFlags {
		noFlags[b] = new(bool)
		fl.BoolVar(noFlags[b], "no-"+b, false, "same as --"+b+"=false")
		_ = fl.MarkHidden("no-" + b)
	}
	return cmd
}

func runGenConfig(o *Options) error {
	if o.NoInput {
		o.IO.SetNeverPrompt(true)
	}
	interactive := o.IO.CanPrompt()
	toStdout := o.OutputPath == "-"

	// Fail early on an output file we may not replace, before asking anything.
	var existing []byte
	if !toStdout {
		// Through a symlink, the file read and replaced is the link's target.
		b, err := fileio.ReadFile(o.OutputPath, fileio.MaxConfig)
		switch {
		case err == nil:
			existing = b
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("read %s: %w", o.OutputPath, err)
		}
		if existing != nil && !o.Update && !o.Force {
			if !interactive {
				return cli.WithHint(fmt.Errorf("%s already exists", o.OutputPath), "pass --force to replace it, --update to keep its keys, or --output-path for another file")
			}
			ok, err := confirm(o, fmt.Sprintf("%s already exists. Replace it?", o.OutputPath), false)
			if err != nil {
				return err
			}
			if !ok {
				return cli.ErrAborted
			}
		}
		target, err := resolveLinks(o.OutputPath)
		if err != nil {
			return err
		}
		if err := checkWritableDir(target); err != nil {
			return err
		}
	}
	var doc *yaml.Node
	if o.Update && existing != nil {
		d, err := helmvalues.Parse(existing)
		if err != nil {
			return fmt.Errorf("--update: %s: %w", o.OutputPath, err)
		}
		if d != nil {
			// Checked before asking anything; Build checks again.
			if err := helmvalues.CheckTypes(d.Content[0]); err != nil {
				return fmt.Errorf("--update: %s: %w (nothing was written)", o.OutputPath, err)
			}
		}
		doc = d
	}

	ctxCluster, ctxName := currentCluster(o.Settings())
	a := &o.Answers
	a.SlackChannel = helmvalues.CleanSlackChannel(a.SlackChannel)
	updating := doc != nil

	if interactive {
		if err := ask(o, ctxCluster, ctxName); err != nil {
			if errors.Is(err, terminal.InterruptErr) {
				return cli.ErrAborted
			}
			return err
		}
	} else if !updating {
		// Documented defaults for what no flag answered.
		if a.ClusterName == "" {
			a.ClusterName = helmvalues.CleanClusterName(ctxCluster)
		}
		if a.IsSmallCluster == nil {
			a.IsSmallCluster = helmvalues.Bool(helmvalues.GuessSmallCluster(ctxName, ctxCluster))
		}
		for _, d := range []struct {
			p   **bool
			def bool
		}{{&a.PlaybooksPersistentVolume, true}, {&a.EnablePrometheusStack, false}, {&a.EnableCrashReport, false}} {
			if *d.p == nil {
				*d.p = helmvalues.Bool(d.def)
			}
		}
	}
	if a.ClusterName == "" && !updating {
		return cli.UsageErrorf("no cluster name: pass --cluster-name (there is no kube context to take it from)")
	}
	if err := a.Validate(); err != nil {
		return cli.UsageErrorf("%v", err)
	}
	profile, err := backend.Load(o.Getenv, o.BackendURL)
	if err != nil {
		return cli.UsageErrorf("%v", err)
	}
	a.RunnerEnv = profile.RunnerEnv()
	if a.SlackAPIKey != "" && !o.SkipVerify {
		if err := o.verifySlack(interactive); err != nil {
			return err
		}
	}
	if a.RobustaAPIKey != "" {
		if err := o.eula(profile, interactive); err != nil {
			return err
		}
	}

	out, err := helmvalues.Build(doc, *a, helmvalues.RandomUUID)
	if err != nil {
		return err
	}
	data, err := helmvalues.Marshal(out)
	if err != nil {
		return err
	}
	if toStdout {
		if _, err := o.IO.Out.Write(data); err != nil {
			return err
		}
	} else {
		target, err := resolveLinks(o.OutputPath)
		if err != nil {
			return err
		}
		if err := fileio.WriteAtomic(target, data); err != nil {
			return err
		}
	}
	summary(o, toStdout)
	return nil
}

// verifySlack posts the welcome message; on a terminal a refused channel is asked
// again, as the Python CLI does.
func (o *Options) verifySlack(interactive bool) error {
	base := o.SlackAPI
	if v := o.Getenv(SlackAPIEnv); v != "" {
		base = v
	}
	if base == "" {
		base = defaultSlackAPI
	}
	var debug io.Writer
	if o.Debug {
		debug = o.IO.ErrOut
	}
	for {
		err := verifySlackChannel(context.Background(), base, o.Answers.SlackAPIKey, o.Answers.SlackChannel, debug)
		var se *SlackError
		if err == nil || !errors.As(err, &se) || !interactive || se.Code == "invalid_auth" || se.Code == "not_authed" {
			if err != nil && !interactive {
				return cli.WithHint(err, "fix the channel, or pass --skip-verify to write the sink unchecked")
			}
			return err
		}
		fmt.Fprintf(o.IO.ErrOut, "%s %v\n", o.IO.StderrStyles().WarningIcon(), err)
		ch, err := input(o, "Slack channel:", "", "The channel name, with or without #.", required("the channel"))
		if err != nil {
			if errors.Is(err, terminal.InterruptErr) {
				return cli.ErrAborted
			}
			return err
		}
		o.Answers.SlackChannel = helmvalues.CleanSlackChannel(ch)
	}
}

// eula shows the license the Robusta UI requires and records its acceptance with the
// platform, as the Python CLI does.
func (o *Options) eula(p backend.Profile, interactive bool) error {
	st := o.IO.StderrStyles()
	fmt.Fprintf(o.IO.ErrOut, "The Robusta UI comes with an End User License Agreement: %s\n", st.Accent(p.EULAURL()))
	accepted := o.AcceptEULA
	if !accepted && interactive {
		ok, err := confirm(o, "Do you accept the End User License Agreement?", false)
		if err != nil {
			if errors.Is(err, terminal.InterruptErr) {
				return cli.ErrAborted
			}
			return err
		}
		if !ok {
			return cli.WithHint(errors.New("the Robusta UI needs the End User License Agreement accepted"), "accept it, or run again without the Robusta UI token")
		}
		accepted = true
	}
	if !accepted {
		fmt.Fprintf(o.IO.ErrOut, "%s acceptance not recorded: pass --accept-eula to accept it\n", st.WarningIcon())
		return nil
	}
	tok, err := helmvalues.ParseUIToken(o.Answers.RobustaAPIKey)
	if err != nil {
		return err
	}
	c := backend.NewClient(p, o.Getenv, "robusta-cli/"+build.Version)
	if err := c.AcceptEULA(context.Background(), tok.AccountID); err != nil {
		// The values are still right; the platform asks again at first login.
		fmt.Fprintf(o.IO.ErrOut, "%s could not record the acceptance: %v\n", st.WarningIcon(), err)
	} else if o.Debug {
		fmt.Fprintf(o.IO.ErrOut, "debug: acceptance recorded at %s\n", p.EULAURL())
	}
	return nil
}

func currentCluster(s *config.Settings) (cluster, context string) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if s != nil {
		rules.ExplicitPath = s.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{}
	if s != nil {
		overrides.CurrentContext = s.Context
	}
	raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).RawConfig()
	if err != nil {
		return "", ""
	}
	name := raw.CurrentContext
	if s != nil && s.Context != "" {
		name = s.Context
	}
	if c, ok := raw.Contexts[name]; ok && c.Cluster != "" {
		return c.Cluster, name
	}
	return name, name
}

func checkWritableDir(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return cli.UsageErrorf("--output-path %s: folder %s does not exist", path, dir)
	}
	if !st.IsDir() {
		return cli.UsageErrorf("--output-path %s: %s is not a folder", path, dir)
	}
	f, err := os.CreateTemp(dir, ".robusta-write-check-")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// maxLinks bounds how many symlinks resolveLinks follows (Linux's own limit is 40).
const maxLinks = 40

// resolveLinks follows path through symlinks to the file they name, which may not
// exist yet: writing there updates the target and keeps the links, where renaming over
// the link itself would replace it by a regular file.
func resolveLinks(path string) (string, error) {
	for range maxLinks {
		st, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && st.Mode()&fs.ModeSymlink == 0) {
			return path, nil
		}
		if err != nil {
			return "", fmt.Errorf("--output-path: %w", err)
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", fmt.Errorf("--output-path: %w", err)
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", cli.UsageErrorf("--output-path: more than %d symlinks in a row (a loop?) ending at %s", maxLinks, path)
}

func summary(o *Options, toStdout bool) {
	w := o.IO.Out
	st := o.IO.Styles()
	if toStdout {
		w = o.IO.ErrOut
		st = o.IO.StderrStyles()
	}
	a := o.Answers
	var sinks []string
	if a.RobustaAPIKey != "" {
		sinks = append(sinks, "Robusta UI (token "+helmvalues.Mask(a.RobustaAPIKey)+")")
	}
	if a.SlackAPIKey != "" {
		sinks = append(sinks, "Slack #"+a.SlackChannel+" (key "+helmvalues.Mask(a.SlackAPIKey)+")")
	}
	if a.MSTeamsWebhook != "" {
		sinks = append(sinks, "MS Teams ("+helmvalues.Mask(a.MSTeamsWebhook)+")")
	}
	if a.DiscordWebhook != "" {
		sinks = append(sinks, "Discord ("+helmvalues.Mask(a.DiscordWebhook)+")")
	}
	if a.GenericWebhook != "" {
		sinks = append(sinks, "webhook ("+helmvalues.Mask(a.GenericWebhook)+")")
	}
	if len(sinks) == 0 {
		sinks = append(sinks, "none (findings are only in the runner's logs)")
	}
	where := o.OutputPath
	if toStdout {
		where = "stdout"
	}
	fmt.Fprintf(w, "%s Wrote Helm values to %s\n", st.SuccessIcon(), st.Bold(where))
	if a.ClusterName != "" {
		fmt.Fprintf(w, "  cluster:       %s\n", a.ClusterName)
	}
	fmt.Fprintf(w, "  sinks:         %s\n", strings.Join(sinks, ", "))
	fmt.Fprintf(w, "  prometheus:    %s\n", onOff(a.EnablePrometheusStack))
	fmt.Fprintf(w, "  playbooks PV:  %s\n", onOff(a.PlaybooksPersistentVolume))
	if !toStdout {
		fmt.Fprintf(w, "\nNext:\n  %s\n  %s\n", st.Accent("helm repo add robusta https://robusta-charts.storage.googleapis.com && helm repo update"),
			st.Accent("helm install robusta robusta/robusta -f "+o.OutputPath+" --namespace robusta --create-namespace"))
	}
}

func onOff(b *bool) string {
	switch {
	case b == nil:
		return "unchanged"
	case *b:
		return "on"
	}
	return "off"
}
