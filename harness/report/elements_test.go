package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history/synth"
)

// elementsMax bounds the elements of a run's page however long its
// history: Chromium's render time follows the elements it parses and
// lays out. A control's 100,000-unit page had 58,000 (5,600 table rows)
// and took 2.9 s to render on a loaded machine (issue 21).
const elementsMax = 15_000

// TestALargeRunsPageHasBoundedElements draws the page of a 100,000-unit
// soak, shaped as make bench-harness draws it, once safe and once as a
// control that loses 14,000 units, and counts its elements and table
// rows. It fails if the page grows back with the history; it also checks
// that every violation is still named and linked.
func TestALargeRunsPageHasBoundedElements(t *testing.T) {
	if testing.Short() {
		t.Skip("draws two 100,000-unit histories")
	}
	for _, c := range []struct {
		side string
		lose float64
	}{{"safe", 0}, {"control: auto-ack", 0.5}} {
		t.Run(c.side, func(t *testing.T) {
			h, err := synth.Draw(synth.Shape{Units: 100_000, Length: 10 * time.Minute, Seed: 1, Lose: c.lose}).History()
			if err != nil {
				t.Fatal(err)
			}
			ops := h.Ops()
			v := checker.Judge(ops)
			if v.Held() != (c.lose == 0) {
				t.Fatalf("the synthetic %s run held: %v, want %v", c.side, v.Held(), c.lose == 0)
			}
			f := Figures{Scenario: "soak", Side: c.side, System: "reference", Sent: 100_000, Seconds: 600,
				Checks: v.Checks, Violations: v.Violations, History: "histories/soak.jsonl"}
			var b bytes.Buffer
			if err := WriteHTML(&b, []Run{{Figures: f, Ops: ops, Samples: h.Samples()}}); err != nil {
				t.Fatal(err)
			}
			page := b.String()
			elements := len(regexp.MustCompile(`<[a-zA-Z]`).FindAllStringIndex(page, -1))
			rows := strings.Count(page, "<tr")
			t.Logf("%d ops: %d bytes, %d elements, %d table rows", len(ops), len(page), elements, rows)
			if elements > elementsMax {
				t.Errorf("the page of %d operations has %d elements, want at most %d", len(ops), elements, elementsMax)
			}
			if rows > allMax+violatedMax+noteMax+otherRowsMax {
				t.Errorf("the page has %d table rows, want at most %d", rows, allMax+violatedMax+noteMax+otherRowsMax)
			}
			if !strings.Contains(page, "every one is in <code>histories/soak.jsonl</code>") {
				t.Errorf("the operations left out of the full table are not pointed to in the history's file")
			}
			if !strings.Contains(page, "Left out here, in the history's file:") {
				t.Errorf("the operations of note left out are not pointed to in the history's file")
			}
			// Every violation is still on the page, its examples linked to
			// their operations.
			for _, r := range v.Checks {
				for _, ids := range [][]string{r.Lost, r.Unseen, r.Duplicated, r.Unexpected} {
					for _, id := range ids[:min(len(ids), examplesMax)] {
						if !regexp.MustCompile(`<a href="#run-[^"]+-op-\d+">` + regexp.QuoteMeta(id) + `</a>`).MatchString(page) {
							t.Errorf("violated id %s of %s is not linked to its operation", id, r.Service)
						}
					}
				}
			}
		})
	}
}

// otherRowsMax is the table rows of a large run's page besides the
// operations listed under a cap: the faults' operations, those the
// verdict links to, the facts, the verdicts and the invariants.
const otherRowsMax = 200
