package main

import (
	"context"
	"fmt"

	"github.com/mqchaos/mqchaos/harness/images"
)

// ensureImage makes sure image is on this machine, pulling it if it is
// not; an image that is neither there nor pullable is an error that says
// what to do.
func ensureImage(ctx context.Context, image string) error {
	have, err := images.Exists(ctx, image)
	if err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	if have {
		return nil
	}
	if err := images.Pull(ctx, image); err != nil {
		return fmt.Errorf("image %s: not on this machine and not pulled (%v); on a machine without a registry build it (LOCAL_IMAGES=1 make images in mqchaos's repository) or name another with -rabbitmq-image/-postgres-image", image, err)
	}
	return nil
}
