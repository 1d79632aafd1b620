package report

import (
	"reflect"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
	"gonum.org/v1/plot"
)

var t0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func TestBucketWidthIsRound(t *testing.T) {
	for _, c := range []struct {
		span time.Duration
		n    int
		want time.Duration
	}{
		{60 * time.Second, 60, time.Second},
		{61 * time.Second, 60, 2 * time.Second},
		{12 * time.Second, 60, 200 * time.Millisecond},
		{7 * time.Second, 60, 200 * time.Millisecond},
		{150 * time.Second, 60, 5 * time.Second},
		{10 * time.Minute, 60, 10 * time.Second},
		{100 * time.Millisecond, 60, 10 * time.Millisecond},
		{0, 60, 10 * time.Millisecond},
	} {
		if got := bucketWidth(c.span, c.n); got != c.want {
			t.Errorf("bucketWidth(%s, %d) = %s, want %s", c.span, c.n, got, c.want)
		}
	}
}

func TestBucketizeCountsByOutcomeAndCompletion(t *testing.T) {
	ops := []history.Op{
		{Kind: "order_http", ID: "a", Outcome: history.OK, Invoked: at(0.1), Completed: at(0.11)},
		{Kind: "order_http", ID: "b", Outcome: history.OK, Invoked: at(0.5), Completed: at(1.5)}, // completes in the next bucket
		{Kind: history.KindFault, ID: "kill x", Outcome: history.OK, Detail: "injected", Invoked: at(0.6), Completed: at(0.6)},
		{Kind: "order_amqp", ID: "c", Outcome: history.Fail, Invoked: at(1.2), Completed: at(1.25)},
		{Kind: "order_http", ID: "d", Outcome: history.Info, Invoked: at(1.3), Completed: at(1.4)},
		{Kind: "order_http", ID: "e", Outcome: history.Pending, Invoked: at(2.5)},               // never completed
		{Kind: "order_http", ID: "f", Outcome: history.OK, Invoked: at(9), Completed: at(9.01)}, // past the last bucket
	}
	bs := bucketize(ops, t0, time.Second, 3)
	type counts struct{ acc, fail, unk int }
	got := []counts{}
	for _, b := range bs {
		got = append(got, counts{b.Accepted, b.Failed, b.Unknown})
	}
	if want := []counts{{2, 0, 0}, {0, 1, 1}, {1, 0, 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("started by outcome = %v, want %v", got, want)
	}
	if want := (map[string]int{"order_http": 1}); !reflect.DeepEqual(bs[0].Completed, want) {
		t.Errorf("bucket 0 completed %v, want %v", bs[0].Completed, want)
	}
	if want := (map[string]int{"order_http": 2, "order_amqp": 1}); !reflect.DeepEqual(bs[1].Completed, want) {
		t.Errorf("bucket 1 completed %v, want %v", bs[1].Completed, want)
	}
	// bucket 1 completed b (1000 ms), c (50 ms), d (100 ms)
	if bs[1].P50 != 100*time.Millisecond || bs[1].P99 != time.Second {
		t.Errorf("bucket 1 p50 %s p99 %s, want 100ms and 1s", bs[1].P50, bs[1].P99)
	}
	if bs[2].From != 2*time.Second || bs[2].P50 != 10*time.Millisecond {
		t.Errorf("last bucket from %s p50 %s, want 2s and the late op's 10ms", bs[2].From, bs[2].P50)
	}
}

func TestFaultBandsPairInjectionsWithHeals(t *testing.T) {
	ev := func(s float64, id, detail string) history.Op {
		return history.Op{Kind: history.KindFault, ID: id, Outcome: history.OK, Detail: detail, Invoked: at(s), Completed: at(s)}
	}
	ops := []history.Op{
		{Kind: "order_http", ID: "a", Outcome: history.OK, Invoked: at(0), Completed: at(0.1)},
		ev(1, "kill inventory-1", "injected: inventory-1 exited (137)"),
		ev(2, "pause postgres", "injected"),
		ev(3, "kill inventory-1", "healed"),
		ev(4, "failpoint order-1", "exited"),
		ev(5, "failpoint order-2", "exited"),
		ev(6, "failpoint order-2", "restarted"),
		ev(7, "dlq-replay", "interrupted after 12"),
		{Kind: "order_http", ID: "b", Outcome: history.OK, Invoked: at(9), Completed: at(10)},
	}
	start, end := span(ops)
	if !start.Equal(at(0)) || !end.Equal(at(10)) {
		t.Fatalf("span = %s..%s", start, end)
	}
	s := time.Second
	want := []Band{
		{Name: "kill inventory-1", Detail: "injected: inventory-1 exited (137), healed", From: 1 * s, To: 3 * s},
		{Name: "pause postgres", Detail: "injected, never healed", From: 2 * s, To: 10 * s},
		{Name: "failpoint order-1", Detail: "exited", From: 4 * s, To: 4 * s},
		{Name: "failpoint order-2", Detail: "exited, restarted", From: 5 * s, To: 6 * s},
		{Name: "dlq-replay", Detail: "interrupted after 12", From: 7 * s, To: 7 * s},
	}
	if got := faultBands(ops, start, end); !reflect.DeepEqual(got, want) {
		t.Errorf("bands:\n got %+v\nwant %+v", got, want)
	}
}

func TestFaultBandsRunFromTheInjectionsInvokeToTheHealsCompletion(t *testing.T) {
	op := func(from, to float64, id string, outcome history.Outcome, detail string) history.Op {
		o := history.Op{Kind: history.KindFault, ID: id, Outcome: outcome, Detail: detail, Invoked: at(from)}
		if to >= 0 {
			o.Completed = at(to)
		}
		return o
	}
	ops := []history.Op{
		{Kind: "order_http", ID: "a", Outcome: history.OK, Invoked: at(0), Completed: at(0.1)},
		op(1, 7, "restart rabbitmq", history.OK, "injected"), // the restart took 6 s
		op(7, 7.01, "restart rabbitmq", history.OK, "healed"),
		op(8, 8.5, "stop inventory-1", history.OK, "injected"),
		op(11, 12, "stop inventory-1", history.OK, "healed"), // the start took 1 s
		op(13, 13.2, "kill postgres", history.Fail, "inject: no such container"),
		op(14, 14.1, "pause order-1", history.OK, "injected"),
		op(16, 16.5, "pause order-1", history.Fail, "heal: container is not paused"),
		op(17, -1, "disconnect inventory-2", history.Pending, ""), // the run ended mid-injection
		{Kind: "order_http", ID: "b", Outcome: history.OK, Invoked: at(19), Completed: at(20)},
	}
	start, end := span(ops)
	s := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	want := []Band{
		{Name: "restart rabbitmq", Detail: "injected, healed", From: s(1), To: s(7.01)},
		{Name: "stop inventory-1", Detail: "injected, healed", From: s(8), To: s(12)},
		{Name: "kill postgres", Detail: "inject: no such container", From: s(13), To: s(13.2)},
		{Name: "pause order-1", Detail: "injected, heal: container is not paused, never healed", From: s(14), To: s(20)},
		{Name: "disconnect inventory-2", Detail: "injection never completed, never healed", From: s(17), To: s(20)},
	}
	if got := faultBands(ops, start, end); !reflect.DeepEqual(got, want) {
		t.Errorf("bands:\n got %+v\nwant %+v", got, want)
	}
}

func TestInvariantRowsTallyChecksAndWorkLeavesThemOut(t *testing.T) {
	check := func(s float64, id string, outcome history.Outcome, detail string) history.Op {
		return history.Op{Kind: history.KindInvariant, ID: id, Outcome: outcome, Detail: detail, Invoked: at(s), Completed: at(s + 0.01)}
	}
	ops := []history.Op{
		{Kind: "order_http", ID: "a", Outcome: history.OK, Invoked: at(0), Completed: at(0.1)},
		check(1, "stock never negative", history.OK, "held: 3 rows"),
		check(3, "stock never negative", history.Info, "not read: down"),
		check(5, "stock never negative", history.Fail, "broken: 1 of 3 rows"),
		check(7, "stock never negative", history.Fail, "broken: 2 of 3 rows"),
		check(9, "every order ends final", history.OK, "held: 0 rows"),
	}
	start, _ := span(ops)
	rows := invariantRows(ops, start)
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	if r.Name != "stock never negative" || r.Checks != 4 || r.Held != 1 || r.Unknown != 1 || r.Broken != 2 ||
		r.FirstBroken != 5*time.Second || r.FirstDetail != "broken: 1 of 3 rows" || r.Last != 7*time.Second || len(r.broken) != 2 {
		t.Errorf("stock row %+v", r)
	}
	if r := rows[1]; r.Checks != 1 || r.Held != 1 || r.Broken != 0 {
		t.Errorf("orders row %+v", r)
	}
	if in := inputs(ops); !reflect.DeepEqual(in, []string{"order_http"}) {
		t.Errorf("inputs %v: an invariant is not an input", in)
	}
	bs := bucketize(ops, start, 10*time.Second, 1)
	if bs[0].Accepted != 1 || bs[0].Failed != 0 || bs[0].Unknown != 0 {
		t.Errorf("bucket %+v: the checks counted as work", bs[0])
	}
}

func TestBuildMatrixGroupsSidesByScenario(t *testing.T) {
	held := []checker.Result{{Service: "inventory"}}
	lost := []checker.Result{{Service: "inventory", Lost: []string{"x"}}}
	figs := []Figures{
		{Scenario: "broker restart", Side: "safe", Checks: held},
		{Scenario: "fanout", Side: "control: shared-queue", Checks: held}, // a control that caught nothing
		{Scenario: "broker restart", Side: "control: transient-queues", Checks: lost},
		{Scenario: "long database outage", Side: "replayed", Checks: held},
		{Scenario: "fanout", Side: "safe"}, // nothing judged
	}
	rows := buildMatrix(figs, []string{"a0", "a1", "a2", "a3", "a4"})
	want := []MatrixRow{
		{Scenario: "broker restart",
			Safe:     []MatrixCell{{Side: "safe", Anchor: "a0", Judged: true, Held: true}},
			Controls: []MatrixCell{{Side: "transient-queues", Anchor: "a2", Judged: true, Control: true}}},
		{Scenario: "fanout",
			Safe:     []MatrixCell{{Side: "safe", Anchor: "a4", Held: true}},
			Controls: []MatrixCell{{Side: "shared-queue", Anchor: "a1", Judged: true, Held: true, Control: true}}},
		{Scenario: "long database outage",
			Other: []MatrixCell{{Side: "replayed", Anchor: "a3", Judged: true, Held: true}}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("matrix:\n got %+v\nwant %+v", rows, want)
	}
	for _, c := range []struct {
		cell     MatrixCell
		verdict  string
		expected bool
	}{
		{rows[0].Safe[0], "held", true},
		{rows[0].Controls[0], "violated", true},
		{rows[1].Controls[0], "held", false},
		{rows[1].Safe[0], "not judged", false},
		{rows[2].Other[0], "held", true},
	} {
		if c.cell.Verdict() != c.verdict || c.cell.Expected() != c.expected {
			t.Errorf("%+v: verdict %q expected %v, want %q %v", c.cell, c.cell.Verdict(), c.cell.Expected(), c.verdict, c.expected)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"control: no-outbox":        "control-no-outbox",
		"Broker restart":            "broker-restart",
		"killed at failpoint--safe": "killed-at-failpoint-safe",
		"  ":                        "x",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFaultNamesThatWouldOverlapGoToAnotherRow(t *testing.T) {
	p := plot.New()
	p.X.Min, p.X.Max = 0, 120
	var rows []float64
	var got []int
	for _, x := range []float64{18, 40, 54, 70, 90, 113, 114, 115, 116} {
		got = append(got, labelRow(&rows, p, "disconnect notification-1", x))
	}
	// a name of 25 characters is about 19 s wide on a 120 s axis: 54 overlaps
	// 40, and 116 finds every row taken, so goes to the least full (0)
	if want := []int{0, 0, 1, 0, 0, 0, 1, 2, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}
