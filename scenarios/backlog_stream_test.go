package scenarios_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

// The stream that the SIGKILL and partition scenarios break mid-way.

// slowInventory makes inventory work through a backlog for seconds: one
// worker applying one message per transaction. A fault that must land
// mid-stream then does on both sides (with batches of 128, 1,000 orders
// take a fraction of a second, and an auto-ack control could finish first).
var slowInventory = stack.Env("inventory", map[string]string{"CONSUMER_WORKERS": "1", "CONSUME_BATCH": "1"})

// streamBacklog builds a backlog of n orders published straight to the
// broker while inventory is paused, lets inventory loose on it, and
// returns once it has applied at least 20: the moment to break it
// mid-stream. It returns how many it saw applied.
func streamBacklog(ctx context.Context, s *stack.Stack, h *history.History, prefix string, n int) int {
	GinkgoHelper()
	inv := s.Replica("inventory", 1)
	By("pausing inventory, so that a backlog builds")
	pause := fault.Pause(s.Docker(), inv.Target())
	Expect(fault.Inject(ctx, h, pause)).To(Succeed())
	By(fmt.Sprintf("publishing %d orders straight to the broker", n))
	load := workload.Orders{Prefix: prefix, Count: n, Concurrency: 4}
	load.Publish(ctx, s.AMQPURL, h, load.Plan(rng()))
	Expect(fault.Heal(ctx, h, pause)).To(Succeed())
	By("waiting until inventory has applied 20 of them")
	processed := 0
	Eventually(ctx, func(g Gomega) {
		done, err := s.Inventory().Processed(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		processed = len(done)
		g.Expect(processed).To(BeNumerically(">=", 20))
	}).WithPolling(10 * time.Millisecond).Should(Succeed())
	return processed
}
