package catalogue

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

func competingConsumers(d *decl) {
	d.Scenario("Competing consumers: replicas share a queue, each unit is applied once", Label("guarantee:exactly-once-effect", "guarantee:competing-consumers", labelSharedInfra), Doc(`Three replicas of the consuming service share its queue: every
unit is applied exactly once across them, and the work is spread
over more than one replica. The units wait in the queue while the
replicas are stopped, and are then worked off together. With the
failpoint after-apply-before-ack, a replica that applied a batch
exits before its ack, as often as the failpoint fires, and is
started again; no replica may apply that batch again.`), Needs("a consuming service; the control needs the failpoint."), func() {
		const units = 150

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) (report.Figures, map[string]int) {
			input := t.anyInput()
			svc, _ := t.consumer(input)
			opts = append(opts, stack.Replicas(svc, 3), t.tuning("spread-work"))
			spec, armed := t.sys.Failpoints["after-apply-before-ack"]
			if armed {
				fp, _ := t.failpoint("after-apply-before-ack")
				opts = append(opts, fp)
			}
			s := t.startStack(ctx, "competing-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			l := t.load("competing-"+side, units)
			l.Concurrency = 6
			stops := stoppedBacklog(ctx, t, s, h, input, svc, l)
			exits := drainSupervised(ctx, t, s, h, svc, spec.ExitCode, stops)
			if armed {
				t.Expect(exits).To(BeNumerically(">", 0), "no %s replica exited at the failpoint", svc)
			}
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)
			spread := obs[effect.Name(t.effectOf(input, svc))].Replicas
			return t.verdict(ctx, "competing consumers", side, s, h, obs, started, []string{input}, describeSpread(spread), fmt.Sprintf("%d exits at the failpoint", exits)), spread
		}

		d.It("holds with durable idempotency", Label("safe"), func(ctx context.Context, t *T) {
			f, byReplica := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, units)
			t.Expect(len(byReplica)).To(BeNumerically(">", 1), "work went to one replica only: %v", byReplica)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught with idempotency kept in each replica's memory (control memory-idempotency)", Label("unsafe"), func(ctx context.Context, t *T) {
			t.failpoint("after-apply-before-ack")
			f, _ := run(ctx, t, "control: memory-idempotency", t.control("memory-idempotency"))
			t.expectCaught(f, "duplicated", f.Duplicated(), units)
		}, SpecTimeout(4*time.Minute))
	})
}

// describeSpread renders effects per replica, e.g. "inventory-1: 52, inventory-2: 49".
func describeSpread(byReplica map[string]int) string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(byReplica)) {
		parts = append(parts, fmt.Sprintf("%s: %d", n, byReplica[n]))
	}
	return strings.Join(parts, ", ")
}
