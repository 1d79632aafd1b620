package idempotency

import (
	"testing"

	"github.com/mqchaos/mqchaos/services/internal/config"
)

func TestPrecheck(t *testing.T) {
	mem := New(config.IdempotencyMemory)
	if !mem.Precheck("k") || mem.Precheck("k") {
		t.Fatal("memory mode: the first claim goes on, the second does not")
	}
	mem.Release("k")
	if !mem.Precheck("k") {
		t.Fatal("a released claim can be claimed again")
	}
	for _, mode := range []string{config.IdempotencyDurable, config.IdempotencyNone} {
		g := New(mode)
		if !g.Precheck("k") || !g.Precheck("k") {
			t.Fatalf("%s mode must leave the decision to the database", mode)
		}
	}
	if !New(config.IdempotencyDurable).Durable() || New(config.IdempotencyMemory).Durable() {
		t.Fatal("Durable")
	}
}
