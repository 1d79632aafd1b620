package catalogue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/effect"
	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func duplicateDelivery(d *decl) {
	d.Scenario("Duplicate delivery: a message delivered again takes effect once", Label("guarantee:exactly-once-effect", "guarantee:idempotency", labelSharedInfra), Doc(`The same message published twice, and one published 25 times at
once, has each effect once; so does a message delivered again
after its consumer restarted, when only durable state can tell
it was seen. Where the HTTP input carries the harness's id, one
request sent 20 times at once has its effects once too.`), Needs("an AMQP input."), func() {
		const (
			units  = 30
			copies = 25
			posts  = 20
		)

		// publish sends msg as unit id's operation of input.
		publish := func(ctx context.Context, t *T, s *stack.Stack, h *history.History, input, id string, msg broker.Message) {
			op := h.Invoke(input, id)
			u, err := s.AMQPURL(ctx)
			t.Expect(err).NotTo(HaveOccurred())
			if err := broker.PublishOnce(ctx, u, msg); err != nil {
				h.Complete(op, history.Info, err.Error())
				return
			}
			h.Complete(op, history.OK, "confirmed")
		}

		messages := func(t *T, input string, l workload.Load) ([]system.Unit, []broker.Message) {
			units := l.Units()
			msgs := make([]broker.Message, len(units))
			r := t.rng()
			for i, u := range units {
				m, err := workload.Message(t.sys.Inputs[input].AMQP, u, r)
				t.Expect(err).NotTo(HaveOccurred())
				msgs[i] = m
			}
			return units, msgs
		}

		d.When("a message is delivered twice in a row", func() {
			run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
				input := t.amqpInput()
				s := t.startStack(ctx, "duplicates-"+side, opts...)
				h := &history.History{}
				started := time.Now()
				us, msgs := messages(t, input, t.load("dup-"+side, units+1))
				t.By(fmt.Sprintf("publishing %d messages through %s, then each of them again", units, input))
				for range 2 {
					for i := range units {
						publish(ctx, t, s, h, input, us[i].ID, msgs[i])
					}
				}
				t.By(fmt.Sprintf("publishing one more message %d times concurrently", copies))
				// Each wait is called here, on the spec's goroutine: it ends
				// the spec when its goroutine failed.
				var waits []func()
				for range copies {
					waits = append(waits, t.Go(func() { publish(ctx, t, s, h, input, us[units].ID, msgs[units]) }))
				}
				for _, wait := range waits {
					wait()
				}
				inputs := []string{input}
				note := ""
				if https := t.sys.InputNames("http"); len(https) > 0 && t.sys.Inputs[https[0]].HTTP.IDFromResponse == "" {
					t.By(fmt.Sprintf("sending one unit %d times at once through %s, with the same id", posts, https[0]))
					one := t.load("dup-http-"+side, 1)
					waits = waits[:0]
					for range posts {
						waits = append(waits, t.Go(func() { t.Expect(workload.Run(ctx, s, h, https[0], one)).To(Succeed()) }))
					}
					for _, wait := range waits {
						wait()
					}
					inputs = append(inputs, https[0])
					note = fmt.Sprintf("and 1 unit sent %d times through %s", posts, https[0])
				}
				obs := t.settled(ctx, s, 1500*time.Millisecond, inputs...)
				return t.verdict(ctx, "duplicate delivery", side, s, h, obs, started, inputs, note)
			}

			d.It("holds with durable idempotency", Label("safe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, "safe")
				t.expectHeld(f)
				for _, c := range f.Checks {
					t.Expect(c.Processed).To(Equal(c.Accepted), "%s: %s", c.Service, f)
				}
			}, SpecTimeout(4*time.Minute))

			d.It("is caught without idempotency (control no-idempotency)", Label("unsafe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, "control: no-idempotency", t.control("no-idempotency"))
				t.Expect(len(f.Duplicated())).To(BeNumerically(">=", units), "the control must report duplicated effects: %s", f)
			}, SpecTimeout(4*time.Minute))
		})

		d.When("a unit is sent again as a new message, with a new event id and other contents", func() {
			// The first message for a unit wins everywhere: a later one
			// for the same id (a client's retry that built a new event,
			// perhaps with another quantity) has no second effect. run
			// returns the units whose second message carried other
			// contents.
			run := func(ctx context.Context, t *T, side string, opts ...stack.Option) (report.Figures, *stack.Stack, []string) {
				input := t.amqpInput()
				s := t.startStack(ctx, "resent-"+side, opts...)
				h := &history.History{}
				started := time.Now()
				l := t.load("resent-"+side, units)
				in := t.sys.Inputs[input].AMQP
				// Each unit's messages draw from a seed of their own, so
				// that what a message carries can be rendered again.
				draw := func(round int, u system.Unit) *rand.Rand {
					return rand.New(rand.NewPCG(uint64(t.Seed())+uint64(round), uint64(u.Seq)))
				}
				t.By(fmt.Sprintf("publishing %d messages through %s, then each unit again in a new message", units, input))
				for round := range 2 {
					for _, u := range l.Units() {
						m, err := workload.Message(in, u, draw(round, u))
						t.Expect(err).NotTo(HaveOccurred())
						publish(ctx, t, s, h, input, u.ID, m)
					}
				}
				var differ []string
				for _, u := range l.Units() {
					a, err := workload.Contents(in, u, draw(0, u))
					t.Expect(err).NotTo(HaveOccurred())
					b, err := workload.Contents(in, u, draw(1, u))
					t.Expect(err).NotTo(HaveOccurred())
					if a != b {
						differ = append(differ, u.ID)
					}
				}
				obs := t.settled(ctx, s, 1500*time.Millisecond, input)
				f := t.verdict(ctx, "resent as a new message", side, s, h, obs, started, []string{input},
					fmt.Sprintf("%d of %d sent again with other contents", len(differ), units))
				return f, s, differ
			}

			d.It("holds with idempotency keyed by the unit's id", Label("safe"), func(ctx context.Context, t *T) {
				f, s, differ := run(ctx, t, "safe")
				t.expectHeld(f)
				t.expectProcessed(f, units)
				if t.sys.Conflicts == nil {
					return
				}
				t.By("reading where " + t.sys.Conflicts.Service + " records conflicting duplicates")
				t.Expect(differ).NotTo(BeEmpty(), "no unit was sent again with other contents")
				var recorded effect.Observed
				t.Eventually(ctx, func(g Gomega) {
					var err error
					recorded, err = effect.Read(ctx, s, *t.sys.Conflicts)
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(recorded.IDs).To(ConsistOf(differ), "each unit sent again with other contents is one conflict on record")
				}).Should(Succeed())
				t.Printf("%d conflicts on record for %d units sent again with other contents\n", len(recorded.IDs), len(differ))
			}, SpecTimeout(4*time.Minute))

			d.It("is caught without idempotency (control no-idempotency)", Label("unsafe"), func(ctx context.Context, t *T) {
				f, _, _ := run(ctx, t, "control: no-idempotency", t.control("no-idempotency"))
				t.Expect(len(f.Duplicated())).To(BeNumerically(">=", units), "the control must report duplicated effects: %s", f)
			}, SpecTimeout(4*time.Minute))
		})

		d.When("a message is delivered again after its consumer restarted", func() {
			run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
				input := t.amqpInput()
				svc, _ := t.consumer(input)
				s := t.startStack(ctx, "redelivered-"+side, opts...)
				h := &history.History{}
				started := time.Now()
				us, msgs := messages(t, input, t.load("redelivered-"+side, units))
				t.By(fmt.Sprintf("publishing %d messages through %s and waiting until %s applied them", units, input, svc))
				for i := range units {
					publish(ctx, t, s, h, input, us[i].ID, msgs[i])
				}
				t.settled(ctx, s, time.Second, input)
				t.By("restarting every replica of " + svc)
				for _, r := range s.Replicas(svc) {
					stop := fault.Stop(s.Engine(), r.Target(), 5*time.Second)
					t.inject(ctx, h, stop)
					t.Expect(fault.Heal(ctx, h, stop)).To(Succeed())
					t.Eventually(ctx, r.Ready).Should(Succeed())
				}
				t.By("publishing the same messages again")
				for i := range units {
					publish(ctx, t, s, h, input, us[i].ID, msgs[i])
				}
				obs := t.settled(ctx, s, 1500*time.Millisecond, input)
				return t.verdict(ctx, "redelivered after restart", side, s, h, obs, started, []string{input})
			}

			d.It("holds with durable idempotency", Label("safe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, "safe")
				t.expectHeld(f)
				t.expectProcessed(f, units)
			}, SpecTimeout(4*time.Minute))

			d.It("is caught without idempotency (control no-idempotency)", Label("unsafe"), func(ctx context.Context, t *T) {
				f := run(ctx, t, "control: no-idempotency", t.control("no-idempotency"))
				t.Expect(len(f.Duplicated())).To(BeNumerically(">=", units), "the control must report duplicated effects: %s", f)
			}, SpecTimeout(4*time.Minute))
		})
	})
}
