package sinks

import (
	"context"
	"fmt"
	"net/http"
)

// DecodeNamed is DecodeParams for a sink's constructor: it returns the entry's
// name, and a decode error names the sink.
func DecodeNamed(c Config, dst any) (name string, err error) {
	name = c.Name()
	if _, err := DecodeParams(c, dst); err != nil {
		return name, fmt.Errorf("sink %s: %w", name, err)
	}
	return name, nil
}

// HTTP is what every sink that posts to a web service is built from: its name,
// the service URL (after any --sink-url override) and the HTTP client. Sink types
// embed it, which gives them Name.
type HTTP struct {
	SinkName string
	URL      string
	Client   *http.Client
}

// Name is the sink's name in sinksConfig.
func (h HTTP) Name() string { return h.SinkName }

// NewHTTP decodes c's params into a new P (see DecodeNamed) and builds the HTTP
// part of the sink: service(p) is the URL used unless --sink-url names this sink.
func NewHTTP[P any](c Config, opts Options, service func(*P) string) (HTTP, *P, error) {
	p := new(P)
	name, err := DecodeNamed(c, p)
	if err != nil {
		return HTTP{}, nil, err
	}
	return HTTP{SinkName: name, URL: opts.BaseURL(name, service(p)), Client: opts.Client()}, p, nil
}

// Post sends payload to the sink's URL through PostJSON; service (the sink type's
// word for itself, e.g. "discord") and the sink's name label the errors.
func (h HTTP) Post(ctx context.Context, service string, payload any, header http.Header) (retry bool, err error) {
	return PostJSON(ctx, h.Client, service+" "+h.SinkName, h.URL, payload, header)
}
