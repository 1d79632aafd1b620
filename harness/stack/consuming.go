package stack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/broker"
)

// consumingWithin bounds how long Start waits, after every replica is
// ready, for the broker to list a consumer of each replica that consumes.
const consumingWithin = time.Minute

// waitConsuming waits until the broker lists a consumer from every
// replica of a service that consumes a queue. A readiness check need not
// say that the consumer is attached (an HTTP health that always answers
// 200 does not): work sent before it is would test the system's start, not
// the scenario. It asks for some consumer of the replica's, not one on
// each described queue, so a control that moves a service to another
// queue still starts. Behind Toxiproxy every connection comes from the
// proxy, whose addresses stand for every replica's.
func (s *Stack) waitConsuming(ctx context.Context) error {
	var waiting []*Replica
	for _, svc := range s.System.Services {
		if len(svc.Consumes) > 0 {
			waiting = append(waiting, s.replicas[svc.Name]...)
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	hosts := map[*Replica][]string{}
	for _, r := range waiting {
		ips, err := s.brokerPeer(ctx, r)
		if err != nil {
			return err
		}
		hosts[r] = ips
	}
	// Either source may say yes: the queues' own consumer counts (current)
	// when each described queue has one from every replica that consumes
	// it, or the management API's list (it lags up to 3 s behind, but
	// names each consumer's host, and holds a control's queues that are
	// not the described ones).
	want := map[string]int{}
	for _, r := range waiting {
		for _, c := range r.spec.Consumes {
			want[c.Queue]++
		}
	}
	queues := slices.Sorted(maps.Keys(want))
	ctx, cancel := context.WithTimeout(ctx, consumingWithin)
	defer cancel()
	err := poll(ctx, func(ctx context.Context) error {
		if u, err := s.AMQPURL(ctx); err == nil {
			if got, err := broker.ConsumerCounts(ctx, u, queues); err == nil && covers(got, want) {
				waiting = nil
				return nil
			}
		}
		cs, err := s.Management().Consumers(ctx)
		if err != nil {
			return err
		}
		waiting = slices.DeleteFunc(waiting, func(r *Replica) bool {
			return slices.ContainsFunc(cs, func(c broker.Consumer) bool { return slices.Contains(hosts[r], c.PeerHost) })
		})
		if len(waiting) > 0 {
			return errors.New("not yet")
		}
		return nil
	})
	if err == nil {
		return nil
	}
	var missing []string
	for _, r := range waiting {
		var qs []string
		for _, c := range r.spec.Consumes {
			qs = append(qs, c.Queue)
		}
		missing = append(missing, fmt.Sprintf("%s (it consumes %s)", r.Name, strings.Join(qs, ", ")))
	}
	return fmt.Errorf("wait for consumers: after %s the broker lists no consumer from %s: %w", consumingWithin, strings.Join(missing, "; "), err)
}

// brokerPeer is the host the broker sees r's connections come from: r's
// addresses, or the Toxiproxy's when the stack has one.
func (s *Stack) brokerPeer(ctx context.Context, r *Replica) ([]string, error) {
	if s.toxiproxy == nil {
		return r.Addresses(ctx)
	}
	ips, err := s.toxiproxy.part.Addresses(ctx)
	if err != nil {
		return nil, fmt.Errorf("addresses of the toxiproxy: %w", err)
	}
	return ips, nil
}

// covers reports whether every queue of want has at least as many
// consumers in got.
func covers(got, want map[string]int) bool {
	for q, n := range want {
		if got[q] < n {
			return false
		}
	}
	return true
}
