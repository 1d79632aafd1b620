package checker_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// stuck is the run of issue 19's point 5b, in small: a consumer that
// applied 40 of 1,000 units and never consumed again, with the other 960
// still waiting in its queue when the run settled; and one unit that is
// in no queue and never applied, lost.
func stuck(t *testing.T) (*history.History, []string) {
	t.Helper()
	t0 := time.Now()
	h := &history.History{}
	var applied, waiting []string
	for i := range 1000 {
		id := fmt.Sprintf("u-%04d", i)
		h.Complete(h.Invoke("amqp", id), history.OK, "confirmed")
		switch {
		case i < 40:
			applied = append(applied, id)
		case i < 999:
			waiting = append(waiting, id)
		}
	}
	h.Read("worker: done", applied, history.Judged{Inputs: []string{"amqp"}}, t0, t0)
	h.Queued("jobs", history.Depth{Ready: 959, Peeked: 960}, append(waiting, "not-a-unit-of-the-run"), t0, t0)
	h.Queued("idle", history.Depth{}, nil, t0, t0)
	return h, waiting
}

// Units still waiting in a queue at the end are unseen at the end, not
// lost: a violation still, named for what it is; the queue that held them
// is listed, the empty one is not.
func TestUnitsWaitingInAQueueAreUnseenNotLost(t *testing.T) {
	h, waiting := stuck(t)
	v := checker.Judge(h.Ops())
	if len(v.Checks) != 1 {
		t.Fatalf("%+v", v)
	}
	c := v.Checks[0]
	if want := []string{"u-0999"}; !reflect.DeepEqual(c.Lost, want) {
		t.Errorf("lost %d, want %v: %s", len(c.Lost), want, c)
	}
	if !reflect.DeepEqual(c.Unseen, waiting) {
		t.Errorf("unseen %d, want %d: %s", len(c.Unseen), len(waiting), c)
	}
	if c.OK() || v.Held() {
		t.Errorf("a verdict with units unseen at the end held: %s", c)
	}
	if len(v.Unseen) != 1 || v.Unseen[0].Queue != "jobs" || v.Unseen[0].Ready != 959 || v.Unseen[0].Peeked != 960 {
		t.Errorf("queues unseen at the end: %+v", v.Unseen)
	}
}

// A queue that still holds messages breaks the verdict even when every
// unit was applied (a duplicate left waiting, a message of no unit), and
// an unacked message counts although a peek cannot read it.
func TestAQueueHoldingWorkBreaksTheVerdict(t *testing.T) {
	t0 := time.Now()
	h := &history.History{}
	h.Complete(h.Invoke("amqp", "u-1"), history.OK, "confirmed")
	h.Read("worker: done", []string{"u-1"}, history.Judged{Inputs: []string{"amqp"}}, t0, t0)
	h.Queued("jobs", history.Depth{Unacked: 1}, nil, t0, t0)
	v := checker.Judge(h.Ops())
	if !v.Checks[0].OK() || v.Held() || len(v.Unseen) != 1 {
		t.Errorf("%+v", v)
	}
	// The last read of a queue is its final read.
	h.Queued("jobs", history.Depth{}, nil, t0, t0)
	if v := checker.Judge(h.Ops()); !v.Held() {
		t.Errorf("drained at the last read, yet %+v", v)
	}
}

// The class survives the file: judged again offline, the verdict and
// its unseen units are those the run recorded.
func TestUnseenJudgedAgainOffline(t *testing.T) {
	h, _ := stuck(t)
	want := checker.Judge(h.Ops())
	if err := checker.Record(h, want); err != nil {
		t.Fatal(err)
	}
	back := throughFile(t, h)
	got := checker.Judge(back.Ops())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back, judged %+v\nin memory %+v", got.Unseen, want.Unseen)
	}
	rec, ok, err := checker.Recorded(back.Ops())
	if err != nil || !ok {
		t.Fatalf("recorded: %v %v", ok, err)
	}
	if d := checker.Differences(got, rec); len(d) > 0 {
		t.Errorf("differences: %v", d)
	}
	if len(rec.Unseen) != 1 || rec.Held() {
		t.Errorf("recorded: %+v", rec.Unseen)
	}
	// A recorded verdict that called them lost differs.
	rec.Checks[0].Lost, rec.Checks[0].Unseen = append(rec.Checks[0].Lost, rec.Checks[0].Unseen...), nil
	if d := checker.Differences(got, rec); len(d) == 0 {
		t.Error("a verdict calling unseen units lost agrees")
	}
}
