// Command pause is the sandbox process of every pod on the local cluster:
// it holds the pod's namespaces open, reaps the zombies it inherits as the
// pod's first process, and exits on SIGINT or SIGTERM. It stands in for
// registry.k8s.io/pause on a machine that cannot pull.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
