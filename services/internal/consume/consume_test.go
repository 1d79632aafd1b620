package consume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/metrics"
	"github.com/mqchaos/mqchaos/services/internal/rabbit"
)

func TestClassify(t *testing.T) {
	cases := map[string]struct {
		err  error
		want Class
	}{
		"invalid message":       {fmt.Errorf("decode: %w", contract.ErrInvalid), Permanent},
		"marked permanent":      {fmt.Errorf("x: %w", ErrPermanent), Permanent},
		"check violation":       {&pgconn.PgError{Code: "23514"}, Permanent},
		"data exception":        {&pgconn.PgError{Code: "22001"}, Permanent},
		"serialization failure": {&pgconn.PgError{Code: "40001"}, Transient},
		"admin shutdown":        {&pgconn.PgError{Code: "57P01"}, Transient},
		"timeout":               {context.DeadlineExceeded, Transient},
		"connection refused":    {errors.New("dial tcp: connection refused"), Transient},
	}
	for name, tc := range cases {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify = %s, want %s", name, got, tc.want)
		}
	}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	p := Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 30: time.Second} {
		got := p.Backoff(n)
		if got > want || got < want*8/10 {
			t.Errorf("Backoff(%d) = %s, want within 20%% below %s", n, got, want)
		}
	}
}

// acks records how deliveries were settled.
type acks struct {
	acked, requeued, rejected int
	multiple                  []uint64 // tags acked with multiple set
}

func (a *acks) Ack(tag uint64, multiple bool) error {
	a.acked++
	if multiple {
		a.multiple = append(a.multiple, tag)
	}
	return nil
}
func (a *acks) Nack(_ uint64, _, r bool) error { a.nack(r); return nil }
func (a *acks) Reject(_ uint64, r bool) error  { a.nack(r); return nil }
func (a *acks) nack(requeue bool) {
	if requeue {
		a.requeued++
	} else {
		a.rejected++
	}
}

type publisher struct {
	msgs []rabbit.Message
	err  error
}

func (p *publisher) Publish(_ context.Context, m rabbit.Message) error {
	if p.err != nil {
		return p.err
	}
	p.msgs = append(p.msgs, m)
	return nil
}

// each applies f to every delivery of a batch.
func each(f func(context.Context, amqp.Delivery) error) Func {
	return func(ctx context.Context, ds []amqp.Delivery) []error {
		errs := make([]error, len(ds))
		for i, d := range ds {
			errs[i] = f(ctx, d)
		}
		return errs
	}
}

func newProcessor(policy Policy, pub *publisher) *Processor {
	return &Processor{Queue: "q", Replica: "r-1", Policy: policy, Pub: pub, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New()}
}

func process(t *testing.T, policy Policy, pub *publisher, f func(context.Context, amqp.Delivery) error) *acks {
	t.Helper()
	a := &acks{}
	newProcessor(policy, pub).Handler(each(f))(context.Background(), make(chan struct{}),
		[]amqp.Delivery{{Acknowledger: a, DeliveryTag: 1, MessageId: "m-1", Body: []byte("{}")}})
	return a
}

func TestABatchSettlesEachMessageOnItsOwnMerits(t *testing.T) {
	pub := &publisher{}
	good, bad, flaky := &acks{}, &acks{}, &acks{}
	calls := map[string]int{}
	f := func(_ context.Context, ds []amqp.Delivery) []error {
		errs := make([]error, len(ds))
		for i, d := range ds {
			calls[d.MessageId]++
			switch {
			case d.MessageId == "bad":
				errs[i] = contract.ErrInvalid
			case d.MessageId == "flaky" && calls["flaky"] == 1:
				errs[i] = errors.New("timeout")
			}
		}
		return errs
	}
	newProcessor(fast, pub).Handler(f)(context.Background(), make(chan struct{}), []amqp.Delivery{
		{Acknowledger: good, MessageId: "good"}, {Acknowledger: bad, MessageId: "bad"}, {Acknowledger: flaky, MessageId: "flaky"},
	})
	if good.acked != 1 || calls["good"] != 1 {
		t.Errorf("good: %+v after %d calls", good, calls["good"])
	}
	if bad.acked != 1 || len(pub.msgs) != 1 || pub.msgs[0].Publishing.MessageId != "bad" {
		t.Errorf("bad must be dead-lettered alone: %+v, %d dead letters", bad, len(pub.msgs))
	}
	if flaky.acked != 1 || calls["flaky"] != 2 {
		t.Errorf("flaky must be retried alone and succeed: %+v after %d calls", flaky, calls["flaky"])
	}
}

func TestABatchThatSucceededIsAckedWithOneMultipleAck(t *testing.T) {
	ch := &acks{} // the one channel the batch came from
	p := newProcessor(fast, &publisher{})
	p.Handler(each(func(context.Context, amqp.Delivery) error { return nil }))(context.Background(), make(chan struct{}), []amqp.Delivery{
		{Acknowledger: ch, DeliveryTag: 7}, {Acknowledger: ch, DeliveryTag: 8}, {Acknowledger: ch, DeliveryTag: 9},
	})
	if ch.acked != 1 || len(ch.multiple) != 1 || ch.multiple[0] != 9 {
		t.Fatalf("want one multiple ack of tag 9, got %+v", ch)
	}
	if got := testutil.ToFloat64(p.Metrics.Acked.WithLabelValues("q")); got != 3 {
		t.Fatalf("acked metric %v, want 3", got)
	}
}

func TestABatchWithAFailureIsAckedOneByOne(t *testing.T) {
	// A multiple ack of tag 3 would also ack tag 2, which failed and must
	// go back to the queue.
	ch := &acks{}
	stopped := make(chan struct{})
	close(stopped) // shutting down: the failure is requeued, not retried
	newProcessor(fast, &publisher{}).Handler(each(func(_ context.Context, d amqp.Delivery) error {
		if d.DeliveryTag == 2 {
			return errors.New("database unavailable")
		}
		return nil
	}))(context.Background(), stopped, []amqp.Delivery{
		{Acknowledger: ch, DeliveryTag: 1}, {Acknowledger: ch, DeliveryTag: 2}, {Acknowledger: ch, DeliveryTag: 3},
	})
	if ch.acked != 2 || ch.requeued != 1 || len(ch.multiple) != 0 {
		t.Fatalf("want tags 1 and 3 acked alone and 2 requeued, got %+v", ch)
	}
}

var fast = Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, AttemptTimeout: time.Second}

func TestSuccessIsAcked(t *testing.T) {
	a := process(t, fast, &publisher{}, func(context.Context, amqp.Delivery) error { return nil })
	if a.acked != 1 || a.requeued+a.rejected != 0 {
		t.Fatalf("%+v", a)
	}
}

func TestPermanentFailureIsDeadLetteredAtOnceWithItsReason(t *testing.T) {
	pub := &publisher{}
	calls := 0
	a := process(t, fast, pub, func(context.Context, amqp.Delivery) error {
		calls++
		return fmt.Errorf("decode: %w", contract.ErrInvalid)
	})
	if calls != 1 || a.acked != 1 || len(pub.msgs) != 1 {
		t.Fatalf("calls %d, %+v, %d dead-lettered", calls, a, len(pub.msgs))
	}
	m := pub.msgs[0]
	if m.Exchange != contract.DeadLetterExchange || m.RoutingKey != "q" || m.Publishing.Headers[contract.HeaderErrorClass] != "permanent" ||
		m.Publishing.Headers[contract.HeaderReason] != "decode: invalid message" || m.Publishing.MessageId != "m-1" {
		t.Fatalf("dead letter %+v", m)
	}
}

// A body under a content encoding the consumers do not decode is refused
// by the one decoder every consumer calls, and dead-lettered at once with
// the reason; the copy keeps its encoding.
func TestUnsupportedContentEncodingIsDeadLetteredWithItsReason(t *testing.T) {
	body, err := contract.NewEvent("e-1", contract.TypeOrderPlaced, time.Now(), contract.OrderPlaced{OrderID: "o-1", Item: "widget-a", Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	pub := &publisher{}
	a := &acks{}
	calls := 0
	decode := each(func(_ context.Context, d amqp.Delivery) error {
		calls++
		_, err := contract.DecodeDelivery(d.ContentType, d.ContentEncoding, d.Body, contract.TypeOrderPlaced)
		return err
	})
	newProcessor(fast, pub).Handler(decode)(context.Background(), make(chan struct{}), []amqp.Delivery{
		{Acknowledger: a, DeliveryTag: 1, MessageId: "m-1", ContentType: "application/json", ContentEncoding: "gzip", Body: body},
	})
	if calls != 1 || a.acked != 1 || len(pub.msgs) != 1 {
		t.Fatalf("calls %d, %+v, %d dead-lettered", calls, a, len(pub.msgs))
	}
	m := pub.msgs[0].Publishing
	if m.Headers[contract.HeaderErrorClass] != "permanent" || m.ContentEncoding != "gzip" ||
		!strings.Contains(m.Headers[contract.HeaderReason].(string), `content-encoding "gzip" is not supported`) {
		t.Fatalf("dead letter %+v", m)
	}
}

func TestTransientFailureIsRetriedThenSucceeds(t *testing.T) {
	calls := 0
	a := process(t, fast, &publisher{}, func(context.Context, amqp.Delivery) error {
		calls++
		if calls < 3 {
			return errors.New("database unavailable")
		}
		return nil
	})
	if calls != 3 || a.acked != 1 {
		t.Fatalf("calls %d, %+v", calls, a)
	}
}

// Transient failures are one line when they start and one when the
// handler succeeds again, not a line per attempt.
func TestTransientFailuresAreLoggedOncePerOutage(t *testing.T) {
	var buf bytes.Buffer
	p := newProcessor(Policy{MaxAttempts: 20, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond, AttemptTimeout: time.Second}, &publisher{})
	p.Log = slog.New(slog.NewTextHandler(&buf, nil))
	calls := 0
	a := &acks{}
	p.Handler(each(func(context.Context, amqp.Delivery) error {
		if calls++; calls <= 10 {
			return errors.New("dial tcp: connection refused")
		}
		return nil
	}))(context.Background(), make(chan struct{}), []amqp.Delivery{{Acknowledger: a, DeliveryTag: 1}})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if a.acked != 1 || len(lines) != 2 || !strings.Contains(lines[0], "database unavailable") || !strings.Contains(lines[1], "database back") || !strings.Contains(lines[1], "failures=10") {
		t.Fatalf("%+v; log:\n%s", a, buf.String())
	}
}

// A database outage longer than the retry budget dead-letters nothing:
// while the probe says the database is down, failed attempts are held,
// not counted. Its control (no probe, UNSAFE_COUNT_OUTAGE_RETRIES)
// dead-letters the valid message; a failure while the database is up is
// the message's, and counts; an outage older than OutageBudget counts too.
func TestAnOutageHoldsTheDeliveryInsteadOfSpendingItsRetries(t *testing.T) {
	policy := Policy{MaxAttempts: 3, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond, AttemptTimeout: time.Second, OutageBudget: time.Minute}
	const outage = 20 // failed attempts while the database is down: far more than MaxAttempts
	run := func(policy Policy, probe func(calls int) error) (*acks, *publisher, *Processor, int) {
		pub := &publisher{}
		p := newProcessor(policy, pub)
		calls := 0
		if probe != nil {
			p.Probe = func(context.Context) error { return probe(calls) }
		}
		a := &acks{}
		p.Handler(each(func(context.Context, amqp.Delivery) error {
			if calls++; calls <= outage {
				return errors.New("dial tcp: connection refused")
			}
			return nil
		}))(context.Background(), make(chan struct{}), []amqp.Delivery{{Acknowledger: a, DeliveryTag: 1, MessageId: "m-1"}})
		return a, pub, p, calls
	}
	down := func(calls int) error {
		if calls <= outage {
			return errors.New("database down")
		}
		return nil
	}

	a, pub, p, calls := run(policy, down)
	if a.acked != 1 || len(pub.msgs) != 0 || calls != outage+1 {
		t.Fatalf("held: %+v, %d dead-lettered after %d calls; want acked after the outage", a, len(pub.msgs), calls)
	}
	if got := testutil.ToFloat64(p.Metrics.Held.WithLabelValues("q")); got != outage {
		t.Errorf("held attempts %v, want %d", got, outage)
	}

	a, pub, _, calls = run(policy, nil) // the control
	if len(pub.msgs) != 1 || pub.msgs[0].Publishing.Headers[contract.HeaderErrorClass] != "retries-exhausted" || calls != policy.MaxAttempts {
		t.Fatalf("control: %+v, %d dead-lettered after %d calls; want retries-exhausted after %d", a, len(pub.msgs), calls, policy.MaxAttempts)
	}

	a, pub, _, calls = run(policy, func(int) error { return nil }) // the database answers: the message's failure
	if len(pub.msgs) != 1 || calls != policy.MaxAttempts {
		t.Fatalf("database up: %+v, %d dead-lettered after %d calls", a, len(pub.msgs), calls)
	}

	short := policy
	short.OutageBudget = time.Nanosecond // every outage is older than this
	a, pub, _, calls = run(short, down)
	if len(pub.msgs) != 1 || calls != policy.MaxAttempts {
		t.Fatalf("budget spent: %+v, %d dead-lettered after %d calls", a, len(pub.msgs), calls)
	}
}

// UNSAFE_REDELIVERED_IS_POISON, a planted rare bug: a redelivered
// delivery whose attempt fails is dead-lettered at once, past the outage
// hold. It loses work only when both faults overlap. A first delivery
// during an outage is held as without the switch, a redelivery while the
// database is up is applied, and without the switch a redelivery during
// an outage is held like any other. In a batch the rule applies to each
// failure alone.
func TestRedeliveredIsPoisonLosesWorkOnlyWhenARedeliveryMeetsAnOutage(t *testing.T) {
	const outage = 20 // failed handler calls while the database is down: far more than MaxAttempts
	safe := Policy{MaxAttempts: 3, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond, AttemptTimeout: time.Second, OutageBudget: time.Minute}
	poison := safe
	poison.RedeliveredIsPoison = true
	// run hands ds to a Processor as one batch, the database down for the
	// first down handler calls (0: up all along), and returns how each
	// message was settled, by id, and what was dead-lettered.
	run := func(policy Policy, down int, ds ...amqp.Delivery) (map[string]*acks, map[string]int, []rabbit.Message) {
		pub := &publisher{}
		p := newProcessor(policy, pub)
		total, calls := 0, map[string]int{}
		p.Probe = func(context.Context) error {
			if total <= down {
				return errors.New("database down")
			}
			return nil
		}
		settled := map[string]*acks{}
		for i := range ds {
			settled[ds[i].MessageId] = &acks{}
			ds[i].Acknowledger, ds[i].DeliveryTag = settled[ds[i].MessageId], uint64(i+1)
		}
		p.Handler(each(func(_ context.Context, d amqp.Delivery) error {
			total++
			calls[d.MessageId]++
			if total <= down {
				return errors.New("dial tcp: connection refused")
			}
			return nil
		}))(context.Background(), make(chan struct{}), ds)
		return settled, calls, pub.msgs
	}
	first := amqp.Delivery{MessageId: "first"}
	again := amqp.Delivery{MessageId: "again", Redelivered: true}

	a, calls, dead := run(poison, outage, again)
	if a["again"].acked != 1 || calls["again"] != 1 || len(dead) != 1 {
		t.Errorf("redelivered during the outage: %+v, %d dead-lettered after %d calls; want dead-lettered after 1", a["again"], len(dead), calls["again"])
	} else if h := dead[0].Publishing.Headers; h[contract.HeaderErrorClass] != "redelivered-and-failed" || h[contract.HeaderReason] != "dial tcp: connection refused" || h[contract.HeaderAttempts] != int32(1) {
		t.Errorf("dead letter headers %v", h)
	}

	a, calls, dead = run(poison, outage, first)
	if a["first"].acked != 1 || len(dead) != 0 || calls["first"] != outage+1 {
		t.Errorf("first delivery during the outage: %+v, %d dead-lettered after %d calls; want held, acked after the outage", a["first"], len(dead), calls["first"])
	}

	a, calls, dead = run(safe, outage, again)
	if a["again"].acked != 1 || len(dead) != 0 || calls["again"] != outage+1 {
		t.Errorf("without the switch: %+v, %d dead-lettered after %d calls; want held, acked after the outage", a["again"], len(dead), calls["again"])
	}

	a, calls, dead = run(poison, 0, again)
	if a["again"].acked != 1 || len(dead) != 0 || calls["again"] != 1 {
		t.Errorf("redelivered, database up: %+v, %d dead-lettered after %d calls; want applied", a["again"], len(dead), calls["again"])
	}

	a, _, dead = run(poison, outage, again, first) // a batch: the redelivery fails first, alone
	if a["again"].acked != 1 || a["first"].acked != 1 || len(dead) != 1 || dead[0].Publishing.MessageId != "again" {
		t.Errorf("batch: again %+v, first %+v, dead letters %+v; want again alone dead-lettered", a["again"], a["first"], dead)
	}
}

func TestTransientFailureIsDeadLetteredAfterTheLastAttempt(t *testing.T) {
	pub := &publisher{}
	calls := 0
	a := process(t, fast, pub, func(context.Context, amqp.Delivery) error { calls++; return errors.New("timeout") })
	if calls != fast.MaxAttempts || a.acked != 1 || len(pub.msgs) != 1 || pub.msgs[0].Publishing.Headers[contract.HeaderErrorClass] != "retries-exhausted" {
		t.Fatalf("calls %d, %+v, %+v", calls, a, pub.msgs)
	}
}

func TestUnconfirmedDeadLetterRequeuesTheOriginal(t *testing.T) {
	a := process(t, fast, &publisher{err: rabbit.ErrNotConfirmed}, func(context.Context, amqp.Delivery) error {
		return contract.ErrInvalid
	})
	if a.acked != 0 || a.requeued != 1 {
		t.Fatalf("a dead letter that was not confirmed must not lose the message: %+v", a)
	}
}

func TestUnsafeRequeueForeverNeverDeadLetters(t *testing.T) {
	pub := &publisher{}
	p := fast
	p.RequeueForever = true
	a := process(t, p, pub, func(context.Context, amqp.Delivery) error { return contract.ErrInvalid })
	if a.requeued != 1 || len(pub.msgs) != 0 {
		t.Fatalf("%+v, %d dead-lettered", a, len(pub.msgs))
	}
}

func TestUnsafeAutoAckSettlesNothing(t *testing.T) {
	p := fast
	p.AutoAck = true
	a := process(t, p, &publisher{}, func(context.Context, amqp.Delivery) error { return errors.New("down") })
	if a.acked+a.requeued+a.rejected != 0 {
		t.Fatalf("auto-ack deliveries must not be settled: %+v", a)
	}
}

func TestUnsafeAutoAckLosesEveryDeliveryOfAFailedBatch(t *testing.T) {
	// Under auto-ack a failed attempt is the last: a batch that failed
	// together is not retried one by one, so every delivery a consumer
	// held when its dependency failed is lost, not only one per attempt.
	p := fast
	p.AutoAck = true
	calls := 0
	ch := &acks{}
	newProcessor(p, &publisher{}).Handler(func(_ context.Context, ds []amqp.Delivery) []error {
		calls++
		errs := make([]error, len(ds))
		for i := range ds {
			errs[i] = errors.New("database unavailable")
		}
		return errs
	})(context.Background(), make(chan struct{}), []amqp.Delivery{
		{Acknowledger: ch, DeliveryTag: 1}, {Acknowledger: ch, DeliveryTag: 2}, {Acknowledger: ch, DeliveryTag: 3},
	})
	if calls != 1 || ch.acked+ch.requeued+ch.rejected != 0 {
		t.Fatalf("want one attempt of the batch and nothing settled, got %d attempts, %+v", calls, ch)
	}
}
