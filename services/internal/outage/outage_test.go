package outage

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// An outage of any length is two lines at info level or above: one when
// it starts, one when it ends; its failures are counted in between.
func TestAnOutageIsTwoLinesAndACount(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics()
	tr := New("database", "outbox relay", slog.New(slog.NewTextHandler(&buf, nil)), m)
	clock := time.Unix(0, 0)
	tr.now = func() time.Time { return clock }

	tr.Succeeded() // up already: nothing to say
	for range 50 {
		tr.Failed(errors.New("dial tcp: connection refused"))
		clock = clock.Add(200 * time.Millisecond)
	}
	if down, since := tr.Down(); !down || !since.Equal(time.Unix(0, 0)) {
		t.Fatalf("down %v since %v", down, since)
	}
	if got := testutil.ToFloat64(m.Up.WithLabelValues("database", "outbox relay")); got != 0 {
		t.Fatalf("up gauge %v during the outage", got)
	}
	tr.Succeeded()
	tr.Succeeded()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "level=WARN") || !strings.Contains(lines[0], "database unavailable") || !strings.Contains(lines[0], "connection refused") {
		t.Errorf("first line %q", lines[0])
	}
	if !strings.Contains(lines[1], "level=INFO") || !strings.Contains(lines[1], "database back") || !strings.Contains(lines[1], "down_for=10s") || !strings.Contains(lines[1], "failures=50") {
		t.Errorf("second line %q", lines[1])
	}
	if got := testutil.ToFloat64(m.Failures.WithLabelValues("database", "outbox relay")); got != 50 {
		t.Errorf("failures counted %v, want 50", got)
	}
	if got := testutil.ToFloat64(m.Up.WithLabelValues("database", "outbox relay")); got != 1 {
		t.Errorf("up gauge %v after recovery", got)
	}
}
