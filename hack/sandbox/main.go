// Command sandbox starts and stops a sandbox cluster for trying robusta by hand:
//
//	go run ./hack/sandbox up     # prints the KUBECONFIG to use
//	go run ./hack/sandbox down
//
// `up` also creates a fake node and a runner stand-in Deployment in namespace robusta
// (label robustaComponent=runner), so runner discovery has something to find.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/robusta-dev/robusta-go/internal/sandbox"
)

const clusterName = "robusta-dev"

func main() {
	if len(os.Args) != 2 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: go run ./hack/sandbox up|down")
		os.Exit(2)
	}
	wd, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	workdir := filepath.Join(wd, ".sandbox")
	switch os.Args[1] {
	case "up":
		if err := os.MkdirAll(workdir, 0o755); err != nil {
			fail(err)
		}
		var log bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		c, err := sandbox.Start(ctx, sandbox.Options{Name: clusterName, Workdir: workdir, Log: &log})
		if err != nil {
			fail(err)
		}
		if _, err := c.CreateRunner(ctx, sandbox.RunnerSpec{}); err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "sandbox %q is up, with a runner stand-in in namespace robusta.\n", clusterName)
		fmt.Printf("export KUBECONFIG=%s\n", c.KubeconfigPath)
	case "down":
		if err := sandbox.StopByName(clusterName, workdir); err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "sandbox %q is down.\n", clusterName)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sandbox:", err)
	os.Exit(1)
}
