package fault

import (
	"fmt"
	"time"
)

// ResetPeer resets every connection through p with a TCP RST (SO_LINGER
// 0) in dir once data flows: after after (0: at once) from its first
// chunk, which with everything sent after it is swallowed meanwhile. New
// connections are reset too until Heal removes the toxic.
func ResetPeer(p Proxy, dir Direction, after time.Duration) Fault {
	return toxic{p: p, typ: "reset_peer", dir: dir, what: fmt.Sprintf("reset_peer after %s", after),
		attrs: map[string]any{"timeout": ms(after)}, err: notNegative("reset_peer timeout", after)}
}
