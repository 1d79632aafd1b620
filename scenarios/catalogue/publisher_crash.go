package catalogue

import (
	"context"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func publisherCrash(d *decl) {
	d.Scenario("Publisher crash between commit and publish: the work is published after restart", Label("guarantee:no-loss", "guarantee:outbox", labelSharedInfra), Doc(`The service that accepts work over HTTP dies right after storing
a unit and before its message leaves, as often as its failpoint
fires (units are sent one at a time until one is answered; the
reference's fires 5 times): kept in an outbox, each message is
published after a restart and every unit has every effect.`), Needs("the failpoint after-commit-before-publish, in the service an HTTP input calls."), func() {
		const units = 20

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			fp, spec := t.failpoint("after-commit-before-publish")
			input := ""
			for _, name := range t.sys.InputNames("http") {
				if t.sys.Inputs[name].HTTP.Service == spec.Service {
					input = name
				}
			}
			if input == "" {
				t.Skip(t.sys.Name + " has no HTTP input to " + spec.Service)
			}
			s := t.startStack(ctx, "pubcrash-"+side, append(opts, fp)...)
			h := &history.History{}
			started := time.Now()
			l := t.load("pubcrash-"+side, units)
			us := l.Units()
			r := s.Replica(spec.Service, 1)
			t.By("sending units one at a time while " + spec.Service + " exits after storing each, until its failpoint is spent")
			l.Concurrency = 1
			next, crashes := 0, 0
			for next < units/2 {
				u := us[next]
				t.Expect(workload.RunUnits(ctx, s, h, input, l, us[next:next+1])).To(Succeed())
				next++
				if slices.Contains(h.IDs(input, history.OK), u.ID) {
					break // answered: the failpoint is spent
				}
				t.Eventually(ctx, r.Running).Should(BeFalse(), "%s was not answered, and %s did not exit", u.ID, r.Name)
				if spec.ExitCode != 0 {
					t.Expect(r.ExitCode(ctx)).To(Equal(spec.ExitCode), "exit status of the failpoint")
				}
				crashes++
				h.Event(history.KindFault, "failpoint "+r.Name, fmt.Sprintf("exited after storing %s", u.ID))
				t.Expect(r.StartAgain(ctx)).To(Succeed())
				t.Eventually(ctx, r.Ready).Should(Succeed())
			}
			t.Expect(crashes).To(BeNumerically(">", 0), "%s never exited at the failpoint", r.Name)
			t.By(fmt.Sprintf("%s exited %d times; sending the other %d units", r.Name, crashes, units-next))
			l.Concurrency = 4
			t.Expect(workload.RunUnits(ctx, s, h, input, l, us[next:])).To(Succeed())
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)
			return t.verdict(ctx, "publisher crash", side, s, h, obs, started, []string{input}, fmt.Sprintf("%s exited %d times at the failpoint", r.Name, crashes))
		}

		d.It("holds with the transactional outbox", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, units)
		}, SpecTimeout(4*time.Minute))

		d.It("is caught when messages are published after the commit (control no-outbox)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: no-outbox", t.control("no-outbox"))
			t.expectCaught(f, "lost", f.Lost(), units)
		}, SpecTimeout(4*time.Minute))
	})
}
