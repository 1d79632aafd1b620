package scenarios_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/observe"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
)

// settle waits until every queue is drained, nothing is unacked, and the
// services' state has not changed for quiet; it returns that state.
func settle(ctx context.Context, s *stack.Stack, quiet time.Duration) observe.Snapshot {
	GinkgoHelper()
	By("settling: queues drained, nothing unacked, state unchanged for " + quiet.String())
	var (
		snap  observe.Snapshot
		last  string
		since time.Time
	)
	Eventually(ctx, func(g Gomega) {
		g.Expect(observe.Settled(ctx, s.Management())).To(Succeed())
		cur, err := observe.Take(ctx, s)
		g.Expect(err).NotTo(HaveOccurred())
		if fp := cur.Fingerprint(); fp != last {
			last, since = fp, time.Now()
		}
		snap = cur
		g.Expect(time.Since(since)).To(BeNumerically(">=", quiet), "state still changing: %s", last)
	}).WithTimeout(3 * time.Minute).Should(Succeed())
	return snap
}

// verdict checks the snapshot against the history, records the figures
// (with an optional note, such as a drain rate) for the summary and
// returns them.
func verdict(ctx context.Context, scenario, side string, s *stack.Stack, h *history.History, kind string, snap observe.Snapshot, started time.Time, note ...string) report.Figures {
	GinkgoHelper()
	published := len(h.IDs(kind, history.OK)) + len(h.IDs(kind, history.Info))
	f := report.FromChecks(scenario, side, published, observe.Check(h, kind, snap))
	dl, err := observe.DeadLettered(ctx, s.Management())
	Expect(err).NotTo(HaveOccurred())
	f.DeadLettered = dl
	f.Seconds = time.Since(started).Seconds()
	f.Extra = strings.Join(note, "; ")
	for _, fault := range h.Faults(started) {
		By(fault)
	}
	AddReportEntry(figuresEntry, f, ReportEntryVisibilityFailureOrVerbose)
	return f
}

// expectHeld asserts that nothing was lost, duplicated or unexpected.
func expectHeld(f report.Figures) {
	GinkgoHelper()
	Expect(f.Lost).To(BeZero(), f.Verdict)
	Expect(f.Duplicated).To(BeZero(), f.Verdict)
	Expect(f.Unexpected).To(BeZero(), f.Verdict)
}

// dumpLogs writes the tail of every replica's log to the GinkgoWriter.
func dumpLogs(ctx context.Context, s *stack.Stack) {
	if s == nil {
		return
	}
	for _, svc := range stack.Services {
		for _, r := range s.Replicas(svc) {
			if r.Container == nil {
				continue
			}
			rc, err := r.Container.Logs(ctx)
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			fmt.Fprintf(GinkgoWriter, "--- %s log (tail)\n%s\n", r.Name, b)
		}
	}
}

// describeSpread renders effects per replica, e.g. "inventory-1: 52, inventory-2: 49".
func describeSpread(byReplica map[string]int) string {
	names := make([]string, 0, len(byReplica))
	for n := range byReplica {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s: %d", n, byReplica[n])
	}
	return strings.Join(parts, ", ")
}

// inBackground runs f in a goroutine (failing the spec if it asserts) and
// returns a func that waits for it to finish.
func inBackground(f func()) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		f()
	}()
	return func() { <-done }
}
