package genconfig

import (
	"errors"
	"fmt"
	"os"

	"github.com/AlecAivazis/survey/v2"

	"github.com/robusta-dev/robusta-go/internal/helmvalues"
)

func stdio(o *Options) survey.AskOpt {
	in, _ := o.IO.In.(*os.File)
	out, _ := o.IO.Out.(*os.File)
	if in == nil || out == nil {
		in, out = os.Stdin, os.Stdout
	}
	return survey.WithStdio(in, out, o.IO.ErrOut)
}

func confirm(o *Options, msg string, def bool) (bool, error) {
	v := def
	err := survey.AskOne(&survey.Confirm{Message: msg, Default: def}, &v, stdio(o))
	return v, err
}

func input(o *Options, msg, def, help string, validate func(string) error) (string, error) {
	var v string
	opts := []survey.AskOpt{stdio(o)}
	if validate != nil {
		opts = append(opts, survey.WithValidator(func(ans any) error { return validate(fmt.Sprint(ans)) }))
	}
	err := survey.AskOne(&survey.Input{Message: msg, Default: def, Help: help}, &v, opts...)
	return v, err
}

func password(o *Options, msg, help string, validate func(string) error) (string, error) {
	var v string
	opts := []survey.AskOpt{stdio(o)}
	if validate != nil {
		opts = append(opts, survey.WithValidator(func(ans any) error { return validate(fmt.Sprint(ans)) }))
	}
	err := survey.AskOne(&survey.Password{Message: msg, Help: help}, &v, opts...)
	return v, err
}

func required(what string) func(string) error {
	return func(s string) error {
		if s == "" {
			return errors.New(what + " is required")
		}
		return nil
	}
}

// ask asks, in order, every question no flag answered.
func ask(o *Options, ctxCluster, ctxName string) error {
	a := &o.Answers
	var err error
	if !o.changed("cluster-name") {
		def := helmvalues.CleanClusterName(ctxCluster)
		a.ClusterName, err = input(o, "Cluster name:", def, "Shown in every notification. Lower-case letters, digits and dashes.",
			func(s string) error {
				if s == "" || helmvalues.CleanClusterName(s) != s {
					return fmt.Errorf("use lower-case letters, digits and dashes")
				}
				return nil
			})
		if err != nil {
			return err
		}
	}
	if !o.changed("is-small-cluster") {
		v, err := confirm(o, "Is this a small or local cluster (kind, minikube, ...)?", helmvalues.GuessSmallCluster(ctxName, ctxCluster))
		if err != nil {
			return err
		}
		a.IsSmallCluster = &v
	}
	if !o.changed("slack-api-key") {
		yes, err := confirm(o, "Send notifications to Slack?", false)
		if err != nil {
			return err
		}
		if yes {
			if a.SlackAPIKey, err = password(o, "Slack bot token (xoxb-...):", "Create a Slack app with chat:write, install it and copy its Bot User OAuth Token.", required("the token")); err != nil {
				return err
			}
		}
	}
	if a.SlackAPIKey != "" && !o.changed("slack-channel") {
		ch, err := input(o, "Slack channel:", "", "The channel name, with or without #.", required("the channel"))
		if err != nil {
			return err
		}
		a.SlackChannel = helmvalues.CleanSlackChannel(ch)
	}
	type urlQ struct {
		flag, question, prompt string
		dst                    *string
		check                  func(string, string) error
	}
	for _, q := range []urlQ{
		{"msteams-webhook", "Send notifications to MS Teams?", "MS Teams webhook URL:", &a.MSTeamsWebhook, helmvalues.CheckHTTPSURL},
		{"discord-webhook", "Send notifications to Discord?", "Discord webhook URL:", &a.DiscordWebhook, helmvalues.CheckHTTPSURL},
		{"webhook-url", "Send notifications to a generic webhook?", "Webhook URL:", &a.GenericWebhook, helmvalues.CheckHTTPURL},
	} {
		if o.changed(q.flag) {
			continue
		}
		yes, err := confirm(o, q.question, false)
		if err != nil {
			return err
		}
		if yes {
			check := q.check
			if *q.dst, err = input(o, q.prompt, "", "", func(s string) error { return check("the URL", s) }); err != nil {
				return err
			}
		}
	}
	if !o.changed("robusta-api-key") {
		yes, err := confirm(o, "Connect the Robusta UI (needs a token from the UI)?", false)
		if err != nil {
			return err
		}
		if yes {
			if a.RobustaAPIKey, err = password(o, "Robusta UI token:", "", func(s string) error {
				_, err := helmvalues.ParseUIToken(s)
				return err
			}); err != nil {
				return err
			}
		}
	}
	for _, q := range []struct {
		flag, question string
		def            bool
		dst            **bool
	}{
		{"enable-prometheus-stack", "Install the bundled Prometheus stack?", false, &a.EnablePrometheusStack},
		{"playbooks-persistent-volume", "Keep pushed playbooks on a persistent volume (needed by robusta playbooks push)?", true, &a.PlaybooksPersistentVolume},
		{"enable-crash-report", "Send exception reports to help improve Robusta?", false, &a.EnableCrashReport},
	} {
		if o.changed(q.flag) {
			continue
		}
		v, err := confirm(o, q.question, q.def)
		if err != nil {
			return err
		}
		*q.dst = &v
	}
	return nil
}
