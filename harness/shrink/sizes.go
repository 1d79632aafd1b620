package shrink

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/schedule"
)

// Sizes are what a scenario's spec lets a replay set (catalogue.Knobs):
// how many units it sends, how fast, and how long it holds its fault. A
// field at its zero value is one the spec does not expose, and a shrink
// leaves it alone.
type Sizes struct {
	Units int               `json:"units,omitempty"`
	Rate  float64           `json:"rate,omitempty"` // units a second
	Hold  schedule.Duration `json:"hold,omitempty"` // "2.5s"
}

func (z Sizes) String() string {
	var parts []string
	if z.Units > 0 {
		parts = append(parts, fmt.Sprintf("%d units", z.Units))
	}
	if z.Rate > 0 {
		parts = append(parts, fmt.Sprintf("%g a second", z.Rate))
	}
	if z.Hold > 0 {
		parts = append(parts, fmt.Sprintf("held %s", time.Duration(z.Hold)))
	}
	if len(parts) == 0 {
		return "no sizes"
	}
	return strings.Join(parts, ", ")
}

// Exposed reports whether the spec exposes any size to cut.
func (z Sizes) Exposed() bool { return z.Units > 0 || z.Rate > 0 || z.Hold > 0 }

// SizesRunner runs a scenario's spec with the sizes given, on a fresh
// system, and says what it found broken (Outcome.Ends is not used).
type SizesRunner func(ctx context.Context, z Sizes) (Outcome, error)

// SizesResult is a scenario shrink's outcome: as Result, with sizes in
// place of schedules.
type SizesResult struct {
	Target        string       `json:"target"`
	Start         Sizes        `json:"start"`
	Smallest      Sizes        `json:"smallest"`
	Attempts      []Attempt    `json:"attempts"`
	Replays       int          `json:"replays"`
	Failed        int          `json:"failed"`
	ReplaySeconds []float64    `json:"replay_seconds,omitempty"`
	Seconds       float64      `json:"seconds"`
	OutOfTime     bool         `json:"out_of_time,omitempty"`
	Rounds        []SizesRound `json:"rounds,omitempty"`
}

// SizesRound is one set of replays at the end of a scenario shrink.
type SizesRound struct {
	Why     string    `json:"why"`
	Sizes   Sizes     `json:"sizes"`
	Replays int       `json:"replays"`
	Failed  int       `json:"failed"`
	Seconds []float64 `json:"seconds"`
}

// Floors below which a scenario shrink does not cut: a unit, a unit a
// second, and a second's hold.
const (
	MinUnits = 1
	MinRate  = 1.0
	MinHold  = time.Second
)

// ShrinkSizes cuts a scenario spec's sizes down while target persists,
// within o.Budget, the way Shrink cuts a soak's schedule: each candidate
// must show target in o.Confirm runs in a row to be kept. First the
// hold, halved while the violation persists (a shorter fault shortens
// every later run), then the units at their rate (a shorter load), then
// the rate with the units (the same span, fewer units). Each is halved
// until a halving holds, then tried three quarters of the way from the
// kept value down to that halving once. At the end the smallest is
// replayed o.Replays times; when fewer than 9 in 10 failed, the last
// sizes that failed more reliably in the attempts (the one before the
// last cut) are replayed as often, and the round that failed most is
// kept.
func ShrinkSizes(ctx context.Context, start Sizes, target string, run SizesRunner, o Options) (SizesResult, error) {
	o = o.withDefaults()
	sh := &sizer{trials: trials{o: o, target: target, began: o.Clock()}, run: run, best: start}
	res := SizesResult{Target: target, Start: start}
	err := sh.shrink(ctx)
	res.Smallest, res.Attempts, res.OutOfTime = sh.best, sh.attempts, sh.outOfTime
	res.Seconds = o.Clock().Sub(sh.began).Seconds()
	if err != nil || o.Replays < 0 {
		return res, err
	}
	rounds := []struct {
		why string
		z   Sizes
	}{{"the smallest", sh.best}}
	if len(sh.kept) > 1 {
		rounds = append(rounds, struct {
			why string
			z   Sizes
		}{"the one before the last cut", sh.kept[len(sh.kept)-2]})
	}
	for i, rd := range rounds {
		r := SizesRound{Why: rd.why, Sizes: rd.z}
		for range o.Replays {
			t := o.Clock()
			out, err := run(ctx, rd.z)
			r.Seconds = append(r.Seconds, o.Clock().Sub(t).Seconds())
			if err != nil {
				res.Rounds = append(res.Rounds, r)
				return res, fmt.Errorf("shrink: replaying %s: %w", rd.why, err)
			}
			r.Replays++
			if _, ok := out.Found[target]; ok {
				r.Failed++
			}
		}
		res.Rounds = append(res.Rounds, r)
		if i == 0 || r.Failed > res.Failed {
			res.Smallest, res.Replays, res.Failed, res.ReplaySeconds = rd.z, r.Replays, r.Failed, r.Seconds
		}
		if r.Failed*10 >= 9*r.Replays {
			return res, nil
		}
	}
	return res, nil
}

type sizer struct {
	trials
	run  SizesRunner
	best Sizes
	kept []Sizes // every sizes kept, the start first
}

func (sh *sizer) shrink(ctx context.Context) error {
	sh.kept = []Sizes{sh.best}
	cuts := []struct {
		what string
		cut  func(z Sizes, share float64) (Sizes, bool)
	}{
		{"the hold", func(z Sizes, share float64) (Sizes, bool) {
			h := schedule.Duration(max(time.Duration(float64(z.Hold)*share).Round(100*time.Millisecond), MinHold))
			c := z
			c.Hold = h
			return c, z.Hold > 0 && h < z.Hold
		}},
		{"the units", func(z Sizes, share float64) (Sizes, bool) {
			n := max(int(float64(z.Units)*share+0.5), MinUnits)
			c := z
			c.Units = n
			return c, z.Units > 0 && n < z.Units
		}},
		{"the rate and units", func(z Sizes, share float64) (Sizes, bool) {
			r := max(z.Rate*share, MinRate)
			c := z
			c.Rate = r
			if z.Units > 0 {
				c.Units = max(int(float64(z.Units)*r/z.Rate+0.5), MinUnits)
			}
			return c, z.Rate > 0 && r < z.Rate
		}},
	}
	for _, c := range cuts {
		if err := sh.cut(ctx, c.what, c.cut); err != nil || sh.outOfTime {
			return err
		}
	}
	return nil
}

// cut halves one size while the violation persists; when a halving
// holds, it tries once to cut it by a quarter instead.
func (sh *sizer) cut(ctx context.Context, what string, cut func(Sizes, float64) (Sizes, bool)) error {
	for {
		c, ok := cut(sh.best, 0.5)
		if !ok {
			return nil
		}
		kept, err := sh.attempt(ctx, "halve "+what, c)
		if err != nil || sh.outOfTime {
			return err
		}
		if kept {
			continue
		}
		if c, ok = cut(sh.best, 0.75); !ok {
			return nil
		}
		_, err = sh.attempt(ctx, "cut "+what+" by a quarter", c)
		return err
	}
}

// attempt runs z up to Confirm times and keeps it if every run showed
// the target. It runs nothing when the budget would not hold it.
func (sh *sizer) attempt(ctx context.Context, move string, z Sizes) (bool, error) {
	a := Attempt{Move: move, Units: z.Units, Sizes: z.String()}
	kept, err := sh.confirm(ctx, a, func(ctx context.Context) (Outcome, error) { return sh.run(ctx, z) }, nil)
	if kept {
		sh.best = z
		sh.kept = append(sh.kept, z)
	}
	return kept, err
}
