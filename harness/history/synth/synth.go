// Package synth makes synthetic histories shaped like those a soak of the
// reference system leaves, at any size, for benchmarks of the harness
// itself: the history's memory and file, mqchaos judge and the HTML
// report, at sizes no run on a two-core machine reaches.
//
// A history is recorded through the History's own API, as a run records
// one: units of work, faults and invariant checks with Invoke and
// Complete, the effects' final reads with Read, the verdict with
// checker.Record, the sampler's readiness and depths with AddSamples.
// Plan draws what happens when; Plan.Record records it in that order, and
// Plan.History gives it the run's own times.
//
// The shape is that of `make soak` on the reference system: two inputs,
// order_http and order_amqp, sending the same number of units, a tenth of
// the AMQP ones sent twice; a fault about every 15 s held 2 to 8 s (a
// replica killed, stopped, paused or cut off, the broker restarted, the
// database paused), the units sent under it failing or left unknown the
// way the workload records them; an invariant checked every 5 s; the
// three effects read at the end; a sample of each replica's readiness and
// each queue's depth every second.
package synth

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// Shape is the run a history stands for.
type Shape struct {
	// Units is how many units of work are sent, those sent twice
	// included: half through each input, less the AMQP ones sent again.
	Units int
	// Length is how long the run lasts (the load's span).
	Length time.Duration
	// Seed draws the faults, outcomes and latencies.
	Seed uint64
	// Lose is the share of the units accepted under a fault that no
	// effect shows, as a control's run loses them; 0 for a safe run.
	Lose float64
}

// Soak is the shape of a soak of length at the reference system's
// default rate (5 units a second through each input, a tenth of the AMQP
// ones sent twice): 6,300 units for 10 minutes.
func Soak(length time.Duration) Shape {
	return Shape{Units: int(length.Seconds() * 5 * 2.1), Length: length, Seed: 1}
}

// The run's inputs and effects, as the reference system names them.
const (
	inputHTTP = "order_http"
	inputAMQP = "order_amqp"
)

var effects = []struct {
	name   string
	inputs []string
}{
	{"order: order stored", []string{inputHTTP}},
	{"inventory: stock reserved or refused", []string{inputHTTP, inputAMQP}},
	{"notification: order_received notice", []string{inputHTTP, inputAMQP}},
}

var (
	replicas = []string{"order-1", "inventory-1", "notification-1"}
	queues   = []string{"order.inventory-events", "inventory.order-events", "notification.order-events", "notification.inventory-events",
		"order.inventory-events.dlq", "inventory.order-events.dlq", "notification.order-events.dlq", "notification.inventory-events.dlq"}
)

// A fault as the nemesis draws it: its name, how long injecting and
// healing it take, and what it breaks.
type faultKind struct {
	verb           string
	inject, heal   time.Duration
	down           bool // its target stops answering
	broker, dbDown bool
}

var faultKinds = []faultKind{
	{verb: "kill", inject: 300 * time.Millisecond, heal: 1500 * time.Millisecond, down: true},
	{verb: "stop", inject: 600 * time.Millisecond, heal: 1500 * time.Millisecond, down: true},
	{verb: "pause", inject: 50 * time.Millisecond, heal: 50 * time.Millisecond, down: true},
	{verb: "disconnect", inject: 200 * time.Millisecond, heal: 200 * time.Millisecond, down: true},
	{verb: "restart", inject: 6 * time.Second, heal: time.Millisecond, broker: true},
	{verb: "pause", inject: 50 * time.Millisecond, heal: 50 * time.Millisecond, dbDown: true},
}

// window is a fault from its injection's invoke to its heal's completion.
type window struct {
	name       string
	kind       faultKind
	target     string // a replica, "rabbitmq" or "postgres"
	from, to   time.Time
	healInvoke time.Time
}

// planned is one operation as it will be recorded.
type planned struct {
	kind, detail      string
	id                int // the unit's number, or -1 (a fault's or invariant's name is in detail's place: see name)
	name              string
	outcome           history.Outcome
	invoked, complete time.Time
	shown             bool // a unit some effect shows (its input's effects all do)
}

// Plan is a run drawn from a Shape: every operation with its time and
// outcome, and the samples.
type Plan struct {
	Shape   Shape
	Start   time.Time
	ops     []planned
	samples []history.Sample
	end     time.Time
}

// Draw plans the run s stands for.
func Draw(s Shape) *Plan {
	rng := rand.New(rand.NewPCG(s.Seed, 0x5eed))
	p := &Plan{Shape: s, Start: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	end := p.Start.Add(s.Length)
	p.end = end

	// Faults: one about every 15 s from +10 s, held 2 to 8 s.
	var faults []window
	for t := p.Start.Add(10 * time.Second); t.Before(end.Add(-10 * time.Second)); t = t.Add(time.Duration(10+rng.IntN(11)) * time.Second) {
		k := faultKinds[rng.IntN(len(faultKinds))]
		target := replicas[rng.IntN(len(replicas))]
		switch {
		case k.broker:
			target = "rabbitmq"
		case k.dbDown:
			target = "postgres"
		}
		hold := time.Duration(2+rng.IntN(7)) * time.Second
		w := window{name: k.verb + " " + target, kind: k, target: target, from: t}
		w.healInvoke = t.Add(k.inject + hold)
		w.to = w.healInvoke.Add(k.heal)
		faults = append(faults, w)
		p.ops = append(p.ops,
			planned{kind: history.KindFault, id: -1, name: w.name, outcome: history.OK, detail: "injected", invoked: t, complete: t.Add(k.inject)},
			planned{kind: history.KindFault, id: -1, name: w.name, outcome: history.OK, detail: "healed", invoked: w.healInvoke, complete: w.to})
	}
	under := func(t time.Time) (window, bool) {
		for _, w := range faults {
			if !t.Before(w.from) && t.Before(w.to) {
				return w, true
			}
		}
		return window{}, false
	}

	// Units: as many through each input, a tenth of the AMQP ones again.
	base := int(float64(s.Units) / 2.1)
	again := s.Units - 2*base
	step := s.Length / time.Duration(max(base, 1))
	unit := func(kind string, n int, at time.Time) planned {
		op := planned{kind: kind, id: n, invoked: at, outcome: history.OK, shown: true}
		lat := time.Duration((2 + rng.ExpFloat64()*6) * float64(time.Millisecond))
		if kind == inputHTTP {
			op.detail = "201"
			lat += 4 * time.Millisecond
		} else {
			op.detail = "confirmed"
		}
		if w, ok := under(at); ok {
			op.outcome, op.detail, lat, op.shown = underFault(rng, kind, w, lat)
			if op.outcome == history.OK && rng.Float64() < s.Lose {
				op.shown = false
			}
		}
		op.complete = at.Add(lat)
		return op
	}
	for i := range base {
		at := p.Start.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(step)+1)))
		p.ops = append(p.ops, unit(inputHTTP, i, at), unit(inputAMQP, i, at.Add(step/2)))
	}
	for range again {
		i := rng.IntN(max(base, 1))
		p.ops = append(p.ops, unit(inputAMQP, i, p.Start.Add(time.Duration(rng.Int64N(int64(s.Length))))))
	}
	// A unit sent twice is shown once if either send was taken in.
	taken, seen := map[int]bool{}, map[int]bool{}
	for _, op := range p.ops {
		if op.kind == inputAMQP && op.shown {
			taken[op.id] = true
		}
	}
	for i, op := range p.ops {
		if op.kind == inputAMQP {
			p.ops[i].shown = taken[op.id] && !seen[op.id]
			seen[op.id] = true
		}
	}

	// An invariant checked every 5 s: not read while the database or
	// inventory is down.
	for t := p.Start.Add(5 * time.Second); t.Before(end); t = t.Add(5 * time.Second) {
		op := planned{kind: history.KindInvariant, id: -1, name: "stock never negative", outcome: history.OK, detail: "held: 3 rows, every quantity >= 0", invoked: t, complete: t.Add(4 * time.Millisecond)}
		if w, ok := under(t); ok && (w.kind.dbDown || w.target == "inventory-1") {
			op.outcome, op.detail, op.complete = history.Info, `not read: GET /inventory: Get "http://127.0.0.1:32791/inventory": context deadline exceeded`, t.Add(3*time.Second)
		}
		p.ops = append(p.ops, op)
	}
	slices.SortStableFunc(p.ops, func(a, b planned) int { return a.invoked.Compare(b.invoked) })

	// The sampler: every second each replica's readiness and each queue's
	// depth.
	depth := make([]float64, len(queues))
	for t := p.Start; t.Before(end); t = t.Add(time.Second) {
		w, faulty := under(t)
		for _, r := range replicas {
			ready := 1.0
			if faulty && w.kind.down && w.target == r {
				ready = 0
			}
			p.samples = append(p.samples, history.Sample{Observed: history.SampleReady, Name: r, Value: ready, At: t.Add(3 * time.Millisecond)})
		}
		for i, q := range queues {
			switch {
			case faulty && w.kind.down && !strings.HasSuffix(q, ".dlq") && w.target[:3] == q[:3]: // its consumer is down
				depth[i] += float64(5 + rng.IntN(10))
			default:
				depth[i] = float64(rng.IntN(3))
			}
			p.samples = append(p.samples, history.Sample{Observed: history.SampleDepth, Name: q, Value: depth[i], At: t.Add(8 * time.Millisecond)})
		}
	}
	return p
}

// underFault is how a unit sent under w ends, as the workload records
// it: through the HTTP input, refused or unanswered while the order
// service or its database is down; through the AMQP input, not sent or
// unconfirmed while the broker restarts. An unknown unit is taken in
// half the time.
func underFault(rng *rand.Rand, kind string, w window, lat time.Duration) (history.Outcome, string, time.Duration, bool) {
	x := rng.Float64()
	switch {
	case kind == inputHTTP && (w.target == "order-1" && w.kind.down || w.kind.dbDown || w.kind.broker):
		switch {
		case x < 0.15:
			return history.Info, `Post "http://127.0.0.1:32787/orders": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, 5 * time.Second, rng.IntN(2) == 0
		case x < 0.6:
			return history.Fail, `503: {"error":"database unavailable"}`, lat, false
		}
	case kind == inputAMQP && w.kind.broker:
		switch {
		case x < 0.1:
			return history.Info, "basic.publish: confirm: context deadline exceeded", 5 * time.Second, rng.IntN(2) == 0
		case x < 0.7:
			return history.Fail, "not sent: dial amqp://127.0.0.1:32771/: dial tcp 127.0.0.1:32771: connect: connection refused", time.Millisecond, false
		}
	}
	return history.OK, map[string]string{inputHTTP: "201", inputAMQP: "confirmed"}[kind], lat * 3, true
}

// Ops is how many operations the history has: the planned ones, the
// effects' reads and the verdict's.
func (p *Plan) Ops() int { return len(p.ops) + len(effects) + len(effects) + 1 }

// id is unit n's id through input kind, as the soak's load names them
// ("soak-11-http-000123").
func id(kind string, n int) string {
	prefix := "soak-11-amqp-"
	if kind == inputHTTP {
		prefix = "soak-11-http-"
	}
	s := strconv.Itoa(n)
	for len(s) < 6 {
		s = "0" + s
	}
	return prefix + s
}

// Record records p in h through its API, in p's order, at the time of
// recording (History sets the times; see History for the run's own):
// each operation invoked then completed, the effects' reads, the verdict
// checker.Judge draws from them (checker.Record), and the samples.
func (p *Plan) Record(h *history.History) error {
	for _, op := range p.ops {
		name := op.name
		if op.id >= 0 {
			name = id(op.kind, op.id)
		}
		i := h.Invoke(op.kind, name)
		h.Complete(i, op.outcome, op.detail)
	}
	for _, e := range effects {
		var ids []string
		for _, op := range p.ops {
			if op.shown && slices.Contains(e.inputs, op.kind) {
				ids = append(ids, id(op.kind, op.id))
			}
		}
		h.Read(e.name, ids, history.Judged{Inputs: e.inputs}, p.end.Add(2*time.Second), p.end.Add(2100*time.Millisecond))
	}
	v := checker.Judge(h.Ops())
	v.Offline = "the invariants' verdict is drawn by the scenario (invariant.Violations)"
	if err := checker.Record(h, v); err != nil {
		return fmt.Errorf("record verdict: %w", err)
	}
	h.AddSamples(p.samples)
	return nil
}

// History records p in a new history and gives every operation the time
// of the run p stands for.
func (p *Plan) History() (*history.History, error) {
	rec := &history.History{}
	if err := p.Record(rec); err != nil {
		return nil, err
	}
	ops := rec.Ops()
	for i := range ops {
		switch {
		case i < len(p.ops):
			ops[i].Invoked, ops[i].Completed = p.ops[i].invoked, p.ops[i].complete
		case ops[i].Kind == history.KindVerdict:
			ops[i].Invoked, ops[i].Completed = p.end.Add(3*time.Second), p.end.Add(3*time.Second)
		}
	}
	h := &history.History{}
	h.Append(ops...)
	h.AddSamples(rec.Samples())
	return h, nil
}
