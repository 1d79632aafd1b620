package catalogue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/queueload"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

// clusterLoad is the run skeleton the broker-level cluster scenarios
// share: a cluster of three started for one spec alone, the harness's
// queue workload on it (confirmed publishers, manual-ack consumers), the
// drain once the fault is healed, and the total-queue verdict with its
// figures. What a scenario does to the cluster between Start and Drain
// is its own.
type clusterLoad struct {
	inf     *stack.Infra
	h       *history.History
	wl      *queueload.Run
	q       queueload.Queue
	started time.Time
	formed  time.Duration
	// known is what went wrong in the broker that it is known for, and
	// what was done about it (see rejoin), for the figures' note.
	known []string
}

// Cluster scenarios' load, sized for two cores.
const (
	clusterRate        = 50 // publishes per second, two publishers together
	clusterConsumeRate = 25 // deliveries per second until the drain: a backlog builds
)

// startClusterLoad starts a cluster of three for this spec alone and the
// queue workload on q, named after prefix; pin, if given, changes the
// workload's configuration (e.g. each client's own nodes) once the
// cluster is up.
func startClusterLoad(ctx context.Context, t *T, prefix string, q queueload.Queue, pin func(*stack.Infra, *queueload.Config)) *clusterLoad {
	c := &clusterLoad{h: &history.History{}, q: q, started: time.Now()}
	t.By("starting a cluster of three RabbitMQ nodes for this spec alone")
	t.wouldStart()
	inf, err := stack.StartInfra(ctx, t.env.Images, t.env.infraOptions(stack.WithCluster(3))...)
	c.inf = inf
	c.formed = time.Since(c.started)
	t.spent().setup += c.formed
	t.Cleanup(func(ctx context.Context) { t.Expect(inf.Terminate(ctx)).To(Succeed()) })
	// Runs before the Terminate above: a failed run keeps what the
	// nodes said, for the reason (a node that never rejoined, say).
	t.Cleanup(func(ctx context.Context) { keepNodeLogs(ctx, t, inf) })
	t.skipUnsupported(err)
	t.Expect(err).NotTo(HaveOccurred())
	t.Entry("cluster formed", fmt.Sprintf("%.1fs", c.formed.Seconds()))
	t.By(fmt.Sprintf("cluster formed in %.1fs", c.formed.Seconds()))

	cfg := queueload.Config{
		URLs:  func(ctx context.Context) ([]string, error) { return inf.AMQPURLs(ctx, "/") },
		Queue: q, Prefix: report.Slug(prefix), Rate: clusterRate, ConsumeRate: clusterConsumeRate,
	}
	if pin != nil {
		pin(inf, &cfg)
	}
	t.By(fmt.Sprintf("publishing %d confirmed messages a second to %s queue %s, consuming %d a second", clusterRate, q.Args["x-queue-type"], q.Name, clusterConsumeRate))
	c.wl, err = queueload.Start(ctx, c.h, cfg)
	t.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func(context.Context) { c.wl.Stop() })
	return c
}

// leader waits until at least n publishes are confirmed, then returns the
// node that leads the queue; a quorum queue must have a member online on
// each of the three nodes.
func (c *clusterLoad) leader(ctx context.Context, t *T, n int) *stack.Node {
	t.Eventually(ctx, accepted(c.h, queueload.KindEnqueue)).Should(BeNumerically(">=", n))
	placement, err := c.inf.Management("/").Placement(ctx, c.q.Name)
	t.Expect(err).NotTo(HaveOccurred())
	if c.q.Args["x-queue-type"] == "quorum" {
		t.Expect(placement.Online).To(HaveLen(3), "the quorum queue must have a member on every node: %+v", placement)
	}
	leader := c.inf.NodeNamed(placement.LeaderNode())
	t.Expect(leader).NotTo(BeNil(), "no node of the cluster is named %q", placement.LeaderNode())
	return leader
}

// cutOff cuts node off from the other nodes under the load, as the
// package's cutOff does (its quorum queue waited for, if it is one), and
// keeps what the broker is known for that it did meanwhile for the
// figures' note.
func (c *clusterLoad) cutOff(ctx context.Context, t *T, node *stack.Node, hold time.Duration) (cut, healing, rejoined time.Time) {
	t.By(fmt.Sprintf("cutting %s off from the other nodes (clients still reach it), with %d confirmed and %d delivered", node.Alias, accepted(c.h, queueload.KindEnqueue)(), c.wl.Deliveries()))
	var quorum []string
	if c.q.Args["x-queue-type"] == "quorum" {
		quorum = []string{c.q.Name}
	}
	cut, healing, rejoined, known := cutOff(ctx, t, c.inf, c.h, node, "/", quorum, hold)
	c.known = append(c.known, known...)
	return cut, healing, rejoined
}

// drain waits for a second's worth of new confirms (the cluster works
// again), stops the publishers, drains the queue at full speed until it
// is empty and no delivery came for 3 s, and judges the history as
// Jepsen's total-queue checker does.
func (c *clusterLoad) drain(ctx context.Context, t *T) ([]history.Op, checker.Result) {
	t.Eventually(ctx, accepted(c.h, queueload.KindEnqueue)).Should(BeNumerically(">=", accepted(c.h, queueload.KindEnqueue)()+clusterRate))
	t.By("stopping the publishers and draining the queue at full speed")
	settleBegan := time.Now()
	c.wl.StopPublishing()
	c.wl.FullSpeed()
	m := c.inf.Management("/")
	t.Eventually(ctx, func(g Gomega) {
		qs, err := m.Queue(ctx, c.q.Name)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(qs.Exists).To(BeTrue(), "queue %s is gone", c.q.Name)
		g.Expect(qs.Messages).To(BeZero(), "queue %s still holds %d", c.q.Name, qs.Messages)
		g.Expect(c.wl.Idle()).To(BeNumerically(">=", 3*time.Second), "deliveries still coming")
	}).WithTimeout(2 * time.Minute).Should(Succeed())
	c.wl.Stop()
	t.spent().settle += time.Since(settleBegan)
	ops := c.h.Ops()
	return ops, checker.TotalQueue(ops, queueload.KindEnqueue, queueload.KindDequeue, "queue "+c.q.Name)
}

// record fills in the figures' common parts (the verdict without the
// duplicates, which at-least-once delivery allows and the note carries;
// the broker's release; sent; time; history), reports them with the verdict, and the
// publishes' outcomes relative to at (the fault).
func (c *clusterLoad) record(ctx context.Context, t *T, f report.Figures, check checker.Result, at time.Time, checkBegan time.Time) report.Figures {
	shown := check
	shown.Duplicated = nil
	shown.Service = "queue " + c.q.Name + " (total-queue)"
	f.System = "RabbitMQ cluster of 3 (broker alone)"
	f.Broker = t.brokerVersion(ctx, c.inf.Management("/"))
	f.Input = queueload.KindEnqueue
	f.Sent = check.Attempted
	f.Checks = []checker.Result{shown}
	f.Note = withKnown(f.Note, c.known)
	f.Seconds = time.Since(c.started).Seconds()
	t.spent().check += time.Since(checkBegan)
	f.Phases = t.recordTime()
	t.keepUnjudged(c.h, &f, "a cluster's verdict is drawn by clusterLoad.record from checker.TotalQueue, not from reads of effects", c.started)
	t.recordFigures(f)
	t.Entry("total-queue", check.String())
	t.Println(f.String())
	t.Println(check.String())
	t.Entry("publishes", outcomes(c.h.Ops(), queueload.KindEnqueue, at))
	for _, fl := range c.h.Faults(c.started) {
		t.By(fl)
	}
	return f
}

// keepNodeLogs writes every node's log to reports/logs when the spec
// failed, and says where.
func keepNodeLogs(ctx context.Context, t *T, inf *stack.Infra) {
	if !t.rt.Failed() {
		return
	}
	dir := filepath.Join(t.env.Reports, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Printf("node logs not kept: %v\n", err)
		return
	}
	for _, n := range inf.Nodes() {
		b, err := n.Logs(ctx)
		if err != nil {
			t.Printf("node logs not kept: %v\n", err)
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("%s-%s.log", inf.ID, n.Alias))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Printf("node logs not kept: %v\n", err)
			continue
		}
		t.Entry("node log", path)
	}
}

// withKnown is note with what the broker is known for that it did during
// the run (see rejoin), if anything.
func withKnown(note string, known []string) string {
	if len(known) == 0 {
		return note
	}
	return note + "; " + strings.Join(known, "; ")
}
