package catalogue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Picked is one spec a run will run, with its scenario.
type Picked struct {
	Scenario Scenario
	Spec     Spec
}

// Select is every spec of scenarios whose full text matches focus (nil:
// all) and whose labels pass filter (a Ginkgo label-filter expression,
// such as "safe && !cluster"; "" passes all), in the catalogue's order.
func Select(scenarios []Scenario, focus *regexp.Regexp, filter string) ([]Picked, error) {
	pass := func([]string) bool { return true }
	if filter != "" {
		f, err := types.ParseLabelFilter(filter)
		if err != nil {
			return nil, fmt.Errorf("label filter %q: %w", filter, err)
		}
		pass = f
	}
	var out []Picked
	for _, sc := range scenarios {
		for _, sp := range sc.Specs {
			if focus != nil && !focus.MatchString(sp.FullText(sc)) {
				continue
			}
			if !pass(sp.AllLabels(sc)) {
				continue
			}
			out = append(out, Picked{sc, sp})
		}
	}
	return out, nil
}

// RunOptions are a run's settings.
type RunOptions struct {
	Seed  int64
	Procs int // workers, each with a shared broker of its own; 1 if less
	// Reports is where histories, figures and the report go.
	Reports string
	// Progress hears of each spec's start, steps and end; nil: nothing.
	Progress Progress
	// Platform is where the systems run; nil: the local Docker engine.
	Platform stack.Platform
	// Knobs set the sizes the specs expose (see Knobs); zero: their own.
	Knobs Knobs
}

// Progress is told how a run goes: i is the spec's place in the run,
// from 1, of n. Its methods are called from the run's workers, one at a
// time.
type Progress interface {
	Started(i, n int, spec string)
	Step(i, n int, step string)
	Ended(i, n int, r Result)
}

// Run runs the picked specs against sys, Procs at a time (the serial
// ones alone, after the others), and returns their results in the order
// picked. A spec's failure is its result, never Run's: Run blocks until
// every spec has ended, or ctx has.
func Run(ctx context.Context, sys *system.System, images stack.Images, picked []Picked, o RunOptions) []Result {
	procs := max(o.Procs, 1)
	results := make([]Result, len(picked))
	envs := make([]*Env, procs)
	for i := range envs {
		envs[i] = NewEnv(sys, images, o.Reports)
		envs[i].Platform = o.Platform
		envs[i].Knobs = o.Knobs
	}
	if slices.ContainsFunc(picked, func(p Picked) bool { return UsesSharedInfra(p.Spec.AllLabels(p.Scenario)) }) {
		envs[0].StartShared(ctx, "beside the run's set-up")
	}
	var mu sync.Mutex
	tell := func(f func(Progress)) {
		if o.Progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		f(o.Progress)
	}
	n := len(picked)
	runOne := func(i int, env *Env, proc int) {
		p := picked[i]
		tell(func(pr Progress) { pr.Started(i+1, n, p.Spec.FullText(p.Scenario)) })
		r := runSpec(ctx, env, p, o.Seed, proc, func(step string) { tell(func(pr Progress) { pr.Step(i+1, n, step) }) })
		results[i] = r
		tell(func(pr Progress) { pr.Ended(i+1, n, r) })
	}
	var parallel, serial []int
	for i, p := range picked {
		if p.Scenario.Serial {
			serial = append(serial, i)
		} else {
			parallel = append(parallel, i)
		}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := range procs {
		wg.Go(func() {
			for i := range next {
				runOne(i, envs[w], w+1)
			}
		})
	}
	for _, i := range parallel {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, i := range serial {
		runOne(i, envs[0], 1)
	}
	for _, env := range envs {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		if err := env.Terminate(tctx); err != nil {
			tell(func(pr Progress) { pr.Step(0, n, fmt.Sprintf("shared broker not removed: %v", err)) })
		}
		cancel()
	}
	return results
}

// endSpec is what Fail and Skip panic with, to end the spec; the runner
// recovers it.
type endSpec struct{}

// plainRuntime is Run's Runtime: a spec's failure, skip, cleanups and
// output, without Ginkgo.
type plainRuntime struct {
	mu       sync.Mutex
	out      bytes.Buffer
	state    State
	message  string
	cleanups []func(context.Context)
	seed     int64
	proc     int
	started  time.Time
	step     func(string)
	spent    *SpecTime // where its time went, once it has a verdict
}

func (r *plainRuntime) By(text string) {
	fmt.Fprintf(r, "STEP: %s\n", text)
	r.step(text)
}

func (r *plainRuntime) Skip(reason string) {
	r.mu.Lock()
	if r.state == "" {
		r.state, r.message = Skipped, reason
	}
	r.mu.Unlock()
	panic(endSpec{})
}

func (r *plainRuntime) Fail(message string, _ ...int) {
	r.fail(message)
	panic(endSpec{})
}

func (r *plainRuntime) fail(message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != Failed {
		r.state, r.message = Failed, message
	}
}

func (r *plainRuntime) Cleanup(f func(context.Context)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *plainRuntime) Go(f func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer r.recover()
		f()
	}()
	return func() {
		<-done
		if r.Failed() {
			panic(endSpec{}) // end the spec on its own goroutine too
		}
	}
}

// recover ends a failed goroutine of the spec: a failure it asserted is
// recorded already; any other panic is recorded as one.
func (r *plainRuntime) recover() {
	switch e := recover(); e.(type) {
	case nil, endSpec:
	default:
		r.fail(fmt.Sprintf("panic: %v\n%s", e, debug.Stack()))
	}
}

func (r *plainRuntime) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.Write(p)
}

func (r *plainRuntime) Out() io.Writer { return r }

func (r *plainRuntime) Entry(name string, value any, _ bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := value.(SpecTime); ok && name == TimeEntry {
		r.spent = &v
	}
	if name != FiguresEntry && name != TimeEntry {
		fmt.Fprintf(&r.out, "%s: %v\n", name, value)
	}
}

func (r *plainRuntime) Seed() int64        { return r.seed }
func (r *plainRuntime) Process() int       { return r.proc }
func (r *plainRuntime) Started() time.Time { return r.started }

func (r *plainRuntime) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state == Failed
}

// runSpec runs one spec in env and returns how it ended; its cleanups run
// after it, last registered first, each with a minute of its own.
func runSpec(ctx context.Context, env *Env, p Picked, seed int64, proc int, step func(string)) Result {
	rt := &plainRuntime{seed: seed, proc: proc, started: time.Now(), step: step}
	t := NewT(rt, env)
	sctx, cancel := context.WithTimeout(ctx, p.Spec.Timeout)
	func() {
		defer rt.recover()
		if UsesSharedInfra(p.Spec.AllLabels(p.Scenario)) {
			env.StartShared(context.WithoutCancel(ctx), "in its first spec")
		}
		p.Spec.Run(sctx, t)
	}()
	if err := sctx.Err(); errors.Is(err, context.DeadlineExceeded) && rt.state == Failed {
		rt.message = fmt.Sprintf("timed out after %s: %s", p.Spec.Timeout, rt.message)
	}
	cancel()
	for i := len(rt.cleanups) - 1; i >= 0; i-- {
		func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			defer rt.recover()
			rt.cleanups[i](cctx)
		}()
	}
	res := Result{
		Scenario: p.Scenario.Name, Spec: p.Spec.FullText(p.Scenario), Labels: p.Spec.AllLabels(p.Scenario),
		State: rt.state, Message: rt.message, Figures: t.Figures(), Time: rt.spent, RunTime: time.Since(rt.started),
		Knobs: t.Knobs(),
	}
	if res.State == "" {
		res.State = Passed
	}
	if res.State == Failed {
		res.Output = rt.out.String()
	}
	return res
}
