// Package integrations implements `robusta integrations slack|ui`: connecting Slack and
// the Robusta UI through the Robusta platform API.
package integrations

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/robusta-dev/robusta-go/internal/backend"
	"github.com/robusta-dev/robusta-go/internal/build"
	"github.com/robusta-dev/robusta-go/internal/cli"
	"github.com/robusta-dev/robusta-go/internal/cmdutil"
)

// NewCmdIntegrations builds the command group.
func NewCmdIntegrations(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "integrations",
		Short: "Connect Slack and the Robusta UI through the Robusta platform",
	}
	cmd.AddCommand(NewCmdSlack(f, nil), NewCmdUI(f, nil))
	return cmd
}

// Common are the flags every integrations command has.
type Common struct {
	IO         *cli.IOStreams
	BackendURL string
	Getenv     func(string) string
}

func (c *Common) client() (*backend.Client, error) {
	p, err := backend.Load(c.Getenv, c.BackendURL)
	if err != nil {
		return nil, cli.UsageErrorf("%v", err)
	}
	if p.Custom {
		fmt.Fprintf(c.IO.ErrOut, "Using the Robusta backend profile %s\n", c.Getenv(backend.ProfileEnv))
	}
	return backend.NewClient(p, c.Getenv, "robusta-cli/"+build.Version), nil
}

func addCommon(cmd *cobra.Command, c *Common) {
	cmd.Flags().StringVar(&c.BackendURL, "backend-url", "", "Robusta platform API address (default: from "+backend.ProfileEnv+", else https://api.robusta.dev)")
}

// SlackOptions for `robusta integrations slack`.
type SlackOptions struct {
	Common
	NoBrowser bool
	Timeout   time.Duration
	Poll      time.Duration
}

// NewCmdSlack builds `robusta integrations slack`.
func NewCmdSlack(f *cmdutil.Factory, runF func(*SlackOptions) error) *cobra.Command {
	o := &SlackOptions{Common: Common{IO: f.IOStreams, Getenv: os.Getenv}, Poll: 500 * time.Millisecond}
	cmd := &cobra.Command{
		Use:   "slack",
		Short: "Install the Robusta Slack app and print its key for the Slack sink",
		Long: `Open the page that installs the Robusta Slack app in your workspace (the URL is always
printed; a browser is opened only on a desktop session), wait until the platform hands
over the app's key, and print it for the slack_sink of your Helm values.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return runSlack(cmd.Context(), o)
		},
	}
	addCommon(cmd, &o.Common)
	cmd.Flags().BoolVar(&o.NoBrowser, "no-browser", false, "only print the URL")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 10*time.Minute, "how long to wait for the Slack app to be installed")
	return cmd
}

func runSlack(ctx context.Context, o *SlackOptions) error {
	if o.Timeout <= 0 {
		return cli.UsageErrorf("--timeout %s: give a positive duration such as 10m", o.Timeout)
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	id := uuid.NewString()
	u := c.SlackConnectURL(id)
	st := o.IO.StderrStyles()
	fmt.Fprintf(o.IO.ErrOut, "Open this URL to add the Robusta app to your Slack workspace:\n  %s\n", st.Accent(u))
	if !o.NoBrowser && backend.IsDesktop(o.Getenv) {
		if err := backend.OpenBrowser(u); err != nil {
			fmt.Fprintf(o.IO.ErrOut, "%s could not open a browser (%v): open the URL yourself\n", st.WarningIcon(), err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	sp := o.IO.StartSpinner("waiting for the Slack app to be installed")
	var lastErr error
	key, err := c.WaitSlackKey(ctx, id, o.Poll, func(err error) { lastErr = err })
	sp.Stop()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			msg := fmt.Sprintf("no Slack key after %s", o.Timeout)
			if lastErr != nil {
				msg += fmt.Sprintf(" (last error: %v)", lastErr)
			}
			return cli.WithHint(errors.New(msg), "finish the installation in the browser, or run again with a longer --timeout")
		}
		return err
	}
	workspace := key.TeamName
	if workspace == "" {
		workspace = "(name not given)"
	}
	fmt.Fprintf(o.IO.ErrOut, "%s Connected to the Slack workspace %s\n", st.SuccessIcon(), st.Bold(workspace))
	fmt.Fprintf(o.IO.ErrOut, "Your Slack key (put it in the slack_sink's api_key):\n")
	fmt.Fprintln(o.IO.Out, key.Token)
	return nil
}

// UIOptions for `robusta integrations ui`.
type UIOptions struct {
	Common
	Email       string
	AccountName string
}

// NewCmdUI builds `robusta integrations ui`.
func NewCmdUI(f *cmdutil.Factory, runF func(*UIOptions) error) *cobra.Command {
	o := &UIOptions{Common: Common{IO: f.IOStreams, Getenv: os.Getenv}}
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Create a Robusta UI account and print the sink that connects the cluster to it",
		Long: `Register an account on the Robusta platform (your Google or Microsoft address logs you
in) and print the robusta_sink to add to your Helm values. When the account name is
taken, another one is proposed (acme becomes acme-1).`,
		Example: `  robusta integrations ui
  robusta integrations ui --email me@example.com --account-name acme`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			return runUI(cmd.Context(), o)
		},
	}
	addCommon(cmd, &o.Common)
	cmd.Flags().StringVar(&o.Email, "email", "", "Google or Microsoft address you log in with")
	cmd.Flags().StringVar(&o.AccountName, "account-name", "", "account name, such as your organization's")
	return cmd
}

func ask(o *UIOptions, msg string, dst *string) error {
	if !o.IO.CanPrompt() {
		return cli.ErrCannotPrompt
	}
	err := survey.AskOne(&survey.Input{Message: msg}, dst, stdio(o.IO), survey.WithValidator(survey.Required))
	if errors.Is(err, terminal.InterruptErr) {
		return cli.ErrAborted
	}
	*dst = strings.TrimSpace(*dst)
	return err
}

func stdio(io *cli.IOStreams) survey.AskOpt {
	in, _ := io.In.(*os.File)
	out, _ := io.ErrOut.(*os.File)
	if in == nil || out == nil {
		in, out = os.Stdin, os.Stderr
	}
	return survey.WithStdio(in, out, io.ErrOut)
}

func runUI(ctx context.Context, o *UIOptions) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	interactive := o.IO.CanPrompt()
	if !interactive && (o.Email == "" || o.AccountName == "") {
		return cli.UsageErrorf("no terminal to ask on: pass --email and --account-name")
	}
	if o.Email == "" {
		if err := ask(o, "Your Google/Microsoft address (used to log in):", &o.Email); err != nil {
			return err
		}
	}
	if o.AccountName == "" {
		if err := ask(o, "Account name (your organization's, for example):", &o.AccountName); err != nil {
			return err
		}
	}
	st := o.IO.StderrStyles()
	for {
		token, err := c.CreateAccount(ctx, o.AccountName, o.Email)
		if err == nil {
			fmt.Fprintf(o.IO.ErrOut, "%s Registered the account %s\n", st.SuccessIcon(), st.Bold(o.AccountName))
			fmt.Fprintf(o.IO.ErrOut, "Add this to your Helm values (into sinksConfig if you have one):\n\n")
			fmt.Fprintf(o.IO.Out, "sinksConfig:\n- robusta_sink:\n    name: robusta_ui_sink\n    token: %s\n", token)
			return nil
		}
		if !errors.Is(err, backend.ErrAccountExists) {
			return fmt.Errorf("create the account: %w", err)
		}
		alt := backend.AlternativeName(o.AccountName)
		if !interactive {
			return cli.WithHint(fmt.Errorf("the account name %s is already in use", cli.Quote(o.AccountName)), "pass another --account-name, such as "+alt)
		}
		fmt.Fprintf(o.IO.ErrOut, "%s the account name %s is already in use\n", st.WarningIcon(), cli.Quote(o.AccountName))
		use := true
		if err := survey.AskOne(&survey.Confirm{Message: fmt.Sprintf("Use %q instead?", alt), Default: true}, &use, stdio(o.IO)); err != nil {
			return cli.ErrAborted
		}
		if use {
			o.AccountName = alt
			continue
		}
		o.AccountName = ""
		if err := ask(o, "Account name:", &o.AccountName); err != nil {
			return err
		}
	}
}
