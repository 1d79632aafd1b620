// Package idempotency decides whether a message's effect was applied
// before, by key, in one of three modes: durable (a key table written in
// the effect's own statement or transaction), memory (unsafe: a set in
// this process), or none (unsafe: every delivery applies its effect).
package idempotency

import (
	"sync"

	"github.com/mqchaos/mqchaos/services/internal/config"
)

// Migration creates the durable key table in the service's schema.
const Migration = `CREATE TABLE IF NOT EXISTS processed_keys (
	key text PRIMARY KEY,
	processed_at timestamptz NOT NULL DEFAULT now()
)`

// ClaimAll is SQL for a WITH clause named "claim" that, when $2 is true
// (durable mode), claims every key of the text array $1, in key order so
// that concurrent claims cannot deadlock, and yields the keys that were
// new: those whose effect should apply. A statement that writes the effect
// selects from "claim", so the claims and the effects commit together.
const ClaimAll = `claim AS (
	INSERT INTO processed_keys (key) SELECT k FROM unnest($1::text[]) AS k WHERE $2 ORDER BY k
	ON CONFLICT DO NOTHING RETURNING key
)`

// Guard is safe for concurrent use.
type Guard struct {
	mode string
	mu   sync.Mutex
	seen map[string]bool
}

// New returns a Guard in mode (config.Idempotency*).
func New(mode string) *Guard { return &Guard{mode: mode, seen: map[string]bool{}} }

// Durable reports whether keys are claimed in the database ($2 of ClaimAll).
func (g *Guard) Durable() bool { return g.mode == config.IdempotencyDurable }

// Precheck claims key in memory mode and reports whether to go on; in the
// other modes it always goes on (durable claims happen in the database).
// A memory claim is held from here, so two concurrent deliveries of one
// key do not both apply it; Release it if the effect did not commit.
func (g *Guard) Precheck(key string) bool {
	if g.mode != config.IdempotencyMemory {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen[key] {
		return false
	}
	g.seen[key] = true
	return true
}

// Release forgets an in-memory claim whose effect did not commit.
func (g *Guard) Release(key string) {
	if g.mode == config.IdempotencyMemory {
		g.mu.Lock()
		delete(g.seen, key)
		g.mu.Unlock()
	}
}
