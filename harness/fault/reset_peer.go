package fault

import (
	"fmt"
	"time"
)

// ResetPeer resets every connection through p with a TCP RST (SO_LINGER
// 0) after it has been open for after (0: at once), in dir; new
// connections are reset too until Heal removes the toxic.
func ResetPeer(p Proxy, dir Direction, after time.Duration) Fault {
	return toxic{p: p, typ: "reset_peer", dir: dir, what: fmt.Sprintf("reset_peer after %s", after),
		attrs: map[string]any{"timeout": ms(after)}, err: notNegative("reset_peer timeout", after)}
}
