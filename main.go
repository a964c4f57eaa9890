// Command robusta is a command-line tool for Robusta, the Kubernetes troubleshooting
// and alerting platform.
package main

import (
	"os"

	"github.com/robusta-dev/robusta-go/cmd/root"
	"github.com/robusta-dev/robusta-go/internal/startup"
)

func main() {
	startup.Done()
	os.Exit(root.Main())
}
