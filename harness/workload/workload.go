// Package workload sends units of work into a described system through
// one of its inputs (package system), seeded, paced and concurrent, and
// records every attempt in a history: ok (the system accepted it), fail
// (it certainly did not) or info (unknown).
package workload

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/probe"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Load is a run of units of work.
type Load struct {
	Prefix      string  // unit ids are Prefix-0001, ...
	From        int     // the first unit's number; default 1
	Count       int     // how many
	Rate        float64 // units per second; 0: as fast as Concurrency allows
	Concurrency int     // in flight at once; default 4
	// Open holds Rate open-loop (see pace.go): unit i is due at the run's
	// start plus i/Rate whatever the system answers, its due time is
	// recorded (history.Op.Due), and a unit sent late is sent as soon as
	// a sender is free, never skipped and never pushing the units after
	// it back. Without Open, Rate is closed-loop: a tick that comes while
	// all Concurrency senders wait for answers is dropped, so a slow
	// system silently gets a lower rate than asked.
	Open bool
	// NewConnections sends every HTTP request on a connection of its
	// own, as clients that each come once do, instead of reusing a pool
	// of kept-alive ones.
	NewConnections bool
	// Seed draws the templates' choices: the same seed renders the same
	// units, whatever the concurrency.
	Seed uint64
}

// Units are the load's units, in order.
func (l Load) Units() []system.Unit {
	from := max(l.From, 1)
	out := make([]system.Unit, l.Count)
	for i := range out {
		out[i] = system.Unit{ID: fmt.Sprintf("%s-%04d", l.Prefix, from+i), Seq: from + i}
	}
	return out
}

func (l Load) rng(u system.Unit) *rand.Rand { return rand.New(rand.NewPCG(l.Seed, uint64(u.Seq))) }

// Run sends the load's units through s's input named input, recording each
// attempt in h under the input's name. It blocks until every attempt
// completed or ctx ended.
func Run(ctx context.Context, s *stack.Stack, h *history.History, input string, l Load) error {
	return RunUnits(ctx, s, h, input, l, l.Units())
}

// RunUnits is Run for the given units (a part of a load, or units sent
// again).
func RunUnits(ctx context.Context, s *stack.Stack, h *history.History, input string, l Load, units []system.Unit) error {
	in, ok := s.System.Inputs[input]
	if !ok {
		return fmt.Errorf("send %s: no such input", input)
	}
	if l.Concurrency <= 0 {
		l.Concurrency = 4
	}
	switch {
	case in.HTTP != nil:
		c := httpClient(s.URL(in.HTTP.Service), l.NewConnections)
		defer c.CloseIdleConnections()
		l.run(ctx, units, func(ctx context.Context, u system.Unit, due time.Time) {
			sendHTTP(ctx, c, h, input, in.HTTP, u, due, l.rng(u))
		})
	case in.AMQP != nil:
		var mu sync.Mutex
		var pubs []*broker.Publisher // one per goroutine at a time
		if l.Open && l.Rate > 0 {
			// Connect the senders before the schedule starts, so that no
			// unit is late for a dial.
			pubs = dialAll(ctx, s.AMQPURL, min(l.Concurrency, len(units)))
		}
		l.run(ctx, units, func(ctx context.Context, u system.Unit, due time.Time) {
			mu.Lock()
			var pub *broker.Publisher
			if n := len(pubs); n > 0 {
				pub, pubs = pubs[n-1], pubs[:n-1]
			}
			mu.Unlock()
			pub = publish(ctx, pub, s.AMQPURL, h, input, in.AMQP, u, due, l.rng(u))
			mu.Lock()
			pubs = append(pubs, pub)
			mu.Unlock()
		})
		for _, p := range pubs {
			p.Close()
		}
	}
	return nil
}

// dialAll dials n publishers at once and returns those that connected;
// a sender without one dials when it first publishes.
func dialAll(ctx context.Context, url func(context.Context) (string, error), n int) []*broker.Publisher {
	u, err := url(ctx)
	if err != nil {
		return nil
	}
	pubs := make([]*broker.Publisher, n)
	var wg sync.WaitGroup
	for i := range pubs {
		wg.Go(func() { pubs[i], _ = broker.Dial(ctx, u) })
	}
	wg.Wait()
	return slices.DeleteFunc(pubs, func(p *broker.Publisher) bool { return p == nil })
}

// httpClient is a client whose requests, to http://<service>/..., go to
// the address base gives, looked up each time the client opens a
// connection rather than for each request: a service's port changes
// when its container restarts, and then its kept-alive connections
// break, but a lookup asks Docker, and one per request took four fifths
// of the workload's own time for a request. With newConns every request
// opens a connection of its own, as clients that each come once do. A
// failed lookup fails the request with a *notSent.
func httpClient(base func(context.Context) (string, error), newConns bool) *http.Client {
	t := probe.Transport.Clone()
	t.DisableKeepAlives = newConns
	t.Proxy = nil // the host is a service's name, not one a proxy knows
	dial := t.DialContext
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		u, err := base(ctx)
		if err != nil {
			return nil, &notSent{err}
		}
		return dial(ctx, network, strings.TrimPrefix(u, "http://"))
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: t}
}

// notSent is a request that certainly did not leave: its service's
// address could not be looked up.
type notSent struct{ err error }

func (e *notSent) Error() string { return e.err.Error() }
func (e *notSent) Unwrap() error { return e.err }

// Request renders u as in's HTTP request body, path and headers.
func Request(in *system.HTTPInput, u system.Unit, rng *rand.Rand) (path, body string, headers map[string]string, err error) {
	u = fresh(u)
	if path, err = system.RenderUnit(in.Path, u, rng); err != nil {
		return "", "", nil, fmt.Errorf("path: %w", err)
	}
	if body, err = system.RenderUnit(in.Body, u, rng); err != nil {
		return "", "", nil, fmt.Errorf("body: %w", err)
	}
	headers = map[string]string{}
	for k, v := range in.Headers {
		if headers[k], err = system.RenderUnit(v, u, rng); err != nil {
			return "", "", nil, fmt.Errorf("header %s: %w", k, err)
		}
	}
	return path, body, headers, nil
}

func sendHTTP(ctx context.Context, c *http.Client, h *history.History, kind string, in *system.HTTPInput, u system.Unit, due time.Time, rng *rand.Rand) {
	id := u.ID
	if in.IDFromResponse != "" {
		id = "" // the system makes it
	}
	op := invoke(h, kind, id, due)
	path, body, headers, err := Request(in, u, rng)
	if err != nil {
		h.Complete(op, history.Fail, "not sent: "+err.Error())
		return
	}
	req, err := http.NewRequestWithContext(ctx, in.Method, "http://"+in.Service+path, strings.NewReader(body))
	if err != nil {
		h.Complete(op, history.Fail, "not sent: "+err.Error())
		return
	}
	req.Header.Set("Content-Type", in.ContentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	var ns *notSent
	switch {
	case errors.As(err, &ns):
		h.Complete(op, history.Fail, "not sent: "+ns.Error())
		return
	case err != nil:
		h.Complete(op, history.Info, describe(err))
		return
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	status := fmt.Sprintf("%d", resp.StatusCode)
	switch {
	case err != nil:
		h.Complete(op, history.Info, status+", body unread: "+err.Error())
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if in.IDFromResponse != "" {
			got, err := idFrom(b, in.IDFromResponse)
			if err != nil {
				h.Complete(op, history.Info, status+": "+err.Error())
				return
			}
			id = got
		}
		h.CompleteAs(op, id, history.OK, status)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		h.Complete(op, history.Fail, status+": "+string(bytes.TrimSpace(b[:min(len(b), 200)])))
	default:
		h.Complete(op, history.Info, status+": "+string(bytes.TrimSpace(b[:min(len(b), 200)])))
	}
}

func idFrom(body []byte, path string) (string, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("id from response: %w", err)
	}
	v, _ = system.Lookup(v, path)
	id, ok := v.(string)
	if !ok || id == "" {
		return "", fmt.Errorf("id from response: no string at %q", path)
	}
	return id, nil
}

// Message renders u as in's AMQP message. Publishing the same Message
// twice is a duplicate delivery.
func Message(in *system.AMQPInput, u system.Unit, rng *rand.Rand) (broker.Message, error) {
	u = fresh(u)
	m := broker.Message{Exchange: in.Exchange, Type: in.Type, ContentType: in.ContentType}
	var err error
	if m.RoutingKey, err = system.RenderUnit(in.RoutingKey, u, rng); err != nil {
		return m, fmt.Errorf("routing key: %w", err)
	}
	if m.MessageID, err = system.RenderUnit(in.MessageID, u, rng); err != nil {
		return m, fmt.Errorf("message id: %w", err)
	}
	body, err := system.RenderUnit(in.Body, u, rng)
	if err != nil {
		return m, fmt.Errorf("body: %w", err)
	}
	m.Body = []byte(body)
	if len(in.Headers) > 0 {
		m.Headers = amqp.Table{}
		for k, v := range in.Headers {
			if m.Headers[k], err = system.RenderUnit(v, u, rng); err != nil {
				return m, fmt.Errorf("header %s: %w", k, err)
			}
		}
	}
	return m, nil
}

// Contents is what Message(in, u, rng) would render for u's routing key
// and body, drawing the same choices from rng, but without the fresh
// event id and time: two messages for one unit with equal Contents carry
// the same work.
func Contents(in *system.AMQPInput, u system.Unit, rng *rand.Rand) (string, error) {
	u.EventID, u.Now = "", ""
	key, err := system.RenderUnit(in.RoutingKey, u, rng)
	if err != nil {
		return "", fmt.Errorf("routing key: %w", err)
	}
	if _, err := system.RenderUnit(in.MessageID, u, rng); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	body, err := system.RenderUnit(in.Body, u, rng)
	if err != nil {
		return "", fmt.Errorf("body: %w", err)
	}
	return key + "\n" + body, nil
}

// publish sends u on pub (dialling one when nil) and returns the
// publisher to reuse, or nil after an error. A unit of an input with
// steps is one message per step, each published once the one before it
// is confirmed: ok when every step was confirmed, fail when the first
// certainly was not, info otherwise (some steps are in, the rest may
// not be).
func publish(ctx context.Context, pub *broker.Publisher, url func(context.Context) (string, error), h *history.History, kind string, in *system.AMQPInput, u system.Unit, due time.Time, rng *rand.Rand) *broker.Publisher {
	op := invoke(h, kind, u.ID, due)
	var msgs []broker.Message
	for i := range max(1, len(in.Steps)) {
		step := in.Step(i)
		if i < len(in.Steps) {
			u.Step = in.Steps[i].Name
		}
		msg, err := Message(&step, u, rng)
		if err != nil {
			h.Complete(op, history.Fail, "not sent: "+err.Error())
			return pub
		}
		msgs = append(msgs, msg)
	}
	if pub == nil {
		u, err := url(ctx)
		if err == nil {
			pub, err = broker.Dial(ctx, u)
		}
		if err != nil {
			h.Complete(op, history.Fail, "not sent: "+err.Error())
			return nil
		}
	}
	for i, msg := range msgs {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := pub.Publish(cctx, msg)[0]
		cancel()
		step := ""
		if len(in.Steps) > 0 {
			step = fmt.Sprintf("step %s: ", in.Steps[i].Name)
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, broker.ErrUnroutable) && i == 0:
			h.Complete(op, history.Fail, step+err.Error())
		case errors.Is(err, broker.ErrUnroutable):
			h.Complete(op, history.Info, fmt.Sprintf("%s%v, after %d steps confirmed", step, err, i))
		default:
			pub.Close()
			h.Complete(op, history.Info, step+err.Error())
			return nil
		}
		return pub
	}
	detail := "confirmed"
	if len(in.Steps) > 0 {
		detail = fmt.Sprintf("confirmed %d steps in order", len(in.Steps))
	}
	h.Complete(op, history.OK, detail)
	return pub
}

// fresh gives u a new event id and the current time.
func fresh(u system.Unit) system.Unit {
	u.EventID = newUUID()
	u.Now = time.Now().UTC().Format(time.RFC3339Nano)
	return u
}

func newUUID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// invoke records the start of a unit's operation, with its due time when
// it has one (an open-loop run).
func invoke(h *history.History, kind, id string, due time.Time) int {
	if due.IsZero() {
		return h.Invoke(kind, id)
	}
	return h.InvokeDue(kind, id, due)
}

// run calls do for each unit from Concurrency goroutines, paced at Rate:
// open-loop with Open (do gets each unit's due time), closed-loop
// otherwise (do gets a zero time).
func (l Load) run(ctx context.Context, units []system.Unit, do func(context.Context, system.Unit, time.Time)) {
	if l.Open && l.Rate > 0 {
		runOpen(ctx, schedule{start: time.Now(), rate: l.Rate}, l.Concurrency, units, do)
		return
	}
	next := make(chan system.Unit)
	var wg sync.WaitGroup
	for range l.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range next {
				do(ctx, u, time.Time{})
			}
		}()
	}
	var tick <-chan time.Time
	if l.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / l.Rate))
		defer t.Stop()
		tick = t.C
	}
feed:
	for _, u := range units {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case next <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}

func describe(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout: " + err.Error()
	}
	return err.Error()
}
