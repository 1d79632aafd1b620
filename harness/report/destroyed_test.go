package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// A run whose only missing units went with a deleted queue holds, in the
// figures, the table and the page alike, and each shows how many went,
// as expected; none of it is listed as broken.
func TestUnitsLostWithTheQueueAreShownNotBroken(t *testing.T) {
	t0 := time.Now()
	h := &history.History{}
	for _, id := range []string{"b-1", "b-2", "b-3"} {
		h.Complete(h.Invoke("amqp", id), history.OK, "confirmed")
	}
	h.Destroyable("lost with the queue q", []string{"b-1", "b-2", "b-3"})
	h.Complete(h.Invoke("amqp", "a-1"), history.OK, "confirmed")
	h.Read("consumer: applied", []string{"b-1", "a-1"}, history.Judged{Inputs: []string{"amqp"}}, t0, t0)
	v := checker.Judge(h.Ops())
	f := Figures{Scenario: "queue deleted", Side: "safe", System: "reference", Input: "amqp", Checks: v.Checks}

	if !f.Held() || len(f.Broken()) != 0 || len(f.Lost()) != 0 {
		t.Errorf("held %v, broken %v, lost %v: %s", f.Held(), f.Broken(), f.Lost(), f)
	}
	if got := f.Destroyed(); strings.Join(got, ",") != "b-2,b-3" {
		t.Errorf("destroyed %v", got)
	}
	if s := f.String(); !strings.Contains(s, "OK:") || !strings.Contains(s, "lost 0, lost with the queue q 2, expected") {
		t.Errorf("summary line: %s", s)
	}
	if tab := Table([]Figures{f}); !strings.Contains(tab, "lost with the queue q 2, expected") {
		t.Errorf("table:\n%s", tab)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, []Run{{Figures: f, Ops: h.Ops()}}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`+2 expected</span>`,
		"lost with the queue q 2, expected (destroyed by the fault by its nature, no violation)",
		`<span class="verdict held">held</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "— lost, for example") {
		t.Error("the page lists the units lost with the queue as lost")
	}
}
