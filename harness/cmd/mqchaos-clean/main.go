// Command mqchaos-clean removes the containers and networks that mqchaos
// runs left behind (for example after a run was killed): those whose
// creating process is gone, so a run still in progress keeps its own.
// With -all it removes every one, a live run's too.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mqchaos/mqchaos/harness/stack"
)

func main() {
	all := flag.Bool("all", false, "remove every mqchaos container and network, also those of runs still in progress")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, n, err := stack.Clean(ctx, !*all)
	fmt.Printf("mqchaos-clean: removed %d containers, %d networks\n", c, n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mqchaos-clean:", err)
		os.Exit(1)
	}
}
