package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// TestAControlsPageStaysBounded: a control that loses 20,000 units lists
// the operations its verdict links to and a bounded number of others,
// counts the rest, and draws a bounded number of marks; every link
// still lands on the page.
func TestAControlsPageStaysBounded(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var ops []history.Op
	for i := range 20_000 {
		at := t0.Add(time.Duration(i) * 30 * time.Millisecond)
		ops = append(ops, history.Op{Kind: "order_amqp", ID: fmt.Sprintf("u-%05d", i), Outcome: history.OK, Detail: "confirmed", Invoked: at, Completed: at.Add(5 * time.Millisecond)})
	}
	in := checker.FromHistory(func() *history.History { h := &history.History{}; h.Append(ops...); return h }(), "order_amqp")
	in.Service = "inventory: stock reserved or refused"
	res := checker.Check(in) // nothing applied: every unit lost
	var b bytes.Buffer
	err := WriteHTML(&b, []Run{{Figures: Figures{Scenario: "soak", Side: "control: auto-ack", System: "reference", Checks: []checker.Result{res}}, Ops: ops}})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	note := page[strings.Index(page, "<h3>Operations of note</h3>"):strings.Index(page, "<details>")]
	if n := strings.Count(note, `class="o-ok violated"`); n > violatedMax+examplesMax || n < violatedMax {
		t.Errorf("%d operations of violated ids listed of note, want %d and the %d linked", n, violatedMax, examplesMax)
	}
	if !strings.Contains(note, fmt.Sprintf("%d more accepted operations of order_amqp: violated: lost (inventory: stock reserved or refused)", 20_000-violatedMax-examplesMax)) {
		t.Errorf("the operations left out are not counted:\n%s", note[max(len(note)-2000, 0):])
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		ids[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if !ids[m[1]] {
			t.Errorf("link to #%s, which is not on the page", m[1])
		}
	}
	if len(page) > 3<<20 {
		t.Errorf("the page is %d bytes for 20,000 lost units, want it bounded (under 3 MB)", len(page))
	}
}
