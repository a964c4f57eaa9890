# robusta: build, test and try it by hand. `make test` is what CI runs.
SHELL := /bin/bash
PKG := github.com/robusta-dev/robusta-go/internal/build
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X $(PKG).Version=$(VERSION) -X $(PKG).Commit=$(COMMIT) -X $(PKG).Date=$(DATE)

.PHONY: build test test-unit completions sandbox sandbox-down bench clean

build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o robusta .

# Every test: installs what it needs (sandbox components, goreleaser), then vet, format,
# release-config check and all Go tests against the sandbox.
test:
	./hack/test.sh

# Unit tests only: no sandbox needed.
test-unit:
	go test -short ./...

completions:
	@for s in bash:robusta.bash zsh:_robusta fish:robusta.fish powershell:robusta.ps1; do \
		go run . completion $${s%%:*} > completions/$${s#*:}; done

sandbox:
	@bash hack/sandbox/install.sh >/dev/null
	@go run ./hack/sandbox up

sandbox-down:
	@go run ./hack/sandbox down

clean:
	rm -rf robusta dist .sandbox
