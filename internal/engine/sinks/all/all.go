// Package all builds a sinks.Set from sinksConfig, knowing every sink type this build
// delivers to.
package all

import (
	"fmt"
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

// factories maps a sinksConfig key to its constructor. A function, not a package
// variable filled at init, so nothing runs before New is called.
func factories() map[string]sinks.Factory {
	return map[string]sinks.Factory{
		file.Type:       file.New,
		webhook.Type:    webhook.New,
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

// Types returns the sink types this build can deliver to, sorted.
func Types() []string {
	var out []string
	for k := range factories() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New builds the sinks of cfgs in order. Entries of a type this build does not
// deliver to are skipped and listed by Set.Unsupported; bad params of a supported
// type are an error naming the sink and the field.
func New(cfgs []sinks.Config, opts sinks.Options) (*sinks.Set, error) {
	fs := factories()
	var entries []sinks.Entry
	var unsupported []sinks.Unsupported
	for i, c := range cfgs {
		route, err := sinks.ParseRoute(c.Params)
		if err != nil {
			return nil, fmt.Errorf("sinksConfig[%d] (%s): %w", i, c.Type, err)
		}
		route.NamespaceLabels = opts.NamespaceLabels
		f, ok := fs[c.Type]
		if !ok {
			unsupported = append(unsupported, sinks.Unsupported{Name: route.Name, Type: c.Type})
			continue
		}
		sk, err := f(c, route, opts)
		if err != nil {
			return nil, fmt.Errorf("sinksConfig[%d] (%s): %w", i, c.Type, err)
		}
		entries = append(entries, sinks.Entry{Sink: sk, Route: route})
	}
	return sinks.NewSet(entries, unsupported, opts)
}
