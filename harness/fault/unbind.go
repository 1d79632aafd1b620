package fault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mqchaos/mqchaos/harness/broker"
)

// Binder is the part of the management API Unbind uses; a
// *broker.Management is one.
type Binder interface {
	Bindings(ctx context.Context, queue string) ([]broker.Binding, error)
	Unbind(ctx context.Context, b broker.Binding) error
	Bind(ctx context.Context, b broker.Binding) error
}

// Unbind removes every binding to queues from their exchanges, as a
// botched deployment or a hand edit does: what is published to those
// exchanges is then routed to no queue, which the broker confirms and
// drops, unless the publisher asked for it back (mandatory). Heal binds
// them again as they were. It fails when the queues have no binding.
func Unbind(b Binder, queues ...string) Fault { return &unbind{b: b, queues: queues} }

type unbind struct {
	b       Binder
	queues  []string
	removed []broker.Binding
}

func (u *unbind) Name() string { return "unbind " + strings.Join(u.queues, ", ") }

// Witness notes the queues' bindings and sees none of them left.
func (u *unbind) Witness(ctx context.Context) (Check, error) {
	var before []broker.Binding
	for _, q := range u.queues {
		bs, err := u.b.Bindings(ctx, q)
		if err != nil {
			return nil, err
		}
		before = append(before, bs...)
	}
	return func(ctx context.Context) (string, error) {
		if len(before) == 0 {
			return "", fmt.Errorf("no binding to %s to remove", strings.Join(u.queues, ", "))
		}
		left := 0
		for _, q := range u.queues {
			bs, err := u.b.Bindings(ctx, q)
			if err != nil {
				return "", err
			}
			for _, b := range bs {
				if slices.ContainsFunc(before, b.Same) {
					left++
				}
			}
		}
		if left > 0 {
			return "", fmt.Errorf("%d of %d bindings to %s still there", left, len(before), strings.Join(u.queues, ", "))
		}
		return fmt.Sprintf("%d bindings to %s gone", len(before), strings.Join(u.queues, ", ")), nil
	}, nil
}

func (u *unbind) Inject(ctx context.Context) error {
	var errs []error
	for _, q := range u.queues {
		bs, err := u.b.Bindings(ctx, q)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, bd := range bs {
			if err := u.b.Unbind(ctx, bd); err != nil {
				errs = append(errs, err)
				continue
			}
			u.removed = append(u.removed, bd)
		}
	}
	if len(u.removed) == 0 && len(errs) == 0 {
		return fmt.Errorf("no binding to %s", strings.Join(u.queues, ", "))
	}
	return errors.Join(errs...)
}

func (u *unbind) Heal(ctx context.Context) error {
	var errs []error
	for _, bd := range u.removed {
		if err := u.b.Bind(ctx, bd); err != nil {
			errs = append(errs, err)
		}
	}
	u.removed = nil
	return errors.Join(errs...)
}
