package catalogue

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func httpIdempotency(d *decl) {
	d.Scenario("A retried POST /orders places the order once", Label("guarantee:idempotency", "guarantee:exactly-once-effect", labelSharedInfra), Doc(`A client whose response was lost sends the same request again,
with the same key (the harness's id in the request). The system
must take the retry as the order it already has: each order
stored once and applied once downstream. A careless API that
makes a new order for every request stores the retry as a second
order; the order effect, read by the client's key, shows it
twice. Downstream, where consumers key on the order's own id,
the retry is a genuinely new order: no effect there carries the
client's key, so the control reports every unit lost and twice
as many unexpected ids there.`), Needs("an HTTP input whose request carries the harness's id."), func() {
		const units = 50

		run := func(ctx context.Context, t *T, side string, opts ...stack.Option) report.Figures {
			input := t.httpInput("this scenario retries a request")
			if t.sys.Inputs[input].HTTP.IDFromResponse != "" {
				t.Skip(fmt.Sprintf("%s's input %s takes the id from the response: a retry carries no key of the client's", t.sys.Name, input))
			}
			s := t.startStack(ctx, "http-retry-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			l := t.load("http-retry-"+side, units)
			t.By(fmt.Sprintf("sending %d units through %s", units, input))
			t.Expect(workload.Run(ctx, s, h, input, l)).To(Succeed())
			t.By("sending each of them again with the same key, as a client retrying after a lost response")
			t.Expect(workload.RunUnits(ctx, s, h, input, l, l.Units())).To(Succeed())
			obs := t.settled(ctx, s, 1500*time.Millisecond, input)
			return t.verdict(ctx, "retried POST", side, s, h, obs, started, []string{input},
				fmt.Sprintf("%d units each sent twice with the same key", units))
		}

		d.It("holds when the key names the order", Label("safe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "safe")
			t.expectHeld(f)
			t.expectProcessed(f, units)
			for _, c := range f.Checks {
				t.Expect(c.Effects).To(Equal(units), "%s: each unit applied once: %s", c.Service, f)
			}
		}, SpecTimeout(3*time.Minute))

		d.It("is caught when every request makes a new order (control http-no-idempotency)", Label("unsafe"), func(ctx context.Context, t *T) {
			f := run(ctx, t, "control: http-no-idempotency", t.control("http-no-idempotency"))
			t.Expect(len(f.Duplicated())).To(BeNumerically(">=", units), "the control must report every retried order duplicated: %s", f)
		}, SpecTimeout(3*time.Minute))
	})
}
