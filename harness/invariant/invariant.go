// Package invariant checks a described system's invariants (see
// system.Invariant): it reads the rows an invariant names, judges them
// against its condition, and records each check in a history as an
// operation of kind history.KindInvariant named after the invariant:
// ok when it held, fail when some row broke it, info when the rows could
// not be read (a service down mid-fault is unknown, not broken).
//
// Watch checks invariants every few seconds while a run goes on; Check
// checks one once, such as at the end of a run.
package invariant

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/probe"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
)

// brokenMax is how many breaking rows a Result keeps.
const brokenMax = 5

// Result is one check of one invariant.
type Result struct {
	Invariant system.Invariant
	At        time.Time // when the check began
	Rows      int       // rows read
	NBroken   int       // rows that broke it
	Broken    []string  // the first of them (at most 5), as JSON
	Err       error     // the rows could not be read: unknown
}

// Held reports whether the rows were read and none broke the invariant.
func (r Result) Held() bool { return r.Err == nil && r.NBroken == 0 }

// String says how the check went: "held: 3 rows, quantity ≥ 0",
// "broken: 2 of 5 rows, no row: {...}; {...}", "not read: ...".
func (r Result) String() string {
	switch {
	case r.Err != nil:
		return "not read: " + r.Err.Error()
	case r.NBroken == 0:
		return fmt.Sprintf("held: %d rows, %s", r.Rows, r.Invariant.Condition())
	}
	more := ""
	if r.NBroken > len(r.Broken) {
		more = fmt.Sprintf(" and %d more", r.NBroken-len(r.Broken))
	}
	return fmt.Sprintf("broken: %d of %d rows, want %s: %s%s", r.NBroken, r.Rows, r.Invariant.Condition(), strings.Join(r.Broken, "; "), more)
}

// Judge checks rows against inv's condition: with None, every row breaks
// it; with a Field, a row breaks it when the field is missing, is not a
// number, or is outside Min and Max.
func Judge(inv system.Invariant, rows []any) Result {
	r := Result{Invariant: inv, Rows: len(rows)}
	for _, row := range rows {
		if !broken(inv, row) {
			continue
		}
		r.NBroken++
		if len(r.Broken) < brokenMax {
			b, err := json.Marshal(row)
			if err != nil {
				b = []byte(fmt.Sprint(row))
			}
			r.Broken = append(r.Broken, string(b))
		}
	}
	return r
}

func broken(inv system.Invariant, row any) bool {
	if inv.None {
		return true
	}
	v, ok := system.Lookup(row, inv.Field)
	if !ok {
		return true
	}
	n, ok := number(v)
	return !ok || (inv.Min != nil && n < *inv.Min) || (inv.Max != nil && n > *inv.Max)
}

// number is v as a float64: a JSON number, a Go number (a SQL column), or
// a string holding one.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil
	case pgtype.Numeric: // a SQL numeric column
		f, err := v.Float64Value()
		return f.Float64, err == nil && f.Valid
	}
	return 0, false
}

// RowsOf picks the rows out of a decoded JSON body: the array at the
// dotted path items ("" is the body itself); null is no row.
func RowsOf(body any, items string) ([]any, error) {
	v, ok := system.Lookup(body, items)
	if !ok {
		return nil, fmt.Errorf("no %q in the body", items)
	}
	if v == nil {
		return nil, nil
	}
	rows, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%q is not a list", items)
	}
	return rows, nil
}

// Reader reads an invariant's rows. Read on a stack is one; tests use
// fakes.
type Reader func(ctx context.Context, inv system.Invariant) ([]any, error)

// Read returns a Reader of s: an HTTP source on a running replica of its
// service, a SQL source on the stack's database (a row per result row,
// keyed by column name).
func Read(s *stack.Stack) Reader {
	return func(ctx context.Context, inv system.Invariant) ([]any, error) {
		switch {
		case inv.HTTP != nil:
			var body any
			if err := probe.GetJSON(ctx, s.URL(inv.HTTP.Service), inv.HTTP.Path, &body); err != nil {
				return nil, fmt.Errorf("%s: %w", inv.HTTP.Path, err)
			}
			rows, err := RowsOf(body, inv.HTTP.Items)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", inv.HTTP.Path, err)
			}
			return rows, nil
		case inv.SQL != nil:
			return readSQL(ctx, s, inv.SQL.Query)
		}
		return nil, fmt.Errorf("no source")
	}
}

func readSQL(ctx context.Context, s *stack.Stack, query string) ([]any, error) {
	u, err := s.DatabaseURL(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		row := map[string]any{}
		for i, fd := range rows.FieldDescriptions() {
			row[fd.Name] = vals[i]
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return out, nil
}

// Recorder is told of every check as an operation (a *history.History
// is one).
type Recorder interface {
	Invoke(kind, id string) int
	Complete(op int, outcome history.Outcome, detail string)
}

// readTimeout bounds one read, so that a paused service costs a check,
// not the watch.
const readTimeout = 3 * time.Second

// Check reads inv's rows with read and judges them, recorded in rec: ok
// when it held, fail when broken, info when not read. It blocks for at
// most a few seconds.
func Check(ctx context.Context, rec Recorder, read Reader, inv system.Invariant) Result {
	op := rec.Invoke(history.KindInvariant, inv.Name)
	began := time.Now()
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	rows, err := read(rctx, inv)
	cancel()
	r := Judge(inv, rows)
	r.At = began
	outcome := history.OK
	switch {
	case err != nil:
		r = Result{Invariant: inv, At: began, Err: err}
		outcome = history.Info
	case r.NBroken > 0:
		outcome = history.Fail
	}
	rec.Complete(op, outcome, r.String())
	return r
}

// Watcher checks invariants in the background; see Watch.
type Watcher struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	results []Result
}

// Watch checks each of invs every interval (the first at once) until
// Stop or the end of ctx, recording every check in rec. It is safe for
// concurrent use with rec's other writers.
func Watch(ctx context.Context, rec Recorder, read Reader, invs []system.Invariant, every time.Duration) *Watcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		if len(invs) == 0 {
			return
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			for _, inv := range invs {
				r := Check(ctx, rec, read, inv)
				if ctx.Err() != nil {
					return // a check cut short by Stop is no check
				}
				w.mu.Lock()
				w.results = append(w.results, r)
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// Stop ends the watch, waits for a check in progress, and returns every
// check made, in order.
func (w *Watcher) Stop() []Result {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Result(nil), w.results...)
}

// Violations are the broken invariants among results, one line each for
// Figures.Violations: which invariant, in how many checks, when first
// relative to start, and the rows of that first breach.
func Violations(results []Result, start time.Time) []string {
	type tally struct {
		checks, broken int
		first          Result
	}
	var order []string
	byName := map[string]*tally{}
	for _, r := range results {
		name := r.Invariant.Name
		t, ok := byName[name]
		if !ok {
			t = &tally{}
			byName[name] = t
			order = append(order, name)
		}
		t.checks++
		if r.Err == nil && r.NBroken > 0 {
			if t.broken == 0 {
				t.first = r
			}
			t.broken++
		}
	}
	var out []string
	for _, name := range order {
		t := byName[name]
		if t.broken == 0 {
			continue
		}
		out = append(out, fmt.Sprintf("invariant %q (%s) broken in %d of %d checks, first at +%.1fs: %s",
			name, t.first.Invariant.When, t.broken, t.checks, t.first.At.Sub(start).Seconds(), t.first))
	}
	return out
}

// Summary tallies results per invariant, in order of first check:
// "stock never negative: 25 checks, 23 held, 0 broken, 2 not read".
func Summary(results []Result) []string {
	type tally struct{ checks, held, broken, unknown int }
	var order []string
	by := map[string]*tally{}
	for _, r := range results {
		t, ok := by[r.Invariant.Name]
		if !ok {
			t = &tally{}
			by[r.Invariant.Name] = t
			order = append(order, r.Invariant.Name)
		}
		t.checks++
		switch {
		case r.Err != nil:
			t.unknown++
		case r.NBroken > 0:
			t.broken++
		default:
			t.held++
		}
	}
	out := make([]string, len(order))
	for i, name := range order {
		t := by[name]
		out[i] = fmt.Sprintf("%s: %d checks, %d held, %d broken, %d not read", name, t.checks, t.held, t.broken, t.unknown)
	}
	return out
}
