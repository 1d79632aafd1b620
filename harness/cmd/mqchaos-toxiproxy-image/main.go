// Command mqchaos-toxiproxy-image builds the Toxiproxy image that stacks
// started with stack.WithToxiproxy use: Toxiproxy's server from its Go
// module (stack.ToxiproxyVersion), FROM scratch, with no registry needed.
// An image already built from the same recipe is kept; -force rebuilds.
// The harness does the same by itself the first time a stack needs it.
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
	image := flag.String("image", stack.LocalToxiproxy, "the image to build")
	force := flag.Bool("force", false, "rebuild even if the image is current")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := stack.EnsureToxiproxyImage
	if *force || *image != stack.LocalToxiproxy {
		build = stack.BuildToxiproxyImage
	}
	if err := build(ctx, *image); err != nil {
		fmt.Fprintln(os.Stderr, "mqchaos-toxiproxy-image:", err)
		os.Exit(1)
	}
	fmt.Printf("mqchaos-toxiproxy-image: %s (toxiproxy %s) is current\n", *image, stack.ToxiproxyVersion)
}
