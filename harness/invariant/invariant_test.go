package invariant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/system"
)

func f(v float64) *float64 { return &v }

var (
	stock   = system.Invariant{Name: "stock never negative", Service: "inventory", Field: "quantity", Min: f(0), When: system.Always}
	pending = system.Invariant{Name: "every order ends final", Service: "order", None: true, When: system.AtEnd}
	lag     = system.Invariant{Name: "lag bounded", Service: "x", Field: "lag.seconds", Min: f(0), Max: f(5), When: system.Always}
)

func rowsOf(t *testing.T, text string) []any {
	t.Helper()
	var body any
	if err := json.Unmarshal([]byte(text), &body); err != nil {
		t.Fatal(err)
	}
	rows, err := RowsOf(body, "")
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestJudgeAppliesTheCondition(t *testing.T) {
	for _, c := range []struct {
		name    string
		inv     system.Invariant
		rows    string
		nBroken int
		first   string
	}{
		{"all within min", stock, `[{"item":"a","quantity":0},{"item":"b","quantity":7}]`, 0, ""},
		{"one below min", stock, `[{"item":"a","quantity":3},{"item":"b","quantity":-1}]`, 1, `{"item":"b","quantity":-1}`},
		{"field missing breaks it", stock, `[{"item":"a","qty":3}]`, 1, `{"item":"a","qty":3}`},
		{"not a number breaks it", stock, `[{"item":"a","quantity":"many"}]`, 1, `{"item":"a","quantity":"many"}`},
		{"a number in a string is a number", stock, `[{"item":"a","quantity":"12"}]`, 0, ""},
		{"no rows hold a bound", stock, `[]`, 0, ""},
		{"none: no row holds", pending, `[]`, 0, ""},
		{"none: null holds", pending, `null`, 0, ""},
		{"none: every row breaks it", pending, `[{"order_id":"o-1","status":"pending"},{"order_id":"o-2","status":"pending"}]`, 2, `{"order_id":"o-1","status":"pending"}`},
		{"dotted field within both bounds", lag, `[{"lag":{"seconds":5}},{"lag":{"seconds":0}}]`, 0, ""},
		{"dotted field above max", lag, `[{"lag":{"seconds":5.5}},{"lag":{"seconds":9}}]`, 2, `{"lag":{"seconds":5.5}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Judge(c.inv, rowsOf(t, c.rows))
			if r.NBroken != c.nBroken || r.Held() != (c.nBroken == 0) {
				t.Fatalf("%d broken (held %v), want %d: %s", r.NBroken, r.Held(), c.nBroken, r)
			}
			if c.first != "" && (len(r.Broken) == 0 || r.Broken[0] != c.first) {
				t.Errorf("first breaking row %v, want %s", r.Broken, c.first)
			}
		})
	}
}

func TestJudgeKeepsAFewBrokenRowsAndCountsAll(t *testing.T) {
	rows := make([]any, 12)
	for i := range rows {
		rows[i] = map[string]any{"order_id": i}
	}
	r := Judge(pending, rows)
	if r.NBroken != 12 || len(r.Broken) != 5 || !strings.Contains(r.String(), "broken: 12 of 12 rows, want no row: ") || !strings.HasSuffix(r.String(), "and 7 more") {
		t.Errorf("%s", r)
	}
}

func TestNumbersFromSQLColumns(t *testing.T) {
	for _, v := range []any{int32(-2), int64(-2), int16(-2), float32(-2), pgtype.Numeric{Int: big.NewInt(-2), Valid: true}} {
		if r := Judge(stock, []any{map[string]any{"quantity": v}}); r.NBroken != 1 {
			t.Errorf("%T -2 held: %s", v, r)
		}
		if r := Judge(stock, []any{map[string]any{"quantity": 1}}); !r.Held() {
			t.Errorf("1 broke it: %s", r)
		}
	}
}

func TestRowsOfFollowsItems(t *testing.T) {
	var body any
	_ = json.Unmarshal([]byte(`{"orders": [{"id": 1}], "n": 3}`), &body)
	if rows, err := RowsOf(body, "orders"); err != nil || len(rows) != 1 {
		t.Errorf("orders: %v, %v", rows, err)
	}
	if _, err := RowsOf(body, "n"); err == nil || !strings.Contains(err.Error(), `"n" is not a list`) {
		t.Errorf("n: %v", err)
	}
	if _, err := RowsOf(body, "missing"); err == nil {
		t.Error("missing: no error")
	}
}

func TestCheckRecordsEachOutcome(t *testing.T) {
	h := &history.History{}
	fake := func(rows string, err error) Reader {
		return func(context.Context, system.Invariant) ([]any, error) {
			if err != nil {
				return nil, err
			}
			return rowsOf(t, rows), nil
		}
	}
	held := Check(t.Context(), h, fake(`[{"quantity":1}]`, nil), stock)
	broke := Check(t.Context(), h, fake(`[{"order_id":"o-7"}]`, nil), pending)
	unknown := Check(t.Context(), h, fake("", errors.New("/inventory: no running inventory replica")), stock)
	if !held.Held() || broke.Held() || unknown.Held() || unknown.Err == nil {
		t.Fatalf("held %s; broke %s; unknown %s", held, broke, unknown)
	}
	ops := h.Ops()
	want := []struct {
		id      string
		outcome history.Outcome
		detail  string
	}{
		{"stock never negative", history.OK, "held: 1 rows, quantity ≥ 0"},
		{"every order ends final", history.Fail, `broken: 1 of 1 rows, want no row: {"order_id":"o-7"}`},
		{"stock never negative", history.Info, "not read: /inventory: no running inventory replica"},
	}
	if len(ops) != len(want) {
		t.Fatalf("ops %+v", ops)
	}
	for i, w := range want {
		op := ops[i]
		if op.Kind != history.KindInvariant || op.ID != w.id || op.Outcome != w.outcome || op.Detail != w.detail || op.Completed.IsZero() {
			t.Errorf("op %d = %+v, want %s %s %q", i, op, w.id, w.outcome, w.detail)
		}
	}
}

func TestWatchChecksUntilStoppedAndViolationsSayWhen(t *testing.T) {
	h := &history.History{}
	var n atomic.Int32
	reads := make(chan struct{}, 100)
	// The third read shows an item below zero.
	read := func(_ context.Context, inv system.Invariant) ([]any, error) {
		defer func() { reads <- struct{}{} }()
		if n.Add(1) == 3 {
			return []any{map[string]any{"item": "widget-a", "quantity": -2.0}}, nil
		}
		return []any{map[string]any{"item": "widget-a", "quantity": 5.0}}, nil
	}
	start := time.Now()
	w := Watch(t.Context(), h, read, []system.Invariant{stock}, 5*time.Millisecond)
	for range 6 {
		select {
		case <-reads:
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d reads in 5s at one per 5ms", n.Load())
		}
	}
	results := w.Stop()
	if len(results) < 5 {
		t.Fatalf("%d checks, want at least 5", len(results))
	}
	if got := len(h.Ops()); got != len(results) && got != len(results)+1 { // a check cut short by Stop is recorded, not returned
		t.Errorf("%d operations recorded for %d checks", got, len(results))
	}
	v := Violations(results, start)
	if len(v) != 1 || !strings.Contains(v[0], `invariant "stock never negative" (always) broken in 1 of `) ||
		!strings.Contains(v[0], `broken: 1 of 1 rows, want quantity ≥ 0: {"item":"widget-a","quantity":-2}`) || !strings.Contains(v[0], "first at +") {
		t.Errorf("violations %q", v)
	}
	sum := Summary(append(results, Result{Invariant: pending, Err: errors.New("down")}))
	if len(sum) != 2 || sum[0] != fmt.Sprintf("stock never negative: %d checks, %d held, 1 broken, 0 not read", len(results), len(results)-1) ||
		sum[1] != "every order ends final: 1 checks, 0 held, 0 broken, 1 not read" {
		t.Errorf("summary %q", sum)
	}
	if v := Violations(append(results[:2:2], Result{Invariant: pending, Err: errors.New("down")}), start); len(v) != 0 {
		t.Errorf("held and unknown checks gave violations %q", v)
	}
}
