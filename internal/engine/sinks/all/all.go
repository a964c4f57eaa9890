// Package all knows every sink type this build delivers to and builds one from its
// sinksConfig entry.
package all

import (
	"sort"

	"github.com/robusta-dev/robusta-go/internal/engine/sinks"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/discord"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/file"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/googlechat"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/mail"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/msteams"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/opsgenie"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/pagerduty"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/slack"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/telegram"
	"github.com/robusta-dev/robusta-go/internal/engine/sinks/webhook"
)

type factory func(c sinks.Config, opts sinks.Options) (sinks.Sink, error)

// factories maps a sinksConfig key to its constructor. A function, not a package
// variable filled at init, so nothing runs before New is called.
func factories() map[string]factory {
	return map[string]factory{
		"file_sink": func(c sinks.Config, _ sinks.Options) (sinks.Sink, error) { return file.New(c) },
		"webhook_sink": func(c sinks.Config, o sinks.Options) (sinks.Sink, error) {
			return webhook.New(c, o)
		},
		slack.Type:      slack.New,
		pagerduty.Type:  pagerduty.New,
		msteams.Type:    msteams.New,
		discord.Type:    discord.New,
		telegram.Type:   telegram.New,
		mail.Type:       mail.New,
		opsgenie.Type:   opsgenie.New,
		googlechat.Type: googlechat.New,
	}
}

// Types returns the sink types this build delivers to, sorted.
func Types() []string {
	var out []string
	for k := range factories() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New builds the sink of one sinksConfig entry. A nil sink with skip set means this
// build does not deliver to it, and why; bad params of a supported type are an error
// naming the sink and the field.
func New(c sinks.Config, opts sinks.Options) (s sinks.Sink, skip string, err error) {
	if c.Type == "file_sink" {
		if fn, _ := c.Params["file_name"].(string); fn == "" {
			return nil, "a file_sink without file_name prints to the runner's log; here the terminal shows every finding", nil
		}
	}
	f, ok := factories()[c.Type]
	if !ok {
		return nil, "the local watch has no " + c.Type + " yet; its findings are shown here only", nil
	}
	s, err = f(c, opts)
	return s, "", err
}
