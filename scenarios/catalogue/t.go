package catalogue

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Runtime is what a front end gives a running spec. Skip and Fail end the
// spec: they do not return (they panic, and the front end recovers).
type Runtime interface {
	// By announces a step of the spec's timeline.
	By(text string)
	// Skip ends the spec as skipped, with the reason.
	Skip(reason string)
	// Fail ends the spec as failed; Gomega's fail handler.
	Fail(message string, callerSkip ...int)
	// Cleanup runs f after the spec, last registered first, with a
	// context of its own.
	Cleanup(f func(ctx context.Context))
	// Go runs f in a goroutine whose failure fails the spec; wait blocks
	// until f has returned.
	Go(f func()) (wait func())
	// Out is the spec's output, shown with a failure or on request.
	Out() io.Writer
	// Entry records a named value of the spec for its report; visible
	// entries are shown with every run, the others with a failure.
	Entry(name string, value any, visible bool)
	// Seed is the run's random seed.
	Seed() int64
	// Process numbers the parallel process or worker, from 1.
	Process() int
	// Failed reports whether the spec has failed so far.
	Failed() bool
	// Started is when the spec started.
	Started() time.Time
}

// T is one running spec: its front end's runtime, the environment it runs
// in, Gomega's assertions (a failure ends the spec through the runtime),
// and what it recorded. Not safe for concurrent use except through Go and
// the assertions.
type T struct {
	gomega.Gomega
	rt      Runtime
	env     *Env
	sys     *system.System
	phases  timings
	figures []report.Figures
	// plan is set while CheckAll plans the spec: it ends where a run
	// would start something.
	plan bool
	// asked is every control the spec asked the system for.
	asked []string
	// queues are the final reads of the queues settled took last, when,
	// for the next verdict's history.
	queues     []settle.Final
	queuesRead [2]time.Time
	// drained is when settled last found the work drained (queues empty,
	// effects final), for the next verdict's history; zero if not.
	drained time.Time
	// knobs are the sizes the spec exposed, as it used them.
	knobs Knobs
}

// defaultWait is how long an Eventually waits when it does not say: the
// limit holds with a context too (Gomega, left to itself, waits for a
// context's end and for ever on one without a deadline). A wait that
// needs longer says WithTimeout.
const defaultWait = 90 * time.Second

// NewT is a spec's T in env, on the front end's runtime rt. Its
// Eventually gives up after defaultWait unless it says otherwise, with a
// context or without.
func NewT(rt Runtime, env *Env) *T {
	g := gomega.NewGomega(rt.Fail)
	g.SetDefaultEventuallyTimeout(defaultWait)
	g.EnforceDefaultTimeoutsWhenUsingContexts()
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	g.SetDefaultConsistentlyDuration(2 * time.Second)
	g.SetDefaultConsistentlyPollingInterval(250 * time.Millisecond)
	return &T{Gomega: g, rt: rt, env: env, sys: env.System, phases: timings{began: rt.Started()}}
}

// Quietly is Gomega whose failures do not end the spec: its assertions
// return whether they held (a wait that may time out on purpose). Its
// Eventually gives up after defaultWait too.
func (t *T) Quietly() gomega.Gomega {
	g := gomega.NewGomega(func(string, ...int) {})
	g.SetDefaultEventuallyTimeout(defaultWait)
	g.EnforceDefaultTimeoutsWhenUsingContexts()
	g.SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	return g
}

// By announces a step of the spec's timeline.
func (t *T) By(text string) { t.rt.By(text) }

// Skip ends the spec as skipped; it does not return.
func (t *T) Skip(reason string) { t.rt.Skip(reason) }

// Cleanup runs f after the spec, last registered first.
func (t *T) Cleanup(f func(ctx context.Context)) { t.rt.Cleanup(f) }

// Go runs f in a goroutine whose failure fails the spec, and returns a
// func that waits for it to finish. Call wait on the spec's goroutine:
// when f failed, it ends the spec there, and on any other goroutine it
// would end the process.
func (t *T) Go(f func()) (wait func()) { return t.rt.Go(f) }

// Out is the spec's output.
func (t *T) Out() io.Writer { return t.rt.Out() }

// Printf writes to the spec's output.
func (t *T) Printf(format string, a ...any) { fmt.Fprintf(t.rt.Out(), format, a...) }

// Println writes a line to the spec's output.
func (t *T) Println(a ...any) { fmt.Fprintln(t.rt.Out(), a...) }

// Entry records a named value for the spec's report, shown with a failure.
func (t *T) Entry(name string, value any) { t.rt.Entry(name, value, false) }

// Seed is the run's random seed.
func (t *T) Seed() int64 { return t.rt.Seed() }

// Figures is every verdict the spec recorded, in order.
func (t *T) Figures() []report.Figures { return t.figures }

// recordFigures keeps f as one of the spec's verdicts and reports it.
func (t *T) recordFigures(f report.Figures) {
	t.figures = append(t.figures, f)
	t.rt.Entry(FiguresEntry, f, false)
}

// spent is the spec's timings.
func (t *T) spent() *timings { return &t.phases }

// rng is this spec's seeded randomness (the run's seed reproduces it).
func (t *T) rng() *rand.Rand {
	seed := uint64(t.Seed())
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
