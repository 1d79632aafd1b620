package catalogue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

// clusterServices runs the whole described system (database and
// services) on a three-node RabbitMQ cluster, its services given every
// node's URL ({{.AMQPURLs}}), and breaks the nodes under a stream of
// units: the node that leads the queue of what the input sends is
// killed, or cut off from the other two, or every node is restarted in
// turn. The services must fail
// over to a live node, declare their topology there and go on, and every
// accepted unit must be applied once.
func clusterServices(d *decl) {
	d.Scenario("Every accepted order is applied once when RabbitMQ's nodes fail, and the services fail over", Label("cluster", "guarantee:no-loss", "guarantee:exactly-once-effect", "guarantee:reconnect", "fault:broker-node"), Doc(`15 units a second over HTTP keep three nodes, PostgreSQL and
three services within two cores.`), func() {
		const (
			rate = 15
			hold = 10 * time.Second
		)

		// The control of both faults is classic-queues: each queue one
		// copy, on the node of the service that declared it. While that
		// node is down what a publisher on another node routes to the
		// queue is confirmed and dropped, and its consumer, failed over,
		// cannot declare it elsewhere; the services open on different
		// nodes (the client starts where its name hashes), so
		// order-service goes on publishing while inventory's queue is
		// down. transient-queues showed no loss (0 of 600 in a trial
		// kill, run while every service still waited for the killed
		// node): its exclusive queues go with their connection and are
		// declared again where the service reconnects, and what is
		// published meanwhile to no queue at all comes back (mandatory)
		// and is sent again by the outbox.
		const unsafeControl = "classic-queues"

		type cluster struct {
			inf    *stack.Infra
			s      *stack.Stack
			formed time.Duration
		}

		// onCluster starts a cluster of three nodes and a database for
		// this spec alone, and the system on it.
		onCluster := func(ctx context.Context, t *T, name string, opts ...stack.Option) cluster {
			var c cluster
			t.By("starting a cluster of three RabbitMQ nodes" + map[bool]string{true: " and a database"}[t.sys.HasDatabase()] + " for this spec alone")
			began := time.Now()
			t.wouldStart()
			inf, err := stack.StartInfra(ctx, t.env.Images, t.env.infraOptions(stack.WithCluster(3), stack.WithDatabase(t.sys.HasDatabase()))...)
			c.formed = time.Since(began)
			t.spent().setup += c.formed
			t.Cleanup(func(ctx context.Context) { t.Expect(inf.Terminate(ctx)).To(Succeed()) })
			t.skipUnsupported(err)
			t.Expect(err).NotTo(HaveOccurred())
			t.Entry("cluster formed", fmt.Sprintf("%.1fs", c.formed.Seconds()))
			t.By(fmt.Sprintf("cluster formed in %.1fs", c.formed.Seconds()))
			c.inf = inf
			c.s = t.start(ctx, name, append([]stack.Option{stack.OnInfra(inf)}, opts...)...)
			return c
		}

		// placements reads where each queue the services consume lives,
		// and says so.
		placements := func(ctx context.Context, t *T, c cluster) map[string]string {
			out := map[string]string{}
			var line []string
			for _, svc := range t.sys.Services {
				for _, q := range svc.Consumes {
					p, err := c.s.Management().Placement(ctx, q.Queue)
					t.Expect(err).NotTo(HaveOccurred())
					out[q.Queue] = p.LeaderNode()
					line = append(line, fmt.Sprintf("%s: %s on %s (members %s)", q.Queue, p.Type, p.LeaderNode(), strings.Join(p.Online, ",")))
				}
			}
			t.Entry("queues", strings.Join(line, "; "))
			t.By("queues: " + strings.Join(line, "; "))
			return out
		}

		// expectReplicated asserts that every quorum queue the services
		// declared has a member online on every node: RabbitMQ's default
		// initial group size is the cluster's size.
		expectReplicated := func(ctx context.Context, t *T, c cluster) {
			for _, svc := range t.sys.Services {
				for _, q := range svc.Consumes {
					p, err := c.s.Management().Placement(ctx, q.Queue)
					t.Expect(err).NotTo(HaveOccurred())
					if p.Type != "quorum" {
						continue
					}
					t.Expect(p.Members).To(HaveLen(len(c.inf.Nodes())), "quorum queue %s must have a member on every node: %+v", q.Queue, p)
					t.Expect(p.Online).To(HaveLen(len(c.inf.Nodes())), "quorum queue %s must have every member online: %+v", q.Queue, p)
				}
			}
		}

		// breakNodes is one of the faults: it breaks the cluster, heals
		// it and returns once the cluster is whole again, with what the
		// broker is known for that it did meanwhile (see rejoin).
		type breakNodes func(ctx context.Context, t *T, c cluster, h *history.History, queue string) (known []string)

		run := func(ctx context.Context, t *T, scenario, side string, units int, breakNodes breakNodes, opts ...stack.Option) report.Figures {
			input := t.httpInput("the services' stream must go on being accepted while the broker's nodes fail")
			_, queue := t.consumer(input)
			c := onCluster(ctx, t, scenario+"-"+side, opts...)
			placements(ctx, t, c)
			if side == "safe" {
				expectReplicated(ctx, t, c)
			}
			h := &history.History{}
			started := time.Now()
			t.By(fmt.Sprintf("streaming %d units through %s at %d per second", units, input, rate))
			l := t.load(scenario+"-"+side, units)
			l.Rate = rate
			loaded := t.Go(func() { t.Expect(workload.Run(ctx, c.s, h, input, l)).To(Succeed()) })
			t.Eventually(ctx, accepted(h, input)).Should(BeNumerically(">=", 10*rate))

			faulted := time.Now()
			known := breakNodes(ctx, t, c, h, queue)
			healed := time.Now()

			t.By("waiting for every replica to be ready again")
			for _, name := range t.sys.ServiceNames() {
				for _, r := range c.s.Replicas(name) {
					t.Eventually(ctx, r.Ready).Should(Succeed(), "%s did not become ready", r.Name)
				}
			}
			placements(ctx, t, c)
			loaded()
			obs := t.settled(ctx, c.s, 2*time.Second, input)

			// The services' failover: the longest stretch without a new
			// effect, from a second before the fault until the end. The
			// input is sent at a steady rate, so a gap is a pause in
			// consumption (or, for the order's own effect, in accepting).
			from := faulted.Add(-time.Second)
			pause, pauses := longestPause(obs, from)
			acceptGap := checker.LongestGap(h.Ops(), input, history.OK, from, healed).Duration()
			f := t.verdictWith(ctx, scenario, side, c.s, h, obs, started, []string{input}, measured{recover: &pause},
				withKnown(fmt.Sprintf("cluster formed in %.1fs; fault from +%.1fs to +%.1fs; longest pause in effects %.1fs (%s); longest gap between accepted units %.1fs",
					c.formed.Seconds(), faulted.Sub(started).Seconds(), healed.Sub(started).Seconds(), pause.Seconds(), pauses, acceptGap.Seconds()), known))
			t.Entry("failover", f.Note)
			return f
		}

		// kill SIGKILLs the node that leads queue (a classic queue's only
		// node), holds it down, starts it again and waits until the
		// three nodes see each other running.
		kill := func(ctx context.Context, t *T, c cluster, h *history.History, queue string) []string {
			m := c.s.Management()
			p, err := m.Placement(ctx, queue)
			t.Expect(err).NotTo(HaveOccurred())
			node := c.inf.NodeNamed(p.LeaderNode())
			t.Expect(node).NotTo(BeNil(), "no node of the cluster is named %q (queue %s: %+v)", p.LeaderNode(), queue, p)
			t.By(fmt.Sprintf("killing %s, where %s queue %s leads", node.Alias, p.Type, queue))
			k := fault.Kill(c.inf.Engine(), node.Target())
			t.inject(ctx, h, k)
			if p.Type == "quorum" {
				t.By("waiting for another node to lead " + queue)
				t.Eventually(ctx, func() (string, error) { return m.Leader(ctx, queue) }).ShouldNot(Equal(node.NodeName))
			}
			t.By(fmt.Sprintf("holding %s down for %s", node.Alias, hold))
			t.Expect(fault.Hold(ctx, hold)).To(Succeed())
			t.By("starting " + node.Alias + " again and waiting until the three nodes see each other running")
			t.Expect(fault.Heal(ctx, h, k)).To(Succeed())
			t.Expect(c.inf.WaitFormed(ctx)).To(Succeed())
			return nil
		}

		// partition cuts the node that leads queue off from the other two
		// (fault.Split: the services still reach every node) until it
		// pauses (pause_minority), which closes its clients' connections:
		// the services on it fail over to the majority. It holds the
		// split, heals it and waits until the cluster is whole again.
		partition := func(ctx context.Context, t *T, c cluster, h *history.History, queue string) []string {
			p, err := c.s.Management().Placement(ctx, queue)
			t.Expect(err).NotTo(HaveOccurred())
			node := c.inf.NodeNamed(p.LeaderNode())
			t.Expect(node).NotTo(BeNil(), "no node of the cluster is named %q (queue %s: %+v)", p.LeaderNode(), queue, p)
			t.By(fmt.Sprintf("cutting %s, where %s queue %s leads, off from the other nodes (the services still reach it)", node.Alias, p.Type, queue))
			var quorum []string
			if p.Type == "quorum" {
				quorum = []string{queue}
			}
			_, _, _, known := cutOff(ctx, t, c.inf, h, node, c.s.Tenant.VHost, quorum, hold)
			return known
		}

		// rolling restarts the three nodes one at a time, each stopped
		// gracefully and started again, the next once the others see it
		// running.
		rolling := func(ctx context.Context, t *T, c cluster, h *history.History, _ string) []string {
			var targets []fault.Target
			for _, n := range c.inf.Nodes() {
				targets = append(targets, n.Target())
			}
			rejoined := func(ctx context.Context, _ fault.Target) error { return c.inf.Formed(ctx) }
			t.By("restarting the three nodes one at a time, each waited for until the others see it running")
			t.inject(ctx, h, fault.RollingRestart(c.inf.Engine(), targets, 10*time.Second, rejoined))
			return nil
		}

		// sides declares a fault's safe side and its control; lostTo says
		// where the control's losses went.
		sides := func(scenario string, units int, breakNodes breakNodes, timeout time.Duration, lostTo string) {
			d.It("holds with quorum queues, each with a member on every node", Label("safe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, scenario, "safe", units, breakNodes)
				t.expectHeld(f)
			}, SpecTimeout(timeout))

			d.It("is caught with classic queues on one node each (control "+unsafeControl+")", Label("unsafe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, scenario, "control: "+unsafeControl, units, breakNodes, t.control(unsafeControl))
				t.Expect(len(f.Lost())).To(BeNumerically(">=", 50), "the control must lose what was routed to %s: %s", lostTo, f)
			}, SpecTimeout(timeout))
		}

		d.When("the node leading the order queue is killed", func() {
			// 40 s at 15 a second.
			sides("cluster node killed", 600, kill, 6*time.Minute, "the killed node's queue")
		})

		d.When("the node leading the order queue is cut off from the other two", func() {
			// 60 s at 15 a second: the cut is seen after about 17 s, the
			// node pauses, the split is held 10 s more, then healed.
			sides("cluster node partitioned", 900, partition, 7*time.Minute, "the cut-off node's queue")
		})

		d.When("the three nodes are restarted one at a time", func() {
			// 100 s at 15 a second: the three restarts took 92 s (each
			// node stopped, started and seen running by the others).
			sides("cluster rolling restart", 1500, rolling, 8*time.Minute, "a restarting node's queue")
		})
	})
}

// longestPause is the longest stretch between successive first
// applications of any effect that tells when it applied (effect.Observed.At)
// from from on, and each such effect's own longest stretch in words.
func longestPause(obs map[string]effect.Observed, from time.Time) (time.Duration, string) {
	var (
		worst time.Duration
		each  []string
	)
	names := make([]string, 0, len(obs))
	for name := range obs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		o := obs[name]
		if o.At == nil {
			continue
		}
		var at []time.Time
		for _, t := range o.At {
			if !t.Before(from) {
				at = append(at, t)
			}
		}
		slices.SortFunc(at, time.Time.Compare)
		var gap time.Duration
		for i := 1; i < len(at); i++ {
			gap = max(gap, at[i].Sub(at[i-1]))
		}
		worst = max(worst, gap)
		each = append(each, fmt.Sprintf("%s %.1fs", name, gap.Seconds()))
	}
	return worst, strings.Join(each, ", ")
}
