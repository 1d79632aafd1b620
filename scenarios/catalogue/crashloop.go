package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/settle"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

// stoppedBacklog stops every replica of svc, sends l through input
// meanwhile, and waits (up to backlogStart) until svc's queues hold a
// message for each unit accepted. Started again, svc finds the whole
// backlog waiting and takes it in batches as large as it takes any, so a
// failpoint after a batch's commit puts that batch at risk, not the one
// unit a trickle would. It returns the stops, still in force, for the
// caller to heal.
func stoppedBacklog(ctx context.Context, t *T, s *stack.Stack, h *history.History, input, svc string, l workload.Load) []fault.Fault {
	var stops []fault.Fault
	for _, r := range s.Replicas(svc) {
		stop := fault.Stop(s.Engine(), r.Target(), 5*time.Second)
		t.inject(ctx, h, stop)
		stops = append(stops, stop)
	}
	t.By(fmt.Sprintf("sending %d units through %s while every replica of %s is stopped", l.Count, input, svc))
	t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed())
	want := len(h.IDs(input, history.OK))
	held := 0
	if !t.Quietly().Eventually(ctx, func(g Gomega) {
		held = 0
		for _, c := range t.sys.Service(svc).Consumes {
			q, err := s.Management().Queue(ctx, c.Queue)
			g.Expect(err).NotTo(HaveOccurred())
			held += q.Ready
		}
		g.Expect(held).To(BeNumerically(">=", want))
	}).WithTimeout(backlogStart).Should(Succeed()) {
		t.By(fmt.Sprintf("%s's queues hold %d messages for %d units accepted after %s; starting it anyway", svc, held, want, backlogStart))
	}
	return stops
}

// superviseExits starts again every replica of svc that exits, as a
// process supervisor would, until the returned stop is called: a
// failpoint with a budget of n then fires n times, or as often as work
// reaches it. Each exit is an event in h; one with a status other than
// code (0: any) fails the spec. stop returns how many exits it saw, and
// leaves every replica started and ready.
func superviseExits(ctx context.Context, t *T, s *stack.Stack, h *history.History, svc string, code int) (stop func() int) {
	sctx, cancel := context.WithCancel(ctx)
	exits := 0
	wait := t.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, r := range s.Replicas(svc) {
				running, err := r.Running(sctx)
				if sctx.Err() != nil {
					return
				}
				t.Expect(err).NotTo(HaveOccurred())
				if running {
					continue
				}
				if code != 0 {
					t.Expect(r.ExitCode(sctx)).To(Equal(code), "exit status of %s", r.Name)
				}
				exits++
				h.Event(history.KindFault, "failpoint "+r.Name, fmt.Sprintf("exited (%d so far); started again", exits))
				err = r.StartAgain(sctx)
				if sctx.Err() != nil {
					return
				}
				t.Expect(err).NotTo(HaveOccurred())
			}
			select {
			case <-sctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	return func() int {
		cancel()
		wait()
		for _, r := range s.Replicas(svc) {
			running, err := r.Running(ctx)
			t.Expect(err).NotTo(HaveOccurred())
			if !running {
				t.Expect(r.StartAgain(ctx)).To(Succeed())
			}
			t.Eventually(ctx, r.Ready).Should(Succeed())
		}
		return exits
	}
}

// drainSupervised heals the stops of a stopped backlog, lets svc work it
// off under superviseExits until every queue is drained, and returns how
// often svc exited on the way, with every replica ready again.
func drainSupervised(ctx context.Context, t *T, s *stack.Stack, h *history.History, svc string, code int, stops []fault.Fault) int {
	t.By("starting " + svc + " on its backlog, and each replica again whenever it exits")
	for _, stop := range stops {
		t.Expect(fault.Heal(ctx, h, stop)).To(Succeed())
	}
	stop := superviseExits(ctx, t, s, h, svc, code)
	t.Eventually(ctx, func() error { return settle.Stack(ctx, s) }).WithTimeout(2 * time.Minute).Should(Succeed())
	exits := stop()
	t.By(fmt.Sprintf("%s worked off its backlog with %d exits", svc, exits))
	return exits
}
