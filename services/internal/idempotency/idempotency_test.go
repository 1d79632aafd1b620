package idempotency

import (
	"testing"

	"github.com/mqchaos/mqchaos/services/internal/config"
)

// TestPrecheck claims one key twice in each mode: Precheck has a side
// effect (a memory claim), so each call is one delivery of the same key.
func TestPrecheck(t *testing.T) {
	for _, tc := range []struct {
		mode          string
		first, second bool // what each delivery of one key is told
	}{
		{config.IdempotencyMemory, true, false},
		{config.IdempotencyDurable, true, true}, // the database decides
		{config.IdempotencyNone, true, true},
	} {
		g := New(tc.mode)
		first := g.Precheck("k")
		second := g.Precheck("k")
		if first != tc.first || second != tc.second {
			t.Errorf("%s mode: two deliveries of one key went on %t, %t; want %t, %t",
				tc.mode, first, second, tc.first, tc.second)
		}
	}

	mem := New(config.IdempotencyMemory)
	mem.Precheck("k")
	mem.Release("k")
	if !mem.Precheck("k") {
		t.Error("memory mode: a released claim can be claimed again")
	}

	if !New(config.IdempotencyDurable).Durable() || New(config.IdempotencyMemory).Durable() {
		t.Error("Durable: true in durable mode only")
	}
}
