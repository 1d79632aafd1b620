package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mqchaos/mqchaos/services/internal/outage"
	"github.com/mqchaos/mqchaos/services/internal/rabbit"
)

// memStore is an outbox table in memory, on a clock of its own.
type memStore struct {
	pending []Row
	sent    []int64
	now     time.Time
	due     map[int64]time.Time // postponed rows
}

func (s *memStore) Claim(_ context.Context, limit int) ([]Row, func(context.Context, []int64, []Retry) error, error) {
	var rows []Row
	for _, r := range s.pending {
		if len(rows) < limit && !s.due[r.ID].After(s.now) {
			rows = append(rows, r)
		}
	}
	return rows, func(_ context.Context, ids []int64, later []Retry) error {
		s.sent = append(s.sent, ids...)
		s.pending = slices.DeleteFunc(s.pending, func(r Row) bool { return slices.Contains(ids, r.ID) })
		for _, l := range later {
			if s.due == nil {
				s.due = map[int64]time.Time{}
			}
			s.due[l.ID] = s.now.Add(l.After)
			for i := range s.pending {
				if s.pending[i].ID == l.ID {
					s.pending[i].Attempts++
				}
			}
		}
		return nil
	}, nil
}

// flakyPublisher fails the publishes whose message id is in fail, and
// returns those in unroutable as the broker returns a mandatory message
// no queue receives.
type flakyPublisher struct {
	fail, unroutable map[string]bool
	published        []string
}

func (p *flakyPublisher) PublishBatch(_ context.Context, msgs []rabbit.Message) []error {
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		p.published = append(p.published, m.Publishing.MessageId)
		if p.fail[m.Publishing.MessageId] {
			errs[i] = rabbit.ErrNotConfirmed
		}
		if p.unroutable[m.Publishing.MessageId] {
			errs[i] = fmt.Errorf("%w: exchange %q, routing key %q: 312 NO_ROUTE", rabbit.ErrUnroutable, m.Exchange, m.RoutingKey)
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

func (s *failingStore) Claim(ctx context.Context, limit int) ([]Row, func(context.Context, []int64, []Retry) error, error) {
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

// A row the broker returns as unroutable is kept, postponed with a
// growing backoff, and does not hold back the rows behind it, even with
// a batch of one; its cause is logged once when it starts and once when
// it ends, and the broker is not taken for down.
func TestAnUnroutableRowIsKeptAndRetriedWithBackoffWithoutBlockingOthers(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	m := outage.NewMetrics()
	st := &memStore{pending: rows(4), now: time.Unix(1000, 0)}
	st.pending[0].Event.RoutingKey = "nowhere" // no queue bound to it
	pub := &flakyPublisher{unroutable: map[string]bool{"a": true}}
	ob := &Outbox{Store: st, Pub: pub, Log: log, Batch: 1, RetryBase: time.Second, RetryMax: 4 * time.Second,
		Database: outage.New("database", "outbox relay", log, m), Broker: outage.New("broker", "outbox relay", log, m)}
	pass := func() int { n, err := ob.Flush(context.Background()); ob.report(n, err); return n }

	if n := pass(); n != 3 || !slices.Equal(st.sent, []int64{2, 3, 4}) {
		t.Fatalf("sent %d %v: the rows behind an unroutable one must go out", n, st.sent)
	}
	if len(st.pending) != 1 || st.pending[0].Event.ID != "a" || st.pending[0].Attempts != 1 {
		t.Fatalf("pending %+v: the unroutable row must be kept, its attempt counted", st.pending)
	}
	// Not due: not published again on every pass.
	for range 5 {
		pass()
	}
	if got := strings.Count(strings.Join(pub.published, ""), "a"); got != 1 {
		t.Fatalf("published %v: a postponed row was published again before it was due", pub.published)
	}
	// Due after 1s, then 2s, then 4s, then 4s (the cap).
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		st.now = st.now.Add(wait - time.Millisecond)
		pass()
		if got := strings.Count(strings.Join(pub.published, ""), "a"); got != i+1 {
			t.Fatalf("after %s: %d publishes of a, want %d (backoff too short)", wait, got, i+1)
		}
		st.now = st.now.Add(time.Millisecond)
		pass()
		if got := strings.Count(strings.Join(pub.published, ""), "a"); got != i+2 {
			t.Fatalf("after %s: %d publishes of a, want %d (backoff too long)", wait, got, i+2)
		}
	}
	if down, _ := ob.Broker.Down(); down {
		t.Fatal("an unroutable row is not a broker outage")
	}
	// A binding appears: the row goes out at its next attempt.
	pub.unroutable = nil
	st.now = st.now.Add(4 * time.Second)
	if n := pass(); n != 1 || len(st.pending) != 0 {
		t.Fatalf("sent %d, pending %+v once routable", n, st.pending)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "unroutable") || !strings.Contains(lines[0], "routing_key=nowhere") ||
		!strings.Contains(lines[1], "routable again") || !strings.Contains(lines[1], "returns=5") {
		t.Fatalf("want one line when the cause starts and one when it ends, got:\n%s", buf.String())
	}
}
