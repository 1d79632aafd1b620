package shrink

import (
	"context"
	"time"
)

// trials is what both shrinkers (of a schedule, of a scenario's sizes)
// share: the time budget, the confirming runs of each candidate, and the
// log of attempts.
type trials struct {
	o         Options
	target    string
	attempts  []Attempt
	began     time.Time
	lastRun   time.Duration // the last run's time
	outOfTime bool
}

// confirm runs a candidate up to Confirm times and keeps it if every run
// showed the target; seen (if not nil) hears of each run that ended,
// with the attempt to add to. It records a, filled in, as an attempt.
// Once the budget cannot hold Confirm more runs it runs nothing, sets
// outOfTime and returns false.
func (tr *trials) confirm(ctx context.Context, a Attempt, run func(context.Context) (Outcome, error), seen func(Outcome, *Attempt)) (bool, error) {
	if tr.o.Clock().Sub(tr.began)+tr.lastRun*time.Duration(tr.o.Confirm) > tr.o.Budget {
		tr.outOfTime = true
		return false, nil
	}
	a.N, a.Kept = len(tr.attempts)+1, true
	began := tr.o.Clock()
	for range tr.o.Confirm {
		t := tr.o.Clock()
		out, err := run(ctx)
		tr.lastRun = tr.o.Clock().Sub(t)
		if err != nil {
			if ctx.Err() != nil {
				return false, err
			}
			a.Runs = append(a.Runs, "error: "+err.Error())
			a.Kept = false
			break
		}
		if seen != nil {
			seen(out, &a)
		}
		a.Runs = append(a.Runs, describe(out.Found))
		if _, ok := out.Found[tr.target]; !ok {
			a.Kept = false
			break
		}
	}
	a.Seconds = tr.o.Clock().Sub(began).Seconds()
	tr.attempts = append(tr.attempts, a)
	if tr.o.Log != nil {
		tr.o.Log(a)
	}
	return a.Kept, nil
}
