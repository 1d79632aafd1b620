package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNoEffect is the error of an injection whose mark was not seen: the
// engine, the broker or the proxy shows nothing of the fault, so
// whatever the run shows next says nothing about it.
var ErrNoEffect = errors.New("fault did not take effect")

// Check looks for the mark a fault leaves once injected, where someone
// other than the fault can see it: the container's state in the engine,
// the alarm listed by the broker, the toxic read back from the proxy. It
// returns what it saw ("exited (137)"), or an error that says what it
// did not see.
type Check func(ctx context.Context) (string, error)

// seenWithin is how long a Check waits for a mark that shows with a lag
// (a connection closed, an alarm raised, a queue's statistics): it asks
// every pollEvery until the mark shows or seenWithin is up.
const (
	seenWithin = 10 * time.Second
	pollEvery  = 100 * time.Millisecond
)

// Eventually is for a Check whose mark shows with a lag: it asks look
// every 100 ms until it returns ok, and gives up after 10 s with look's
// last word on what it saw instead.
func Eventually(ctx context.Context, look func(context.Context) (seen string, ok bool, err error)) (string, error) {
	return within(ctx, seenWithin, look)
}

// within is Eventually with a limit of its own.
func within(ctx context.Context, limit time.Duration, look func(context.Context) (seen string, ok bool, err error)) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	last := "" // what the last answer without an error saw
	for {
		seen, ok, err := look(ctx)
		switch {
		case err == nil && ok:
			return seen, nil
		case err == nil:
			last = seen
		}
		select {
		case <-ctx.Done():
			// A look cut short by the limit says less than the one before.
			if err != nil && (last == "" || !errors.Is(err, context.DeadlineExceeded)) {
				return "", fmt.Errorf("after %s: %w", limit, err)
			}
			return "", fmt.Errorf("after %s: %s", limit, last)
		case <-time.After(pollEvery):
		}
	}
}

// state reads t's state from the engine.
func state(ctx context.Context, e Engine, t Target) (State, error) {
	st, err := e.State(ctx, t)
	if err != nil {
		return State{}, fmt.Errorf("inspect %s: %w", t.Name, err)
	}
	return st, nil
}

// startedAt is when t last started, as the engine says.
func startedAt(ctx context.Context, e Engine, t Target) (string, error) {
	st, err := state(ctx, e, t)
	if err != nil {
		return "", err
	}
	return st.StartedAt, nil
}

// exited is the Witness of a kill or a stop of t: its Check sees it not
// running, or started again since.
func exited(e Engine, t Target) Witness {
	return func(ctx context.Context) (Check, error) {
		before, err := startedAt(ctx, e, t)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) (string, error) {
			return Eventually(ctx, func(ctx context.Context) (string, bool, error) {
				st, err := state(ctx, e, t)
				switch {
				case err != nil:
					return "", false, err
				case !st.Running:
					return fmt.Sprintf("%s %s (%d)", t.Name, st.Status, st.ExitCode), true, nil
				case st.StartedAt != before:
					return fmt.Sprintf("%s started again at %s", t.Name, st.StartedAt), true, nil
				}
				return fmt.Sprintf("%s still running since %s", t.Name, before), false, nil
			})
		}, nil
	}
}

// restarted is the Witness of a restart of t: its Check sees it running
// again, started since.
func restarted(e Engine, t Target) Witness {
	return func(ctx context.Context) (Check, error) {
		before, err := startedAt(ctx, e, t)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) (string, error) {
			st, err := state(ctx, e, t)
			switch {
			case err != nil:
				return "", err
			case st.StartedAt == before:
				return "", fmt.Errorf("%s not restarted: running since %s", t.Name, before)
			case !st.Running:
				return "", fmt.Errorf("%s restarted at %s but %s", t.Name, st.StartedAt, st.Status)
			}
			return fmt.Sprintf("%s started again at %s", t.Name, st.StartedAt), nil
		}, nil
	}
}

// Witness is called just before a fault is injected: it notes what its
// Check will compare with (a start time, the bindings there were) and
// returns that Check.
type Witness func(ctx context.Context) (Check, error)

// all is the Witness of several faults at once: every Check must see its
// mark; what they saw is joined with "; ".
func all(faults []Fault) Witness {
	return func(ctx context.Context) (Check, error) {
		var checks []Check
		for _, f := range faults {
			c, err := f.Witness(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name(), err)
			}
			checks = append(checks, c)
		}
		return func(ctx context.Context) (string, error) {
			var saw []string
			var errs []error
			for i, c := range checks {
				s, err := c(ctx)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", faults[i].Name(), err))
					continue
				}
				saw = append(saw, s)
			}
			return strings.Join(saw, "; "), errors.Join(errs...)
		}, nil
	}
}
