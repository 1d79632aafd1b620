package fault

import (
	"context"
	"errors"
	"fmt"
)

// Together is one fault made of several, injected and healed as one: the
// same toxic on every service's links, for example. name names it in
// records ("latency 100ms±50ms on 6 links"). Inject injects each in turn;
// if one fails, those already injected are healed again and the error
// says which failed. Heal heals every one, whatever fails, and joins the
// errors.
func Together(name string, faults ...Fault) Fault { return together{name: name, faults: faults} }

type together struct {
	name   string
	faults []Fault
}

func (t together) Name() string { return t.name }

// Witness sees the mark of every one.
func (t together) Witness(ctx context.Context) (Check, error) { return all(t.faults)(ctx) }

func (t together) Inject(ctx context.Context) error {
	if len(t.faults) == 0 {
		return errors.New("no fault to inject")
	}
	for i, f := range t.faults {
		if err := f.Inject(ctx); err != nil {
			errs := []error{fmt.Errorf("%s: %w", f.Name(), err)}
			for _, done := range t.faults[:i] {
				if err := done.Heal(context.WithoutCancel(ctx)); err != nil {
					errs = append(errs, fmt.Errorf("heal %s again: %w", done.Name(), err))
				}
			}
			return errors.Join(errs...)
		}
	}
	return nil
}

func (t together) Heal(ctx context.Context) error {
	var errs []error
	for _, f := range t.faults {
		if err := f.Heal(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Name(), err))
		}
	}
	return errors.Join(errs...)
}
