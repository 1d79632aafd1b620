// Package consume turns a service's message handler into a rabbit.Handler
// that keeps the delivery guarantees: ack only after the effect committed,
// retry transient failures with backoff, dead-letter permanent failures at
// once and transient ones after the last attempt, with the reason in a
// header, and never stop the consumer.
package consume

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/metrics"
	"github.com/mqchaos/mqchaos/services/internal/outage"
	"github.com/mqchaos/mqchaos/services/internal/rabbit"
)

// Func applies the effects of one or more messages, in one transaction
// where it can. errs[i] is nil once ds[i]'s effect is committed (or was
// committed before), an error wrapping contract.ErrInvalid or ErrPermanent
// for a message that can never succeed, and any other error for a failure
// worth retrying. A message whose batch failed is retried alone.
type Func func(ctx context.Context, ds []amqp.Delivery) (errs []error)

// ErrPermanent marks a failure that retrying cannot fix.
var ErrPermanent = errors.New("permanent failure")

// Class is how a failure is treated.
type Class string

const (
	Permanent Class = "permanent"
	Transient Class = "transient"
)

// Classify tells a permanent failure from a transient one. Invalid
// messages, ErrPermanent and PostgreSQL data and integrity errors (classes
// 22 and 23) are permanent; everything else (timeouts, lost connections,
// a database that is down) is transient.
func Classify(err error) Class {
	if errors.Is(err, contract.ErrInvalid) || errors.Is(err, ErrPermanent) {
		return Permanent
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && len(pg.Code) == 5 && (pg.Code[:2] == "22" || pg.Code[:2] == "23") {
		return Permanent
	}
	return Transient
}

// Policy is how failures are retried.
type Policy struct {
	MaxAttempts    int           // attempts per delivery before dead-lettering
	BaseDelay      time.Duration // backoff before the second attempt; doubles each time
	MaxDelay       time.Duration // backoff cap
	AttemptTimeout time.Duration // deadline of one attempt
	AutoAck        bool          // unsafe: the broker acked on send; nothing to settle
	RequeueForever bool          // unsafe: every failure is requeued, nothing dead-lettered
	// OutageBudget is how long a consumer holds a delivery, without
	// counting its attempts, while Processor.Probe says the dependency is
	// down. Once an outage is older than this, attempts count again and
	// the delivery can be dead-lettered as retries-exhausted. Keep it well
	// under the broker's consumer_timeout (30 minutes by default).
	OutageBudget time.Duration
	// RedeliveredIsPoison (unsafe, UNSAFE_REDELIVERED_IS_POISON): a
	// redelivered delivery whose attempt fails transiently is taken for
	// poison and dead-lettered at once as redelivered-and-failed, neither
	// held through an outage nor retried (a permanent failure stays
	// permanent). In practice it loses valid work only when the broker
	// redelivers during a database outage.
	RedeliveredIsPoison bool
}

// Backoff is the wait before attempt n+1 (n from 1): BaseDelay*2^(n-1),
// capped at MaxDelay, less up to 20% jitter.
func (p Policy) Backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// Publisher sends a dead-lettered copy.
type Publisher interface {
	Publish(ctx context.Context, m rabbit.Message) error
}

// Processor is safe for concurrent use.
type Processor struct {
	Queue   string
	Replica string
	Policy  Policy
	Pub     Publisher
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// Probe, if set, checks the dependency the handler needs (a database
	// ping). After a transient failure, a failing probe means an outage,
	// not a bad message: the delivery is held, its attempt not counted,
	// for up to Policy.OutageBudget. Nil (UNSAFE_COUNT_OUTAGE_RETRIES):
	// every transient failure counts, and an outage longer than the retry
	// budget dead-letters valid messages.
	Probe func(ctx context.Context) error
	// Outage follows the handler's transient failures (the database it
	// needs, in practice): the first of a run is logged, the rest counted,
	// the recovery logged once. Nil: the Processor makes its own.
	Outage *outage.Tracker

	outageOnce sync.Once
}

func (p *Processor) outage() *outage.Tracker {
	p.outageOnce.Do(func() {
		if p.Outage == nil {
			p.Outage = outage.New("database", "consumer "+p.Queue, p.Log, outage.NewMetrics())
		}
	})
	return p.Outage
}

// Handler wraps f. A batch is applied once together. When every message
// of it succeeded, the batch is acked with one multiple ack of its last
// delivery (see rabbit.Handler for why that acks exactly this batch);
// otherwise each success is acked alone and each failure goes through the
// retry policy alone (under AutoAck it is lost, as one failed alone is).
func (p *Processor) Handler(f Func) rabbit.Handler {
	return func(ctx context.Context, stop <-chan struct{}, ds []amqp.Delivery) {
		if len(ds) == 1 {
			p.process(ctx, stop, ds[0], f)
			return
		}
		actx, cancel := context.WithTimeout(ctx, p.Policy.AttemptTimeout)
		errs := f(actx, ds)
		cancel()
		log := p.Log.With("queue", p.Queue)
		if !slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
			p.outage().Succeeded()
			p.ackUpTo(log, ds)
			return
		}
		for i, d := range ds {
			if errs[i] == nil {
				p.ack(log, d)
				continue
			}
			if p.Policy.AutoAck {
				// The batch's attempt was this delivery's attempt too, and
				// under auto-ack a failed attempt cannot be retried: the
				// broker forgot the delivery when it sent it.
				log.Error("message lost: auto-ack already removed it from the queue", "message_id", d.MessageId, "err", errs[i])
				continue
			}
			p.process(ctx, stop, d, f)
		}
	}
}

// process applies one delivery until it succeeds, fails for good, or the
// consumer stops. While the dependency is down (held), attempts do not
// count and the worker takes no other delivery: the consumer is paused.
func (p *Processor) process(ctx context.Context, stop <-chan struct{}, d amqp.Delivery, f Func) {
	log := p.Log.With("queue", p.Queue, "message_id", d.MessageId, "redelivered", d.Redelivered)
	waits := 0
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, p.Policy.AttemptTimeout)
		err := f(actx, []amqp.Delivery{d})[0]
		cancel()
		if err == nil {
			p.outage().Succeeded()
			p.ack(log, d)
			return
		}
		class := Classify(err)
		if class == Transient {
			// Logged once per outage by the tracker, not once per attempt.
			p.outage().Failed(err)
			log.Debug("message failed", "attempt", attempt, "class", class, "err", err)
		} else {
			log.Warn("message failed", "attempt", attempt, "class", class, "err", err)
		}
		switch {
		case p.Policy.AutoAck:
			log.Error("message lost: auto-ack already removed it from the queue", "err", err)
			return
		case p.Policy.RequeueForever:
			p.requeue(log, d)
			return
		case class == Permanent:
			p.deadLetter(ctx, log, d, "permanent", err, attempt)
			return
		case p.Policy.RedeliveredIsPoison && d.Redelivered:
			// The planted bug: "it failed before, it fails again", although
			// the first failure may have been the outage's too.
			p.deadLetter(ctx, log, d, "redelivered-and-failed", err, attempt)
			return
		case p.held(ctx):
			attempt-- // the outage's, not the message's: it does not count
			p.Metrics.Held.WithLabelValues(p.Queue).Inc()
		case attempt >= p.Policy.MaxAttempts:
			p.deadLetter(ctx, log, d, "retries-exhausted", err, attempt)
			return
		}
		p.Metrics.Retried.WithLabelValues(p.Queue).Inc()
		waits++
		select {
		case <-time.After(p.Policy.Backoff(waits)):
		case <-stop:
			p.requeue(log, d)
			return
		case <-ctx.Done():
			p.requeue(log, d)
			return
		}
	}
}

// held reports whether a transient failure is an outage to wait out: the
// probe fails, and the outage is younger than the budget.
func (p *Processor) held(ctx context.Context) bool {
	if p.Probe == nil || p.Policy.OutageBudget <= 0 {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, min(p.Policy.AttemptTimeout, time.Second))
	defer cancel()
	if p.Probe(pctx) == nil {
		return false
	}
	down, since := p.outage().Down()
	return down && time.Since(since) < p.Policy.OutageBudget
}

func (p *Processor) ack(log *slog.Logger, d amqp.Delivery) {
	if p.Policy.AutoAck {
		return
	}
	if err := d.Ack(false); err != nil {
		log.Warn("basic.ack failed; the broker will redeliver", "err", err)
		return
	}
	p.Metrics.Acked.WithLabelValues(p.Queue).Inc()
}

// ackUpTo acks every delivery of ds, in tag order on one channel, with one
// multiple ack of the last.
func (p *Processor) ackUpTo(log *slog.Logger, ds []amqp.Delivery) {
	if p.Policy.AutoAck {
		return
	}
	if err := ds[len(ds)-1].Ack(true); err != nil {
		log.Warn("basic.ack failed; the broker will redeliver", "err", err, "deliveries", len(ds))
		return
	}
	p.Metrics.Acked.WithLabelValues(p.Queue).Add(float64(len(ds)))
}

// requeue returns d to its queue with basic.nack, not basic.reject: from
// RabbitMQ 4.3 a nack does not count toward a quorum queue's delivery
// limit, and none of these returns is the message's fault (a consumer
// stopping, a dead-letter copy the broker did not confirm, or the
// requeue-forever control, whose queues have no limit). Failures that
// count are retried here and dead-lettered by the service itself.
func (p *Processor) requeue(log *slog.Logger, d amqp.Delivery) {
	if err := d.Nack(false, true); err != nil {
		log.Warn("basic.nack failed; the broker will redeliver", "err", err)
		return
	}
	p.Metrics.Rejected.WithLabelValues(p.Queue).Inc()
}

// deadLetter publishes a copy with the reason to the dead-letter exchange,
// waits for its confirm, then acks the original. If the copy is not
// confirmed the original is requeued, so nothing is lost.
func (p *Processor) deadLetter(ctx context.Context, log *slog.Logger, d amqp.Delivery, class string, cause error, attempts int) {
	headers := amqp.Table{}
	for k, v := range d.Headers {
		headers[k] = v
	}
	headers[contract.HeaderReason] = cause.Error()
	headers[contract.HeaderErrorClass] = class
	headers[contract.HeaderSourceQueue] = p.Queue
	headers[contract.HeaderAttempts] = int32(attempts)
	headers[contract.HeaderReplica] = p.Replica
	err := p.Pub.Publish(ctx, rabbit.Message{
		Exchange:   contract.DeadLetterExchange,
		RoutingKey: p.Queue,
		Publishing: amqp.Publishing{
			Headers: headers, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding, MessageId: d.MessageId,
			Type: d.Type, Timestamp: d.Timestamp, Body: d.Body,
		},
	})
	if err != nil {
		log.Error("dead-letter publish failed; requeueing", "err", err)
		p.requeue(log, d)
		return
	}
	p.Metrics.DeadLettered.WithLabelValues(p.Queue, class).Inc()
	log.Warn("message dead-lettered", "class", class, "reason", cause.Error(), "attempts", attempts)
	p.ack(log, d)
}
