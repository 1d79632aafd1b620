package checker

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
)

// Verdict is a run's verdict as the checker draws it from a history.
type Verdict struct {
	// Checks is one Result per effect read, in the order first read.
	Checks []Result `json:"checks"`
	// DeadLetters is one result per dead-letter queue read, in the order
	// first read.
	DeadLetters []DeadLetterResult `json:"dead_letters,omitempty"`
	// Violations are what the run observed besides the id sets (its
	// history.KindViolation ops), taken as recorded.
	Violations []string `json:"violations,omitempty"`
	// Recovery is the verdict on each recovery budget the run recorded
	// (history.KindRecovery), in order: "recovery over budget" when the
	// system was not ready or not drained again within it.
	Recovery []Recovery `json:"recovery,omitempty"`
	// Bounds is the verdict on each bound the run recorded besides the
	// effects' id sets (history.KindServed, history.KindWatched), in
	// order: a broken bound breaks the run like a violation.
	Bounds []Bound `json:"bounds,omitempty"`
	// Offline is why the run cannot be judged again from its history, ""
	// when it can: part of its verdict was drawn outside the checker.
	Offline string `json:"offline,omitempty"`
	// Unseen are the queues that still held work when the run settled
	// (its history.KindQueued reads that held anything): "unseen at the
	// end", a violation.
	Unseen []Left `json:"unseen,omitempty"`
}

// Left is a queue that still held work when the run settled, by its
// final read (history.KindQueued).
type Left struct {
	Queue   string `json:"queue"`
	Ready   int    `json:"ready"`
	Unacked int    `json:"unacked"`
	// Peeked counts the messages a peek read from it, Units the ids of
	// the units found in them (sorted).
	Peeked int      `json:"peeked"`
	Units  []string `json:"units,omitempty"`
}

func (l Left) String() string {
	s := fmt.Sprintf("%s: %d ready, %d unacked", l.Queue, l.Ready, l.Unacked)
	if l.Peeked > 0 {
		s += fmt.Sprintf(" (%d read, %d of them units of the run)", l.Peeked, len(l.Units))
	}
	return s
}

// Held reports whether every check is OK, no queue held work at the end,
// and nothing else was observed to break the guarantee.
func (v Verdict) Held() bool {
	if len(v.Violations) > 0 || len(v.Unseen) > 0 {
		return false
	}
	for _, r := range v.Recovery {
		if !r.OK() {
			return false
		}
	}
	for _, b := range v.Bounds {
		if !b.OK() {
			return false
		}
	}
	for _, c := range v.Checks {
		if !c.OK() {
			return false
		}
	}
	for _, d := range v.DeadLetters {
		if !d.OK() {
			return false
		}
	}
	return true
}

// Judge judges a history as the run judged it: the last read of each
// effect (history.KindRead) against the operations of the inputs its read
// names, as sets of ids. It is pure: the spec and mqchaos judge both call
// it, on the history in memory and on the history read back from its file.
//
// A unit whose outcome was unknown to the harness but that one effect
// shows was taken in (an unanswered request whose unit was stored) must
// have every other effect of its input too: where it lacks one, it is
// lost there.
//
// An effect read as at-least-once gives a Result with AtLeastOnce set:
// its duplicates are listed and counted, and are no violation.
//
// An effect read with an order (history.Judged.Order) is judged on the
// read's Steps: each id's steps in the order applied. A unit with a step
// missing is lost there, one with a step applied after a step that must
// follow it is out of order.
//
// A unit that an effect lacks and that a history.KindDestroyable op names
// (the messages of a deleted queue) is counted in Result.Destroyed, by
// the op's words, expected and no violation; one an op names twice is
// counted under the first. Such an op concerns every effect of the run:
// the harness does not know which effects lie downstream of what the
// fault destroyed. Any other unit an effect lacks stays lost.
//
// The last read of each dead-letter queue (history.KindDeadLetters) is
// judged too, into Verdict.DeadLetters: every poison message of its
// inputs there once with a reason, no valid unit there unless expected
// (see judgeDeadLetters).
//
// Each recovery budget (history.KindRecovery) is judged against the
// heal before it and the replicas ready and the work drained after it
// (see Recovery): over budget breaks the run like a violation.
//
// Each bound (history.KindServed, history.KindWatched) is judged from
// the operations it concerns (see Bound): broken, it breaks the run like
// a violation.
//
// A queue whose final read (history.KindQueued, the last of each queue)
// held anything is listed in Verdict.Unseen, "unseen at the end": the
// run settled with work the system never took. A unit an effect lacks
// that such a read names is counted in Result.Unseen rather than lost
// (under the first queue naming it), still a violation; like a
// destroyable unit, for every effect of the run, since the harness does
// not know which effects lie downstream of which queue.
//
// A history without reads (written before they were recorded, or by a
// run judged elsewhere) gives no checks.
func Judge(ops []history.Op) Verdict {
	var (
		v           Verdict
		reads       = map[string]history.Op{}
		order       []string
		destroyable map[string]string
	)
	for _, op := range ops {
		switch {
		case op.Kind == history.KindRead && op.Judged != nil:
			if _, ok := reads[op.ID]; !ok {
				order = append(order, op.ID)
			}
			reads[op.ID] = op
		case op.Kind == history.KindViolation:
			v.Violations = append(v.Violations, op.Detail)
		case op.Kind == history.KindVerdict && op.ID == "":
			v.Offline = op.Detail
		case op.Kind == history.KindDestroyable:
			if destroyable == nil {
				destroyable = map[string]string{}
			}
			for _, id := range op.Units {
				if _, ok := destroyable[id]; !ok {
					destroyable[id] = op.Detail
				}
			}
		}
	}
	v.Recovery = recoveries(ops)
	v.Bounds = bounds(ops)
	var queued map[string]string
	v.Unseen, queued = queueReads(ops)
	// What the harness was told of each input, drawn from ops once.
	told := map[string]Input{}
	of := func(kind string) Input {
		in, ok := told[kind]
		if !ok {
			in = fromOps(ops, kind)
			told[kind] = in
		}
		return in
	}
	// Units of unknown outcome that some effect shows, per input.
	evidenced := map[string]map[string]bool{}
	for _, name := range order {
		r := reads[name]
		for _, k := range r.Judged.Inputs {
			in := of(k)
			if evidenced[k] == nil {
				evidenced[k] = map[string]bool{}
			}
			for _, id := range in.Unknown {
				if r.Shown[id] > 0 {
					evidenced[k][id] = true
				}
			}
			if in.UnknownWithoutID == 0 {
				continue
			}
			// Ids the harness never learnt, from requests left
			// unanswered: what an effect shows of them was taken in.
			attempted := set(in.Attempted)
			for id := range r.Shown {
				if !attempted[id] {
					evidenced[k][id] = true
				}
			}
		}
	}
	var ins []Input
	for _, name := range order {
		r := reads[name]
		if len(r.Judged.Inputs) == 0 {
			continue
		}
		var in Input // fromOps(ops, r.Judged.Inputs...), put together from each input's
		for i, k := range r.Judged.Inputs {
			if slices.Contains(r.Judged.Inputs[:i], k) {
				continue
			}
			t := of(k)
			in.Attempted = append(in.Attempted, t.Attempted...)
			in.Accepted = append(in.Accepted, t.Accepted...)
			in.Unknown = append(in.Unknown, t.Unknown...)
			in.UnknownWithoutID += t.UnknownWithoutID
			for id := range evidenced[k] {
				in.Evidenced = append(in.Evidenced, id)
			}
		}
		in.Service = name
		if len(r.Judged.Order) > 0 {
			in.Order, in.Steps = r.Judged.Order, r.Steps
		}
		in.Effects = make([]string, 0, len(r.Shown)) // in any order: Check counts them
		for id, n := range r.Shown {
			for range n {
				in.Effects = append(in.Effects, id)
			}
		}
		in.AtLeastOnce = r.Judged.AtLeastOnce
		in.Destroyable = destroyable // read only, shared by the checks
		in.Queued = queued
		ins = append(ins, in)
	}
	v.DeadLetters = judgeDeadLetters(ops)
	// The effects' checks are independent: each on a goroutine of its
	// own, a large history's are judged on every core.
	if len(ins) > 0 {
		v.Checks = make([]Result, len(ins))
		var wg sync.WaitGroup
		for i, in := range ins {
			wg.Go(func() { v.Checks[i] = Check(in) })
		}
		wg.Wait()
	}
	return v
}

// queueReads is what the last read of each queue (history.KindQueued)
// shows: the queues that held anything, in the order first read, and
// the queue each unit found waiting was found in (the first naming it).
func queueReads(ops []history.Op) (left []Left, queued map[string]string) {
	last := map[string]history.Op{}
	var order []string
	for _, op := range ops {
		if op.Kind != history.KindQueued || op.Depth == nil {
			continue
		}
		if _, ok := last[op.ID]; !ok {
			order = append(order, op.ID)
		}
		last[op.ID] = op
	}
	for _, q := range order {
		op := last[q]
		if !op.Depth.Held() {
			continue
		}
		units := slices.Clone(op.Units)
		slices.Sort(units)
		left = append(left, Left{Queue: q, Ready: op.Depth.Ready, Unacked: op.Depth.Unacked, Peeked: op.Depth.Peeked, Units: units})
		for _, id := range units {
			if queued == nil {
				queued = map[string]string{}
			}
			if _, ok := queued[id]; !ok {
				queued[id] = q
			}
		}
	}
	return left, queued
}

// Record appends v to h as the run's own verdict (history.KindVerdict
// ops: one per check, one per dead-letter queue judged (its Detail
// history.KindDeadLetters), and one for the run, held or not, with v.Offline),
// for Recorded to read back and a later Judge to be compared with. v's
// violations are not recorded again: they are h's history.KindViolation
// ops already (history.Violation).
func Record(h *history.History, v Verdict) error {
	now := time.Now()
	var ops []history.Op
	for _, c := range v.Checks {
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("record verdict of %s: %w", c.Service, err)
		}
		ops = append(ops, history.Op{Kind: history.KindVerdict, ID: c.Service, Outcome: outcome(c.OK()), Invoked: now, Completed: now, Verdict: b})
	}
	for _, d := range v.DeadLetters {
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("record verdict of %s: %w", d.Queue, err)
		}
		ops = append(ops, history.Op{Kind: history.KindVerdict, ID: d.Queue, Outcome: outcome(d.OK()), Detail: history.KindDeadLetters, Invoked: now, Completed: now, Verdict: b})
	}
	run := history.Op{Kind: history.KindVerdict, Outcome: outcome(v.Held()), Detail: v.Offline, Invoked: now, Completed: now}
	if len(v.Recovery) > 0 || len(v.Bounds) > 0 {
		b, err := json.Marshal(runVerdict{Recovery: v.Recovery, Bounds: v.Bounds})
		if err != nil {
			return fmt.Errorf("record verdict on recovery and bounds: %w", err)
		}
		run.Verdict = b
	}
	ops = append(ops, run)
	h.Append(ops...)
	return nil
}

// runVerdict is what the run's own verdict op (no id) holds besides
// Offline: the verdicts that concern the run as a whole.
type runVerdict struct {
	Recovery []Recovery `json:"recovery,omitempty"`
	Bounds   []Bound    `json:"bounds,omitempty"`
}

func outcome(ok bool) history.Outcome {
	if ok {
		return history.OK
	}
	return history.Fail
}

// Recorded is the verdict the run recorded in ops (see Record): the last
// recorded of each effect, and ok false when the run recorded none. The
// violations, the queues unseen at the end and Offline are those Judge
// reads too.
func Recorded(ops []history.Op) (v Verdict, ok bool, err error) {
	byName := map[string]Result{}
	dead := map[string]DeadLetterResult{}
	var order, deadOrder []string
	for _, op := range ops {
		if op.Kind == history.KindViolation {
			v.Violations = append(v.Violations, op.Detail)
		}
		if op.Kind != history.KindVerdict {
			continue
		}
		ok = true
		if op.ID == "" {
			v.Offline = op.Detail
			v.Recovery, v.Bounds = nil, nil
			if len(op.Verdict) > 0 {
				var rv runVerdict
				if err := json.Unmarshal(op.Verdict, &rv); err != nil {
					return Verdict{}, false, fmt.Errorf("verdict of the run: %w", err)
				}
				v.Recovery, v.Bounds = rv.Recovery, rv.Bounds
			}
			continue
		}
		if op.Detail == history.KindDeadLetters {
			var d DeadLetterResult
			if err := json.Unmarshal(op.Verdict, &d); err != nil {
				return Verdict{}, false, fmt.Errorf("verdict of %s: %w", op.ID, err)
			}
			if _, seen := dead[op.ID]; !seen {
				deadOrder = append(deadOrder, op.ID)
			}
			dead[op.ID] = d
			continue
		}
		var r Result
		if err := json.Unmarshal(op.Verdict, &r); err != nil {
			return Verdict{}, false, fmt.Errorf("verdict of %s: %w", op.ID, err)
		}
		if _, seen := byName[op.ID]; !seen {
			order = append(order, op.ID)
		}
		byName[op.ID] = r
	}
	for _, name := range order {
		v.Checks = append(v.Checks, byName[name])
	}
	for _, q := range deadOrder {
		v.DeadLetters = append(v.DeadLetters, dead[q])
	}
	v.Unseen, _ = queueReads(ops)
	return v, ok, nil
}

// Differences lists where judged and recorded disagree, effect by effect,
// in words: an effect judged but not recorded or the other way round, a
// verdict OK in one and violated in the other, or other ids lost, unseen
// at the end, destroyed by a fault's nature (each way apart), duplicated,
// unexpected or recovered. None means they agree.
func Differences(judged, recorded Verdict) []string {
	var out []string
	rec := map[string]Result{}
	for _, r := range recorded.Checks {
		rec[r.Service] = r
	}
	for _, j := range judged.Checks {
		r, ok := rec[j.Service]
		if !ok {
			out = append(out, fmt.Sprintf("%s: judged, but the run recorded no verdict on it", j.Service))
			continue
		}
		delete(rec, j.Service)
		if j.OK() != r.OK() {
			out = append(out, fmt.Sprintf("%s: judged %s, the run recorded %s", j.Service, okWord(j.OK()), okWord(r.OK())))
		}
		for _, d := range []struct {
			what     string
			got, was []string
		}{{"lost", j.Lost, r.Lost}, {"unseen at the end", j.Unseen, r.Unseen}, {"duplicated", j.Duplicated, r.Duplicated}, {"unexpected", j.Unexpected, r.Unexpected}, {"out of order", j.OutOfOrder, r.OutOfOrder}, {"recovered", j.Recovered, r.Recovered}} {
			if !slices.Equal(d.got, d.was) {
				out = append(out, fmt.Sprintf("%s: %s %d judged, %d recorded", j.Service, d.what, len(d.got), len(d.was)))
			}
		}
		hows := j.DestroyedHow()
		for _, how := range r.DestroyedHow() {
			if _, ok := j.Destroyed[how]; !ok {
				hows = append(hows, how)
			}
		}
		for _, how := range hows {
			if got, was := j.Destroyed[how], r.Destroyed[how]; !slices.Equal(got, was) {
				out = append(out, fmt.Sprintf("%s: %s %d judged, %d recorded", j.Service, how, len(got), len(was)))
			}
		}
	}
	for _, r := range recorded.Checks {
		if _, ok := rec[r.Service]; ok {
			out = append(out, fmt.Sprintf("%s: the run recorded a verdict on it, but it was never read", r.Service))
		}
	}
	out = append(out, listDifferences("recovery", judged.Recovery, recorded.Recovery)...)
	out = append(out, listDifferences("bound", judged.Bounds, recorded.Bounds)...)
	return append(out, deadLetterDifferences(judged.DeadLetters, recorded.DeadLetters)...)
}

// listDifferences compares what judged and recorded say, one verdict of
// the run after another, by their lines of figures.
func listDifferences[V fmt.Stringer](what string, judged, recorded []V) []string {
	if len(judged) != len(recorded) {
		return []string{fmt.Sprintf("%s: %d judged, %d recorded", what, len(judged), len(recorded))}
	}
	var out []string
	for i, j := range judged {
		if r := recorded[i]; j.String() != r.String() {
			out = append(out, fmt.Sprintf("%s: judged %q, the run recorded %q", what, j.String(), r.String()))
		}
	}
	return out
}

// deadLetterDifferences is Differences for the dead-letter queues.
func deadLetterDifferences(judged, recorded []DeadLetterResult) []string {
	var out []string
	rec := map[string]DeadLetterResult{}
	for _, r := range recorded {
		rec[r.Queue] = r
	}
	for _, j := range judged {
		r, ok := rec[j.Queue]
		if !ok {
			out = append(out, fmt.Sprintf("dead letters %s: judged, but the run recorded no verdict on it", j.Queue))
			continue
		}
		delete(rec, j.Queue)
		if j.OK() != r.OK() {
			out = append(out, fmt.Sprintf("dead letters %s: judged %s, the run recorded %s", j.Queue, okWord(j.OK()), okWord(r.OK())))
		}
		for _, d := range []struct {
			what     string
			got, was []string
		}{{"poison missing", j.Missing, r.Missing}, {"poison repeated", j.Repeated, r.Repeated}, {"poison without a reason", j.NoReason, r.NoReason}, {"valid units", j.Valid, r.Valid}} {
			if !slices.Equal(d.got, d.was) {
				out = append(out, fmt.Sprintf("dead letters %s: %s %d judged, %d recorded", j.Queue, d.what, len(d.got), len(d.was)))
			}
		}
	}
	for _, r := range recorded {
		if _, ok := rec[r.Queue]; ok {
			out = append(out, fmt.Sprintf("dead letters %s: the run recorded a verdict on it, but it was never read", r.Queue))
		}
	}
	return out
}

func okWord(ok bool) string {
	if ok {
		return "OK"
	}
	return "VIOLATED"
}
