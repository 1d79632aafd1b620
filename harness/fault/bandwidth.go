package fault

import "fmt"

// Bandwidth limits what goes through p in dir to kbPerSecond KB/s (at
// least 1: Toxiproxy takes 0 as no limit). Heal removes the limit.
func Bandwidth(p Proxy, dir Direction, kbPerSecond int64) Fault {
	t := toxic{p: p, typ: "bandwidth", dir: dir, what: fmt.Sprintf("bandwidth %d KB/s", kbPerSecond),
		attrs: map[string]any{"rate": kbPerSecond}}
	if kbPerSecond < 1 {
		t.err = fmt.Errorf("bandwidth %d KB/s: want at least 1", kbPerSecond)
	}
	return t
}
