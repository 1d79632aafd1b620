package catalogue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/gomega"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/invariant"
	"github.com/mqchaos/mqchaos/harness/nemesis"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/schedule"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/harness/workload"
)

// SoakConfig is a soak run: how long, from which seed, against which
// control. Read from MQCHAOS_SOAK_DURATION (a Go duration; unset: the soak
// is skipped), MQCHAOS_SOAK_SEED (default: the suite's random seed),
// MQCHAOS_SOAK_CONTROL (a control of the system, optional),
// MQCHAOS_SOAK_RATE (units per second per input, default 5),
// MQCHAOS_SOAK_OVERLAP (the chance that a fault overlaps the one before
// it, 0 to 1, default 0.25), MQCHAOS_SOAK_HOLD (the longest a fault is
// held, default 8s), MQCHAOS_SOAK_MIX (the kinds of fault and
// their weights, kind=weight,...; default every kind, 1 each) and
// MQCHAOS_SOAK_SCHEDULE (a schedule file to run instead of drawing one:
// its seed and length are the run's).
type SoakConfig struct {
	Duration time.Duration
	Seed     uint64
	Control  string
	Rate     float64
	Overlap  float64
	Hold     time.Duration
	Mix      map[string]int
	Schedule string
}

// SoakFromEnv reads a SoakConfig from getenv, every error joined.
func SoakFromEnv(getenv func(string) string, defaultSeed uint64) (SoakConfig, error) {
	c := SoakConfig{Seed: defaultSeed, Control: getenv("MQCHAOS_SOAK_CONTROL"), Rate: 5, Overlap: 0.25, Schedule: getenv("MQCHAOS_SOAK_SCHEDULE")}
	var errs []error
	if v := getenv("MQCHAOS_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 30*time.Second {
			errs = append(errs, fmt.Errorf("MQCHAOS_SOAK_DURATION %q: want a duration of 30s or more", v))
		}
		c.Duration = d
	}
	if v := getenv("MQCHAOS_SOAK_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("MQCHAOS_SOAK_SEED %q: want an unsigned integer", v))
		}
		c.Seed = n
	}
	if v := getenv("MQCHAOS_SOAK_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			errs = append(errs, fmt.Errorf("MQCHAOS_SOAK_RATE %q: want units per second, more than 0", v))
		}
		c.Rate = r
	}
	if v := getenv("MQCHAOS_SOAK_OVERLAP"); v != "" {
		o, err := strconv.ParseFloat(v, 64)
		if err != nil || o < 0 || o > 1 {
			errs = append(errs, fmt.Errorf("MQCHAOS_SOAK_OVERLAP %q: want a chance from 0 to 1", v))
		}
		c.Overlap = o
	}
	if v := getenv("MQCHAOS_SOAK_HOLD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			errs = append(errs, fmt.Errorf("MQCHAOS_SOAK_HOLD %q: want a duration of 1s or more", v))
		}
		c.Hold = d
	}
	if v := getenv("MQCHAOS_SOAK_MIX"); v != "" {
		mix, err := nemesis.ParseMix(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("MQCHAOS_SOAK_MIX: %w", err))
		}
		c.Mix = mix
	}
	if c.Schedule != "" {
		s, err := schedule.Read(c.Schedule)
		if err != nil {
			errs = append(errs, fmt.Errorf("MQCHAOS_SOAK_SCHEDULE: %w", err))
		}
		c.Seed, c.Duration = s.Seed, time.Duration(s.Length)
	}
	return c, errors.Join(errs...)
}

// plan is the schedule c runs on t's system: its file, or drawn.
func (c SoakConfig) plan(t *T) (schedule.Schedule, error) {
	if c.Schedule != "" {
		return schedule.Read(c.Schedule)
	}
	var inputs []schedule.Input
	for _, in := range append(t.sys.InputNames("http"), t.sys.InputNames("amqp")...) {
		inputs = append(inputs, schedule.Input{Name: in, Prefix: "soak-" + report.Slug(in), AMQP: t.sys.Inputs[in].AMQP != nil})
	}
	return schedule.Recipe{Seed: c.Seed, Length: c.Duration, Services: t.sys.ServiceNames(), Database: t.sys.HasDatabase(), Inputs: inputs, Rate: c.Rate, Faults: nemesis.Options{Mix: c.Mix, Overlap: c.Overlap, Hold: c.Hold}}.Draw(), nil
}

// SoakSchedule is the name of the file a soak writes its schedule to in
// its run's directory.
func SoakSchedule(seed uint64) string { return fmt.Sprintf("soak-%d-schedule.json", seed) }

// SoakScheduleIn is the schedule file of the one soak a run's directory
// holds.
func SoakScheduleIn(dir string) (string, error) {
	paths, _ := filepath.Glob(filepath.Join(dir, "soak-*-schedule.json"))
	if len(paths) != 1 {
		return "", fmt.Errorf("want one soak schedule in %s, found %d", dir, len(paths))
	}
	return paths[0], nil
}

func soak(d *decl) {
	d.Scenario("Soak: a long mixed load under a seeded random schedule of faults loses and duplicates nothing, and the system's invariants hold", Label("soak", "guarantee:no-loss", "guarantee:exactly-once-effect"), Doc(`Every input sends units for the whole run (a tenth of the AMQP
units twice, and a poison message every 20 s) while the nemesis
breaks one thing at a time, now and then two: replicas killed,
stopped, paused or cut off, the broker restarted, the database
paused or killed.
After the last heal the system settles, and every effect of every
input is judged. The same seed gives the same schedule and load:
a failure prints the command that replays it.`), func() {
		d.It("holds under the nemesis", func(ctx context.Context, t *T) {
			c, err := SoakFromEnv(os.Getenv, uint64(t.Seed()))
			t.Expect(err).NotTo(HaveOccurred())
			if c.Duration == 0 && c.Schedule == "" {
				t.Skip("soak: set MQCHAOS_SOAK_DURATION, or run `make soak SEED=... DURATION=10m`")
			}
			side := "safe"
			var opts []stack.Option
			if c.Control != "" {
				side = "control: " + c.Control
				opts = append(opts, t.control(c.Control))
			}
			plan, err := c.plan(t)
			t.Expect(err).NotTo(HaveOccurred())
			path := filepath.Join(t.env.Reports, SoakSchedule(plan.Seed))
			replay := "mqchaos soak -schedule " + path + " -system " + t.sys.Dir + "/system.yaml"
			if c.Control != "" {
				replay += " -control " + c.Control
			}
			t.Expect(os.MkdirAll(t.env.Reports, 0o755)).To(Succeed())
			t.Expect(plan.Write(path)).To(Succeed())
			steps := plan.Steps()
			lines := make([]string, len(steps))
			for i, st := range steps {
				lines[i] = st.String()
			}
			t.Entry("schedule", fmt.Sprintf("seed %d, %s (%s):\n%s", plan.Seed, plan, path, strings.Join(lines, "\n")))
			length := time.Duration(plan.Length)

			s := t.startIsolatedStack(ctx, "soak", opts...)
			h := &history.History{}
			started := time.Now()
			always := t.sys.InvariantsWhen(system.Always)
			if len(t.sys.Invariants) > 0 {
				t.By(fmt.Sprintf("checking %s every %s while the soak runs, and every invariant once it has settled", invariantNames(always), invariantEvery))
			}
			watch := invariant.Watch(ctx, h, invariant.Read(s), always, invariantEvery)
			defer watch.Stop()
			var inputs []string
			for _, l := range plan.Loads {
				inputs = append(inputs, l.Input)
			}
			t.By(fmt.Sprintf("sending %d units over %s through %s, under %d faults", plan.Units(), length, strings.Join(inputs, ", "), len(steps)))
			// The loads' waits end the spec when a load failed, so they are
			// called here, after the schedule, not on the group's goroutines.
			var wg sync.WaitGroup
			var loads []func()
			for _, pl := range plan.Loads {
				l := workload.Load{Prefix: pl.Prefix, From: pl.From, Count: pl.Count, Rate: pl.Rate, Concurrency: 4, Seed: pl.Seed}
				loads = append(loads, t.Go(func() { t.Expect(workload.Run(ctx, s, h, pl.Input, l)).To(Succeed()) }))
				if pl.AgainEvery <= 0 {
					continue
				}
				var again []system.Unit
				for _, u := range l.Units() {
					if pl.SentTwice(u.Seq) {
						again = append(again, u)
					}
				}
				dup := l
				dup.Rate, dup.Concurrency = pl.Rate/float64(pl.AgainEvery), 1
				loads = append(loads, t.Go(func() { t.Expect(workload.RunUnits(ctx, s, h, pl.Input, dup, again)).To(Succeed()) }))
			}
			poisoned := 0
			if amqp := t.sys.InputNames("amqp"); len(amqp) > 0 && plan.PoisonEvery > 0 {
				poison, err := workload.PoisonMessages(t.sys.Inputs[amqp[0]].AMQP, "soak-poison", t.rng())
				t.Expect(err).NotTo(HaveOccurred())
				stop := make(chan struct{})
				defer close(stop)
				// One every PoisonEvery until the schedule's end, as
				// Schedule.Units counts them: the loop ends with its last
				// one, not at the end (a shrunk schedule's 31.7 s with one
				// at 20 s waited 11.7 s for nothing).
				n := int(length / time.Duration(plan.PoisonEvery))
				wg.Go(func() {
					tick := time.NewTicker(time.Duration(plan.PoisonEvery))
					defer tick.Stop()
					for i := 0; i < n; i++ {
						select {
						case <-tick.C:
						case <-stop:
							return
						case <-ctx.Done():
							return
						}
						u, err := s.AMQPURL(ctx)
						if err == nil && broker.PublishOnce(ctx, u, poison[i%len(poison)].Message) == nil {
							poisoned++
						}
					}
				})
			}
			t.Expect(nemesis.Run(ctx, s, h, steps)).To(Succeed(), "replay: %s", replay)
			t.By("the schedule is done and healed; waiting for the load to finish")
			for _, wait := range loads {
				wait()
			}
			wg.Wait()
			for _, name := range t.sys.ServiceNames() {
				for _, r := range s.Replicas(name) {
					t.Eventually(ctx, r.Ready).Should(Succeed(), "%s is not ready after the soak", r.Name)
				}
			}
			checks := watch.Stop()
			obs := t.settled(ctx, s, 3*time.Second, inputs...)
			checks = append(checks, checkAtEnd(ctx, t, s, h)...)
			note := fmt.Sprintf("seed %d, %s, %d faults, %d poison messages sent; replay: %s", plan.Seed, length, len(steps), poisoned, replay)
			if sum := invariant.Summary(checks); len(sum) > 0 {
				t.By("invariants: " + strings.Join(sum, "; "))
				note += "; invariants: " + strings.Join(sum, "; ")
			}
			f := t.verdictWith(ctx, "soak", side, s, h, obs, started, inputs,
				measured{tag: fmt.Sprintf("seed-%d", plan.Seed), violations: invariant.Violations(checks, started), offline: "the invariants' verdict is drawn by the scenario (invariant.Violations)"}, note)
			if c.Control != "" {
				t.Expect(f.Held()).To(BeFalse(), "the control must report a violation: %s", f)
				return
			}
			t.Expect(f.Held()).To(BeTrue(), "%s\nreplay: %s", f, replay)
			t.expectHeld(f)
		}, SpecTimeout(3*time.Hour))
	})
}

// invariantEvery is how often the soak checks the invariants that must
// always hold.
const invariantEvery = 5 * time.Second

// checkAtEnd checks every invariant of the system once the run has
// settled, each until its rows could be read (a replica may still be
// warming up) or for a minute at most, recorded in h.
func checkAtEnd(ctx context.Context, t *T, s *stack.Stack, h *history.History) []invariant.Result {
	var out []invariant.Result
	for _, inv := range t.sys.InvariantsWhen(system.AtEnd) {
		var r invariant.Result
		t.Eventually(ctx, func(g Gomega) {
			r = invariant.Check(ctx, h, invariant.Read(s), inv)
			g.Expect(r.Err).NotTo(HaveOccurred(), "invariant %q not read", inv.Name)
		}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
		t.By(fmt.Sprintf("invariant %q (%s) at the end: %s", inv.Name, inv.When, r))
		out = append(out, r)
	}
	return out
}

// invariantNames lists the invariants' names, quoted: "a", "b".
func invariantNames(invs []system.Invariant) string {
	q := make([]string, len(invs))
	for i, inv := range invs {
		q[i] = fmt.Sprintf("%q", inv.Name)
	}
	if len(q) == 0 {
		return "no invariant"
	}
	return strings.Join(q, ", ")
}
