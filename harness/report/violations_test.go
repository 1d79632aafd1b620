package report

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// A guarantee broken in a way the id sets do not show (a poison message
// never dead-lettered) is still a violation, in the verdict and in the
// matrix.
func TestObservedViolationsBreakTheVerdict(t *testing.T) {
	ok := []checker.Result{{Service: "inventory"}}
	f := Figures{Scenario: "poison", Side: "control: requeue-forever", Checks: ok, Violations: []string{"0 of 22 poison messages dead-lettered"}}
	if f.Held() || !f.Judged() || !strings.Contains(f.String(), "VIOLATED: 0 of 22") {
		t.Errorf("held %v, judged %v: %s", f.Held(), f.Judged(), f)
	}
	none := Figures{Scenario: "half-open", Side: "control: no-heartbeats", Violations: []string{"not noticed"}}
	rows := buildMatrix([]Figures{none}, []string{"a"})
	if c := rows[0].Controls[0]; c.Verdict() != "violated" || !c.Expected() {
		t.Errorf("a control judged by an observation alone: %s, expected %v", c.Verdict(), c.Expected())
	}
}

func TestTableLeadsWithTheViolatedEffect(t *testing.T) {
	f := Figures{Scenario: "fanout", Side: "control: shared-queue", Checks: []checker.Result{
		{Service: "order: stored"}, {Service: "inventory: applied", Lost: []string{"a"}},
	}}
	lines := strings.Split(Table([]Figures{f}), "\n")
	if !strings.Contains(lines[1], "fanout") || !strings.Contains(lines[1], "inventory: applied") {
		t.Errorf("the run's first row is not its violated effect:\n%s", strings.Join(lines, "\n"))
	}
}

func TestSampleSeriesCutsAtGaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var ss []history.Sample
	for _, sec := range []int{0, 1, 2, 10, 11} {
		ss = append(ss, history.Sample{Observed: history.SampleDepth, Name: "q", Value: float64(sec), At: t0.Add(time.Duration(sec) * time.Second)})
	}
	parts := sampleSeries(ss, t0)[history.SampleDepth]["q"]
	if len(parts) != 2 || len(parts[0]) != 3 || len(parts[1]) != 2 || parts[1][0].X != 10 {
		t.Errorf("got %v", parts)
	}
}

func TestBrokenNamesEachKindAndPlace(t *testing.T) {
	f := Figures{
		Checks: []checker.Result{
			{Service: "inventory: stock reserved", Lost: []string{"a", "b"}},
			{Service: "notification: sent", Duplicated: []string{"c"}, AtLeastOnce: true},
			{Service: "order: stored", Duplicated: []string{"d"}, Unexpected: []string{"e"}},
		},
		Violations: []string{
			`invariant "stock never negative" (always) broken in 3 of 40 checks, first at +12.0s: 2 rows`,
			"unseen at the end: 12 in orders.inventory, unchanged for 30s while nothing took effect",
		},
	}
	var got []string
	for _, b := range f.Broken() {
		got = append(got, fmt.Sprintf("%s %v", b.Kind, b.IDs))
	}
	want := []string{
		"lost at inventory: stock reserved [a b]",
		"duplicated at order: stored [d]",
		"unexpected at order: stored [e]",
		`invariant "stock never negative" (always) broken []`,
		"unseen at the end []",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Broken() =\n%q\nwant\n%q", got, want)
	}
}

// Units applied out of order are a violation of their own kind, at their
// effect, in the verdict, the table's note and the list of what broke.
func TestOutOfOrderIsAKindOfViolation(t *testing.T) {
	f := Figures{Scenario: "order per key", Side: "control: no-ordering", Note: "n", Checks: []checker.Result{
		{Service: "inventory: applied"}, {Service: "notification: notices in order", Order: []string{"a", "b"}, OutOfOrder: []string{"o-1", "o-2"}},
	}}
	if f.Held() || !slices.Equal(f.OutOfOrder(), []string{"o-1", "o-2"}) {
		t.Errorf("held %v, out of order %v", f.Held(), f.OutOfOrder())
	}
	if b := f.Broken(); len(b) != 1 || b[0].Kind != "out of order at notification: notices in order" || len(b[0].IDs) != 2 {
		t.Errorf("broken %+v", b)
	}
	if lines := strings.Split(Table([]Figures{f}), "\n"); !strings.Contains(lines[1], "out of order 2; n") {
		t.Errorf("the table does not say it:\n%s", strings.Join(lines, "\n"))
	}
}

// Work left in a queue at the end is a violation of its own class: the
// units an effect lacks that a queue still holds are unseen at the end,
// not lost, in the verdict, the list of what broke, the table and the
// HTML report; and the queue that held them breaks the verdict too.
func TestUnseenAtTheEndIsAClassOfItsOwn(t *testing.T) {
	f := Figures{Scenario: "consumer timeout", Side: "control: no-consumer-recovery", Note: "n",
		Checks: []checker.Result{{Service: "inventory: stock reserved", Accepted: 3, Lost: []string{"u-3"}, Unseen: []string{"u-1", "u-2"}}},
		Unseen: []checker.Left{{Queue: "inventory.order-events", Ready: 2, Peeked: 2, Units: []string{"u-1", "u-2"}}}}
	if f.Held() || !slices.Equal(f.UnseenIDs(), []string{"u-1", "u-2"}) || !slices.Equal(f.Lost(), []string{"u-3"}) {
		t.Errorf("held %v, unseen %v, lost %v", f.Held(), f.UnseenIDs(), f.Lost())
	}
	var got []string
	for _, b := range f.Broken() {
		got = append(got, fmt.Sprintf("%s %v", b.Kind, b.IDs))
	}
	want := []string{"lost at inventory: stock reserved [u-3]", "unseen at the end at inventory: stock reserved [u-1 u-2]", "unseen at the end in inventory.order-events [u-1 u-2]"}
	if !slices.Equal(got, want) {
		t.Errorf("Broken() =\n%q\nwant\n%q", got, want)
	}
	if lines := strings.Split(Table([]Figures{f}), "\n"); !strings.Contains(lines[1], "unseen at the end 2; n") {
		t.Errorf("the table does not say it:\n%s", strings.Join(lines, "\n"))
	}
	if s := f.String(); !strings.Contains(s, "VIOLATED: unseen at the end: inventory.order-events: 2 ready, 0 unacked") || !strings.Contains(s, "unseen at the end 2") {
		t.Errorf("the verdict does not say it:\n%s", s)
	}
	// A queue left holding work breaks the verdict with every unit applied.
	if held := (Figures{Checks: []checker.Result{{Service: "x", Accepted: 1}}, Unseen: f.Unseen}).Held(); held {
		t.Error("a run that left work in a queue held")
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, []Run{{Figures: f}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<th>unseen at the end</th><td><strong>inventory.order-events: 2 ready, 0 unacked (2 read, 2 of them units of the run)</strong>", "— unseen at the end, for example:"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("the report does not show %q", s)
		}
	}
}
