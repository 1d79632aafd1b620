// Command benchload measures the harness's load generator against a real
// broker (a stack with no services, one durable quorum queue of its own),
// in one run:
//
//  1. Closed loop, as fast as confirms come back: the recorded workload
//     (workload.Run over an AMQP input shaped like the reference system's
//     OrderPlaced, every operation recorded in a history) against a plain
//     amqp091-go confirmed publisher with the same message size, the same
//     confirm window (one message in flight per connection, as the
//     workload's senders publish) and the same number of connections.
//     Rounds alternate plain, recorded, recorded, plain, ... so that a
//     drift of the machine falls on both alike; each side's rate is the
//     mean of its rounds. The target (issue 21): recorded >= 0.8 of plain.
//  2. The same pair over HTTP, against the reference system's order
//     service (its database, the same broker): the recorded workload over
//     the order_http input (POST /orders), every request recorded, against
//     a plain net/http client sending the same requests, rendered
//     beforehand, from as many goroutines over as many kept-alive
//     connections, each waiting for its answer before the next. Each
//     round starts once the order service's outbox has published every
//     order before it, so that neither side pays for the other's.
//     The same target.
//  3. Open loop (workload.Load.Open) at a rate the broker holds (-hold of
//     the plain rate) and at one it cannot (-over times it): asked and
//     achieved rates, units sent late, and latency from the due time next
//     to latency from the send (what a closed-loop sender would report).
//
// It prints tables, then one JSON line.
//
//	go run ./harness/cmd/benchload        # or: make bench-workload
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/harness/workload"
	"github.com/mqchaos/mqchaos/services/contract"
)

// The target: the recorded workload's rate against the plain client's,
// over AMQP and over HTTP.
const minRecordedRatio = 0.8

const (
	queue = "bench.load"
	input = "bench_amqp"
	// httpInput is the reference system's POST /orders; its order
	// service's OrderPlaced events land in ordersQueue.
	httpInput   = "order_http"
	ordersQueue = "bench.orders"
)

type config struct {
	units     int
	httpUnits int
	conns     int
	openConns int
	profile   string
	rounds    int
	hold      float64
	over      float64
	openFor   time.Duration
}

func main() {
	var c config
	flag.IntVar(&c.units, "n", 20000, "messages per closed-loop round, each side")
	flag.IntVar(&c.httpUnits, "http-n", 5000, "requests per HTTP round, each side")
	flag.IntVar(&c.conns, "conns", 8, "connections (the workload's Concurrency) of both pairs, one message or request in flight on each")
	flag.IntVar(&c.openConns, "open-conns", 64, "senders of the open-loop runs: at least the rate times the broker's p99 latency, or the senders hold the rate back")
	flag.StringVar(&c.profile, "cpuprofile", "", "write CPU profiles of the recorded workload's closed-loop rounds to this file, suffixed .amqp.N and .http.N")
	flag.IntVar(&c.rounds, "rounds", 2, "closed-loop rounds of each side")
	flag.Float64Var(&c.hold, "hold", 0.5, "the open-loop rate the broker should hold, as a fraction of the plain rate")
	flag.Float64Var(&c.over, "over", 4, "the open-loop rate it cannot hold, as a multiple of the plain rate")
	flag.DurationVar(&c.openFor, "for", 10*time.Second, "each open-loop run's schedule")
	verbose := flag.Bool("v", false, "show testcontainers' log")
	flag.Parse()
	if !*verbose {
		tclog.SetDefault(log.New(io.Discard, "", 0))
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}

// result is the JSON line's contract.
type result struct {
	PlainPerSec    float64   `json:"plain_msgs_per_s"`
	RecordedPerSec float64   `json:"recorded_msgs_per_s"`
	RecordedRatio  float64   `json:"recorded_ratio"`
	PlainRounds    []float64 `json:"plain_rounds"`
	RecordedRounds []float64 `json:"recorded_rounds"`
	// The HTTP pair: POST /orders to the reference system's order service.
	HTTPPlainPerSec    float64   `json:"http_plain_reqs_per_s"`
	HTTPRecordedPerSec float64   `json:"http_recorded_reqs_per_s"`
	HTTPRecordedRatio  float64   `json:"http_recorded_ratio"`
	HTTPPlainRounds    []float64 `json:"http_plain_rounds"`
	HTTPRecordedRounds []float64 `json:"http_recorded_rounds"`
	BodyBytes          int       `json:"body_bytes"`
	Conns              int       `json:"conns"`
	OpenConns          int       `json:"open_conns"`
	Held               open      `json:"open_held"`
	Over               open      `json:"open_over"`
	TargetMet          bool      `json:"target_met"` // both pairs' ratios
	CPUs               int       `json:"cpus"`
}

// open is one open-loop run's pacing, in milliseconds.
type open struct {
	Asked    float64 `json:"asked_per_s"`
	Achieved float64 `json:"achieved_per_s"`
	Sent     int     `json:"sent"`
	Late     int     `json:"late"`
	MaxLagMs float64 `json:"max_lag_ms"`
	P50Ms    float64 `json:"p50_ms"` // from the due time
	P99Ms    float64 `json:"p99_ms"`
	SentP50  float64 `json:"sent_p50_ms"` // from the send
	SentP99  float64 `json:"sent_p99_ms"`
	Held     bool    `json:"held"`    // the rate asked was achieved
	OnTime   bool    `json:"on_time"` // and no unit was late
}

func run(c config) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	ctx, cancelRun := context.WithTimeout(ctx, 15*time.Minute)
	defer cancelRun()
	for k, v := range stack.TestcontainersDefaults(ctx, os.Getenv) {
		os.Setenv(k, v)
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	sys, err := benchSystem()
	if err != nil {
		return err
	}
	images := stack.ImagesFromEnv(ctx, os.Getenv)
	logf("starting a broker (%s)", images.RabbitMQ)
	s, err := stack.Start(ctx, sys, images, stack.Name("benchload"))
	defer func() {
		tctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.Terminate(tctx); err != nil {
			logf("terminate: %v", err)
		}
	}()
	if err != nil {
		return err
	}
	url, err := s.AMQPURL(ctx)
	if err != nil {
		return err
	}
	purge, closeQueue, err := declare(url)
	if err != nil {
		return err
	}
	defer closeQueue()

	in := sys.Inputs[input].AMQP
	sample, err := workload.Message(in, system.Unit{ID: "bench-00001", Seq: 1}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		return err
	}
	res := result{BodyBytes: len(sample.Body), Conns: c.conns, OpenConns: c.openConns, CPUs: runtime.NumCPU()}

	logf("closed loop: %d rounds of %d messages a side, %d-byte bodies, %d connections with one message in flight each",
		c.rounds, c.units, len(sample.Body), c.conns)
	seq := 0 // units sent so far, so that every unit's id is new
	// recordedSide is a round of the recorded workload: n units through
	// input, named <name><round>-<seq>, profiled into <-cpuprofile>.<name>.<round>.
	recordedSide := func(input, name string, n int, per string) func(int) (float64, error) {
		return func(r int) (float64, error) {
			l := workload.Load{Prefix: fmt.Sprintf("%s%d", name, r), From: seq + 1, Count: n, Concurrency: c.conns, Seed: 1}
			seq += n
			rate, err := recorded(ctx, s, input, l, c.profile, fmt.Sprintf("%s.%d", name, r))
			if err != nil {
				return 0, err
			}
			logf("  recorded workload    %7.0f %s", rate, per)
			return rate, nil
		}
	}
	res.PlainRounds, res.RecordedRounds, err = alternate(c.rounds, purge,
		func(int) (float64, error) {
			rate, err := plain(ctx, url, c.units, c.conns, sample.Body)
			if err != nil {
				return 0, fmt.Errorf("plain publisher: %w", err)
			}
			logf("  plain amqp091-go     %7.0f msgs/s", rate)
			return rate, nil
		},
		recordedSide(input, "amqp", c.units, "msgs/s"))
	if err != nil {
		return err
	}
	res.PlainPerSec, res.RecordedPerSec = mean(res.PlainRounds), mean(res.RecordedRounds)
	res.RecordedRatio = res.RecordedPerSec / res.PlainPerSec

	logf("closed loop over HTTP: %d rounds of %d POST /orders a side, %d connections with one request in flight each",
		c.rounds, c.httpUnits, c.conns)
	base, err := s.URL("order")(ctx) // no fault in this run: look it up once
	if err != nil {
		return err
	}
	httpFrom := seq
	outboxDone := func() error { return waitReady(ctx, s, ordersQueue, seq-httpFrom) } // every order so far
	res.HTTPPlainRounds, res.HTTPRecordedRounds, err = alternate(c.rounds, outboxDone,
		func(r int) (float64, error) {
			l := workload.Load{Prefix: fmt.Sprintf("plainhttp%d", r), From: seq + 1, Count: c.httpUnits, Seed: 1}
			seq += c.httpUnits
			rate, err := plainHTTP(ctx, base, sys.Inputs[httpInput].HTTP, l, c.conns)
			if err != nil {
				return 0, fmt.Errorf("plain HTTP client: %w", err)
			}
			logf("  plain net/http       %7.0f reqs/s", rate)
			return rate, nil
		},
		recordedSide(httpInput, "http", c.httpUnits, "reqs/s"))
	if err != nil {
		return err
	}
	res.HTTPPlainPerSec, res.HTTPRecordedPerSec = mean(res.HTTPPlainRounds), mean(res.HTTPRecordedRounds)
	res.HTTPRecordedRatio = res.HTTPRecordedPerSec / res.HTTPPlainPerSec
	res.TargetMet = res.RecordedRatio >= minRecordedRatio && res.HTTPRecordedRatio >= minRecordedRatio

	for _, o := range []struct {
		name string
		rate float64
		dst  *open
	}{{"held", c.hold * res.PlainPerSec, &res.Held}, {"over", c.over * res.PlainPerSec, &res.Over}} {
		if err := purge(); err != nil {
			return err
		}
		n := int(o.rate * c.openFor.Seconds())
		logf("open loop (%s): %d units at %.0f/s asked, %d senders", o.name, n, o.rate, c.openConns)
		var h history.History
		l := workload.Load{Prefix: "open-" + o.name, From: seq + 1, Count: n, Rate: o.rate, Open: true, Concurrency: c.openConns, Seed: 1}
		seq += n
		if err := workload.Run(ctx, s, &h, input, l); err != nil {
			return fmt.Errorf("open loop %s: %w", o.name, err)
		}
		p := workload.PacingOf(h.Ops(), input)
		*o.dst = open{Asked: p.Asked, Achieved: p.Achieved, Sent: p.Sent, Late: p.Late, MaxLagMs: ms(p.MaxLag),
			P50Ms: ms(p.P50), P99Ms: ms(p.P99), SentP50: ms(p.SentP50), SentP99: ms(p.SentP99), Held: p.Held(), OnTime: p.OnTime()}
	}

	host, _ := os.Hostname()
	fmt.Printf("\nmqchaos benchload on %s (%d cores, %s/%s), %s\n%s\n", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		time.Now().UTC().Format(time.RFC3339), res.table())
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// benchSystem is the reference system's order service (with its
// database) and two of its inputs: POST /orders as it is, and its
// OrderPlaced (the same template, so the same size) published to the
// default exchange straight into the bench's queue.
func benchSystem() (*system.System, error) {
	root, err := stack.ModuleRoot(".")
	if err != nil {
		return nil, err
	}
	ref, err := system.Load(filepath.Join(root, "systems", "reference", "system.yaml"))
	if err != nil {
		return nil, err
	}
	src, ok := ref.Inputs["order_amqp"]
	if !ok || src.AMQP == nil {
		return nil, errors.New("the reference system has no AMQP input order_amqp")
	}
	in := *src.AMQP
	in.Exchange, in.RoutingKey, in.Queues, in.Steps, in.Poison = "", queue, []string{queue}, nil, nil
	if in.MessageID == "" {
		in.MessageID = "{{.EventID}}"
	}
	if in.ContentType == "" {
		in.ContentType = "application/json"
	}
	web, ok := ref.Inputs[httpInput]
	if !ok || web.HTTP == nil {
		return nil, fmt.Errorf("the reference system has no HTTP input %s", httpInput)
	}
	i := slices.IndexFunc(ref.Services, func(s system.Service) bool { return s.Name == web.HTTP.Service })
	if i < 0 {
		return nil, fmt.Errorf("the reference system has no service %s", web.HTTP.Service)
	}
	return &system.System{Name: "benchload", Dir: ref.Dir, Database: ref.Database, Services: ref.Services[i : i+1],
		Inputs: map[string]system.Input{input: {AMQP: &in}, httpInput: web}}, nil
}

// declare declares the bench's durable quorum queues, the AMQP pair's
// and the one the order service's events land in, and returns what
// purges the first and what deletes both.
func declare(url string) (purge func() error, remove func(), err error) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	for _, q := range []string{queue, ordersQueue} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("queue.declare %s: %w", q, err)
		}
	}
	if err := ch.ExchangeDeclare(contract.OrdersExchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("exchange.declare: %w", err)
	}
	if err := ch.QueueBind(ordersQueue, "#", contract.OrdersExchange, false, nil); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("queue.bind: %w", err)
	}
	purge = func() error {
		if _, err := ch.QueuePurge(queue, false); err != nil {
			return fmt.Errorf("queue.purge: %w", err)
		}
		return nil
	}
	remove = func() {
		for _, q := range []string{queue, ordersQueue} {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
		conn.Close()
	}
	return purge, remove, nil
}

// plain publishes n persistent, mandatory messages of body to the queue
// from conns connections, each publishing one message and waiting for
// its confirm before the next: what the workload's senders do, with no
// rendering and no history. It returns messages per second, dials
// included (as the workload's are).
func plain(ctx context.Context, url string, n, conns int, body []byte) (float64, error) {
	return closed(ctx, n, conns, func(ctx context.Context, next <-chan int) error {
		return plainSender(ctx, url, next, body)
	})
}

// closed hands jobs 0 to n-1 to conns senders, each taking the next job
// once it is done with the one before, and returns jobs per second. The
// first sender's error cancels the others' ctx and is returned.
func closed(ctx context.Context, n, conns int, sender func(ctx context.Context, next <-chan int) error) (float64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			if err := sender(ctx, next); err != nil {
				cancel(err)
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func plainSender(ctx context.Context, url string, next <-chan int, body []byte) error {
	conn, err := amqp.Dial(url)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm.select: %w", err)
	}
	for range next {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, true, false, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body,
		})
		if err != nil {
			return fmt.Errorf("basic.publish: %w", err)
		}
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			return errors.Join(errors.New("publish not confirmed"), err)
		}
	}
	return nil
}

// alternate runs rounds of each side, plain, recorded, recorded, plain,
// ..., so that a drift of the machine falls on both alike, calling before
// ahead of each, and returns each side's rates. A side gets the round's
// number.
func alternate(rounds int, before func() error, plain, recorded func(r int) (float64, error)) (plainRates, recordedRates []float64, err error) {
	for r := range 2 * rounds {
		if err := before(); err != nil {
			return nil, nil, err
		}
		side, rates := recorded, &recordedRates
		if r%4 == 0 || r%4 == 3 {
			side, rates = plain, &plainRates
		}
		rate, err := side(r)
		if err != nil {
			return nil, nil, err
		}
		*rates = append(*rates, rate)
	}
	return plainRates, recordedRates, nil
}

// recorded runs l through s's input with workload.Run, every operation
// recorded in a history, profiled into profile.name if profile is set,
// and returns units per second. Every unit must be accepted.
func recorded(ctx context.Context, s *stack.Stack, input string, l workload.Load, profile, name string) (float64, error) {
	var h history.History
	stopProfile, err := startProfile(profile, name)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	err = workload.Run(ctx, s, &h, input, l)
	took := time.Since(start)
	stopProfile()
	if err != nil {
		return 0, fmt.Errorf("recorded workload: %w", err)
	}
	if ok := len(h.IDs(input, history.OK)); ok != l.Count {
		return 0, fmt.Errorf("recorded workload: %d of %d units accepted", ok, l.Count)
	}
	return float64(l.Count) / took.Seconds(), nil
}

// plainHTTP sends l's units as in's requests to base from conns
// goroutines sharing one client that keeps conns connections alive, each
// waiting for its answer before the next: what the workload's HTTP
// senders do, with the requests rendered beforehand (as the workload
// renders them) and no history. It returns requests per second; any
// answer but a 2xx is an error.
func plainHTTP(ctx context.Context, base string, in *system.HTTPInput, l workload.Load, conns int) (float64, error) {
	type request struct {
		path, body string
		headers    map[string]string
	}
	units := l.Units()
	reqs := make([]request, len(units))
	for i, u := range units {
		path, body, headers, err := workload.Request(in, u, rand.New(rand.NewPCG(l.Seed, uint64(u.Seq))))
		if err != nil {
			return 0, err
		}
		reqs[i] = request{path, body, headers}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conns
	defer t.CloseIdleConnections()
	client := &http.Client{Timeout: 10 * time.Second, Transport: t}
	return closed(ctx, len(reqs), conns, func(ctx context.Context, next <-chan int) error {
		for i := range next {
			req, err := http.NewRequestWithContext(ctx, in.Method, base+reqs[i].path, strings.NewReader(reqs[i].body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", in.ContentType)
			for k, v := range reqs[i].headers {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return fmt.Errorf("%s %s: status %d", in.Method, reqs[i].path, resp.StatusCode)
			}
		}
		return nil
	})
}

// waitReady blocks until queue q of s holds at least n messages ready,
// polling the management API (whose figures lag by up to seconds) every
// 100 ms.
func waitReady(ctx context.Context, s *stack.Stack, q string, n int) error {
	for {
		got, err := s.Management().Queue(ctx, q)
		if err != nil {
			return err
		}
		if got.Ready >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %d of %d messages: %w", q, got.Ready, n, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startProfile starts a CPU profile into path.name and returns what
// stops it; with path empty, nothing.
func startProfile(path, name string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path + "." + name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var sum float64
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (r result) table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "closed loop (%d connections, %d-byte bodies)\tmsgs/s\ttarget\t\n", r.Conns, r.BodyBytes)
	fmt.Fprintf(w, "plain amqp091-go confirmed publisher\t%.0f\t\t\n", r.PlainPerSec)
	fmt.Fprintf(w, "recorded workload (history of every op)\t%.0f\t\t\n", r.RecordedPerSec)
	fmt.Fprintf(w, "recorded / plain\t%.2f\t>= %.1f %s\t\n", r.RecordedRatio, minRecordedRatio, passFail(r.RecordedRatio >= minRecordedRatio))
	fmt.Fprintf(w, "\nclosed loop over HTTP (%d connections, POST /orders)\treqs/s\ttarget\t\n", r.Conns)
	fmt.Fprintf(w, "plain net/http client\t%.0f\t\t\n", r.HTTPPlainPerSec)
	fmt.Fprintf(w, "recorded workload (history of every op)\t%.0f\t\t\n", r.HTTPRecordedPerSec)
	fmt.Fprintf(w, "recorded / plain\t%.2f\t>= %.1f %s\t\n", r.HTTPRecordedRatio, minRecordedRatio, passFail(r.HTTPRecordedRatio >= minRecordedRatio))
	w.Flush()
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "\nopen loop (%d senders)\tasked/s\tachieved/s\tsent\tlate\tmax lag ms\tp50/p99 ms from due\tp50/p99 ms from send\theld\ton time\t\n", r.OpenConns)
	for _, o := range []struct {
		name string
		o    open
	}{{"a rate it should hold", r.Held}, {"a rate it cannot", r.Over}} {
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%d\t%d\t%.1f\t%.1f / %.1f\t%.1f / %.1f\t%v\t%v\t\n", o.name, o.o.Asked, o.o.Achieved, o.o.Sent, o.o.Late,
			o.o.MaxLagMs, o.o.P50Ms, o.o.P99Ms, o.o.SentP50, o.o.SentP99, o.o.Held, o.o.OnTime)
	}
	w.Flush()
	return b.String()
}
