package fault

import (
	"context"
	"fmt"
	"time"
)

// Timeout stops all data through p in dir; after closes each connection
// that long after the toxic reached it. With after 0 it is a black hole:
// bytes vanish and nothing is closed, so each end of a connection believes
// it open until its own keep-alive (AMQP heartbeats, TCP keepalive) says
// otherwise. New connections through p get the same treatment until Heal.
//
// Heal lets data flow again on the connections still open, without closing
// them: the bytes lost in the meantime stay lost, often mid-frame, so a
// client that kept the connection must treat it as dead. (Removing a
// timeout toxic would make Toxiproxy 2.12 close every connection through
// it, which is a heal no network gives; so Heal sets the toxic's toxicity
// to 0 instead, and leaves it in place until the proxy goes. A later
// Inject sets it back to 1.)
func Timeout(p Proxy, dir Direction, after time.Duration) Fault {
	what := fmt.Sprintf("timeout %s", after)
	if after == 0 {
		what = "black hole"
	}
	return timeout{toxic{p: p, typ: "timeout", dir: dir, what: what,
		attrs: map[string]any{"timeout": ms(after)}, err: notNegative("timeout", after)}}
}

// BlackHole is Timeout(p, Both, 0): nothing passes either way and nothing
// closes, a half-open connection.
func BlackHole(p Proxy) Fault { return Timeout(p, Both, 0) }

type timeout struct{ toxic }

func (t timeout) Heal(ctx context.Context) error { return t.set(ctx, 0) }
