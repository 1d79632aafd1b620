package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/nemesis"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/schedule"
	"github.com/mqchaos/mqchaos/harness/shrink"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// cmdShrink cuts a failed soak's reproduction down to the few faults and
// units that still show its violation, or a scenario's down to the
// smallest sizes its spec exposes, and writes the smallest as a
// reproduction of its own.
func cmdShrink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("shrink", stderr)
	out := fs.String("out", "", "the shrink's directory, new or empty (default: reports/run-<UTC time>)")
	budget := fs.Duration("budget", 15*time.Minute, "how long to shrink, the final replays not included")
	confirm := fs.Int("confirm", 2, "runs in a row a smaller schedule must fail to be kept")
	replays := fs.Int("replays", 10, "runs of the smallest schedule at the end, to count how often it fails")
	margin := fs.Duration("margin", 5*time.Second, "how long a fault held around another outlasts the other's observed end")
	violation := fs.String("violation", "", `the violation to keep, as the reproduction's "broken" names it (default: its first)`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mqchaos shrink [flags] FILE\n\nFILE is a reproduction (its run's repro/*.json): of a failed soak, whose schedule\nis cut, or of a scenario's spec that exposes its sizes (units, rate, hold), which are cut.")
		fs.PrintDefaults()
	}
	path, help, err := oneFile(fs, args)
	if help || err != nil {
		return err
	}
	if *confirm < 1 || *replays < 0 || *budget <= 0 || *margin <= 0 {
		return usageError{fmt.Errorf("shrink: want -confirm 1 or more, -replays 0 or more, a -budget and a -margin above 0")}
	}
	r, err := readReproduction(path, "shrink")
	if err != nil {
		return err
	}
	if r.Soak == nil && (r.Knobs == nil || !r.Knobs.Exposed()) {
		return usageError{fmt.Errorf("shrink: %s: %q exposes no sizes (units, rate, hold) and is no soak: there is nothing to cut; run it again with mqchaos replay %s", path, r.Spec, path)}
	}
	target, ids, err := r.target(*violation)
	if err != nil {
		return usageError{fmt.Errorf("shrink: %s: %w", path, err)}
	}
	dir, err := newRunDir(*out, time.Now())
	if err != nil {
		return usageError{err}
	}
	logf, err := os.Create(filepath.Join(dir, "shrink.log"))
	if err != nil {
		return cannot("shrink: %v", err)
	}
	defer logf.Close()
	say := func(format string, a ...any) {
		fmt.Fprintf(stdout, format+"\n", a...)
		fmt.Fprintf(logf, format+"\n", a...)
	}
	o := shrink.Options{Budget: *budget, Confirm: *confirm, Replays: *replays, Margin: *margin, Log: func(a shrink.Attempt) { say("%s", a) }}
	if *replays == 0 {
		o.Replays = -1
	}
	if r.Soak == nil {
		return r.shrinkScenario(ctx, path, target, dir, o, say)
	}
	say("shrink %s: %s (%s) on %s, keeping %q; from %s; budget %s, each candidate must fail %d runs in a row", path, r.Spec, r.Side, r.System, target, r.Soak, *budget, *confirm)
	runs := 0
	run := func(ctx context.Context, s schedule.Schedule) (shrink.Outcome, error) {
		runs++
		return r.runSoak(ctx, s, filepath.Join(dir, fmt.Sprintf("run-%03d", runs)))
	}
	res, err := shrink.Shrink(ctx, *r.Soak, target, ids, run, o)
	if b, jerr := json.MarshalIndent(res, "", "  "); jerr == nil {
		os.WriteFile(filepath.Join(dir, "shrink.json"), append(b, '\n'), 0o644)
	}
	if err != nil {
		return cannot("shrink: %v", err)
	}
	small := r
	small.Soak = &res.Smallest
	small.Faults = nil
	for _, st := range res.Smallest.Steps() {
		small.Faults = append(small.Faults, st.String())
	}
	smallPath, err := small.writeShrunk(dir, path, target, r.Soak, res.Smallest)
	if err != nil {
		return cannot("shrink: %v", err)
	}
	replayed := 0
	for _, round := range res.Rounds {
		replayed += round.Replays
	}
	say("shrunk in %.0fs and %d attempts (%d runs)%s: %s -> %s", res.Seconds, len(res.Attempts), runs-replayed, map[bool]string{true: ", out of time", false: ""}[res.OutOfTime], r.Soak, res.Smallest)
	for _, f := range res.Smallest.Faults {
		say("  %s", f.Step())
	}
	for _, round := range res.Rounds {
		if round.Replays == 0 {
			continue
		}
		lo, hi := slices.Min(round.Seconds), slices.Max(round.Seconds)
		say("%s (%s) failed %d of %d replays, each %.0f-%.0fs", round.Why, round.Schedule, round.Failed, round.Replays, lo, hi)
		for _, f := range round.Schedule.Faults {
			say("  %s", f.Step())
		}
	}
	if len(res.Rounds) > 1 {
		say("kept: %s, %d of %d failed", res.Smallest, res.Failed, res.Replays)
	}
	say("replay: mqchaos replay %s", smallPath)
	return nil
}

// writeShrunk writes small, the reproduction a shrink kept, as dir's
// shrunk.json and returns its path: what it keeps broken is target
// alone, and its verdict says what it was shrunk from (path, from) and
// to.
func (small reproduction) writeShrunk(dir, path, target string, from, to any) (string, error) {
	small.Broken, small.Sent = []report.Broken{{Kind: target}}, nil
	small.Verdict = fmt.Sprintf("shrunk from %s (%s) to %s, keeping %s", path, from, to, target)
	smallPath := filepath.Join(dir, "shrunk.json")
	b, err := json.MarshalIndent(small, "", "  ")
	if err != nil {
		return "", err
	}
	return smallPath, os.WriteFile(smallPath, append(b, '\n'), 0o644)
}

// target is the violation a shrink keeps: the one named, or r's first,
// and the ids of the units it concerns.
func (r reproduction) target(name string) (string, []string, error) {
	var kinds []string
	for _, b := range r.Broken {
		if name == "" || b.Kind == name {
			return b.Kind, b.IDs, nil
		}
		kinds = append(kinds, fmt.Sprintf("%q", b.Kind))
	}
	if len(kinds) == 0 {
		return "", nil, fmt.Errorf("it names nothing broken to keep")
	}
	return "", nil, fmt.Errorf("no violation %q; it names %s", name, strings.Join(kinds, ", "))
}

// runSoak runs s in place of r's schedule in a new directory dir, its
// output in dir.log, and says what the soak found broken and when each
// fault's target was back, as its history recorded.
func (r reproduction) runSoak(ctx context.Context, s schedule.Schedule, dir string) (shrink.Outcome, error) {
	var out shrink.Outcome
	r.Soak = &s
	done, err := r.soakEnv(os.TempDir())
	if err != nil {
		return out, err
	}
	defer done()
	res, found, err := r.runOnce(ctx, dir)
	out.Found = found
	if err != nil {
		return out, err
	}
	for _, f := range res.Figures {
		if f.Scenario != "soak" || f.History == "" {
			continue
		}
		h, err := history.ReadFile(filepath.Join(dir, f.History))
		if err != nil {
			return out, fmt.Errorf("%s: %w", dir, err)
		}
		out.Ends = nemesis.Ends(s.Steps(), h.Ops())
	}
	return out, nil
}

// runOnce runs r in a new directory dir, its output in dir.log, and
// returns its one result and what it found broken, by kind; an error if
// it judged nothing.
func (r reproduction) runOnce(ctx context.Context, dir string) (catalogue.Result, map[string][]string, error) {
	log, err := os.Create(dir + ".log")
	if err != nil {
		return catalogue.Result{}, nil, err
	}
	defer log.Close()
	res, err := runResults(ctx, r.runConfig(dir), "shrink", log, log)
	if len(res.results) != 1 {
		return catalogue.Result{}, nil, fmt.Errorf("%s: no result (%v)", dir, err)
	}
	found := map[string][]string{}
	judged := false
	for _, f := range res.results[0].Figures {
		judged = judged || f.Judged()
		for _, b := range f.Broken() {
			found[b.Kind] = append(found[b.Kind], b.IDs...)
		}
	}
	if !judged {
		return res.results[0], found, fmt.Errorf("%s: nothing judged: %s", dir, res.results[0].Headline())
	}
	return res.results[0], found, nil
}

// shrinkScenario cuts the sizes r's spec exposes (units, rate, hold)
// while target persists, writes the smallest as dir/shrunk.json and logs
// as shrink of a soak does.
func (r reproduction) shrinkScenario(ctx context.Context, path, target, dir string, o shrink.Options, say func(string, ...any)) error {
	start := sizesOf(*r.Knobs)
	say("shrink %s: %s (%s) on %s, keeping %q; from %s; budget %s, each candidate must fail %d runs in a row", path, r.Spec, r.Side, r.System, target, start, o.Budget, o.Confirm)
	runs := 0
	run := func(ctx context.Context, z shrink.Sizes) (shrink.Outcome, error) {
		runs++
		return r.runScenario(ctx, z, filepath.Join(dir, fmt.Sprintf("run-%03d", runs)))
	}
	res, err := shrink.ShrinkSizes(ctx, start, target, run, o)
	if b, jerr := json.MarshalIndent(res, "", "  "); jerr == nil {
		os.WriteFile(filepath.Join(dir, "shrink.json"), append(b, '\n'), 0o644)
	}
	if err != nil {
		return cannot("shrink: %v", err)
	}
	small := r
	k := knobsOf(res.Smallest)
	small.Knobs = &k
	small.Faults = nil
	smallPath, err := small.writeShrunk(dir, path, target, start, res.Smallest)
	if err != nil {
		return cannot("shrink: %v", err)
	}
	replayed := 0
	for _, round := range res.Rounds {
		replayed += round.Replays
	}
	say("shrunk in %.0fs and %d attempts (%d runs)%s: %s -> %s", res.Seconds, len(res.Attempts), runs-replayed, map[bool]string{true: ", out of time", false: ""}[res.OutOfTime], start, res.Smallest)
	for _, round := range res.Rounds {
		if round.Replays == 0 {
			continue
		}
		say("%s (%s) failed %d of %d replays, each %.0f-%.0fs", round.Why, round.Sizes, round.Failed, round.Replays, slices.Min(round.Seconds), slices.Max(round.Seconds))
	}
	if len(res.Rounds) > 1 {
		say("kept: %s, %d of %d failed", res.Smallest, res.Failed, res.Replays)
	}
	say("replay: mqchaos replay %s", smallPath)
	return nil
}

// runScenario runs r's spec with the sizes z in a new directory dir, its
// output in dir.log, and says what it found broken.
func (r reproduction) runScenario(ctx context.Context, z shrink.Sizes, dir string) (shrink.Outcome, error) {
	var out shrink.Outcome
	k := knobsOf(z)
	r.Knobs = &k
	_, found, err := r.runOnce(ctx, dir)
	out.Found = found
	return out, err
}

// sizesOf and knobsOf turn a spec's knobs into shrink's sizes and back.
func sizesOf(k catalogue.Knobs) shrink.Sizes {
	return shrink.Sizes{Units: k.Units, Rate: k.Rate, Hold: k.Hold}
}

func knobsOf(z shrink.Sizes) catalogue.Knobs {
	return catalogue.Knobs{Units: z.Units, Rate: z.Rate, Hold: z.Hold}
}
