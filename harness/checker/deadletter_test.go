package checker_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// poisonRun is a poison run: two valid units and four poison messages
// sent through "orders" (one poison refused by the broker), one valid
// unit of another input; the dead-letter queue holds p-dup twice, p-bare
// without a reason, not p-lost, the valid unit a-2 by its message id,
// and m-9 of the other input.
func poisonRun(validExpected bool) *history.History {
	t0 := time.Now()
	h := &history.History{}
	op := h.Invoke("orders", "a-1")
	h.SentAs(op, "m-1")
	h.Complete(op, history.OK, "confirmed")
	op = h.Invoke("orders", "a-2")
	h.SentAs(op, "m-2")
	h.Complete(op, history.OK, "confirmed")
	op = h.Invoke("other", "b-1")
	h.SentAs(op, "m-9")
	h.Complete(op, history.OK, "confirmed")
	for _, id := range []string{"p-ok", "p-dup", "p-bare", "p-lost"} {
		h.Complete(h.Poison("orders", id), history.OK, "confirmed")
	}
	h.Complete(h.Poison("orders", "p-refused"), history.Fail, "unroutable")
	h.Read("inventory: reserved", []string{"a-1", "a-2"}, history.Judged{Inputs: []string{"orders"}}, t0, t0)
	h.DeadLetters("q.dlq", []history.Letter{
		{ID: "p-ok", Reason: "invalid: not JSON"},
		{ID: "p-dup", Reason: "invalid"}, {ID: "p-dup", Reason: "invalid"},
		{ID: "p-bare"},
		{ID: "m-2", Reason: "retries-exhausted"},
		{ID: "m-9", Reason: "rejected"},
	}, history.Judged{Inputs: []string{"orders"}, ValidExpected: validExpected}, t0, t0)
	return h
}

func TestJudgeDeadLetterAccounting(t *testing.T) {
	v := checker.Judge(poisonRun(false).Ops())
	if len(v.DeadLetters) != 1 {
		t.Fatalf("%d dead-letter results, want 1: %+v", len(v.DeadLetters), v)
	}
	d := v.DeadLetters[0]
	want := checker.DeadLetterResult{
		Queue: "q.dlq", Poison: 4, Letters: 6,
		Missing: []string{"p-lost"}, Repeated: []string{"p-dup"}, NoReason: []string{"p-bare"},
		Valid: []string{"a-2"}, Other: []string{"m-9"},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
	if d.OK() || v.Held() {
		t.Errorf("a dead-letter queue missing poison held: %s", d)
	}
	if !v.Checks[0].OK() {
		t.Errorf("the effect's check: %s", v.Checks[0])
	}
}

// Valid units the scenario expects in the queue are counted, and no
// violation; poison missing still is.
func TestJudgeDeadLettersValidExpected(t *testing.T) {
	d := checker.Judge(poisonRun(true).Ops()).DeadLetters[0]
	if len(d.ValidViolations()) != 0 || !reflect.DeepEqual(d.Valid, []string{"a-2"}) {
		t.Errorf("valid expected: %s", d)
	}
	h := &history.History{}
	h.Complete(h.Poison("orders", "p-1"), history.OK, "confirmed")
	h.Complete(h.Poison("orders", "p-2"), history.Info, "confirm timed out")
	h.DeadLetters("q.dlq", []history.Letter{{ID: "p-1", Reason: "invalid"}}, history.Judged{Inputs: []string{"orders"}}, time.Now(), time.Now())
	if d := checker.Judge(h.Ops()).DeadLetters[0]; !d.OK() || d.Poison != 1 {
		t.Errorf("every confirmed poison dead-lettered once with a reason, one of unknown outcome not: %s", d)
	}
}

// The dead-letter verdict is recorded, read back from the file and
// compared like the effects' checks.
func TestDeadLetterVerdictRoundTrip(t *testing.T) {
	h := poisonRun(false)
	v := checker.Judge(h.Ops())
	if err := checker.Record(h, v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := h.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := history.ReadJSONL(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok, err := checker.Recorded(back.Ops())
	if err != nil || !ok {
		t.Fatalf("recorded: %v %v", ok, err)
	}
	if len(rec.Checks) != 1 || len(rec.DeadLetters) != 1 {
		t.Fatalf("recorded %+v", rec)
	}
	if d := checker.Differences(checker.Judge(back.Ops()), rec); len(d) != 0 {
		t.Errorf("judged again differs: %v", d)
	}
	rec.DeadLetters[0].Missing = nil
	want := []string{"dead letters q.dlq: poison missing 1 judged, 0 recorded"}
	if d := checker.Differences(v, rec); !reflect.DeepEqual(d, want) {
		t.Errorf("a recorded verdict without the missing poison: differences %q, want %q", d, want)
	}
}
