// Command mqchaos-toxiproxy-image builds the Toxiproxy image that stacks
// started with stack.WithToxiproxy use: Toxiproxy's server
// (images.ToxiproxyVersion), FROM scratch, with no registry needed. The
// server binary is -server (default $MQCHAOS_TOXIPROXY_SERVER), else
// toxiproxy-server beside this command, else one go install builds.
// An image already built from the same recipe is kept; -force rebuilds.
// The harness does the same by itself the first time a stack needs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mqchaos/mqchaos/harness/images"
)

func main() {
	image := flag.String("image", images.Toxiproxy, "the image to build")
	server := flag.String("server", os.Getenv("MQCHAOS_TOXIPROXY_SERVER"), "Toxiproxy's server binary (default: beside this command, else go install)")
	force := flag.Bool("force", false, "rebuild even if the image is current")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := images.EnsureToxiproxy
	if *force || *image != images.Toxiproxy {
		build = images.BuildToxiproxy
	}
	if err := build(ctx, *image, *server); err != nil {
		fmt.Fprintln(os.Stderr, "mqchaos-toxiproxy-image:", err)
		os.Exit(1)
	}
	fmt.Printf("mqchaos-toxiproxy-image: %s (toxiproxy %s) is current\n", *image, images.ToxiproxyVersion)
}
