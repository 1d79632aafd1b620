package catalogue

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

// refused is how RabbitMQ words a declare of a queue that exists with
// other arguments.
var refused = regexp.MustCompile(`PRECONDITION_FAILED|inequivalent arg`)

func topologyDrift(d *decl) {
	d.Scenario("A queue that exists with other arguments: the service says it is not ready and why, instead of running without a consumer", Label("guarantee:readiness", "fault:broker", labelSharedInfra), Doc(`The most common start-up failure against an existing broker:
the queue a service declares is already there with other
arguments (another type, another dead-letter exchange), left by
an older version or made by hand. The broker refuses the
declare (PRECONDITION_FAILED). The service must stay not ready,
with the broker's reason where its readiness says why, and
consume as soon as an operator removes the stray queue. Control
ignore-topology-errors: the service swallows the error and
reports ready with no consumer on the queue, while units wait.`), Needs("an AMQP input, a service that declares its queue, and an HTTP readiness check."), func() {
		const (
			units = 100
			// drift is how long the stray queue is left in place.
			drift = 10 * time.Second
		)

		type outcome struct {
			ready     bool   // the replica ever reported ready while the queue drifted
			consumers int    // the most consumers the queue had meanwhile
			reason    string // the replica's readiness answer
			f         report.Figures
		}

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) outcome {
			input := t.amqpInput()
			svc, queue := t.consumer(input)
			if t.sys.Service(svc).Ready.HTTP == "" {
				t.Skip(fmt.Sprintf("%s's readiness is not over HTTP: it cannot say why it is not ready", svc))
			}
			s := t.startStack(ctx, "drift-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			r := s.Replica(svc, 1)
			q, err := s.Management().Queue(ctx, queue)
			t.Expect(err).NotTo(HaveOccurred())
			other := map[string]any{"x-queue-type": "classic"}
			if q.Type == "classic" {
				other["x-queue-type"] = "quorum"
			}
			t.By(fmt.Sprintf("stopping %s, and declaring %s again as a %s queue", r.Name, queue, other["x-queue-type"]))
			stop := fault.Stop(s.Engine(), r.Target(), 5*time.Second)
			t.inject(ctx, h, stop)
			t.Expect(s.Management().DeleteQueue(ctx, queue)).To(Succeed())
			t.Expect(s.Management().DeclareQueue(ctx, queue, other)).To(Succeed())
			t.By("starting " + r.Name + " again against it")
			t.Expect(fault.Heal(ctx, h, stop)).To(Succeed())
			var o outcome
			t.By(fmt.Sprintf("watching %s's readiness and %s's consumers for %s", r.Name, queue, drift))
			// Each look goes into the history: the checker judges
			// readiness without a consumer from them (history.KindWatched).
			t.Consistently(ctx, func(g Gomega) {
				began := time.Now()
				ready, answer := r.Ready(ctx) == nil, ""
				if ready {
					o.ready = true
				} else if answer = readyBody(ctx, t, r); answer != "" {
					o.reason = answer
				}
				got, err := s.Management().Queue(ctx, queue)
				g.Expect(err).NotTo(HaveOccurred())
				o.consumers = max(o.consumers, got.Consumers)
				h.Watch(r.Name, history.Watched{Queue: queue, Ready: ready, Consumers: got.Consumers}, answer, began)
			}).WithTimeout(drift).WithPolling(500 * time.Millisecond).Should(Succeed())
			t.By("removing the stray queue, as an operator would")
			fix := fault.DeleteQueue(s.Management(), queue)
			t.inject(ctx, h, fix)
			if !o.ready || o.consumers > 0 {
				t.By(fmt.Sprintf("waiting for %s to declare %s and consume, then publishing %d units", r.Name, queue, units))
				t.Eventually(ctx, func(g Gomega) {
					got, err := s.Management().Queue(ctx, queue)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(got.Exists && got.Consumers > 0).To(BeTrue(), "%s not declared again with a consumer", queue)
				}).WithTimeout(30 * time.Second).Should(Succeed())
				t.Expect(workload.Run(ctx, s, h, input, t.load("drift-"+side, units))).To(Succeed())
			}
			obs := t.settled(ctx, s, 2*time.Second, input)
			o.f = t.verdictWith(ctx, "topology drift", side, s, h, obs, started, []string{input}, measured{},
				fmt.Sprintf("%s declared as %s under %s for %s: ready %t, most consumers %d", queue, other["x-queue-type"], r.Name, drift, o.ready, o.consumers))
			return o
		}

		d.It("holds: not ready, with the broker's reason, until the stray queue is gone", Label("safe"), func(ctx context.Context, t *T) {
			o := run(ctx, t, "safe")
			t.Expect(o.ready).To(BeFalse(), "ready against a queue it could not declare: %s", o.f)
			t.Expect(o.consumers).To(BeZero(), "%s", o.f)
			t.Expect(refused.MatchString(o.reason)).To(BeTrue(), "readiness does not give the broker's reason: %q", o.reason)
			t.expectHeld(o.f)
			t.expectProcessed(o.f, units)
			t.Entry("readiness while refused", o.reason)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when the service swallows the error (control ignore-topology-errors)", Label("unsafe"), func(ctx context.Context, t *T) {
			o := run(ctx, t, "control: ignore-topology-errors", t.control("ignore-topology-errors"))
			t.Expect(brokenBounds(o.f)).NotTo(BeEmpty(), "the control must report ready without a consumer: %s", o.f)
		}, SpecTimeout(4*time.Minute))
	})
}

// readyBody is what r's HTTP readiness check answers, "" if nothing.
func readyBody(ctx context.Context, t *T, r *stack.Replica) string {
	base, err := r.URL(ctx)
	if err != nil {
		return ""
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+t.sys.Service(r.Service).Ready.HTTP, nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return string(b)
}
