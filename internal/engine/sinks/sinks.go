// Package sinks delivers findings to the destinations of a values file's sinksConfig:
// one sub-package per sink type (slack, msteams, webhook, ...), each with its payload
// format and its retry classification, in the shape of Alertmanager's notify/ tree.
// This package holds the contract, the routing (Route, Targets) and the helpers the
// sink packages share; sinks/all builds a sink from its config entry, and the
// runner's outboxes deliver to it.
package sinks

import (
	"context"
	"net/http"

	"github.com/robusta-dev/robusta-go/internal/engine"
)

// Sink delivers findings to one configured destination.
type Sink interface {
	// Name is the sink's name in sinksConfig (what playbooks list under sinks:).
	Name() string
	// Type is the sinksConfig key: slack_sink, webhook_sink, ...
	Type() string
	// Send delivers one finding. retry says whether the same call may succeed later
	// (timeouts, 429, 5xx); a refused payload or bad credentials are not retried.
	Send(ctx context.Context, f *engine.Finding) (retry bool, err error)
}

// Config is one sinksConfig entry: its type key and params as written (name, scope,
// match, default, stop and the type's own fields).
type Config struct {
	Type   string
	Params map[string]any
}

// Name is the entry's name param.
func (c Config) Name() string {
	n, _ := c.Params["name"].(string)
	return n
}

// Options are shared by every sink built for one configuration.
type Options struct {
	// BaseURLs overrides a sink's service URL by sink name (--sink-url NAME=URL), for
	// tests and self-hosted services.
	BaseURLs map[string]string
	// HTTPClient is used by HTTP sinks; nil means a client with a timeout.
	HTTPClient *http.Client
	// ClusterName is the globalConfig.cluster_name the findings came from.
	ClusterName string
	// Logf gets one line per configuration remark. Never secrets.
	Logf func(format string, args ...any)
}
