package catalogue

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Plan is what a run of one spec against a system would do: run, or be
// skipped for a reason. Found by running the spec's own checks (the
// inputs, controls, failpoints and services it asks of the system) up to
// the point where it would start anything, so a plan cannot disagree
// with a run about what a system provides.
type Plan struct {
	Picked
	Runs   bool
	Reason string // why it is skipped, or why it cannot be told
	// Controls are the controls the spec asked the system for.
	Controls []string
}

// CheckAll plans every picked spec against sys without starting
// anything.
func CheckAll(sys *system.System, picked []Picked) []Plan {
	env := NewEnv(sys, stack.Images{}, "")
	out := make([]Plan, len(picked))
	for i, p := range picked {
		out[i] = check(env, p)
	}
	return out
}

// wouldStartSpec is what a spec planned by check panics with where a run
// would start a broker or the system.
type wouldStartSpec struct{}

// wouldStart ends a planned spec where a run would start something.
func (t *T) wouldStart() {
	if t.plan {
		panic(wouldStartSpec{})
	}
}

func check(env *Env, p Picked) Plan {
	rt := &planRuntime{}
	t := NewT(rt, env)
	t.plan = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plan := Plan{Picked: p}
	func() {
		defer func() {
			switch e := recover().(type) {
			case nil:
				plan.Reason = "it ended without starting anything"
			case wouldStartSpec:
				plan.Runs = true
			case endSpec:
				plan.Reason = rt.reason
			default:
				plan.Reason = fmt.Sprintf("cannot tell: %v", e)
			}
		}()
		p.Spec.Run(ctx, t)
	}()
	plan.Controls = t.asked
	if !plan.Runs && !rt.skipped && plan.Reason != "" && rt.failed {
		plan.Reason = "cannot tell: " + plan.Reason
	}
	return plan
}

// planRuntime is check's Runtime: nothing is shown, a skip or a failure
// ends the spec with its reason.
type planRuntime struct {
	reason          string
	skipped, failed bool
}

func (r *planRuntime) By(string) {}
func (r *planRuntime) Skip(reason string) {
	r.reason, r.skipped = reason, true
	panic(endSpec{})
}
func (r *planRuntime) Fail(message string, _ ...int) {
	r.reason, r.failed = message, true
	panic(endSpec{})
}
func (r *planRuntime) Cleanup(func(context.Context)) {}
func (r *planRuntime) Go(f func()) func()            { f(); return func() {} }
func (r *planRuntime) Out() io.Writer                { return io.Discard }
func (r *planRuntime) Entry(string, any, bool)       {}
func (r *planRuntime) Seed() int64                   { return 1 }
func (r *planRuntime) Process() int                  { return 1 }
func (r *planRuntime) Failed() bool                  { return r.failed }
func (r *planRuntime) Started() time.Time            { return time.Now() }
