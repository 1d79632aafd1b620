package effect_test

import (
	"testing"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/system"
)

// judge records obs as the final reads of a copy of h and judges the
// copy, as a scenario's verdict does.
func judge(h *history.History, kinds []string, effects []system.Effect, obs map[string]effect.Observed) []checker.Result {
	c := &history.History{}
	c.Append(h.Ops()...)
	effect.RecordReads(c, kinds, effects, obs)
	return checker.Judge(c.Ops()).Checks
}

// Each effect is judged against the inputs it applies to only: an order
// published straight to the broker never reaches the service that stores
// orders sent over HTTP, and is not lost there.
func TestJudgeLimitsEachEffectToItsInputs(t *testing.T) {
	var h history.History
	h.Complete(h.Invoke("http", "h-1"), history.OK, "201")
	h.Complete(h.Invoke("amqp", "a-1"), history.OK, "confirmed")
	effects := []system.Effect{
		{Service: "order", What: "stored", Inputs: []string{"http"}},
		{Service: "inventory", What: "applied"},
	}
	obs := map[string]effect.Observed{
		"order: stored":      {IDs: []string{"h-1"}},
		"inventory: applied": {IDs: []string{"h-1"}},
	}
	rs := judge(&h, []string{"http", "amqp"}, effects, obs)
	if len(rs) != 2 {
		t.Fatalf("got %d results", len(rs))
	}
	if !rs[0].OK() || rs[0].Accepted != 1 {
		t.Errorf("order judged against the AMQP input too: %s", rs[0])
	}
	if len(rs[1].Lost) != 1 || rs[1].Lost[0] != "a-1" {
		t.Errorf("inventory: %s", rs[1])
	}
	if rs := judge(&h, []string{"amqp"}, effects, obs); len(rs) != 1 {
		t.Errorf("an effect of other inputs only was judged: %v", rs)
	}
}

// An unanswered request whose unit one service stored was taken in: the
// other services must apply it too.
func TestAUnitOneEffectShowsMustHaveEveryEffect(t *testing.T) {
	var h history.History
	h.Complete(h.Invoke("http", "u-1"), history.Info, "EOF")
	h.Complete(h.Invoke("http", "u-2"), history.Info, "EOF")
	effects := []system.Effect{{Service: "order", What: "stored"}, {Service: "inventory", What: "applied"}}
	obs := map[string]effect.Observed{"order: stored": {IDs: []string{"u-1"}}, "inventory: applied": {}}
	rs := judge(&h, []string{"http"}, effects, obs)
	if len(rs[0].Recovered) != 1 || !rs[0].OK() {
		t.Errorf("order: %s", rs[0])
	}
	if len(rs[1].Lost) != 1 || rs[1].Lost[0] != "u-1" {
		t.Errorf("inventory must have lost u-1 and nothing of u-2: %s", rs[1])
	}
}

// A system that makes its ids: a request left unanswered whose unit one
// service stored shows there under an id the harness never learnt; the
// other services must apply it too.
func TestAnUnansweredUnitWithoutIDMustHaveEveryEffect(t *testing.T) {
	var h history.History
	h.CompleteAs(h.Invoke("http", ""), "s-1", history.OK, "201")
	h.Complete(h.Invoke("http", ""), history.Info, "500")
	effects := []system.Effect{{Service: "order", What: "stored"}, {Service: "inventory", What: "applied"}}
	obs := map[string]effect.Observed{"order: stored": {IDs: []string{"s-1", "s-2"}}, "inventory: applied": {IDs: []string{"s-1"}}}
	rs := judge(&h, []string{"http"}, effects, obs)
	if !rs[0].OK() || rs[0].Unattributed != 1 {
		t.Errorf("order: %s", rs[0])
	}
	if len(rs[1].Lost) != 1 || rs[1].Lost[0] != "s-2" {
		t.Errorf("inventory must have lost s-2: %s", rs[1])
	}
}

// An effect declared at-least-once is judged so: the result carries it,
// and its duplicates are no violation.
func TestJudgeCarriesAnAtLeastOnceEffect(t *testing.T) {
	var h history.History
	h.Complete(h.Invoke("amqp", "a-1"), history.OK, "confirmed")
	effects := []system.Effect{
		{Service: "inventory", What: "applied"},
		{Service: "notification", What: "sent", Delivery: system.AtLeastOnce},
	}
	obs := map[string]effect.Observed{
		"inventory: applied": {IDs: []string{"a-1", "a-1"}},
		"notification: sent": {IDs: []string{"a-1", "a-1"}},
	}
	rs := judge(&h, []string{"amqp"}, effects, obs)
	if rs[0].OK() || rs[0].AtLeastOnce {
		t.Errorf("exactly-once: %s", rs[0])
	}
	if !rs[1].OK() || !rs[1].AtLeastOnce || len(rs[1].Duplicated) != 1 {
		t.Errorf("at-least-once: %s", rs[1])
	}
}
