// Command mqchaos-clean removes every container and network that mqchaos
// runs left behind (for example after a run was killed). With -orphans it
// removes only those whose creating process is gone.
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
	orphans := flag.Bool("orphans", false, "remove only what no running process on this host owns")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, n, err := stack.Clean(ctx, *orphans)
	fmt.Printf("mqchaos-clean: removed %d containers, %d networks\n", c, n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mqchaos-clean:", err)
		os.Exit(1)
	}
}
