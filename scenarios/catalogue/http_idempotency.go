package catalogue

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/workload"
)

func httpIdempotency() {
	Describe("A retried POST /orders places the order once", Label("guarantee:idempotency", "guarantee:exactly-once-effect", labelSharedInfra), func() {
		// A client whose response was lost sends the same request again,
		// with the same key (the harness's id in the request). The system
		// must take the retry as the order it already has: each order
		// stored once and applied once downstream. A careless API that
		// makes a new order for every request stores the retry as a second
		// order; the order effect, read by the client's key, shows it
		// twice. Downstream, where consumers key on the order's own id,
		// the retry is a genuinely new order: no effect there carries the
		// client's key, so the control reports every unit lost and twice
		// as many unexpected ids there.
		// Needs: an HTTP input whose request carries the harness's id.
		const units = 50

		run := func(ctx SpecContext, side string, opts ...stack.Option) report.Figures {
			GinkgoHelper()
			input := httpInput("this scenario retries a request")
			if sys.Inputs[input].HTTP.IDFromResponse != "" {
				Skip(fmt.Sprintf("%s's input %s takes the id from the response: a retry carries no key of the client's", sys.Name, input))
			}
			s := startStack(ctx, "http-retry-"+side, opts...)
			h := &history.History{}
			started := time.Now()
			l := load("http-retry-"+side, units)
			By(fmt.Sprintf("sending %d units through %s", units, input))
			Expect(workload.Run(ctx, s, h, input, l)).To(Succeed())
			By("sending each of them again with the same key, as a client retrying after a lost response")
			Expect(workload.RunUnits(ctx, s, h, input, l, l.Units())).To(Succeed())
			obs := settled(ctx, s, 1500*time.Millisecond, input)
			return verdict(ctx, "retried POST", side, s, h, obs, started, []string{input},
				fmt.Sprintf("%d units each sent twice with the same key", units))
		}

		It("holds when the key names the order", Label("safe"), func(ctx SpecContext) {
			f := run(ctx, "safe")
			expectHeld(f)
			expectProcessed(f, units)
			for _, c := range f.Checks {
				Expect(c.Effects).To(Equal(units), "%s: each unit applied once: %s", c.Service, f)
			}
		}, SpecTimeout(3*time.Minute))

		It("is caught when every request makes a new order (control http-no-idempotency)", Label("unsafe"), func(ctx SpecContext) {
			f := run(ctx, "control: http-no-idempotency", control("http-no-idempotency"))
			Expect(len(f.Duplicated())).To(BeNumerically(">=", units), "the control must report every retried order duplicated: %s", f)
		}, SpecTimeout(3*time.Minute))
	})
}
