package report

import (
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// This file holds the pure parts of the HTML report: a run's time span,
// its fault intervals, its operations bucketed over time with their
// latency percentiles, and the suite's control matrix.

// Slug makes s a name for a file or an HTML anchor: lower-case letters,
// digits and dashes ("control: no-outbox" becomes "control-no-outbox").
func Slug(s string) string {
	s = strings.Trim(notSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return "x"
	}
	return s
}

var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// span is when a run's history began and ended: the first invocation and
// the last invocation or completion.
func span(ops []history.Op) (start, end time.Time) {
	for _, op := range ops {
		if start.IsZero() || op.Invoked.Before(start) {
			start = op.Invoked
		}
		end = later(end, op.Invoked)
		end = later(end, op.Completed)
	}
	return start, end
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Band is a fault on the timeline, relative to the run's start. A fault
// injected and healed is an interval, from the injection's invoke to the
// heal's completion (so a restart's band covers the restart itself); one
// injected and never healed lasts to the end of the run; an event that
// opens no interval (a process that exited, a replay interrupted) is an
// instant, From == To.
type Band struct {
	Name, Detail string
	From, To     time.Duration
}

// Instant reports whether b is a moment rather than an interval.
func (b Band) Instant() bool { return b.From == b.To }

// Length is how long the fault lasted.
func (b Band) Length() time.Duration { return b.To - b.From }

// faultBands pairs the fault operations of ops: "injected" with the next
// "healed" of the same fault, "exited" with the next "restarted". A band
// runs from the opening operation's invoke to the closing one's
// completion. Histories written before faults were recorded as invoke
// and completion have both at one instant, and read the same way.
//
// An "exited" never followed by "restarted" is an instant; an "injected"
// never healed lasts until end, and so does one whose heal failed or
// never completed. A fault operation that never completed (outcome
// invoke) is an injection in flight if none of its fault is open, else a
// heal in flight. A failed injection, and any other event, is drawn over
// its own invoke to completion (an instant for an event).
func faultBands(ops []history.Op, start, end time.Time) []Band {
	var bands []Band
	open := map[string]int{} // fault name → index of its open band
	rel := func(t time.Time) time.Duration { return t.Sub(start) }
	done := func(op history.Op) time.Duration {
		if op.Completed.IsZero() {
			return rel(op.Invoked)
		}
		return rel(op.Completed)
	}
	for _, op := range ops {
		if op.Kind != history.KindFault {
			continue
		}
		i, isOpen := open[op.ID]
		switch {
		case op.Outcome == history.Pending && isOpen:
			bands[i].Detail += ", heal never completed"
		case op.Outcome == history.Pending:
			open[op.ID] = len(bands)
			bands = append(bands, Band{Name: op.ID, Detail: "injection never completed", From: rel(op.Invoked), To: -1})
		case strings.HasPrefix(op.Detail, "injected") || op.Detail == "exited":
			open[op.ID] = len(bands)
			bands = append(bands, Band{Name: op.ID, Detail: op.Detail, From: rel(op.Invoked), To: -1})
		case (op.Detail == "healed" || op.Detail == "restarted") && isOpen:
			bands[i].To = done(op)
			bands[i].Detail += ", " + op.Detail
			delete(open, op.ID)
		case op.Outcome == history.Fail && isOpen:
			bands[i].Detail += ", " + op.Detail // a heal that failed: still broken
		default:
			bands = append(bands, Band{Name: op.ID, Detail: op.Detail, From: rel(op.Invoked), To: done(op)})
		}
	}
	for _, i := range open {
		if bands[i].Detail == "exited" {
			bands[i].To = bands[i].From
		} else {
			bands[i].To = end.Sub(start)
			bands[i].Detail += ", never healed"
		}
	}
	return bands
}

// bucketWidth is a round width (1, 2 or 5 times a power of ten, at
// least 10 ms) that cuts d into about n buckets.
func bucketWidth(d time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	raw := d.Seconds() / float64(n)
	if raw <= 0.01 {
		return 10 * time.Millisecond
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			return time.Duration(m * pow * float64(time.Second)).Round(time.Millisecond)
		}
	}
	return time.Duration(10 * pow * float64(time.Second))
}

// Bucket is one slice of a run's time: operations started in it by how
// they ended, operations completed in it by input, and the latency of
// those completed.
type Bucket struct {
	From time.Duration // since the run's start
	// Started in this bucket, by final outcome. An operation that never
	// completed counts as unknown.
	Accepted, Failed, Unknown int
	// Completed in this bucket, by input (kind).
	Completed map[string]int
	// Latency percentiles (Completed − Invoked) of the operations
	// completed in this bucket; zero when none was.
	P50, P99  time.Duration
	latencies []time.Duration
}

// InvariantRow is how one invariant fared over a run's checks.
type InvariantRow struct {
	Name                  string
	Checks                int
	Held, Broken, Unknown int
	FirstBroken           time.Duration // since the run's start; with Broken > 0
	FirstDetail           string        // what the first broken check read
	Last                  time.Duration // the last check
	held, broken, unknown []float64     // seconds since start, for the chart
}

// invariantRows tallies the invariant checks of ops by invariant, in
// order of first check.
func invariantRows(ops []history.Op, start time.Time) []InvariantRow {
	var rows []InvariantRow
	index := map[string]int{}
	for _, op := range ops {
		if op.Kind != history.KindInvariant {
			continue
		}
		i, ok := index[op.ID]
		if !ok {
			i = len(rows)
			index[op.ID] = i
			rows = append(rows, InvariantRow{Name: op.ID})
		}
		r := &rows[i]
		at := op.Invoked.Sub(start)
		r.Checks++
		r.Last = at
		switch op.Outcome {
		case history.OK:
			r.Held++
			r.held = append(r.held, at.Seconds())
		case history.Fail:
			if r.Broken == 0 {
				r.FirstBroken, r.FirstDetail = at, op.Detail
			}
			r.Broken++
			r.broken = append(r.broken, at.Seconds())
		default:
			r.Unknown++
			r.unknown = append(r.unknown, at.Seconds())
		}
	}
	return rows
}

// bucketize slices the work operations of ops (faults and invariant
// checks left out) into n
// buckets of width from start; an operation past the last bucket falls
// into the last.
func bucketize(ops []history.Op, start time.Time, width time.Duration, n int) []Bucket {
	bs := make([]Bucket, n)
	for i := range bs {
		bs[i].From = time.Duration(i) * width
		bs[i].Completed = map[string]int{}
	}
	at := func(t time.Time) int { return min(max(int(t.Sub(start)/width), 0), n-1) }
	for _, op := range ops {
		if !op.IsWork() {
			continue
		}
		b := &bs[at(op.Invoked)]
		switch op.Outcome {
		case history.OK:
			b.Accepted++
		case history.Fail:
			b.Failed++
		default:
			b.Unknown++
		}
		if op.Completed.IsZero() || op.Outcome == history.Pending {
			continue
		}
		c := &bs[at(op.Completed)]
		c.Completed[op.Kind]++
		c.latencies = append(c.latencies, op.Completed.Sub(op.Invoked))
	}
	for i := range bs {
		slices.Sort(bs[i].latencies)
		bs[i].P50 = checker.Percentile(bs[i].latencies, 50)
		bs[i].P99 = checker.Percentile(bs[i].latencies, 99)
	}
	return bs
}

// inputs is the work kinds of ops, in order of first appearance.
func inputs(ops []history.Op) []string {
	var out []string
	for _, op := range ops {
		if op.IsWork() && !slices.Contains(out, op.Kind) {
			out = append(out, op.Kind)
		}
	}
	return out
}

// MatrixRow is one scenario of the control matrix: its safe runs, its
// controls' runs, and any other side (such as "replayed").
type MatrixRow struct {
	Scenario              string
	Safe, Controls, Other []MatrixCell
}

// MatrixCell is one run's verdict in the matrix.
type MatrixCell struct {
	Side    string // "safe", the control's name, or the side as written
	Anchor  string // the run's section in the report
	Judged  bool   // some effect was checked
	Held    bool
	Control bool
}

// Expected reports whether the verdict is the one the side must give: a
// control must be caught (violated), every other side must hold.
func (c MatrixCell) Expected() bool { return c.Judged && c.Held != c.Control }

// Verdict is "held", "violated" or "not judged".
func (c MatrixCell) Verdict() string {
	switch {
	case !c.Judged:
		return "not judged"
	case c.Held:
		return "held"
	}
	return "violated"
}

// buildMatrix groups figs by scenario, in order of first appearance;
// anchors[i] is the section of figs[i].
func buildMatrix(figs []Figures, anchors []string) []MatrixRow {
	var rows []MatrixRow
	index := map[string]int{}
	for i, f := range figs {
		r, ok := index[f.Scenario]
		if !ok {
			r = len(rows)
			index[f.Scenario] = r
			rows = append(rows, MatrixRow{Scenario: f.Scenario})
		}
		c := MatrixCell{Side: f.Side, Anchor: anchors[i], Judged: f.Judged(), Held: f.Held()}
		switch name, isControl := strings.CutPrefix(f.Side, "control: "); {
		case f.Side == "safe":
			rows[r].Safe = append(rows[r].Safe, c)
		case isControl:
			c.Side, c.Control = name, true
			rows[r].Controls = append(rows[r].Controls, c)
		default:
			rows[r].Other = append(rows[r].Other, c)
		}
	}
	return rows
}
