package fault

import (
	"errors"
	"fmt"
	"time"
)

// Latency delays every chunk of data through p by latency, plus or minus
// up to jitter (uniformly), in dir. Nothing is lost: Heal removes the
// toxic, and what it held is delivered at once.
func Latency(p Proxy, dir Direction, latency, jitter time.Duration) Fault {
	t := toxic{p: p, typ: "latency", dir: dir, what: fmt.Sprintf("latency %s±%s", latency, jitter),
		attrs: map[string]any{"latency": ms(latency), "jitter": ms(jitter)}}
	t.err = errors.Join(notNegative("latency", latency), notNegative("jitter", jitter))
	return t
}
