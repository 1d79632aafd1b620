package fault

// Partition cuts one node of a cluster off from the others (a minority
// partition of one out of three): the node is disconnected from the
// stack's network, so it reaches no peer and no peer reaches it; Heal
// reconnects it with its aliases and the cluster heals by itself
// (pause_minority: the cut-off node pauses, then rejoins).
//
// The cut-off node is also out of reach of every client, the test's own
// included (its published ports go through that network): clients stay
// on the majority side only. A split with clients on both sides needs
// the nodes on two networks, one between the nodes (the one to cut) and
// one for clients, or a rule inside each node (iptables, NET_ADMIN)
// that drops the peers' traffic only.
func Partition(d Docker, node Target) Fault { return partition{disconnect{d, node}} }

type partition struct{ disconnect }

func (p partition) Name() string { return "partition " + p.t.Name + " off" }
