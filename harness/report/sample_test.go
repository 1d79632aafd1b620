package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// sampleRuns is a broker restart as the catalogue runs it, drawn from the
// harness's own types: 20 s of AMQP publishes at 50/s with RabbitMQ
// restarted from +6 s to +11 s, once on the safe setting (held, a few
// publishes of unknown outcome recovered) and once with the
// transient-queues control (the queued orders lost, two duplicated).
func sampleRuns() []Run {
	return []Run{
		sampleRun("safe", 1, func(h *history.History, ids []string) []checker.Result {
			var res []checker.Result
			for _, svc := range []string{"inventory: stock reserved or refused", "notification: order_received notice"} {
				in := checker.FromHistory(h, "order_amqp")
				in.Service = svc
				// every accepted and every unknown unit was processed once
				in.Effects = append(append([]string{}, in.Accepted...), in.Unknown...)
				res = append(res, checker.Check(in))
			}
			return res
		}),
		sampleRun("control: transient-queues", 2, func(h *history.History, ids []string) []checker.Result {
			var res []checker.Result
			for _, svc := range []string{"inventory: stock reserved or refused", "notification: order_received notice"} {
				in := checker.FromHistory(h, "order_amqp")
				in.Service = svc
				for _, op := range h.Ops() {
					// what sat in the transient queue between +4.5 s and the restart is gone
					if op.Kind == "order_amqp" && op.Outcome == history.OK && !(op.Invoked.After(at(4.5)) && op.Invoked.Before(at(6))) {
						in.Effects = append(in.Effects, op.ID)
					}
				}
				if svc == "inventory: stock reserved or refused" {
					in.Effects = append(in.Effects, ids[700], ids[701]) // redelivered after the restart
				}
				res = append(res, checker.Check(in))
			}
			return res
		}),
	}
}

func sampleRun(side string, seed uint64, judge func(*history.History, []string) []checker.Result) Run {
	rng := rand.New(rand.NewPCG(seed, 42))
	var ops []history.Op
	var ids []string
	inject, heal := at(6), at(11)
	for i := range 1000 {
		id := fmt.Sprintf("restart-%s-%04d", Slug(side), i+1)
		ids = append(ids, id)
		inv := at(float64(i)/50 + rng.Float64()*0.01)
		lat := time.Duration(3+rng.ExpFloat64()*6) * time.Millisecond
		op := history.Op{Kind: "order_amqp", ID: id, Outcome: history.OK, Invoked: inv}
		switch {
		case inv.After(inject) && inv.Before(inject.Add(1500*time.Millisecond)):
			op.Outcome, op.Detail, lat = history.Info, "basic.publish: confirm timed out after 2s", 2*time.Second
		case inv.After(inject) && inv.Before(heal):
			op.Outcome, op.Detail, lat = history.Fail, "dial: connection refused", time.Duration(1+rng.IntN(3))*time.Millisecond
		case inv.After(heal) && inv.Before(heal.Add(2*time.Second)):
			lat *= 12 // queues recovering
		}
		op.Completed = inv.Add(lat)
		ops = append(ops, op)
	}
	ops = append(ops,
		// the restart is invoked at +6 s and done at +11 s; its heal has nothing left to do
		history.Op{Kind: history.KindFault, ID: "restart rabbitmq", Outcome: history.OK, Detail: "injected", Invoked: inject, Completed: heal},
		history.Op{Kind: history.KindFault, ID: "restart rabbitmq", Outcome: history.OK, Detail: "healed", Invoked: heal, Completed: heal.Add(time.Millisecond)},
	)
	// The invariants checked every 2 s: stock read held, but not while
	// the broker restarts (the service cannot answer then); at the end,
	// orders left pending break the control's.
	for x := 1.0; x < 20; x += 2 {
		inv := history.Op{Kind: history.KindInvariant, ID: "stock never negative", Outcome: history.OK, Detail: "held: 3 rows, quantity ≥ 0", Invoked: at(x), Completed: at(x + 0.02)}
		if x > 6 && x < 11 {
			inv.Outcome, inv.Detail, inv.Completed = history.Info, "not read: /inventory: status 503: database unavailable", at(x+0.5)
		}
		ops = append(ops, inv)
	}
	final := history.Op{Kind: history.KindInvariant, ID: "every order ends final", Outcome: history.OK, Detail: "held: 0 rows, no row", Invoked: at(20), Completed: at(20.05)}
	if side != "safe" {
		final.Outcome, final.Detail = history.Fail, `broken: 2 of 2 rows, want no row: {"order_id":"restart-0291","status":"pending"}; {"order_id":"restart-0292","status":"pending"}`
	}
	ops = append(ops, final)
	slices.SortStableFunc(ops, func(a, b history.Op) int { return a.Invoked.Compare(b.Invoked) })
	hist := historyOf(ops)
	f := Figures{Scenario: "broker restart", Side: side, System: "reference", Broker: "RabbitMQ 3.10.8 (Erlang 25.2.3)", Input: "order_amqp", Sent: len(ids),
		Seconds: 24.6, Phases: map[string]float64{"setup": 1.2, "run": 20.1, "settle": 3.1, "check": 0.2},
		Checks: judge(hist, ids), History: "histories/broker-restart--" + Slug(side) + ".jsonl"}
	return Run{Figures: f, Ops: ops}
}

// historyOf is a History holding ops, as a run's JSON Lines file gives it.
func historyOf(ops []history.Op) *history.History {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, op := range ops {
		if err := enc.Encode(op); err != nil {
			panic(err)
		}
	}
	h, err := history.ReadJSONL(&b)
	if err != nil {
		panic(err)
	}
	return h
}
