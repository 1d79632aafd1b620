//go:build !mqchaos_noop_faults

package fault

import "context"

// NoOp is false: faults are injected and healed. Built with the tag
// mqchaos_noop_faults, it is true and Inject and Heal ask nothing of the
// engine, a mutation that every fault's Check must catch.
const NoOp = false

func inject(ctx context.Context, f Fault) error { return f.Inject(ctx) }

func heal(ctx context.Context, f Fault) error { return f.Heal(ctx) }
