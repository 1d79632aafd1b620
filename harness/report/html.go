package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// Run is one scenario run as the HTML report draws it: its verdict and
// its history.
type Run struct {
	Figures Figures
	Ops     []history.Op
	// Samples are the system's state over the run: readiness of each
	// replica and depth of each queue (optional).
	Samples []history.Sample
}

const (
	buckets     = 60   // about this many time slices per chart
	examplesMax = 12   // violated ids listed per effect and kind
	noteMax     = 300  // operations of note listed besides the violated ones and the faults
	alikeMax    = 5    // operations of note listed with the same input, outcome and detail
	allMax      = 1000 // operations in a run's full table; the rest are in its history's file
	violatedMax = 100  // operations of violated ids listed of note, besides those the verdict links to
	marksMax    = 1000 // violation marks of a kind on the timeline: one per this share of its width
)

// WriteHTML writes one self-contained HTML page for runs: the control
// matrix, the sensitivity the runs show (SensitivityOf), then for each run the command that replays it under its
// verdict (where the run left a reproduction), its verdict per effect
// with example ids linked to their operations, a timeline of operations
// by outcome with the faults as bands, throughput and latency over time,
// and its operations. The page loads nothing (no script, font or style
// from elsewhere); the charts are inline SVG.
func WriteHTML(w io.Writer, runs []Run) error {
	page := htmlPage{Generated: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	used := map[string]int{}
	var figs []Figures
	for _, r := range runs {
		anchor := "run-" + Slug(r.Figures.Scenario+"--"+r.Figures.Side)
		if used[anchor]++; used[anchor] > 1 {
			anchor = fmt.Sprintf("%s-%d", anchor, used[anchor])
		}
		hr, err := newHTMLRun(anchor, r)
		if err != nil {
			return fmt.Errorf("report %s (%s): %w", r.Figures.Scenario, r.Figures.Side, err)
		}
		page.Runs = append(page.Runs, hr)
		page.Anchors = append(page.Anchors, anchor)
		figs = append(figs, r.Figures)
		if !slices.Contains(page.Systems, r.Figures.System) {
			page.Systems = append(page.Systems, r.Figures.System)
		}
	}
	page.Matrix = buildMatrix(figs, page.Anchors)
	page.Sensitivity = SensitivityOf(figs)
	for _, row := range page.Matrix {
		for _, cells := range [][]MatrixCell{row.Safe, row.Controls, row.Other} {
			for _, c := range cells {
				if c.Expected() {
					page.AsExpected++
				} else {
					page.NotExpected++
				}
			}
		}
	}
	if err := pageTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

type htmlPage struct {
	Generated               string
	Systems                 []string
	Matrix                  []MatrixRow
	Sensitivity             []Sensitivity
	Anchors                 []string
	Runs                    []htmlRun
	AsExpected, NotExpected int
}

type htmlRun struct {
	Anchor string
	F      Figures
	Judged bool
	Checks []htmlCheck
	Bands  []Band
	// Invariants: how each of the system's invariants fared in its checks.
	Invariants []InvariantRow
	Chart      template.HTML // timeline, throughput and latency
	Note       []htmlOp      // operations of note
	NoteMore   []string      // operations of note left out, alike ones counted together
	AlikeMax   int
	// ViolatedMax: operations of violated ids listed of note besides
	// those the verdict links to.
	ViolatedMax int
	All         []htmlOp
	AllCut      int
	NOps        int
}

type htmlCheck struct {
	checker.Result
	Violations []htmlViolation
	// Expected: the units a fault destroyed by its nature, one per how
	// ("lost with the queue orders"), shown apart and no violation.
	Expected []htmlViolation
}

type htmlViolation struct {
	Kind string // lost, unseen at the end, duplicated, unexpected; or how a fault destroyed units
	IDs  []htmlID
	More int
	N    int // ids in all
}

type htmlID struct{ ID, Href string }

type htmlOp struct {
	Index                  int
	Anchor                 string
	Kind, ID, Outcome      string
	Detail                 string
	Invoked, Completed     string
	Latency                string
	Violations             string // "lost (inventory: …)"
	Fault, Violated, Class string
}

func newHTMLRun(anchor string, r Run) (htmlRun, error) {
	f := r.Figures
	hr := htmlRun{Anchor: anchor, F: f, Judged: f.Judged(), NOps: len(r.Ops), AlikeMax: alikeMax, ViolatedMax: violatedMax}
	start, end := span(r.Ops)
	hr.Invariants = invariantRows(r.Ops, start)

	// Which ids were violated how, and where each id's first operation is.
	first := map[string]int{}
	for i, op := range r.Ops {
		if _, ok := first[op.ID]; !ok && op.ID != "" && op.IsWork() {
			first[op.ID] = i
		}
	}
	opAnchor := func(i int) string { return fmt.Sprintf("%s-op-%d", anchor, i) }
	violated := map[string][]string{} // id → "lost (effect)", …
	kindOf := map[string]string{}     // id → first violation kind
	linked := map[string]bool{}       // ids the verdict links to their operations
	for _, c := range f.Checks {
		hc := htmlCheck{Result: c}
		for _, v := range []struct {
			kind string
			ids  []string
		}{{"lost", c.Lost}, {"unseen at the end", c.Unseen}, {"duplicated", c.Duplicated}, {"unexpected", c.Unexpected}} {
			if len(v.ids) == 0 {
				continue
			}
			hv := htmlViolation{Kind: v.kind, More: max(len(v.ids)-examplesMax, 0)}
			for j, id := range v.ids {
				violated[id] = append(violated[id], fmt.Sprintf("%s (%s)", v.kind, c.Service))
				if _, ok := kindOf[id]; !ok {
					kindOf[id] = v.kind
				}
				if j < examplesMax {
					linked[id] = true
					hid := htmlID{ID: id}
					if i, ok := first[id]; ok {
						hid.Href = "#" + opAnchor(i)
					}
					hv.IDs = append(hv.IDs, hid)
				}
			}
			hc.Violations = append(hc.Violations, hv)
		}
		for _, how := range c.DestroyedHow() {
			ids := c.Destroyed[how]
			hv := htmlViolation{Kind: how, More: max(len(ids)-examplesMax, 0), N: len(ids)}
			for _, id := range ids[:min(len(ids), examplesMax)] {
				hid := htmlID{ID: id}
				if i, ok := first[id]; ok {
					hid.Href = "#" + opAnchor(i)
				}
				hv.IDs = append(hv.IDs, hid)
			}
			hc.Expected = append(hc.Expected, hv)
		}
		hr.Checks = append(hr.Checks, hc)
	}

	// Operations: those of note (violated ids, faults, anything not
	// accepted), then all of them.
	rel := func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return fmt.Sprintf("+%.3fs", t.Sub(start).Seconds())
	}
	// A violated id's mark on the timeline, one per kind and width of
	// a mark: a control's run can have tens of thousands.
	marks := map[string][]float64{}
	markAt := map[string]map[int]bool{}
	markW := max(end.Sub(start).Seconds()/marksMax, 1e-9)
	alike, more := map[string]int{}, map[string]int{} // operations of note by kind, outcome and detail
	var moreOrder []string
	listedViolated := 0
	for i, op := range r.Ops {
		ho := htmlOp{Index: i + 1, Kind: op.Kind, ID: op.ID, Outcome: outcomeName(op), Detail: op.Detail,
			Invoked: rel(op.Invoked), Completed: rel(op.Completed), Class: outcomeClass(op)}
		if !op.Completed.IsZero() { // a fault's is how long the engine took to inject or heal it
			ho.Latency = fmt.Sprintf("%.1f", float64(op.Completed.Sub(op.Invoked))/float64(time.Millisecond))
		}
		v, isViolated := violated[op.ID]
		if isViolated && op.IsWork() {
			ho.Violations, ho.Violated = strings.Join(v, "; "), "violated"
			k, x := kindOf[op.ID], op.Invoked.Sub(start).Seconds()
			if markAt[k] == nil {
				markAt[k] = map[int]bool{}
			}
			if at := int(x / markW); !markAt[k][at] {
				markAt[k][at] = true
				marks[k] = append(marks[k], x)
			}
		}
		if op.Kind == history.KindFault {
			ho.Fault = "fault"
		}
		if len(hr.All) < allMax {
			hr.All = append(hr.All, ho)
		} else {
			hr.AllCut++
		}
		switch key := op.Kind + "\x00" + ho.Outcome + "\x00" + op.Detail; {
		case ho.Fault != "":
		case ho.Violated != "" && (linked[op.ID] || listedViolated < violatedMax):
			if !linked[op.ID] {
				listedViolated++
			}
		case ho.Violated != "":
			key = op.Kind + "\x00" + ho.Outcome + "\x00violated: " + ho.Violations
			if _, ok := more[key]; !ok {
				moreOrder = append(moreOrder, key)
			}
			more[key]++
			continue
		case op.Outcome == history.OK:
			continue
		case alike[key] < alikeMax && len(hr.Note) < noteMax:
			alike[key]++
		default:
			if _, ok := more[key]; !ok {
				moreOrder = append(moreOrder, key)
			}
			more[key]++
			continue
		}
		ho.Anchor = opAnchor(i)
		hr.Note = append(hr.Note, ho)
	}

	for _, key := range moreOrder {
		p := strings.SplitN(key, "\x00", 3)
		line := fmt.Sprintf("%d more %s operations of %s", more[key], p[1], p[0])
		if p[2] != "" {
			line += ": " + p[2]
		}
		hr.NoteMore = append(hr.NoteMore, line)
	}
	if len(r.Ops) == 0 {
		return hr, nil
	}
	total := end.Sub(start)
	width := bucketWidth(total, buckets)
	n := max(int((total+width-1)/width), 1)
	d := chartData{span: total, width: width, buckets: bucketize(r.Ops, start, width, n),
		bands: faultBands(r.Ops, start, end), inputs: inputs(r.Ops), marks: marks, invariants: hr.Invariants,
		samples: sampleSeries(r.Samples, start)}
	hr.Bands = d.bands
	chart, err := runChart(d)
	if err != nil {
		return hr, err
	}
	hr.Chart = chart
	return hr, nil
}

// outcomeName is how the report names an operation's outcome.
func outcomeName(op history.Op) string {
	if op.Kind == history.KindFault {
		if op.Outcome == history.Pending {
			return "invoked, never completed"
		}
		return op.Detail
	}
	if op.Kind == history.KindInvariant {
		switch op.Outcome {
		case history.OK:
			return "held"
		case history.Fail:
			return "broken"
		case history.Info:
			return "not read"
		}
		return "never completed"
	}
	switch op.Outcome {
	case history.OK:
		return "accepted"
	case history.Fail:
		return "failed"
	case history.Info:
		return "unknown"
	}
	return "unknown (never completed)"
}

func outcomeClass(op history.Op) string {
	if op.Kind == history.KindFault {
		return "o-fault"
	}
	switch op.Outcome {
	case history.OK:
		return "o-ok"
	case history.Fail:
		return "o-fail"
	}
	return "o-info"
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs": func(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) },
	"verdict": func(judged, held bool) string {
		switch {
		case !judged:
			return "not judged"
		case held:
			return "held"
		}
		return "violated"
	},
	"phases": func(m map[string]float64) string {
		var parts []string
		for _, k := range []string{"setup", "run", "settle", "check"} {
			if v, ok := m[k]; ok {
				parts = append(parts, fmt.Sprintf("%s %.1fs", k, v))
			}
		}
		return strings.Join(parts, ", ")
	},
}).Parse(pageHTML))

//go:embed report.html.tmpl
var pageHTML string
