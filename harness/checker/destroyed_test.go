package checker_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

const withQueue = "lost with the queue q"

// deleted is a run whose queue was deleted under its consumer: b-1..b-4
// sent before, named as destroyable with the queue, of which b-1 and b-4
// were applied; a-1..a-3 sent after, of which a-3 is lost (a control's
// loss).
func deleted(t *testing.T) *history.History {
	t.Helper()
	t0 := time.Now()
	h := &history.History{}
	for _, id := range []string{"b-1", "b-2", "b-3", "b-4"} {
		h.Complete(h.Invoke("amqp", id), history.OK, "confirmed")
	}
	h.Destroyable(withQueue, []string{"b-1", "b-2", "b-3", "b-4"})
	for _, id := range []string{"a-1", "a-2", "a-3"} {
		h.Complete(h.Invoke("amqp", id), history.OK, "confirmed")
	}
	h.Read("consumer: applied", []string{"b-1", "a-1", "a-2", "b-4"}, history.Judged{Inputs: []string{"amqp"}}, t0, t0)
	return h
}

// A unit a fault destroyed by its nature is counted apart, expected;
// one outside the set that is lost stays lost, and breaks the verdict.
func TestJudgeCountsUnitsLostWithTheQueueApart(t *testing.T) {
	v := checker.Judge(deleted(t).Ops())
	if len(v.Checks) != 1 {
		t.Fatalf("%d checks, want 1: %+v", len(v.Checks), v)
	}
	c := v.Checks[0]
	if want := map[string][]string{withQueue: {"b-2", "b-3"}}; !reflect.DeepEqual(c.Destroyed, want) {
		t.Errorf("destroyed %v, want %v", c.Destroyed, want)
	}
	if want := []string{"a-3"}; !reflect.DeepEqual(c.Lost, want) {
		t.Errorf("lost %v, want %v", c.Lost, want)
	}
	if c.OK() || v.Held() {
		t.Errorf("a unit lost outside the destroyable set did not break the verdict: %s", c)
	}
	if !strings.Contains(c.String(), "lost 1, lost with the queue q 2, expected,") {
		t.Errorf("the line does not show the class: %s", c)
	}
}

// With nothing lost but what went with the queue, the verdict holds and
// still shows how many went.
func TestJudgeHoldsWhenOnlyDestroyableUnitsAreLost(t *testing.T) {
	t0 := time.Now()
	h := deleted(t)
	h.Read("consumer: applied", []string{"b-1", "a-1", "a-2", "a-3"}, history.Judged{Inputs: []string{"amqp"}}, t0, t0)
	v := checker.Judge(h.Ops())
	c := v.Checks[0]
	if !v.Held() || !c.OK() || len(c.Lost) != 0 {
		t.Errorf("only destroyable units lost, yet %s", c)
	}
	if want := []string{"b-2", "b-3", "b-4"}; !reflect.DeepEqual(c.DestroyedIDs(), want) {
		t.Errorf("destroyed %v, want %v", c.DestroyedIDs(), want)
	}
}

// Without the op, the same units are lost: the set is the history's,
// never guessed from the ids.
func TestJudgeWithoutDestroyableOpCallsThemLost(t *testing.T) {
	var ops []history.Op
	for _, op := range deleted(t).Ops() {
		if op.Kind != history.KindDestroyable {
			ops = append(ops, op)
		}
	}
	c := checker.Judge(ops).Checks[0]
	if want := []string{"a-3", "b-2", "b-3"}; !reflect.DeepEqual(c.Lost, want) || c.Destroyed != nil {
		t.Errorf("lost %v destroyed %v, want lost %v", c.Lost, c.Destroyed, want)
	}
}

// An ordered effect's unit with a step missing is lost; if a fault may
// destroy it, it is counted with the fault instead. A unit two ops name
// is counted under the first.
func TestCheckDestroyableOrderedAndNamedTwice(t *testing.T) {
	r := checker.Check(checker.Input{
		Service: "notices", Accepted: []string{"u-1", "u-2", "u-3"},
		Order:       []string{"placed", "cancelled"},
		Steps:       map[string][]string{"u-1": {"placed", "cancelled"}, "u-2": {"placed"}},
		Destroyable: map[string]string{"u-2": "lost with the queue a", "u-3": "lost with the queue b"},
	})
	want := map[string][]string{"lost with the queue a": {"u-2"}, "lost with the queue b": {"u-3"}}
	if !r.OK() || !reflect.DeepEqual(r.Destroyed, want) {
		t.Errorf("%s: destroyed %v, want %v", r, r.Destroyed, want)
	}
	if got := r.String(); !strings.Contains(got, "lost 0, lost with the queue a 1, expected, lost with the queue b 1, expected,") {
		t.Errorf("line %s", got)
	}

	h := &history.History{}
	h.Complete(h.Invoke("amqp", "x"), history.OK, "confirmed")
	h.Destroyable("lost with the queue first", []string{"x"})
	h.Destroyable("lost with the queue second", []string{"x"})
	h.Read("e", nil, history.Judged{Inputs: []string{"amqp"}}, time.Now(), time.Now())
	if got := checker.Judge(h.Ops()).Checks[0].Destroyed; !reflect.DeepEqual(got, map[string][]string{"lost with the queue first": {"x"}}) {
		t.Errorf("named twice: %v", got)
	}
}

// Judged again from its file, a run with units lost with the queue gives
// the same verdict, class included, as the run recorded; a recorded
// verdict that called them lost, or counted them otherwise, differs.
func TestJudgeDestroyedAgainFromItsFile(t *testing.T) {
	h := deleted(t)
	want := checker.Judge(h.Ops())
	if err := checker.Record(h, want); err != nil {
		t.Fatal(err)
	}
	back := throughFile(t, h)
	got := checker.Judge(back.Ops())
	if js(t, got) != js(t, want) {
		t.Errorf("read back, judged\n%s\nin memory\n%s", js(t, got), js(t, want))
	}
	rec, ok, err := checker.Recorded(back.Ops())
	if err != nil || !ok {
		t.Fatalf("recorded: %v %v", ok, err)
	}
	if d := checker.Differences(got, rec); len(d) > 0 {
		t.Errorf("a history judged again disagrees with itself: %v", d)
	}

	// The verdict as the scenario's own filter once drew it: the units
	// of the deleted queue called lost.
	old := rec
	old.Checks = []checker.Result{rec.Checks[0]}
	old.Checks[0].Lost = []string{"a-3", "b-2", "b-3"}
	old.Checks[0].Destroyed = nil
	d := checker.Differences(got, old)
	wantD := []string{
		"consumer: applied: lost 1 judged, 3 recorded",
		"consumer: applied: lost with the queue q 2 judged, 0 recorded",
	}
	if !reflect.DeepEqual(d, wantD) {
		t.Errorf("differences\n got %q\nwant %q", d, wantD)
	}
	other := rec
	other.Checks = []checker.Result{rec.Checks[0]}
	other.Checks[0].Destroyed = map[string][]string{"lost with the queue r": {"b-2", "b-3"}}
	d = checker.Differences(got, other)
	wantD = []string{
		"consumer: applied: lost with the queue q 2 judged, 0 recorded",
		"consumer: applied: lost with the queue r 0 judged, 2 recorded",
	}
	if !reflect.DeepEqual(d, wantD) {
		t.Errorf("differences\n got %q\nwant %q", d, wantD)
	}
}
