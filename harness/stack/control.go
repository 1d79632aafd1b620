package stack

import (
	"maps"
	"slices"

	"github.com/mqchaos/mqchaos/harness/system"
)

// WithControl switches the safety mechanism c describes off: its
// environment over the description's (as WithEnvSet), and for each
// service it names, its image and its command instead of the
// description's. Later options win over earlier ones, service by service.
// A control's image is built, where it has a Build, by BuildImages with
// the services' images.
func WithControl(c system.Control) Option {
	return func(o *options) {
		WithEnvSet(c.Env)(o)
		maps.Copy(o.image, c.Image)
		for svc, cmd := range c.Command {
			o.command[svc] = slices.Clone(cmd)
		}
	}
}

// override is svc with the image and command the options put in place
// of the description's.
func (o *options) override(svc system.Service) system.Service {
	if img, ok := o.image[svc.Name]; ok {
		svc.Image = img
	}
	if cmd, ok := o.command[svc.Name]; ok {
		svc.Command = cmd
	}
	return svc
}
