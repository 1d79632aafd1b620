package stack

import (
	"testing"

	"github.com/mqchaos/mqchaos/harness/broker"
)

func TestHangProneReleases(t *testing.T) {
	for _, tc := range []struct {
		rabbit, erlang string
		want           bool
	}{
		{"3.10.8", "25.2.3", true},
		{"3.10.8", "25.1", true},
		{"3.10.8", "25.0.4", false},
		{"3.10.9", "25.2.3", false},
		{"3.9.29", "25.2", true},
		{"4.2.1", "27.3", false},
		{"", "25.2.3", false},
		{"3.10.8", "", false},
	} {
		if got := hangProne(broker.Version{RabbitMQ: tc.rabbit, Erlang: tc.erlang}); got != tc.want {
			t.Errorf("RabbitMQ %q on Erlang %q: hang-prone %v, want %v", tc.rabbit, tc.erlang, got, tc.want)
		}
	}
}

func TestGlobalHangIsReadSinceTheLastStart(t *testing.T) {
	const (
		start      = "[info] <0.1382.0>  Starting RabbitMQ 3.10.8 on Erlang 25.2.3 [jit]\n"
		workaround = "[info] <0.1587.0> Global hang workaround: global state on rabbit@rabbitmq-2 seems broken\n[info] <0.1587.0> Faking nodedown/nodeup between rabbit@rabbitmq-2 and rabbit@rabbitmq-1\n"
		dropped    = "[warning] <0.55.0> The global_name_server received an unexpected message:\n[warning] <0.55.0> handle_info({nodedown,'rabbit@rabbitmq-2'}, _)\n"
		booted     = "[info] <0.580.0> Server startup complete; 4 plugins started.\n"
	)
	for _, tc := range []struct {
		name, log string
		want      bool
	}{
		{"hung after the restart", start + workaround + dropped, true},
		{"workaround that worked", start + workaround + booted, false},
		{"hung before, started again since", start + workaround + dropped + start + booted, false},
		{"no restart logged", workaround + dropped, true},
		{"clean", start + booted, false},
	} {
		if got := globalHang([]byte(tc.log)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
