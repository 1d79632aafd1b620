package history

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestJSONLRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 3, 0, 0, 123456789, time.UTC)
	want := []Op{
		{Kind: "order_http", ID: "o-0001", Outcome: OK, Invoked: t0, Completed: t0.Add(12 * time.Millisecond)},
		{Kind: KindFault, ID: "kill inventory-1", Outcome: OK, Detail: "injected", Invoked: t0.Add(time.Second), Completed: t0.Add(time.Second)},
		{Kind: "order_http", ID: "o-0002", Outcome: Info, Detail: "timeout:\n\"no answer\"", Invoked: t0.Add(2 * time.Second), Completed: t0.Add(3 * time.Second)},
		{Kind: "order_http", ID: "", Outcome: Pending, Invoked: t0.Add(4 * time.Second)}, // never completed
		{Kind: "order_amqp", ID: "o-0003", Outcome: Fail, Detail: "nack", Invoked: t0.Add(5 * time.Second), Completed: t0.Add(5 * time.Second)},
	}
	h := &History{ops: want}

	var buf bytes.Buffer
	if err := h.WriteJSONL(&buf); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != len(want) {
		t.Fatalf("%d lines, want one per op (%d):\n%s", lines, len(want), buf.String())
	}
	if strings.Contains(buf.String(), `"completed":"0001`) {
		t.Errorf("a pending op's zero completion time was written:\n%s", buf.String())
	}

	got, err := ReadJSONL(strings.NewReader(buf.String() + "\n\n")) // trailing blank lines are fine
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Ops(), want) {
		t.Errorf("round trip changed the history:\n got %+v\nwant %+v", got.Ops(), want)
	}
	if ids := got.IDs("order_http", OK); !reflect.DeepEqual(ids, []string{"o-0001"}) {
		t.Errorf("IDs of the read history = %v", ids)
	}
}

func TestReadJSONLNamesTheBadLine(t *testing.T) {
	_, err := ReadJSONL(strings.NewReader(`{"kind":"a","id":"1","outcome":"ok","invoked":"2026-11-24T03:00:00Z"}` + "\nnot json\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
}

func TestSamplesRoundTrip(t *testing.T) {
	var h History
	h.Complete(h.Invoke("orders", "a"), OK, "201")
	h.Observe(SampleReady, "inventory-1", 1)
	h.Observe(SampleDepth, "inventory.orders", 12)
	var b bytes.Buffer
	if err := h.WriteJSONL(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSONL(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Ops()) != 1 || len(got.Samples()) != 2 || got.Samples()[1].Value != 12 || got.Samples()[0].Name != "inventory-1" {
		t.Errorf("ops %v, samples %v", got.Ops(), got.Samples())
	}
}

func TestReadJSONLTakesLongLines(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 17<<20) // longer than any fixed line buffer this package had (16 MB)
	h := &History{ops: []Op{
		{Kind: "order_http", ID: "o-1", Outcome: Info, Detail: long, Invoked: t0, Completed: t0},
		{Kind: "order_http", ID: "o-2", Outcome: OK, Invoked: t0, Completed: t0},
	}}
	var b bytes.Buffer
	if err := h.WriteJSONL(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSONL(strings.NewReader(strings.TrimSuffix(b.String(), "\n"))) // no newline at the end
	if err != nil {
		t.Fatal(err)
	}
	if ops := got.Ops(); len(ops) != 2 || ops[0].Detail != long || ops[1].ID != "o-2" {
		t.Errorf("read %d ops back, want the 2 written whole", len(ops))
	}
}

func TestReadJSONLKeepsOrderAndLineNumbersAcrossChunks(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i := range 20_000 { // several chunks' worth
		fmt.Fprintf(&b, `{"kind":"order_http","id":"o-%d","outcome":"ok","invoked":%q}`+"\n", i, t0.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano))
		if i%1000 == 0 {
			b.WriteString("\n") // blank lines count as lines
		}
	}
	good := b.String()
	h, err := ReadJSONL(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	ops := h.Ops()
	if len(ops) != 20_000 {
		t.Fatalf("%d ops, want 20000", len(ops))
	}
	for i, op := range ops {
		if op.ID != fmt.Sprintf("o-%d", i) {
			t.Fatalf("op %d is %s: out of order", i, op.ID)
		}
	}
	lines := strings.SplitAfter(good, "\n")
	lines[15_000] = "not json\n"
	_, err = ReadJSONL(strings.NewReader(strings.Join(lines, "")))
	if err == nil || !strings.Contains(err.Error(), "line 15001:") {
		t.Fatalf("err = %v, want one naming line 15001", err)
	}
}
