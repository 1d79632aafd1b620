package checker_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// run is a small run: three orders over HTTP (one unanswered), one over
// AMQP; the stored effect applies to HTTP orders only, the reservation
// to both and loses one; the notification is at-least-once and sends
// one twice.
func run(t *testing.T) *history.History {
	t.Helper()
	t0 := time.Now()
	h := &history.History{}
	h.Complete(h.Invoke("http", "h-1"), history.OK, "201")
	h.Complete(h.Invoke("http", "h-2"), history.OK, "201")
	h.Complete(h.Invoke("http", "h-3"), history.Info, "EOF")
	h.Complete(h.Invoke("amqp", "a-1"), history.OK, "confirmed")
	h.Read("order: stored", []string{"h-1", "h-2", "h-3"}, history.Judged{Inputs: []string{"http"}}, t0, t0)
	h.Read("inventory: reserved", []string{"h-1", "h-2"}, history.Judged{Inputs: []string{"http", "amqp"}}, t0, t0)
	h.Read("notification: sent", []string{"h-1", "h-2", "h-2", "h-3", "a-1"}, history.Judged{Inputs: []string{"http", "amqp"}, AtLeastOnce: true}, t0, t0)
	return h
}

func TestJudgeReadsTheFinalReads(t *testing.T) {
	v := checker.Judge(run(t).Ops())
	if len(v.Checks) != 3 {
		t.Fatalf("%d checks, want 3: %+v", len(v.Checks), v)
	}
	stored, reserved, sent := v.Checks[0], v.Checks[1], v.Checks[2]
	if !stored.OK() || stored.Accepted != 2 || len(stored.Recovered) != 1 {
		t.Errorf("stored: %s", stored)
	}
	// h-3 was unanswered but stored: it must be reserved too.
	if want := []string{"a-1", "h-3"}; !reflect.DeepEqual(reserved.Lost, want) {
		t.Errorf("reserved lost %v, want %v: %s", reserved.Lost, want, reserved)
	}
	if !sent.OK() || !sent.AtLeastOnce || !reflect.DeepEqual(sent.Duplicated, []string{"h-2"}) {
		t.Errorf("sent: %s", sent)
	}
	if v.Held() {
		t.Error("a verdict with a loss held")
	}
}

// The last read of an effect is its final read.
func TestJudgeTakesTheLastReadOfAnEffect(t *testing.T) {
	h := &history.History{}
	h.Complete(h.Invoke("amqp", "a-1"), history.OK, "confirmed")
	j := history.Judged{Inputs: []string{"amqp"}}
	h.Read("x", nil, j, time.Now(), time.Now())
	h.Read("x", []string{"a-1"}, j, time.Now(), time.Now())
	if v := checker.Judge(h.Ops()); len(v.Checks) != 1 || !v.Held() {
		t.Errorf("%+v", v)
	}
}

// A history written and read back judges as it did in memory, and agrees
// with the verdict recorded in it.
func TestJudgeRoundTrip(t *testing.T) {
	h := run(t)
	h.Violation("unseen at the end: q: 3 ready, 0 unacked")
	want := checker.Judge(h.Ops())
	if err := checker.Record(h, want); err != nil {
		t.Fatal(err)
	}
	back := throughFile(t, h)
	got := checker.Judge(back.Ops())
	if !reflect.DeepEqual(js(t, got), js(t, want)) {
		t.Errorf("read back, judged\n%s\nin memory\n%s", js(t, got), js(t, want))
	}
	if len(got.Violations) != 1 || got.Held() {
		t.Errorf("the recorded violation was not read back: %+v", got)
	}
	rec, ok, err := checker.Recorded(back.Ops())
	if err != nil || !ok {
		t.Fatalf("recorded: %v %v", ok, err)
	}
	if d := checker.Differences(got, rec); len(d) > 0 {
		t.Errorf("a history judged again disagrees with itself: %v", d)
	}
}

// A history written before reads were recorded still loads, judges to
// nothing and records no verdict.
func TestJudgeAnOldHistory(t *testing.T) {
	old := `{"kind":"http","id":"h-1","outcome":"ok","detail":"201","invoked":"2026-11-24T03:00:00Z","completed":"2026-11-24T03:00:00.1Z"}
{"kind":"fault","id":"kill order-1","outcome":"ok","detail":"injected","invoked":"2026-11-24T03:00:01Z","completed":"2026-11-24T03:00:01Z"}
{"observed":"ready","name":"order-1","value":1,"at":"2026-11-24T03:00:02Z"}
`
	h, err := history.ReadJSONL(strings.NewReader(old))
	if err != nil {
		t.Fatal(err)
	}
	if v := checker.Judge(h.Ops()); len(v.Checks) != 0 || v.Offline != "" {
		t.Errorf("an old history judged to %+v", v)
	}
	if _, ok, err := checker.Recorded(h.Ops()); ok || err != nil {
		t.Errorf("an old history recorded a verdict: %v %v", ok, err)
	}
}

// A recorded verdict the history does not give again is reported, effect
// by effect.
func TestDifferencesReportADisagreement(t *testing.T) {
	h := run(t)
	v := checker.Judge(h.Ops())
	lied := v
	lied.Checks = append([]checker.Result(nil), v.Checks...)
	lied.Checks[1].Lost = nil // the run said nothing was lost
	lied.Checks = lied.Checks[:2]
	if err := checker.Record(h, lied); err != nil {
		t.Fatal(err)
	}
	rec, ok, err := checker.Recorded(h.Ops())
	if err != nil || !ok {
		t.Fatalf("recorded: %v %v", ok, err)
	}
	d := checker.Differences(checker.Judge(h.Ops()), rec)
	want := []string{
		"inventory: reserved: judged VIOLATED, the run recorded OK",
		"inventory: reserved: lost 2 judged, 0 recorded",
		"notification: sent: judged, but the run recorded no verdict on it",
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("differences\n got %q\nwant %q", d, want)
	}
}

// A run judged partly by its scenario says so, and its history carries
// why.
func TestRecordKeepsWhyARunIsNotJudgeableOffline(t *testing.T) {
	h := run(t)
	if err := checker.Record(h, checker.Verdict{Offline: "the dead letters were read by the scenario"}); err != nil {
		t.Fatal(err)
	}
	if v := checker.Judge(h.Ops()); v.Offline != "the dead letters were read by the scenario" {
		t.Errorf("offline %q", v.Offline)
	}
}

// throughFile is h written as JSONL and read back, as mqchaos judge reads
// a run's history.
func throughFile(t *testing.T, h *history.History) *history.History {
	t.Helper()
	var b bytes.Buffer
	if err := h.WriteJSONL(&b); err != nil {
		t.Fatal(err)
	}
	back, err := history.ReadJSONL(&b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// againFromFile records h's verdict as the run does, and returns the
// verdict judged again from h's file and the one recorded in it, failing
// t when they differ or none was recorded.
func againFromFile(t *testing.T, h *history.History) (judged, recorded checker.Verdict) {
	t.Helper()
	if err := checker.Record(h, checker.Judge(h.Ops())); err != nil {
		t.Fatal(err)
	}
	back := throughFile(t, h)
	judged = checker.Judge(back.Ops())
	recorded, ok, err := checker.Recorded(back.Ops())
	if err != nil || !ok {
		t.Fatalf("recorded: %v %v", ok, err)
	}
	if d := checker.Differences(judged, recorded); len(d) != 0 {
		t.Errorf("judged again differs: %v", d)
	}
	return judged, recorded
}

func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An ordered effect's read carries each id's steps in the order applied:
// judged in memory and again from the file, a unit cancelled before it
// was placed is out of order, one whose cancellation never came is lost,
// and a recorded verdict that missed the disorder differs.
func TestJudgeAnOrderedEffectAgainFromItsFile(t *testing.T) {
	t0 := time.Now()
	h := &history.History{}
	for _, id := range []string{"o-1", "o-2", "o-3"} {
		h.Complete(h.Invoke("lifecycle", id), history.OK, "confirmed 2 steps in order")
	}
	j := history.Judged{Inputs: []string{"lifecycle"}, Order: []string{"order_received", "order_cancelled"}}
	h.ReadSteps("notification: notices in order",
		[]string{"o-1", "o-2", "o-1", "o-2", "o-3"},
		[]string{"order_received", "order_cancelled", "order_cancelled", "order_received", "order_received"}, j, t0, t0)
	want := checker.Judge(h.Ops())
	if len(want.Checks) != 1 || want.Held() {
		t.Fatalf("%+v", want)
	}
	c := want.Checks[0]
	if !reflect.DeepEqual(c.OutOfOrder, []string{"o-2"}) || !reflect.DeepEqual(c.Lost, []string{"o-3"}) || len(c.Duplicated) != 0 {
		t.Errorf("%s", c)
	}
	if got := checker.Judge(throughFile(t, h).Ops()); !reflect.DeepEqual(js(t, got), js(t, want)) {
		t.Errorf("read back, judged\n%s\nin memory\n%s", js(t, got), js(t, want))
	}
	missed := want
	missed.Checks = []checker.Result{c}
	missed.Checks[0].OutOfOrder = nil
	if d := checker.Differences(want, missed); len(d) != 1 || !strings.Contains(d[0], "out of order 1 judged, 0 recorded") {
		t.Errorf("differences %v", d)
	}
}
