package fault

import "fmt"

// LimitData closes each connection through p once bytes have gone through
// it in dir (counted from when the toxic is set, for connections already
// open); new connections get the same budget until Heal removes the toxic.
func LimitData(p Proxy, dir Direction, bytes int64) Fault {
	t := toxic{p: p, typ: "limit_data", dir: dir, what: fmt.Sprintf("limit_data %d bytes", bytes),
		attrs: map[string]any{"bytes": bytes}}
	if bytes < 1 {
		t.err = fmt.Errorf("limit_data %d bytes: want at least 1", bytes)
	}
	return t
}
