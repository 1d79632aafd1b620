//go:build mqchaos_noop_faults

package fault

import "context"

// NoOp is true: this build injects and heals nothing (see engine.go), so
// every fault scenario must fail with ErrNoEffect.
const NoOp = true

func inject(context.Context, Fault) error { return nil }

func heal(context.Context, Fault) error { return nil }
