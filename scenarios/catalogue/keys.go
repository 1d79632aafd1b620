package catalogue

import "slices"

// Key names a spec as its figures do (report.Figures' Scenario and Side):
// "fanout", "control: shared-queue". An expected-verdict table names the
// specs it expects verdicts of by their keys.
type Key struct {
	Scenario string `json:"scenario"`
	Side     string `json:"side"`
}

func (k Key) String() string { return k.Scenario + " (" + k.Side + ")" }

// KeyOf is the key of r: its first figures' scenario and side, or, for a
// spec that ended without figures (skipped, or failed before its
// verdict), the catalogue's (SpecKey, from r.Spec). ok is false for a
// spec the catalogue does not know and that wrote no figures.
func KeyOf(r Result) (k Key, ok bool) {
	if len(r.Figures) > 0 {
		return Key{r.Figures[0].Scenario, r.Figures[0].Side}, true
	}
	if sc, sp, ok := SpecNamed(r.Spec); ok {
		return SpecKey(sc, sp)
	}
	return Key{}, false
}

// SpecNamed is the catalogue's spec whose full text is name, and its
// scenario; ok is false if there is none.
func SpecNamed(name string) (sc Scenario, sp Spec, ok bool) {
	for _, sc := range All() {
		for _, sp := range sc.Specs {
			if sp.FullText(sc) == name {
				return sc, sp, true
			}
		}
	}
	return Scenario{}, Spec{}, false
}

// SpecKey is the key a spec's figures carry, known before it runs: the
// figures' scenario name (figureNames) and the side its text and labels
// name ("(control X)" is "control: X", the label safe is "safe"), but
// for the few specs sideOf lists. ok is false for a scenario figureNames
// lacks (a test holds every scenario of All to one).
func SpecKey(sc Scenario, sp Spec) (k Key, ok bool) {
	name, ok := figureNames[[2]string{sc.Name, sp.When}]
	if !ok {
		return Key{}, false
	}
	if side, ok := sideOf[sp.Text]; ok {
		return Key{name, side}, true
	}
	if m := controlOf.FindStringSubmatch(sp.Text); m != nil {
		return Key{name, "control: " + m[1]}, true
	}
	if slices.Contains(sp.AllLabels(sc), "unsafe") {
		return Key{name, "control"}, true
	}
	return Key{name, "safe"}, true
}

// figureNames is the scenario name each scenario's figures carry (the
// first argument of its verdict), by the scenario's name and case.
var figureNames = map[[2]string]string{
	{"Multi-service fanout: every service gets every unit of work", ""}:                                                                                               "fanout",
	{"Competing consumers: replicas share a queue, each unit is applied once", ""}:                                                                                    "competing consumers",
	{"Duplicate delivery: a message delivered again takes effect once", "a message is delivered twice in a row"}:                                                      "duplicate delivery",
	{"Duplicate delivery: a message delivered again takes effect once", "a unit is sent again as a new message, with a new event id and other contents"}:              "resent as a new message",
	{"Duplicate delivery: a message delivered again takes effect once", "a message is delivered again after its consumer restarted"}:                                  "redelivered after restart",
	{"Poison messages: a bad message is dead-lettered with its reason and never stops a consumer", ""}:                                                                "poison messages",
	{"Consumer killed before ack: the message is redelivered and applied once", "the consumer exits at the failpoint between applying and acking"}:                    "killed at failpoint",
	{"Consumer killed before ack: the message is redelivered and applied once", "the consumer is killed with SIGKILL in the middle of a stream"}:                      "killed by SIGKILL",
	{"Broker restart: accepted work survives RabbitMQ restarting mid-stream", ""}:                                                                                     "broker restart",
	{"Backlog drain: a consumer that was down works off its whole backlog", ""}:                                                                                       "backlog drain",
	{"Network partition: a consumer cut off mid-stream reconnects and loses nothing", ""}:                                                                             "network partition",
	{"Connections closed by the broker: a consumer reconnects by itself and loses nothing", ""}:                                                                       "connections closed by the broker",
	{"Transient dependency failure: messages wait out a database outage", ""}:                                                                                         "database paused",
	{"Long dependency outage: valid work waits out 30 s without its database, and nothing valid is dead-lettered", ""}:                                                "long database outage",
	{"Publisher crash between commit and publish: the work is published after restart", ""}:                                                                           "publisher crash",
	{"A half-open connection: a consumer behind a black hole detects it by heartbeats and reconnects", ""}:                                                            "half-open connection",
	{"A broker alarm: blocked publishers lose nothing, apply nothing twice, and flow again when it clears", ""}:                                                       "broker alarm",
	{"Connections reset while publishing: unconfirmed events are published again and applied once", ""}:                                                               "connections reset while publishing",
	{"A consumer held up past the broker's acknowledgement timeout consumes again, and applies every unit once", ""}:                                                  "consumer timeout",
	{"A queue deleted under its consumer is declared again and consumption resumes; only what it held is lost", ""}:                                                   "queue deleted",
	{"Publishes that no queue receives are noticed and sent again, not silently dropped", ""}:                                                                         "unroutable publish",
	{"A queue that exists with other arguments: the service says it is not ready and why, instead of running without a consumer", ""}:                                 "topology drift",
	{"A retried POST /orders places the order once", ""}:                                                                                                              "retried POST",
	{"Orders flow over a slow, narrow, sliced link: nothing lost or duplicated", ""}:                                                                                  "degraded network",
	{"Hostile clients holding connections open do not starve honest ones", ""}:                                                                                        "hostile clients",
	{"Order per key: the events of one entity are applied in the order they were published, whichever replica takes each", ""}:                                        "order per key",
	{"Sensitivity: one unit lost in 10,000 is reported, and nothing when nothing is lost", ""}:                                                                        "sensitivity",
	{"Confirmed messages survive the loss of the quorum queue's leader", ""}:                                                                                          "quorum queue leader lost",
	{"Confirmed messages survive a partition that cuts the quorum queue's leader off", ""}:                                                                            "quorum queue leader partitioned",
	{"A node cut off from the majority confirms nothing while cut off, and nothing confirmed is lost", ""}:                                                            "split with clients on both sides",
	{"Every accepted order is applied once when RabbitMQ's nodes fail, and the services fail over", "the node leading the order queue is killed"}:                     "cluster node killed",
	{"Every accepted order is applied once when RabbitMQ's nodes fail, and the services fail over", "the node leading the order queue is cut off from the other two"}: "cluster node partitioned",
	{"Every accepted order is applied once when RabbitMQ's nodes fail, and the services fail over", "the three nodes are restarted one at a time"}:                    "cluster rolling restart",
	{"Soak: a long mixed load under a seeded random schedule of faults loses and duplicates nothing, and the system's invariants hold", ""}:                           "soak",
}

// sideOf is the side of the specs whose text and labels do not say it,
// by the spec's text.
var sideOf = map[string]string{
	"holds through a memory alarm with the outbox and idempotent consumers":                                                                    "safe: memory",
	"holds through a disk alarm with the outbox and idempotent consumers":                                                                      "safe: disk",
	"is caught through a disk alarm when the service publishes after its commit, without an outbox (control no-outbox)":                        "control: no-outbox (disk)",
	"recovers what was dead-lettered with mqchaos dlq-replay, interrupted half-way (control count-outage-retries dead-letters the work first)": "replayed",
	"is caught with a classic queue of transient messages on the killed node (no replication)":                                                 "control: classic queue",
	"is caught with a classic queue of transient messages on the node cut off (no replication)":                                                "control: classic queue",
}
