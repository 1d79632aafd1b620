package outbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mqchaos/mqchaos/services/internal/outage"
	"github.com/mqchaos/mqchaos/services/internal/rabbit"
)

// memStore is an outbox table in memory.
type memStore struct {
	pending []Row
	sent    []int64
}

func (s *memStore) Claim(_ context.Context, limit int) ([]Row, func(context.Context, []int64) error, error) {
	rows := s.pending[:min(limit, len(s.pending))]
	return rows, func(_ context.Context, ids []int64) error {
		s.sent = append(s.sent, ids...)
		s.pending = slices.DeleteFunc(s.pending, func(r Row) bool { return slices.Contains(ids, r.ID) })
		return nil
	}, nil
}

// flakyPublisher fails the publishes whose message id is in fail.
type flakyPublisher struct {
	fail      map[string]bool
	published []string
}

func (p *flakyPublisher) PublishBatch(_ context.Context, msgs []rabbit.Message) []error {
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		p.published = append(p.published, m.Publishing.MessageId)
		if p.fail[m.Publishing.MessageId] {
			errs[i] = rabbit.ErrNotConfirmed
		}
	}
	return errs
}

func rows(n int) []Row {
	out := make([]Row, n)
	for i := range out {
		id := string(rune('a' + i))
		out[i] = Row{ID: int64(i + 1), Event: Event{ID: id, Type: "T", Exchange: "x", RoutingKey: "k", Body: []byte("{}")}}
	}
	return out
}

func newOutbox(st Store, pub Publisher, batch int) *Outbox {
	return &Outbox{Store: st, Pub: pub, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Batch: batch}
}

func TestFlushMarksConfirmedRowsSent(t *testing.T) {
	st := &memStore{pending: rows(5)}
	pub := &flakyPublisher{}
	n, err := newOutbox(st, pub, 2).Flush(context.Background())
	if err != nil || n != 5 || len(st.pending) != 0 || len(pub.published) != 5 {
		t.Fatalf("sent %d, err %v, %d pending, %d published", n, err, len(st.pending), len(pub.published))
	}
}

func TestUnconfirmedRowsStayPendingAndArePublishedAgain(t *testing.T) {
	st := &memStore{pending: rows(3)}
	pub := &flakyPublisher{fail: map[string]bool{"b": true}}
	ob := newOutbox(st, pub, 10)
	n, err := ob.Flush(context.Background())
	if !errors.Is(err, rabbit.ErrNotConfirmed) || n != 2 || len(st.pending) != 1 || st.pending[0].Event.ID != "b" {
		t.Fatalf("sent %d, err %v, pending %+v", n, err, st.pending)
	}
	pub.fail = nil
	if n, err := ob.Flush(context.Background()); err != nil || n != 1 || len(st.pending) != 0 {
		t.Fatalf("second pass: sent %d, err %v", n, err)
	}
	if !slices.Equal(pub.published, []string{"a", "b", "c", "b"}) {
		t.Fatalf("published %v: the unconfirmed row must be published again", pub.published)
	}
}

func TestBrokerDownMarksNothing(t *testing.T) {
	st := &memStore{pending: rows(2)}
	pub := &flakyPublisher{fail: map[string]bool{"a": true, "b": true}}
	if _, err := newOutbox(st, pub, 10).Flush(context.Background()); err == nil || len(st.sent) != 0 {
		t.Fatalf("err %v, sent %v", err, st.sent)
	}
}

// failingStore fails every Claim while down.
type failingStore struct {
	memStore
	down bool
}

func (s *failingStore) Claim(ctx context.Context, limit int) ([]Row, func(context.Context, []int64) error, error) {
	if s.down {
		return nil, nil, errors.New("dial tcp: connection refused")
	}
	return s.memStore.Claim(ctx, limit)
}

// A database outage under the relay is one line when it starts and one
// when it ends, not a line per pass; the passes are counted.
func TestAnOutageUnderTheRelayIsLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	m := outage.NewMetrics()
	st := &failingStore{memStore: memStore{pending: rows(2)}, down: true}
	pub := &flakyPublisher{}
	ob := &Outbox{Store: st, Pub: pub, Log: log, Batch: 10,
		Database: outage.New("database", "outbox relay", log, m), Broker: outage.New("broker", "outbox relay", log, m)}
	pass := func() { n, err := ob.Flush(context.Background()); ob.report(n, err) }
	for range 25 {
		pass()
	}
	st.down = false
	pass()
	pub.fail = map[string]bool{"c": true}
	st.pending = rows(3)[2:]
	for range 10 {
		pass()
	}
	pub.fail = nil
	pass()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"database unavailable", "database back", "broker unavailable", "broker back"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d %q lacks %q", i, lines[i], w)
		}
	}
	if got := testutil.ToFloat64(m.Failures.WithLabelValues("database", "outbox relay")); got != 25 {
		t.Errorf("database failures %v, want 25", got)
	}
	if got := testutil.ToFloat64(m.Failures.WithLabelValues("broker", "outbox relay")); got != 10 {
		t.Errorf("broker failures %v, want 10", got)
	}
}

func TestStoredWakesTheRelay(t *testing.T) {
	ob := &Outbox{Pub: &flakyPublisher{}}
	if err := ob.Stored(context.Background(), Event{ID: "e1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ob.wakeChan():
	default:
		t.Fatal("the relay was not woken")
	}
}

func TestDirectModePublishesAfterCommitWithoutStoring(t *testing.T) {
	pub := &flakyPublisher{fail: map[string]bool{"e2": true}}
	ob := &Outbox{Pub: pub, Direct: true}
	err := ob.Stored(context.Background(), Event{ID: "e1"}, Event{ID: "e2"})
	if err == nil || !slices.Equal(pub.published, []string{"e1", "e2"}) {
		t.Fatalf("err %v, published %v: both published, the failure reported", err, pub.published)
	}
}
