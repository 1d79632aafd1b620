package fault

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Split cuts a cluster's nodes on side a off from those on side b, and
// from nothing else: clients keep reaching every node over the stack's
// network, so there can be clients on both sides. The nodes talk to each
// other over a network of their own (Target.Cluster, stack.WithCluster),
// and Split disconnects the smaller side (a on a tie) from it; Heal
// reconnects those nodes with their aliases and addresses, and the
// cluster heals by itself (pause_minority: the minority pauses, then
// rejoins).
//
// Every node on one network reaches every other, so the side that is
// disconnected is cut off from itself too: Inject refuses a smaller side
// of more than one node, a target without a cluster link, or one on both
// sides. For three nodes every split has a side of one.
func Split(e Engine, a, b []Target) Fault { return split{e: e, a: a, b: b} }

type split struct {
	e    Engine
	a, b []Target
}

func names(ts []Target) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return strings.Join(out, " ")
}

func (s split) Name() string { return "split " + names(s.a) + " | " + names(s.b) }

// cut is the side to disconnect from the cluster's network.
func (s split) cut() ([]Target, error) {
	var errs []error
	if len(s.a) == 0 || len(s.b) == 0 {
		errs = append(errs, errors.New("a side with no node"))
	}
	seen := map[string]bool{}
	for _, t := range append(append([]Target{}, s.a...), s.b...) {
		if seen[t.ID] {
			errs = append(errs, fmt.Errorf("%s on both sides", t.Name))
		}
		seen[t.ID] = true
		if t.Cluster.NetworkID == "" {
			errs = append(errs, fmt.Errorf("%s has no cluster network", t.Name))
		}
	}
	side := s.a
	if len(s.b) < len(s.a) {
		side = s.b
	}
	if len(side) > 1 {
		errs = append(errs, fmt.Errorf("the smaller side (%s) would be cut off from itself too", names(side)))
	}
	return side, errors.Join(errs...)
}

func (s split) faults() ([]Fault, error) {
	side, err := s.cut()
	if err != nil {
		return nil, err
	}
	var fs []Fault
	for _, t := range side {
		fs = append(fs, t.peers(s.e))
	}
	return fs, nil
}

// Witness sees the side cut off the cluster's network.
func (s split) Witness(ctx context.Context) (Check, error) {
	fs, err := s.faults()
	if err != nil {
		return nil, err
	}
	return all(fs)(ctx)
}

func (s split) Inject(ctx context.Context) error {
	fs, err := s.faults()
	if err != nil {
		return err
	}
	return Together(s.Name(), fs...).Inject(ctx)
}

func (s split) Heal(ctx context.Context) error {
	fs, err := s.faults()
	if err != nil {
		return err
	}
	return Together(s.Name(), fs...).Heal(ctx)
}

// peers is the disconnect of a cluster node from its peers.
func (t Target) peers(e Engine) Fault {
	return disconnect{e: e, name: "disconnect " + t.Name + " from its peers", t: t, link: t.Cluster}
}

// Partition cuts one node off from everything: from its peers (the
// cluster's network, Target.Cluster) and from every client, the test's
// own included (the stack's network, which also carries its published
// ports). Heal reconnects both with their aliases. For a node cut off
// from its peers only, with clients on both sides, see Split.
func Partition(e Engine, node Target) Fault {
	fs := []Fault{Disconnect(e, node)}
	if node.Cluster.NetworkID != "" {
		fs = append(fs, node.peers(e))
	}
	return Together("partition "+node.Name+" off", fs...)
}
