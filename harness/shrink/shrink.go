// Package shrink cuts a failing soak's schedule down to the few faults
// and units that still show the same violation: it cuts the time to the
// window around the violated units, drops faults and inputs, halves the
// rate, moves the faults together and shortens their holds, runs each
// smaller candidate again, and keeps it only if the violation comes back
// in every one of a few runs in a row. The cuts that shorten every later
// run come first: a run's time is most of a shrink's.
//
// Faults are placed by their observed ends, not only by their nominal
// ones: a broker restart is healed when the engine restarted the
// container, but the broker takes connections about 20 s later. Every
// run reports when each fault's target was back; a fault held around
// another by the schedule is held until Margin after the other was
// observed back, so that the overlap the failure needed is still there
// when the runs' timing varies.
package shrink

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/schedule"
)

// Runner runs a schedule on a fresh system and says what it found.
type Runner func(ctx context.Context, s schedule.Schedule) (Outcome, error)

// Outcome is what one run of a schedule showed.
type Outcome struct {
	// Found is what it found broken: kinds of violation ("lost at
	// inventory: stock reserved"), each with the ids of the units it
	// concerns where it has any.
	Found map[string][]string
	// Ends is when each fault of the schedule ended as the run observed
	// it, its target back, from the schedule's start (nemesis.Ends). A
	// fault it leaves out ended at its nominal end.
	Ends []time.Duration
}

// Options tune a shrink.
type Options struct {
	// Budget is how long the shrink may run (default 15 minutes). An
	// attempt is not started if its runs, each as long as the last run,
	// would not fit before it.
	Budget time.Duration
	// Confirm is how many runs in a row a candidate must fail to be kept
	// (default 2). A candidate that fails only sometimes would make a
	// reproduction that fails only sometimes.
	Confirm int
	// Replays is how often the smallest schedule is run at the end to
	// measure how reliably it fails (default 10; -1: none). When fewer
	// than 9 in 10 failed, it is held longer once and replayed as often
	// again: the faults held around others until Margin after the
	// others' observed ends, or twice Margin if they were already, or
	// else every hold half as long again.
	Replays int
	// Margin is how long a fault held around another outlasts the
	// other's observed end (default 5 s).
	Margin time.Duration
	// Log is told of every attempt as it ends.
	Log func(Attempt)
	// Clock is the time (default time.Now); tests pass their own.
	Clock func() time.Time
}

// withDefaults is o with each setting left zero at its default.
func (o Options) withDefaults() Options {
	if o.Budget <= 0 {
		o.Budget = 15 * time.Minute
	}
	if o.Confirm <= 0 {
		o.Confirm = 2
	}
	if o.Replays == 0 {
		o.Replays = 10
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Margin <= 0 {
		o.Margin = 5 * time.Second
	}
	return o
}

// Attempt is one candidate tried.
type Attempt struct {
	N      int    `json:"n"`
	Move   string `json:"move"` // "drop faults 3-4 of 6", "halve the rate"
	Faults int    `json:"faults"`
	Units  int    `json:"units"`
	Length string `json:"length,omitempty"` // a soak's
	// Sizes are a scenario's candidate: "38 units, 20 a second, held
	// 2.5s" (it has no schedule of faults).
	Sizes string   `json:"sizes,omitempty"`
	Runs  []string `json:"runs"` // per run: what it found broken, or "held"
	// Ends, per run: each fault from its start to its observed end
	// ("kill-database +10.0-37.1s").
	Ends    [][]string `json:"ends,omitempty"`
	Kept    bool       `json:"kept"`
	Seconds float64    `json:"seconds"`
}

func (a Attempt) String() string {
	verdict := "rejected"
	if a.Kept {
		verdict = "KEPT"
	}
	size := fmt.Sprintf("%2d faults %5d units %-8s", a.Faults, a.Units, a.Length)
	if a.Sizes != "" {
		size = fmt.Sprintf("%-32s", a.Sizes)
	}
	line := fmt.Sprintf("#%-3d %-8s %-40s %s %6.1fs  %s", a.N, verdict, a.Move, size, a.Seconds, strings.Join(a.Runs, " | "))
	for i, ends := range a.Ends {
		line += fmt.Sprintf("\n     run %d observed: %s", i+1, strings.Join(ends, ", "))
	}
	return line
}

// Result is a shrink's outcome.
type Result struct {
	Target   string            `json:"target"` // the violation kept
	Start    schedule.Schedule `json:"start"`
	Smallest schedule.Schedule `json:"smallest"`
	Attempts []Attempt         `json:"attempts"`
	// Replays of Smallest at the end, how many showed Target, and how
	// long each took.
	Replays       int       `json:"replays"`
	Failed        int       `json:"failed"`
	ReplaySeconds []float64 `json:"replay_seconds,omitempty"`
	// Rounds are the replays at the end: of the smallest schedule, then,
	// when fewer than 9 in 10 failed, of it held longer. Smallest is the
	// round's schedule that failed most, Replays and Failed its figures.
	Rounds  []Round `json:"rounds,omitempty"`
	Seconds float64 `json:"seconds"` // the shrink's time, replays not included
	// OutOfTime is set when the budget ended the shrink.
	OutOfTime bool `json:"out_of_time,omitempty"`
}

// Round is one set of replays at the end of a shrink.
type Round struct {
	Why      string            `json:"why"` // "the smallest", "held longer: ..."
	Schedule schedule.Schedule `json:"schedule"`
	Replays  int               `json:"replays"`
	Failed   int               `json:"failed"`
	Seconds  []float64         `json:"seconds"`
}

// Shrink cuts s, which showed target on the units ids, down while target
// persists, within o.Budget, and replays the smallest it found.
func Shrink(ctx context.Context, s schedule.Schedule, target string, ids []string, run Runner, o Options) (Result, error) {
	o = o.withDefaults()
	sh := &shrinker{trials: trials{o: o, target: target, began: o.Clock()}, run: run, best: s.Clone(), margin: o.Margin, lag: map[string]time.Duration{}}
	res := Result{Target: target, Start: s}
	err := sh.shrink(ctx, ids)
	res.Smallest, res.Attempts, res.OutOfTime = sh.best, sh.attempts, sh.outOfTime
	res.Seconds = o.Clock().Sub(sh.began).Seconds()
	if err != nil {
		return res, err
	}
	if o.Replays < 0 {
		return res, nil
	}
	why := "the smallest"
	for c := sh.best; ; {
		r := Round{Why: why, Schedule: c}
		for range o.Replays {
			t := o.Clock()
			out, err := run(ctx, c)
			r.Seconds = append(r.Seconds, o.Clock().Sub(t).Seconds())
			if err != nil {
				res.Rounds = append(res.Rounds, r)
				return res, fmt.Errorf("shrink: replaying the smallest: %w", err)
			}
			sh.observe(c, out)
			r.Replays++
			if _, ok := out.Found[target]; ok {
				r.Failed++
			}
		}
		res.Rounds = append(res.Rounds, r)
		if len(res.Rounds) == 1 || r.Failed > res.Failed {
			res.Smallest, res.Replays, res.Failed, res.ReplaySeconds = c, r.Replays, r.Failed, r.Seconds
		}
		if r.Failed*10 >= 9*r.Replays || len(res.Rounds) > 1 {
			return res, nil
		}
		var ok bool
		if why, c, ok = sh.lengthen(c); !ok {
			return res, nil
		}
	}
}

// How much of the time around the violated units a window keeps: the
// faults up to Lookback before the first unit's send (a message lost may
// have waited in a queue) and up to After after the last one.
const (
	Lookback = 20 * time.Second
	After    = 5 * time.Second
	// Lead and Gap are the quiet times trimming and moving leave before
	// the first fault and between two faults.
	Lead = 10 * time.Second
	Gap  = 5 * time.Second
	// Close is the time the last trim leaves before the first fault and
	// after the last: a shrunk schedule that fails is mostly set-up and
	// the faults' own time.
	Close = 2 * time.Second
)

type shrinker struct {
	trials
	run    Runner
	best   schedule.Schedule
	margin time.Duration
	// lag is, by fault ("kill-database postgres"), the longest its
	// target was seen back after its nominal end, in any run.
	lag map[string]time.Duration
}

func (sh *shrinker) shrink(ctx context.Context, ids []string) error {
	steps := []func(context.Context) error{
		func(ctx context.Context) error { return sh.window(ctx, ids) },
		func(ctx context.Context) error { return sh.trim(ctx, Lead, After) },
		// Faults before loads: without a fault the time around it can
		// be trimmed, and a shorter schedule shortens every later run,
		// while fewer units do not (a run is its set-up and its length).
		sh.dropFaults,
		func(ctx context.Context) error { return sh.trim(ctx, Close, Close) },
		sh.dropLoads,
		sh.closeGaps,
		sh.halveRate,
		sh.halveHolds,
		func(ctx context.Context) error { return sh.trim(ctx, Close, Close) },
	}
	for _, step := range steps {
		if err := step(ctx); err != nil || sh.outOfTime {
			return err
		}
	}
	return nil
}

// try runs c, its faults held around others kept so by their observed
// ends (see overlapped), up to Confirm times, and keeps it if every run
// showed the target. It runs nothing if c is not smaller than the best
// yet, or the budget would not hold another attempt. When c was rejected
// and its runs showed ends that its overlaps did not allow for (the first
// runs of a broker restart), it tries c once more, held by them.
func (sh *shrinker) try(ctx context.Context, move string, c schedule.Schedule) (bool, error) {
	c = sh.overlapped(c)
	if c.Check() != nil || !smaller(c, sh.overlapped(sh.best)) {
		return false, nil
	}
	kept, err := sh.attempt(ctx, move, c)
	if kept || err != nil || sh.outOfTime {
		return kept, err
	}
	if again := sh.overlapped(c); !same(again, c) && smaller(again, sh.overlapped(sh.best)) {
		return sh.attempt(ctx, move+", held over the observed ends", again)
	}
	return false, nil
}

// attempt runs c up to Confirm times and keeps it if every run showed
// the target, learning each run's observed ends.
func (sh *shrinker) attempt(ctx context.Context, move string, c schedule.Schedule) (bool, error) {
	a := Attempt{Move: move, Faults: len(c.Faults), Units: c.Units(), Length: time.Duration(c.Length).String()}
	kept, err := sh.confirm(ctx, a, func(ctx context.Context) (Outcome, error) { return sh.run(ctx, c) }, func(out Outcome, a *Attempt) {
		sh.observe(c, out)
		a.Ends = append(a.Ends, spans(c, out.Ends))
	})
	if kept {
		sh.best = c
	}
	return kept, err
}

// observe learns from a run of s how long after its nominal end each
// fault's target was back.
func (sh *shrinker) observe(s schedule.Schedule, out Outcome) {
	for i, f := range s.Faults {
		if i < len(out.Ends) {
			k := key(f)
			sh.lag[k] = max(sh.lag[k], out.Ends[i]-f.End())
		}
	}
}

// end is when f is expected back: its nominal end and the longest lag
// seen of its kind on its target.
func (sh *shrinker) end(f schedule.Fault) time.Duration { return f.End() + sh.lag[key(f)] }

// key names a fault by kind and target: "restart-broker rabbitmq".
func key(f schedule.Fault) string { return f.Kind + " " + f.Target }

// overlapped is s with every fault held around another (by nominal
// times: started before it or with it, healed after it) held until
// Margin after the other's expected end: a database kill held around a
// broker restart stays held until the broker has been back for a while,
// as the schedule meant. s itself when nothing needs it, or when holding
// longer would make s one that cannot run (three faults at once).
func (sh *shrinker) overlapped(s schedule.Schedule) schedule.Schedule {
	c := s.Clone()
	changed := false
	for i := range c.Faults {
		for j := i + 1; j < len(c.Faults); j++ {
			a, b := c.Faults[i], c.Faults[j]
			if b.At >= a.At && b.End() <= a.End() && time.Duration(b.At) < a.End() {
				if need := sh.end(b) + sh.margin; a.End() < need {
					c.Faults[i].Hold = schedule.Duration(ceil(need - time.Duration(a.At)))
					changed = true
				}
			}
		}
	}
	if !changed {
		return s
	}
	c.Length = schedule.Duration(max(time.Duration(c.Length), lastEnd(c)+time.Duration(s.Length)-lastEnd(s)))
	if c.Check() != nil {
		return s
	}
	return c
}

// lengthen is s held longer after its final replays failed fewer than
// 9 in 10: its faults held around others outlast them by the margin, or
// twice it if they did already; where none is held around another,
// every hold is half as long again. ok is false when nothing could be
// held longer.
func (sh *shrinker) lengthen(s schedule.Schedule) (why string, c schedule.Schedule, ok bool) {
	if c = sh.overlapped(s); !same(c, s) {
		return fmt.Sprintf("held %s after the observed ends of the faults they hold", sh.margin), c, true
	}
	sh.margin *= 2
	if c = sh.overlapped(s); !same(c, s) {
		return fmt.Sprintf("held %s after the observed ends of the faults they hold", sh.margin), c, true
	}
	c = s.Clone()
	for i := range c.Faults {
		c.Faults[i].Hold += c.Faults[i].Hold / 2
	}
	c.Length = schedule.Duration(max(time.Duration(c.Length), lastEnd(c)+time.Duration(s.Length)-lastEnd(s)))
	if c.Check() != nil || same(c, s) {
		return "", s, false
	}
	return "every hold half as long again", c, true
}

// lastEnd is when the last of s's faults is healed, 0 without faults.
func lastEnd(s schedule.Schedule) time.Duration {
	var d time.Duration
	for _, f := range s.Faults {
		d = max(d, f.End())
	}
	return d
}

// ceil rounds d up to a tenth of a second.
func ceil(d time.Duration) time.Duration {
	const tenth = 100 * time.Millisecond
	return (d + tenth - 1) / tenth * tenth
}

// same reports whether a and b are the same schedule.
func same(a, b schedule.Schedule) bool { return bytes.Equal(a.Marshal(), b.Marshal()) }

// spans is each of s's faults from its start to its observed end.
func spans(s schedule.Schedule, ends []time.Duration) []string {
	out := make([]string, len(s.Faults))
	for i, f := range s.Faults {
		end := f.End()
		if i < len(ends) {
			end = ends[i]
		}
		out[i] = fmt.Sprintf("%s +%.1f-%.1fs", f.Kind, time.Duration(f.At).Seconds(), end.Seconds())
	}
	return out
}

// window cuts the schedule to the time around the violated units: first
// to the faults acting while the first burst of them (units less than
// Lookback apart) was sent, with only the inputs that sent them; then
// each burst from the first, then all of them, from Lookback before,
// until one fails.
func (sh *shrinker) window(ctx context.Context, ids []string) error {
	times := sendTimes(sh.best, ids)
	if len(times) == 0 {
		return nil
	}
	type burst struct{ lo, hi time.Duration }
	var bursts []burst
	for _, at := range times {
		if n := len(bursts); n > 0 && at-bursts[n-1].hi < Lookback {
			bursts[n-1].hi = at
			continue
		}
		bursts = append(bursts, burst{at, at})
	}
	if len(bursts) > 1 {
		bursts = append(bursts[:min(len(bursts), 3)], burst{times[0], times[len(times)-1]})
	}
	// First the tightest: the faults acting while the first burst was
	// sent, and only the inputs that sent violated units.
	b := bursts[0]
	ok, err := sh.try(ctx, fmt.Sprintf("window %s-%s, the units' inputs only", b.lo, b.hi+After), carrying(Window(sh.best, b.lo, b.hi+After), ids))
	if ok || err != nil || sh.outOfTime {
		return err
	}
	for _, b := range bursts {
		ok, err := sh.try(ctx, fmt.Sprintf("window %s-%s around the units", max(b.lo-Lookback, 0), b.hi+After), Window(sh.best, b.lo-Lookback, b.hi+After))
		if ok || err != nil || sh.outOfTime {
			return err
		}
	}
	return nil
}

// dropFaults removes faults as delta debugging does: halves, then
// quarters, and so on down to single faults, keeping every removal that
// still fails.
func (sh *shrinker) dropFaults(ctx context.Context) error {
	n := 2
	for len(sh.best.Faults) > 0 && !sh.outOfTime {
		fs := sh.best.Faults
		n = min(n, len(fs))
		kept := false
		for i := range n {
			lo, hi := i*len(fs)/n, (i+1)*len(fs)/n
			c := sh.best.Clone()
			c.Faults = slices.Delete(c.Faults, lo, hi)
			ok, err := sh.try(ctx, fmt.Sprintf("drop faults %d-%d of %d", lo+1, hi, len(fs)), c)
			if err != nil {
				return err
			}
			if ok {
				kept = true
				n = max(n-1, 2)
				break
			}
		}
		if !kept {
			if n >= len(fs) {
				return nil
			}
			n = min(2*n, len(fs))
		}
	}
	return nil
}

// dropLoads removes whole inputs' loads, one at a time.
func (sh *shrinker) dropLoads(ctx context.Context) error {
	for i := 0; i < len(sh.best.Loads) && len(sh.best.Loads) > 1; {
		c := sh.best.Clone()
		c.Loads = slices.Delete(c.Loads, i, i+1)
		ok, err := sh.try(ctx, "drop the load of "+sh.best.Loads[i].Input, c)
		if err != nil {
			return err
		}
		if !ok {
			i++
		}
	}
	return nil
}

// trim cuts the time before the first fault to lead and after the last
// heal to after. The load stops at the schedule's end; the run goes on
// until every fault's target is back.
func (sh *shrinker) trim(ctx context.Context, lead, after time.Duration) error {
	fs := sh.best.Faults
	if len(fs) == 0 {
		return nil
	}
	lo, hi := time.Duration(fs[0].At)-lead, lastEnd(sh.best)+after
	_, err := sh.try(ctx, fmt.Sprintf("trim to %s-%s", max(lo, 0), hi), Window(sh.best, lo, hi))
	return err
}

// closeGaps moves the faults together (see together).
func (sh *shrinker) closeGaps(ctx context.Context) error {
	c := sh.together(sh.best)
	_, err := sh.try(ctx, "move the faults together", Window(c, 0, time.Duration(c.Length)))
	return err
}

// together is s with every fault moved to Gap after the expected end of
// the one before it, and every fault held around another started
// halfway closer to it (a second after it at the least), its hold
// shortened as much, so that it outlasts the other as long as before.
func (sh *shrinker) together(s schedule.Schedule) schedule.Schedule {
	c := s.Clone()
	for i := 1; i < len(c.Faults); i++ {
		prev := &c.Faults[i-1]
		if f := c.Faults[i]; time.Duration(f.At) < prev.End() && f.End() <= prev.End() {
			into := time.Duration(f.At - prev.At)
			shift := (into - max(into/2, time.Second)).Round(100 * time.Millisecond)
			if shift > 0 {
				c.Faults[i].At -= schedule.Duration(shift)
				prev.Hold -= schedule.Duration(shift)
			}
			continue
		}
		var end time.Duration
		for _, p := range c.Faults[:i] {
			end = max(end, sh.end(p))
		}
		c.Faults[i].At = schedule.Duration(min(end+Gap, time.Duration(c.Faults[i].At)))
	}
	if len(c.Faults) > 0 {
		c.Length = schedule.Duration(min(lastEnd(c)+After, time.Duration(c.Length)))
	}
	return c
}

// halveHolds halves every hold, down to a second, while that fails.
func (sh *shrinker) halveHolds(ctx context.Context) error {
	for {
		c := sh.best.Clone()
		for i := range c.Faults {
			if c.Faults[i].Hold > 0 {
				c.Faults[i].Hold = schedule.Duration(max(time.Duration(c.Faults[i].Hold)/2, time.Second).Round(100 * time.Millisecond))
			}
		}
		if ok, err := sh.try(ctx, "halve the holds", c); !ok || err != nil {
			return err
		}
	}
}

// halveRate halves every load's rate and count, keeping their span,
// while that fails.
func (sh *shrinker) halveRate(ctx context.Context) error {
	for {
		c := sh.best.Clone()
		for i := range c.Loads {
			c.Loads[i].Rate /= 2
			c.Loads[i].Count = (c.Loads[i].Count + 1) / 2
		}
		if ok, err := sh.try(ctx, "halve the rate", c); !ok || err != nil {
			return err
		}
	}
}

// Window is s from lo to hi, with lo as its start: the faults that act
// in it (whole, so the window grows to hold them) and the units sent in
// it. lo below 0 is 0; hi beyond s's length is its length.
func Window(s schedule.Schedule, lo, hi time.Duration) schedule.Schedule {
	lo, hi = max(lo, 0), min(hi, time.Duration(s.Length))
	var fs []schedule.Fault
	for _, f := range s.Faults {
		if f.End() > lo && time.Duration(f.At) < hi {
			fs = append(fs, f)
		}
	}
	for _, f := range fs {
		lo, hi = min(lo, time.Duration(f.At)), max(hi, f.End())
	}
	c := s.Clone()
	c.Length = schedule.Duration(hi - lo)
	c.Faults = nil
	for _, f := range fs {
		f.At -= schedule.Duration(lo)
		c.Faults = append(c.Faults, f)
	}
	c.Loads = nil
	for _, l := range s.Loads {
		first, last := -1, -1
		for n := l.From; n < l.From+l.Count; n++ {
			if at := l.At(n); at >= lo && at < hi {
				if first < 0 {
					first = n
				}
				last = n
			}
		}
		if first < 0 {
			continue
		}
		l.From, l.Count = first, last-first+1
		c.Loads = append(c.Loads, l)
	}
	return c
}

// carrying is s with only the loads that send one of ids at least.
func carrying(s schedule.Schedule, ids []string) schedule.Schedule {
	c := s.Clone()
	c.Loads = slices.DeleteFunc(c.Loads, func(l schedule.Load) bool {
		return len(sendTimes(schedule.Schedule{Loads: []schedule.Load{l}}, ids)) == 0
	})
	return c
}

// sendTimes is when each of ids was sent in s, by their loads' prefixes
// and numbers, in order; ids that are no unit of s are left out.
func sendTimes(s schedule.Schedule, ids []string) []time.Duration {
	var out []time.Duration
	for _, id := range ids {
		for _, l := range s.Loads {
			rest, found := strings.CutPrefix(id, l.Prefix+"-")
			n, err := strconv.Atoi(rest)
			if found && err == nil && n >= l.From && n < l.From+l.Count {
				out = append(out, l.At(n))
			}
		}
	}
	slices.Sort(out)
	return out
}

// smaller reports whether c is no bigger than b in faults, holds, units
// and length, and smaller in one of them.
func smaller(c, b schedule.Schedule) bool {
	cs := []time.Duration{time.Duration(len(c.Faults)), held(c), time.Duration(c.Units()), time.Duration(c.Length)}
	bs := []time.Duration{time.Duration(len(b.Faults)), held(b), time.Duration(b.Units()), time.Duration(b.Length)}
	less := false
	for i := range cs {
		if cs[i] > bs[i] {
			return false
		}
		less = less || cs[i] < bs[i]
	}
	return less
}

// held is the sum of s's holds.
func held(s schedule.Schedule) time.Duration {
	var d time.Duration
	for _, f := range s.Faults {
		d += time.Duration(f.Hold)
	}
	return d
}

// describe is what a run found, in short: "lost at inventory (12)".
func describe(found map[string][]string) string {
	if len(found) == 0 {
		return "held"
	}
	var out []string
	for k, ids := range found {
		if len(ids) > 0 {
			k = fmt.Sprintf("%s (%d)", k, len(ids))
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
