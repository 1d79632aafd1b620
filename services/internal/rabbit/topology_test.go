package rabbit

import (
	"maps"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestQueueArgsDeliveryLimitByBrokerVersion(t *testing.T) {
	safe := Topology{QueueType: amqp.QueueTypeQuorum, DeliveryLimit: 20, DeadLetter: true}
	noLimit := Topology{QueueType: amqp.QueueTypeQuorum, DeadLetter: true}
	requeueForever := Topology{QueueType: amqp.QueueTypeQuorum, DeliveryLimit: 20}
	classic := Topology{QueueType: amqp.QueueTypeClassic, DeadLetter: true}
	for _, tc := range []struct {
		name  string
		t     Topology
		major int
		want  any // x-delivery-limit; nil: not sent
	}{
		{"a limit is sent as set, 3.x", safe, 3, 20},
		{"a limit is sent as set, 4.x", safe, 4, 20},
		{"no limit on 3.x: nothing sent", noLimit, 3, nil},
		{"no limit on 4.x: -1, or 4.x's default of 20 applies", noLimit, 4, -1},
		{"no limit from an unknown version: nothing sent", noLimit, 0, nil},
		{"requeued for ever on 3.x: no limit, no dead-letter exchange", requeueForever, 3, nil},
		{"requeued for ever on 4.x: -1, or 4.x drops them after 20", requeueForever, 4, -1},
		{"classic queues have no delivery limit", classic, 4, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.t.queueArgs("q", tc.major)
			got, ok := args["x-delivery-limit"]
			if tc.want == nil {
				if ok {
					t.Fatalf("x-delivery-limit = %v, want none (args %v)", got, args)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("x-delivery-limit = %v, want %v (args %v)", got, tc.want, args)
			}
		})
	}
}

func TestBrokerMajor(t *testing.T) {
	for v, want := range map[any]int{"3.10.8": 3, "4.2.1": 4, "": 0, "beta": 0, nil: 0} {
		conn := &amqp.Connection{Properties: amqp.Table{}}
		if v != nil {
			conn.Properties["version"] = v
		}
		if got := BrokerMajor(conn); got != want {
			t.Errorf("BrokerMajor(version %v) = %d, want %d", v, got, want)
		}
	}
}

func TestDeadLetterQueuesAreOfTheQueuesType(t *testing.T) {
	for _, tc := range []struct {
		name  string
		t     Topology
		major int
		want  amqp.Table
	}{
		{"quorum queues, 3.x: quorum dead letters, no limit sent", Topology{QueueType: amqp.QueueTypeQuorum, DeadLetter: true}, 3, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}},
		{"quorum queues, 4.x: quorum dead letters, no limit", Topology{QueueType: amqp.QueueTypeQuorum, DeadLetter: true}, 4, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum, "x-delivery-limit": -1}},
		{"transient queues: quorum dead letters still", Topology{QueueType: amqp.QueueTypeQuorum, DeadLetter: true, Transient: true}, 3, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}},
		{"classic queues: classic dead letters", Topology{QueueType: amqp.QueueTypeClassic, DeadLetter: true}, 4, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeClassic}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.t.deadLetterArgs(tc.major); !maps.Equal(got, tc.want) {
				t.Fatalf("dead-letter queue args %v, want %v", got, tc.want)
			}
		})
	}
}
