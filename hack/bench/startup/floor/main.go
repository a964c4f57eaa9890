// Command floor links the client-go packages robusta's cluster commands use, and with
// the build tag helm also Helm's engine, chartutil and storage driver (playbooks
// configure), and does nothing else: every linked package's init runs at start, so
// its start-up is what any single binary holding them pays before its own code runs.
// hack/bench/startup times it beside robusta and a hello world.
package main

import (
	"fmt"

	_ "k8s.io/client-go/discovery"
	_ "k8s.io/client-go/dynamic"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/tools/clientcmd"
)

func main() { fmt.Println("floor") }
