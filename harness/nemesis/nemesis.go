// Package nemesis draws a schedule of faults from a seed and runs it
// against a stack: one fault at a time, each held for a while and healed
// before the next, or, with Options.Overlap, now and then a second fault
// on another target while the first is held; everything healed at the
// end. The same seed, duration and options give the same schedule, so a
// failed run can be replayed.
package nemesis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/stack"
)

// Kinds of fault the nemesis draws from.
const (
	KillReplica       = "kill-replica"       // SIGKILL a service replica, start it again
	StopReplica       = "stop-replica"       // stop a replica gracefully, start it again
	PauseReplica      = "pause-replica"      // freeze a replica, unfreeze it
	DisconnectReplica = "disconnect-replica" // cut a replica off the network, reconnect it
	RestartBroker     = "restart-broker"     // restart RabbitMQ
	PauseDatabase     = "pause-database"     // freeze PostgreSQL, unfreeze it
	KillDatabase      = "kill-database"      // SIGKILL PostgreSQL, start it again
)

// Kinds is every kind of fault, in the order the draw weighs them.
var Kinds = []string{KillReplica, StopReplica, PauseReplica, DisconnectReplica, RestartBroker, PauseDatabase, KillDatabase}

// ParseMix reads a mix written kind=weight,kind=weight
// ("restart-broker=2,pause-replica=1"); the kinds left out weigh 0.
func ParseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		w, err := strconv.Atoi(v)
		switch {
		case !slices.Contains(Kinds, k):
			return nil, fmt.Errorf("mix %q: no fault kind %q; the kinds are %s", s, k, strings.Join(Kinds, ", "))
		case err != nil || w < 0:
			return nil, fmt.Errorf("mix %q: %s=%s: want a weight of 0 or more", s, k, v)
		}
		mix[k] = w
	}
	return mix, nil
}

// Options set the mix and intensity of a schedule.
type Options struct {
	// Mix weighs the kinds (default: every kind the stack can take, weight
	// 1 each; a weight of 0 leaves a kind out).
	Mix map[string]int
	// Gap is the mean quiet time between two faults (default 15 s); the
	// gaps are drawn from 0.5 to 1.5 times it.
	Gap time.Duration
	// Hold is the longest a fault is held (default 8 s); holds are drawn
	// from a quarter of it to all of it.
	Hold time.Duration
	// Overlap is the chance (0 to 1) that a fault starts while the one
	// before it is held, a fifth to four fifths into its hold, on another
	// target: two faults at once, never more. 0 draws the schedules of
	// before overlaps existed, seed for seed.
	Overlap float64
}

// Step is one fault of a schedule.
type Step struct {
	At     time.Duration // after the start of the schedule
	Kind   string
	Target string // a service ("inventory"), or "rabbitmq" or "postgres"
	Hold   time.Duration
}

func (s Step) String() string {
	return fmt.Sprintf("+%6.1fs %-18s %-14s hold %.1fs", s.At.Seconds(), s.Kind, s.Target, s.Hold.Seconds())
}

// Plan draws a schedule of faults for d from seed over services (the
// targets of the replica faults). Without a database, the database kinds
// are left out. Every fault ends, healed, before d.
func Plan(seed uint64, d time.Duration, services []string, database bool, o Options) []Step {
	if o.Gap <= 0 {
		o.Gap = 15 * time.Second
	}
	if o.Hold <= 0 {
		o.Hold = 8 * time.Second
	}
	var kinds []string
	for _, k := range Kinds {
		w, set := o.Mix[k]
		if o.Mix == nil {
			w, set = 1, true
		}
		if !set || w <= 0 || (!database && strings.HasSuffix(k, "-database")) {
			continue
		}
		for range w {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 || len(services) == 0 {
		return nil
	}
	services = slices.Clone(services)
	slices.Sort(services)
	rng := rand.New(rand.NewPCG(seed, 0x6e656d65736973))
	var steps []Step
	at := time.Duration(0)
	for {
		gap := time.Duration(float64(o.Gap) * (0.5 + rng.Float64()))
		hold := time.Duration(float64(o.Hold) * (0.25 + 0.75*rng.Float64())).Round(100 * time.Millisecond)
		kind := kinds[rng.IntN(len(kinds))]
		target := services[rng.IntN(len(services))]
		switch kind {
		case RestartBroker:
			target = "rabbitmq"
		case PauseDatabase, KillDatabase:
			target = "postgres"
		}
		start := at + gap
		if o.Overlap > 0 {
			// Over the one before, if it is alone and on another target.
			into := rng.Float64()
			if n := len(steps); n > 0 && rng.Float64() < o.Overlap && steps[n-1].Target != target && (n < 2 || steps[n-2].At+steps[n-2].Hold <= steps[n-1].At) {
				prev := steps[n-1]
				start = prev.At + time.Duration(float64(prev.Hold)*(0.2+0.6*into))
			}
		}
		if start+hold > d {
			return steps
		}
		steps = append(steps, Step{At: start.Round(100 * time.Millisecond), Kind: kind, Target: target, Hold: hold})
		at = max(at, start+hold)
	}
}

// Run runs steps against s from now, recording each injection and heal
// in h. From each heal on it watches the fault's target until it is
// ready again, and records that moment as the fault's observed end
// (history.KindBack): a restart's heal is the engine's, its end the
// broker taking connections. Whenever the last fault held is healed, it
// waits until what the faults broke is ready again, 2 minutes at most.
// It returns when the schedule is done, every fault healed, or at the
// first error (the faults in hand healed first), and records nothing
// after it returned.
func Run(ctx context.Context, s *stack.Stack, h *history.History, steps []Step) error {
	events := timeline(steps)
	type held struct {
		f     fault.Fault
		ready func(context.Context) error
	}
	active := map[int]held{}
	type watch struct {
		st   Step
		done <-chan error
	}
	var waits []watch
	wctx, cancel := context.WithCancel(ctx)
	var watching sync.WaitGroup
	defer func() {
		cancel()
		watching.Wait()
	}()
	healAll := func() error {
		var errs []error
		for i, a := range active {
			if err := fault.Heal(context.WithoutCancel(ctx), h, a.f); err != nil {
				errs = append(errs, fmt.Errorf("nemesis %s: %w", steps[i], err))
			}
		}
		return errors.Join(errs...)
	}
	start := time.Now()
	for _, e := range events {
		st := steps[e.step]
		if err := fault.Hold(ctx, time.Until(start.Add(e.at))); err != nil {
			return errors.Join(err, healAll())
		}
		if !e.heal {
			f, ready, err := build(s, st)
			if err == nil {
				err = fault.Inject(ctx, h, f)
			}
			if err != nil {
				return errors.Join(fmt.Errorf("nemesis %s: %w", st, err), healAll())
			}
			active[e.step] = held{f, ready}
			continue
		}
		a := active[e.step]
		delete(active, e.step)
		if err := fault.Heal(context.WithoutCancel(ctx), h, a.f); err != nil {
			return errors.Join(fmt.Errorf("nemesis %s: %w", st, err), healAll())
		}
		done := make(chan error, 1)
		watching.Go(func() {
			err := a.ready(wctx)
			if err == nil {
				h.Back(a.f.Name(), time.Now())
			}
			done <- err
		})
		waits = append(waits, watch{st, done})
		if len(active) > 0 {
			continue
		}
		limit := time.NewTimer(2 * time.Minute)
		for _, w := range waits {
			var err error
			select {
			case err = <-w.done:
			case <-limit.C:
				err = errors.New("still not ready 2m0s after the last heal")
			}
			if err != nil {
				limit.Stop()
				return fmt.Errorf("nemesis %s: not ready after the heal: %w", w.st, err)
			}
		}
		limit.Stop()
		waits = nil
	}
	return nil
}

// Ends is when each of steps ended as h's ops observed it, from the
// schedule's start: the moment its target was back (history.KindBack),
// or its nominal end (At+Hold) where the ops have none. The schedule's
// start is taken from the first injection's op: Run invokes it at its
// step's time.
func Ends(steps []Step, ops []history.Op) []time.Duration {
	ends := make([]time.Duration, len(steps))
	for i, st := range steps {
		ends[i] = st.At + st.Hold
	}
	var start time.Time
	injected := 0
	last := map[string]int{} // a fault's name: the step it named last
	for _, op := range ops {
		switch {
		case op.Kind == history.KindFault && op.Outcome == history.OK && strings.HasPrefix(op.Detail, fault.Injected) && injected < len(steps):
			if injected == 0 {
				start = op.Invoked.Add(-steps[0].At)
			}
			last[op.ID] = injected
			injected++
		case op.Kind == history.KindBack:
			if i, ok := last[op.ID]; ok {
				ends[i] = max(ends[i], op.Invoked.Sub(start))
			}
		}
	}
	return ends
}

// event is a step's injection or its heal, at its time from the start.
type event struct {
	at   time.Duration
	step int
	heal bool
}

// timeline is steps' injections and heals in time order. At the same
// moment the heals of faults held until then come first, so a target is
// free again before the next fault takes it, then the injections, then
// the heals of faults held for no time at all.
func timeline(steps []Step) []event {
	var events []event
	for i, st := range steps {
		events = append(events, event{st.At, i, false}, event{st.At + st.Hold, i, true})
	}
	class := func(e event) int {
		switch {
		case !e.heal:
			return 1
		case steps[e.step].Hold > 0:
			return 0
		}
		return 2
	}
	slices.SortFunc(events, func(a, b event) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(class(a), class(b)), cmp.Compare(a.step, b.step))
	})
	return events
}

// build turns a step into its fault and the wait for recovery after it.
func build(s *stack.Stack, st Step) (fault.Fault, func(context.Context) error, error) {
	e := s.Engine()
	switch st.Kind {
	case RestartBroker:
		return fault.Restart(e, s.Infra.BrokerTarget(), 10*time.Second), s.Infra.WaitBroker, nil
	case PauseDatabase:
		return fault.Pause(e, s.Infra.DatabaseTarget()), s.Infra.WaitDatabase, nil
	case KillDatabase:
		return fault.Kill(e, s.Infra.DatabaseTarget()), s.Infra.WaitDatabase, nil
	}
	rs := s.Replicas(st.Target)
	if len(rs) == 0 {
		return nil, nil, fmt.Errorf("nemesis %s: no replica of %s", st, st.Target)
	}
	r := rs[0]
	ready := r.WaitReady
	switch st.Kind {
	case KillReplica:
		return fault.Kill(e, r.Target()), ready, nil
	case StopReplica:
		return fault.Stop(e, r.Target(), 5*time.Second), ready, nil
	case PauseReplica:
		return fault.Pause(e, r.Target()), ready, nil
	case DisconnectReplica:
		return fault.Disconnect(e, r.Target()), ready, nil
	}
	return nil, nil, fmt.Errorf("nemesis: unknown fault kind %q", st.Kind)
}
