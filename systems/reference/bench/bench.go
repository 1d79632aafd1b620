package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/probe"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/services/contract"
	refprobe "github.com/mqchaos/mqchaos/systems/reference/probe"
)

// Sizes are the parameters of a run.
type Sizes struct {
	Raw         int // messages in the raw baseline
	Published   int // orders published straight to the broker, end to end
	HTTP        int // orders placed over HTTP, end to end (latency measured here)
	HTTPClients int // concurrent HTTP clients
	Drain       int // orders in the backlog
	Items       int // distinct items ordered (few items contend on few stock rows)
}

// Shape is how the services use the broker and the database, which the
// baselines mirror: one publisher confirming OutboxBatch messages at a time
// (the relay), and Workers consumers with Prefetch each (one queue's
// workers), each applying up to ConsumeBatch deliveries together.
type Shape struct {
	Prefetch     int // PREFETCH
	Workers      int // CONSUMER_WORKERS
	OutboxBatch  int // OUTBOX_BATCH
	ConsumeBatch int // CONSUME_BATCH
}

// ShapeOf reads the service settings a bench passes to the services, with
// the services' defaults.
func ShapeOf(env map[string]string) (Shape, error) {
	sh := Shape{Prefetch: 512, Workers: 2, OutboxBatch: 256, ConsumeBatch: 128}
	for key, dst := range map[string]*int{"PREFETCH": &sh.Prefetch, "CONSUMER_WORKERS": &sh.Workers, "OUTBOX_BATCH": &sh.OutboxBatch, "CONSUME_BATCH": &sh.ConsumeBatch} {
		if v, ok := env[key]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return sh, fmt.Errorf("%s=%q: want a positive integer", key, v)
			}
			*dst = n
		}
	}
	return sh, nil
}

// Result is what a run reports. The JSON keys are the contract of the
// last line that `make bench` prints.
type Result struct {
	RawMsgsPerSec    float64 `json:"raw_msgs_per_s"`
	RawConsumePerSec float64 `json:"raw_consume_msgs_per_s"`
	E2EOrdersPerSec  float64 `json:"e2e_orders_per_s"`
	// E2EDeliveriesPerSec is the broker's share of the end-to-end run: an
	// order is delivered from four queues (inventory's, notification's two,
	// order-service's), where a raw message is delivered from one.
	E2EDeliveriesPerSec float64 `json:"e2e_deliveries_per_s"`
	HTTPOrdersPerSec    float64 `json:"http_orders_per_s"`
	DrainMsgsPerSec     float64 `json:"drain_msgs_per_s"`
	E2ERatio            float64 `json:"e2e_ratio"`
	DrainRatio          float64 `json:"drain_ratio"`
	// The baselines shaped like the work (see shaped.go, database.go), and
	// the ratios the bar judges.
	PipelineOrdersPerSec float64 `json:"pipeline_orders_per_s"` // an order's hops and fan-out, no database
	RelayMsgsPerSec      float64 `json:"relay_msgs_per_s"`      // the drain's broker work
	DatabaseMsgsPerSec   float64 `json:"db_msgs_per_s"`         // the drain's database work
	E2EShapedRatio       float64 `json:"e2e_shaped_ratio"`      // e2e_orders_per_s / pipeline_orders_per_s
	DrainShapedRatio     float64 `json:"drain_shaped_ratio"`    // drain / the slower of relay and db (no bar since 2026-12-03)
	// WholeMsgsPerSec is the drain's whole work in one hand-written
	// program (whole.go), and DrainWholeRatio the drain against it: the
	// like-for-like comparison the drain's bar judges.
	//
	// DrainMsgsPerSec is timed while notification and order-service
	// consume inventory's results (and their own backlog of the orders)
	// on the same cores; DrainAloneMsgsPerSec with both stopped, so that
	// the drain does what Whole does and nothing else. The bar judges the
	// second.
	WholeMsgsPerSec       float64 `json:"whole_msgs_per_s"`
	DrainAloneMsgsPerSec  float64 `json:"drain_alone_msgs_per_s"`
	DrainWholeRatio       float64 `json:"drain_whole_ratio"`        // drain_alone_msgs_per_s / whole_msgs_per_s
	DrainWholeRatioShared float64 `json:"drain_whole_ratio_shared"` // drain_msgs_per_s / whole_msgs_per_s
	BarsMet               bool    `json:"bars_met"`                 // e2e_shaped_ratio >= 0.7, drain_whole_ratio >= 0.8, every RSS < 50 MiB
	// CPUCores is how many of the machine's cores were busy, on average,
	// in each timed phase (pipeline, e2e, relay, db, drain): broker,
	// database, services and bench together, from /proc/stat.
	CPUCores  map[string]float64 `json:"cpu_cores"`
	P50Ms     float64            `json:"p50_ms"`
	P99Ms     float64            `json:"p99_ms"`
	MaxRSSMiB float64            `json:"max_rss_mib"`
	RSSMiB    map[string]float64 `json:"rss_mib"` // peak per service
	Sizes     Sizes              `json:"sizes"`
}

// The bar: end to end against its shaped baseline, the drain against the
// program that does its whole work, and memory.
const (
	MinShapedRatio = 0.7
	MinWholeRatio  = 0.8
	MaxRSSMiB      = 50
)

// Run measures everything on s, in order: raw baseline, the end-to-end
// pipeline baseline, end to end by publish, end to end over HTTP, the
// drain's relay and database baselines, the whole-drain baseline, backlog
// drain, and the backlog drain with no other service running. With
// profiles set, it writes CPU profiles of the services there (pprof from /debug): each
// service's during the published end to end, inventory's during each drain.
// logf reports progress.
func Run(ctx context.Context, s *stack.Stack, sz Sizes, sh Shape, profiles string, logf func(string, ...any)) (Result, error) {
	res := Result{Sizes: sz, RSSMiB: map[string]float64{}, CPUCores: map[string]float64{}}
	items := make([]string, max(sz.Items, 1))
	for i := range items {
		items[i] = fmt.Sprintf("item-%03d", i)
		if err := refprobe.NewInventory(s.URL("inventory")).SetStock(ctx, items[i], 100_000_000); err != nil {
			return res, fmt.Errorf("stock %s: %w", items[i], err)
		}
	}
	mem := sampleMemory(ctx, s)
	defer func() { res.RSSMiB = mem.stop() }()

	u, err := s.AMQPURL(ctx)
	if err != nil {
		return res, err
	}
	sample, err := refprobe.OrderPlaced(contract.NewID(), "widget-a", 1)
	if err != nil {
		return res, err
	}
	logf("raw baseline: %d persistent %d-byte messages, one publisher confirming per %d, %d consumers with prefetch %d",
		sz.Raw, len(sample.Body), sh.OutboxBatch, sh.Workers, sh.Prefetch)
	raw, err := Raw{URL: u, Messages: sz.Raw, BodyBytes: len(sample.Body), Batch: sh.OutboxBatch, Prefetch: sh.Prefetch, Publishers: 1, Consumers: sh.Workers}.Run(ctx)
	if err != nil {
		return res, fmt.Errorf("raw baseline: %w", err)
	}
	res.RawMsgsPerSec, res.RawConsumePerSec = raw.PipelinePerSec, raw.ConsumePerSec

	logf("pipeline baseline: %d messages, each published twice with confirms and delivered from four quorum queues, no database", sz.Published)
	pipe, err := (Pipeline{URL: u, Messages: sz.Published, BodyBytes: len(sample.Body), Shape: sh}).Run(ctx)
	if err != nil {
		return res, fmt.Errorf("pipeline baseline: %w", err)
	}
	res.PipelineOrdersPerSec, res.CPUCores["pipeline"] = pipe.PerSec, pipe.Cores
	logf("end to end: %d OrderPlaced published until inventory, notification and order-service have processed them", sz.Published)
	stopProfiles := profile(ctx, s, profiles, "e2e", 3*time.Second, s.System.ServiceNames()...)
	e2e, err := publishedE2E(ctx, s, u, sz.Published, items)
	stopProfiles(logf)
	res.E2EOrdersPerSec, res.CPUCores["e2e"] = e2e.PerSec, e2e.Cores
	if err != nil {
		return res, fmt.Errorf("end to end: %w", err)
	}
	logf("end to end over HTTP: %d orders from %d clients", sz.HTTP, sz.HTTPClients)
	var lat []time.Duration
	if res.HTTPOrdersPerSec, lat, err = httpE2E(ctx, s, sz.HTTP, sz.HTTPClients, items); err != nil {
		return res, fmt.Errorf("end to end over HTTP: %w", err)
	}
	res.P50Ms, res.P99Ms = percentile(lat, 0.50), percentile(lat, 0.99)
	logf("relay baseline: a backlog of %d consumed, a result each published with confirms to two queues, then acked", sz.Drain)
	relay, err := (Relay{URL: u, Messages: sz.Drain, BodyBytes: len(sample.Body), Shape: sh}).Run(ctx)
	if err != nil {
		return res, fmt.Errorf("relay baseline: %w", err)
	}
	res.RelayMsgsPerSec, res.CPUCores["relay"] = relay.PerSec, relay.Cores
	dbURL, err := s.DatabaseURL(ctx)
	if err != nil {
		return res, err
	}
	logf("database baseline: %d orders in inventory's transactions, %d to a batch, and its outbox relay's, no broker", sz.Drain, sh.ConsumeBatch)
	db, err := (Database{URL: dbURL, Orders: sz.Drain, Items: items, Shape: sh}).Run(ctx)
	if err != nil {
		return res, fmt.Errorf("database baseline: %w", err)
	}
	res.DatabaseMsgsPerSec, res.CPUCores["db"] = db.PerSec, db.Cores
	logf("whole baseline: %d orders consumed in batches, inventory's transaction, results published with confirms, acked, in one program", sz.Drain)
	whole, err := (Whole{AMQPURL: u, DatabaseURL: dbURL, Orders: sz.Drain, Items: items, Shape: sh}).Run(ctx)
	if err != nil {
		return res, fmt.Errorf("whole baseline: %w", err)
	}
	res.WholeMsgsPerSec, res.CPUCores["whole"] = whole.PerSec, whole.Cores
	logf("backlog drain: %d orders queued with inventory stopped", sz.Drain)
	dr, err := drain(ctx, s, u, sz.Drain, items, nil, profiles, "drain", logf)
	if err != nil {
		return res, fmt.Errorf("drain: %w", err)
	}
	res.DrainMsgsPerSec, res.CPUCores["drain"] = dr.PerSec, dr.Cores
	// Last, as it leaves two services with a backlog: the drain with no
	// other service running, so that it does the whole baseline's work
	// and no more.
	logf("backlog drain alone: %d orders queued with inventory stopped, notification and order-service stopped until it ends", sz.Drain)
	alone, err := drain(ctx, s, u, sz.Drain, items, []string{"notification", "order"}, profiles, "drain-alone", logf)
	if err != nil {
		return res, fmt.Errorf("drain alone: %w", err)
	}
	res.DrainAloneMsgsPerSec, res.CPUCores["drain alone"] = alone.PerSec, alone.Cores
	res.E2EDeliveriesPerSec = deliveriesPerOrder * res.E2EOrdersPerSec
	res.E2ERatio = res.E2EOrdersPerSec / res.RawMsgsPerSec
	res.DrainRatio = res.DrainMsgsPerSec / res.RawConsumePerSec
	res.E2EShapedRatio = res.E2EOrdersPerSec / res.PipelineOrdersPerSec
	res.DrainShapedRatio = res.DrainMsgsPerSec / min(res.RelayMsgsPerSec, res.DatabaseMsgsPerSec)
	res.DrainWholeRatio = res.DrainAloneMsgsPerSec / res.WholeMsgsPerSec
	res.DrainWholeRatioShared = res.DrainMsgsPerSec / res.WholeMsgsPerSec
	res.RSSMiB = mem.stop()
	for _, v := range res.RSSMiB {
		res.MaxRSSMiB = max(res.MaxRSSMiB, v)
	}
	res.BarsMet = res.E2EShapedRatio >= MinShapedRatio && res.DrainWholeRatio >= MinWholeRatio && res.MaxRSSMiB < MaxRSSMiB
	return res, nil
}

// deliveriesPerOrder is how many queues an order passes through end to end.
const deliveriesPerOrder = 4

// ackCounts reads, from one scrape per replica, how often each queue in
// want was acked by the service that consumes it.
func ackCounts(ctx context.Context, s *stack.Stack, want map[[2]string]float64) (map[[2]string]float64, error) {
	got := map[[2]string]float64{}
	scrapes := map[string][]probe.Scrape{}
	for sq := range want {
		if _, ok := scrapes[sq[0]]; ok {
			continue
		}
		for _, r := range s.Replicas(sq[0]) {
			sc, err := probe.NewMetrics(r.URL).Scrape(ctx)
			if err != nil {
				return nil, err
			}
			scrapes[sq[0]] = append(scrapes[sq[0]], sc)
		}
	}
	for sq := range want {
		for _, sc := range scrapes[sq[0]] {
			v, err := sc.Sum("mqchaos_messages_acked_total", `queue="`+sq[1]+`"`)
			if err != nil {
				return nil, err
			}
			got[sq] += v
		}
	}
	return got, nil
}

// waitAcked blocks until every queue in want has been acked at least as
// often as its count, polling every 50 ms.
func waitAcked(ctx context.Context, s *stack.Stack, want map[[2]string]float64) error {
	for {
		got, err := ackCounts(ctx, s, want)
		if err != nil {
			return err
		}
		done := true
		for sq, n := range want {
			done = done && got[sq] >= n
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// targets are the ack counts that mean n more orders went all the way through.
func targets(ctx context.Context, s *stack.Stack, n int) (map[[2]string]float64, error) {
	want := map[[2]string]float64{
		{"inventory", contract.InventoryOrdersQueue}:          float64(n),
		{"notification", contract.NotificationOrdersQueue}:    float64(n),
		{"notification", contract.NotificationInventoryQueue}: float64(n),
		{"order", contract.OrderInventoryQueue}:               float64(n),
	}
	base, err := ackCounts(ctx, s, want)
	if err != nil {
		return nil, err
	}
	for sq := range want {
		want[sq] += base[sq]
	}
	return want, nil
}

func publishedE2E(ctx context.Context, s *stack.Stack, url string, n int, items []string) (Rate, error) {
	want, err := targets(ctx, s, n)
	if err != nil {
		return Rate{}, err
	}
	var cpu cpuWindow
	cpu.begin()
	start := time.Now()
	if err := publishOrders(ctx, url, n, items); err != nil {
		return Rate{}, err
	}
	if err := waitAcked(ctx, s, want); err != nil {
		return Rate{}, err
	}
	return Rate{PerSec: float64(n) / time.Since(start).Seconds(), Cores: cpu.cores()}, nil
}

func httpE2E(ctx context.Context, s *stack.Stack, n, clients int, items []string) (float64, []time.Duration, error) {
	want, err := targets(ctx, s, n)
	if err != nil {
		return 0, nil, err
	}
	prefix := "bench-" + contract.NewID()[:8]
	accepted := make(map[string]time.Time, n)
	var mu sync.Mutex
	next := make(chan int)
	errs := make(chan error, clients)
	u, err := s.Replica("order", 1).URL(ctx) // no fault in this phase: look it up once
	if err != nil {
		return 0, nil, err
	}
	orders := refprobe.NewOrders(probe.At(u))
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id := fmt.Sprintf("%s-%06d", prefix, i)
				if _, _, err := orders.Place(ctx, contract.PlaceOrder{OrderID: id, Item: items[i%len(items)], Quantity: 1}); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				accepted[id] = time.Now()
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, nil, err
	}
	if err := waitAcked(ctx, s, want); err != nil {
		return 0, nil, err
	}
	rate := float64(n) / time.Since(start).Seconds()
	notes, err := refprobe.NewNotifications(s.URL("notification")).List(ctx)
	if err != nil {
		return 0, nil, err
	}
	var lat []time.Duration
	for _, nt := range notes {
		if at, ok := accepted[nt.OrderID]; ok && nt.Kind == contract.KindConfirmed {
			lat = append(lat, nt.CreatedAt.Sub(at))
		}
	}
	if len(lat) != n {
		return 0, nil, fmt.Errorf("%d of %d orders have a confirmation notification", len(lat), n)
	}
	return rate, lat, nil
}

// drain times inventory's backlog from its first delivery, not from its
// start: the clock starts at the last scrape of its consumed count that
// still read zero (at most 10 ms plus a scrape before the first delivery),
// so a consumer's start, the connection and the topology's declaration
// are left out, as they are from the baselines.
//
// The services in quiet are stopped too, before the backlog is queued, and
// started again once it is drained. With profiles set, inventory's CPU
// profile of the drain's first 4 s goes to profiles/<phase>-inventory.pprof.
func drain(ctx context.Context, s *stack.Stack, url string, n int, items []string, quiet []string, profiles, phase string, logf func(string, ...any)) (Rate, error) {
	inv := s.Replica("inventory", 1)
	stop := fault.Stop(s.Engine(), inv.Target(), 5*time.Second)
	if err := stop.Inject(ctx); err != nil {
		return Rate{}, err
	}
	for _, svc := range quiet {
		for _, r := range s.Replicas(svc) {
			f := fault.Stop(s.Engine(), r.Target(), 5*time.Second)
			if err := f.Inject(ctx); err != nil {
				return Rate{}, err
			}
			defer func() {
				if err := f.Heal(context.WithoutCancel(ctx)); err != nil {
					logf("start %s again: %v", r.Name, err)
				}
			}()
		}
	}
	if err := publishOrders(ctx, url, n, items); err != nil {
		return Rate{}, err
	}
	for { // the queue holds the whole backlog (figures lag by seconds)
		q, err := s.Management().Queue(ctx, contract.InventoryOrdersQueue)
		if err != nil {
			return Rate{}, err
		}
		if q.Ready >= n {
			break
		}
		select {
		case <-ctx.Done():
			return Rate{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := stop.Heal(ctx); err != nil {
		return Rate{}, err
	}
	// The restarted replica counts from zero.
	metrics := probe.NewMetrics(inv.URL)
	var start time.Time
	var cpu cpuWindow
	for {
		scraped := time.Now()
		busy, total := cpuJiffies()
		v, err := metrics.Sum(ctx, "mqchaos_messages_consumed_total", `queue="`+contract.InventoryOrdersQueue+`"`)
		if err == nil && v > 0 {
			break
		}
		if err == nil {
			start = scraped
			cpu = cpuWindow{busy: busy, total: total, at: scraped}
		}
		select {
		case <-ctx.Done():
			return Rate{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	stopProfile := profile(ctx, s, profiles, phase, 4*time.Second, "inventory")
	defer stopProfile(logf)
	if err := waitAcked(ctx, s, map[[2]string]float64{{"inventory", contract.InventoryOrdersQueue}: float64(n)}); err != nil {
		return Rate{}, err
	}
	return Rate{PerSec: float64(n) / time.Since(start).Seconds(), Cores: cpu.cores()}, nil
}

// publishOrders publishes n new OrderPlaced events for items, in batches
// of 256 confirmed together (as the outbox relay does).
func publishOrders(ctx context.Context, url string, n int, items []string) error {
	msgs := make([]broker.Message, n)
	for i := range msgs {
		var err error
		if msgs[i], err = refprobe.OrderPlaced(contract.NewID(), items[i%len(items)], 1); err != nil {
			return err
		}
	}
	pub, err := broker.Dial(ctx, url)
	if err != nil {
		return err
	}
	defer pub.Close()
	for i := 0; i < n; i += 256 {
		for _, err := range pub.Publish(ctx, msgs[i:min(i+256, n)]...) {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
}

// memory samples every replica's resident memory every 500 ms.
type memory struct {
	mu     sync.Mutex
	peak   map[string]float64
	cancel func()
	done   chan struct{}
}

func sampleMemory(ctx context.Context, s *stack.Stack) *memory {
	ctx, cancel := context.WithCancel(ctx)
	m := &memory{peak: map[string]float64{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			for _, svc := range s.System.ServiceNames() {
				for _, r := range s.Replicas(svc) {
					v, err := probe.NewMetrics(r.URL).Sum(ctx, "process_resident_memory_bytes")
					if err == nil {
						m.mu.Lock()
						m.peak[svc] = max(m.peak[svc], v/(1<<20))
						m.mu.Unlock()
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return m
}

func (m *memory) stop() map[string]float64 {
	m.cancel()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]float64{}
	for k, v := range m.peak {
		out[k] = v
	}
	return out
}

// Table renders the result for people.
func (r Result) Table() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "measure\tvalue\tbar\t\n")
	fmt.Fprintf(w, "raw broker, publish+consume\t%.0f msgs/s\t\t\n", r.RawMsgsPerSec)
	fmt.Fprintf(w, "raw broker, consume alone\t%.0f msgs/s\t\t\n", r.RawConsumePerSec)
	fmt.Fprintf(w, "baseline: pipeline, an order's hops, no database\t%.0f orders/s\t\t\n", r.PipelineOrdersPerSec)
	fmt.Fprintf(w, "baseline: relay, the drain's broker work\t%.0f msgs/s\t\t\n", r.RelayMsgsPerSec)
	fmt.Fprintf(w, "baseline: database, the drain's transactions\t%.0f msgs/s\t\t\n", r.DatabaseMsgsPerSec)
	fmt.Fprintf(w, "end to end, OrderPlaced published\t%.0f orders/s\t\t\n", r.E2EOrdersPerSec)
	fmt.Fprintf(w, "end to end, broker deliveries (%d per order)\t%.0f msgs/s\t\t\n", deliveriesPerOrder, r.E2EDeliveriesPerSec)
	fmt.Fprintf(w, "end to end, POST /orders\t%.0f orders/s\t\t\n", r.HTTPOrdersPerSec)
	fmt.Fprintf(w, "baseline: whole, the drain's work in one program\t%.0f msgs/s\t\t\n", r.WholeMsgsPerSec)
	fmt.Fprintf(w, "backlog drain, from the first delivery\t%.0f msgs/s\t\t\n", r.DrainMsgsPerSec)
	fmt.Fprintf(w, "backlog drain alone (notification, order-service stopped)\t%.0f msgs/s\t\t\n", r.DrainAloneMsgsPerSec)
	fmt.Fprintf(w, "end to end / raw publish+consume\t%.2f\t\t\n", r.E2ERatio)
	fmt.Fprintf(w, "drain / raw consume\t%.2f\t\t\n", r.DrainRatio)
	fmt.Fprintf(w, "end to end / pipeline\t%.2f\t>= %.1f %s\t\n", r.E2EShapedRatio, MinShapedRatio, pass(r.E2EShapedRatio >= MinShapedRatio))
	fmt.Fprintf(w, "drain / slower of relay and database (old bar)\t%.2f\t\t\n", r.DrainShapedRatio)
	fmt.Fprintf(w, "drain / whole\t%.2f\t\t\n", r.DrainWholeRatioShared)
	fmt.Fprintf(w, "drain alone / whole\t%.2f\t>= %.1f %s\t\n", r.DrainWholeRatio, MinWholeRatio, pass(r.DrainWholeRatio >= MinWholeRatio))
	for _, phase := range []string{"pipeline", "e2e", "relay", "db", "whole", "drain", "drain alone"} {
		if c, ok := r.CPUCores[phase]; ok {
			fmt.Fprintf(w, "cores busy during %s (of the machine's)\t%.2f\t\t\n", phase, c)
		}
	}
	fmt.Fprintf(w, "latency accepted -> confirmed notification\tp50 %.1f ms, p99 %.1f ms\t\t\n", r.P50Ms, r.P99Ms)
	for _, svc := range slices.Sorted(maps.Keys(r.RSSMiB)) {
		fmt.Fprintf(w, "peak RSS %s-service\t%.1f MiB\t< %d %s\t\n", svc, r.RSSMiB[svc], MaxRSSMiB, pass(r.RSSMiB[svc] < MaxRSSMiB))
	}
	w.Flush()
	return b.String()
}

func pass(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// JSON is the one-line machine summary.
func (r Result) JSON() string {
	b, _ := json.Marshal(r)
	return string(b)
}
