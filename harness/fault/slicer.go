package fault

import (
	"fmt"
	"time"
)

// Slicer cuts the data through p in dir into slices of averageSize bytes,
// plus or minus variation (less than averageSize), each sent delay after
// the one before: every AMQP frame arrives in pieces. Nothing is lost;
// Heal removes the toxic.
func Slicer(p Proxy, dir Direction, averageSize, variation int, delay time.Duration) Fault {
	t := toxic{p: p, typ: "slicer", dir: dir, what: fmt.Sprintf("slicer %d±%d bytes every %s", averageSize, variation, delay),
		attrs: map[string]any{"average_size": averageSize, "size_variation": variation, "delay": delay.Microseconds()}}
	switch {
	case averageSize < 1:
		t.err = fmt.Errorf("slicer average size %d: want at least 1 byte", averageSize)
	case variation < 0 || variation >= averageSize:
		t.err = fmt.Errorf("slicer size variation %d: want 0 or more and less than the average size %d", variation, averageSize)
	default:
		t.err = notNegative("slicer delay", delay)
	}
	return t
}
