package system

import (
	"slices"
	"strings"
	"time"
)

// RecoveryBudget is how soon after a fault is healed the system must be
// ready again (every replica's readiness check passing) and drained
// (every queue empty with nothing unacked, every effect showing the work
// done): durations as Go writes them ("30s", "1m30s"). One left empty
// takes DefaultRecovery's.
type RecoveryBudget struct {
	Ready   string `yaml:"ready"`
	Drained string `yaml:"drained"`
}

// RecoveryKinds are the kinds of fault a description may give a
// recovery budget for, each healed by a catalogue scenario that checks
// it: "consumer-timeout" (the broker closed a consumer's channel for an
// unacknowledged delivery, the database it waited on back) and
// "half-open" (a black hole between a consumer and the broker, healed).
var RecoveryKinds = []string{"consumer-timeout", "half-open"}

// DefaultRecovery is the budget of a kind the description leaves out:
// ready within 60 s and drained within 120 s of the heal. Generous on
// purpose: a system on RabbitMQ's own defaults (a 60 s heartbeat)
// notices a dead link within about two of them, and the catalogue
// settles for at most 3 minutes, so a run over budget still ends with a
// verdict. A system that promises faster recovery says so.
var DefaultRecovery = RecoveryBudget{Ready: "60s", Drained: "120s"}

// RecoveryBudget is the budget for a kind of fault: the description's,
// its empty fields (or all of it) taken from DefaultRecovery. It assumes
// a validated description.
func (s *System) RecoveryBudget(kind string) (ready, drained time.Duration) {
	b := s.Recovery[kind]
	if b.Ready == "" {
		b.Ready = DefaultRecovery.Ready
	}
	if b.Drained == "" {
		b.Drained = DefaultRecovery.Drained
	}
	ready, _ = time.ParseDuration(b.Ready)
	drained, _ = time.ParseDuration(b.Drained)
	return ready, drained
}

func (s *System) checkRecovery(bad func(string, string, ...any)) {
	for _, kind := range sortedKeys(s.Recovery) {
		f := "recovery." + kind
		if !slices.Contains(RecoveryKinds, kind) {
			bad(f, "not a kind of fault with a recovery budget: want one of %s", strings.Join(RecoveryKinds, ", "))
			continue
		}
		b := s.Recovery[kind]
		if b.Ready == "" && b.Drained == "" {
			bad(f, "empty: set ready, drained or both")
		}
		for _, d := range []struct{ name, text string }{{"ready", b.Ready}, {"drained", b.Drained}} {
			if d.text == "" {
				continue
			}
			v, err := time.ParseDuration(d.text)
			switch {
			case err != nil:
				bad(f+"."+d.name, "%q: want a duration such as 30s or 2m", d.text)
			case v <= 0:
				bad(f+"."+d.name, "%q: want more than 0", d.text)
			}
		}
	}
}
