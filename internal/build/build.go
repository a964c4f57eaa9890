// Package build holds version information stamped in at link time.
package build

import "runtime"

// Set with -ldflags "-X github.com/robusta-dev/robusta-go/internal/build.Version=..." by
// the Makefile and .goreleaser.yaml. A plain `go build` leaves the defaults.
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// Info is what `robusta version` reports.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Current returns the version information of this binary.
func Current() Info {
	return Info{
		Version:   Version,
		Commit:    Commit,
		Date:      Date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}
