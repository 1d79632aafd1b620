package workload

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mqchaos/mqchaos/harness/fault"
)

// Hostile is a crowd of clients that hold a service's HTTP connections
// for as long as the server lets them, a fault of the clients' own
// making. While injected it opens connections at steady rates, of two
// kinds:
//   - a slow body: the request line and headers of a POST at once, then
//     its body a byte a second, never finished in time;
//   - a silent one: connected, and nothing sent.
//
// Neither closes a connection itself: each ends when the server ends it,
// or at Heal, which closes all that are left. How each ended, seen from
// the client, is in Ends.
//
// It has a fault's Name, Inject and Heal, so fault.Inject records it in a
// history.
type Hostile struct {
	Service string // for its name
	// Addr is the service's HTTP address, "host:port": best the
	// container's own (stack.Replica.Direct), so that what the crowd
	// wears out is the service, not a proxy in front of it.
	Addr string
	Path string // the slow bodies' POST path, e.g. "/orders"
	// SlowBodies and Silent are connections opened per second of each
	// kind.
	SlowBodies, Silent float64

	mu     sync.Mutex
	opened int // connections the service accepted
	ends   []HostileEnd
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// HostileEnd is how one hostile connection ended.
type HostileEnd struct {
	Kind string // "slow body" or "silent"
	// How: "answered 408" (the status of the server's answer, then
	// closed), "closed without an answer", "not connected: <error>", or
	// "open at heal".
	How   string
	After time.Duration // from the connection's start
}

// Hostile's connection kinds.
const (
	KindSlowBody = "slow body"
	KindSilent   = "silent"
)

// OpenAtHeal is the HostileEnd.How of a connection the server never ended.
const OpenAtHeal = "open at heal"

// Name says what it does, e.g. "hostile clients on order: 25 slow bodies/s
// and 25 silent/s".
func (c *Hostile) Name() string {
	return fmt.Sprintf("hostile clients on %s: %g slow bodies/s and %g silent/s", c.Service, c.SlowBodies, c.Silent)
}

// Witness sees the service accept a connection of the crowd within 10 s.
func (c *Hostile) Witness(context.Context) (fault.Check, error) {
	c.mu.Lock()
	before := c.opened
	c.mu.Unlock()
	return func(ctx context.Context) (string, error) {
		return fault.Eventually(ctx, func(context.Context) (string, bool, error) {
			c.mu.Lock()
			n := c.opened - before
			c.mu.Unlock()
			return fmt.Sprintf("%s accepted %d hostile connections", c.Addr, n), n > 0, nil
		})
	}, nil
}

// Inject starts opening connections and returns at once.
func (c *Hostile) Inject(ctx context.Context) error {
	run, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	for _, k := range []struct {
		kind string
		rate float64
	}{{KindSlowBody, c.SlowBodies}, {KindSilent, c.Silent}} {
		if k.rate <= 0 {
			continue
		}
		c.wg.Go(func() {
			tick := time.NewTicker(time.Duration(float64(time.Second) / k.rate))
			defer tick.Stop()
			for {
				select {
				case <-run.Done():
					return
				case <-tick.C:
					c.wg.Go(func() { c.hold(run, k.kind) })
				}
			}
		})
	}
	return nil
}

// Heal stops opening connections, closes those left open and waits for
// every one to be accounted for.
func (c *Hostile) Heal(context.Context) error {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	return nil
}

// Ends are the connections' ends so far.
func (c *Hostile) Ends() []HostileEnd {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ends)
}

// hold opens one connection of kind to c.Addr and keeps it as long as
// the server and run allow.
func (c *Hostile) hold(run context.Context, kind string) {
	start := time.Now()
	end := func(how string) {
		c.mu.Lock()
		c.ends = append(c.ends, HostileEnd{Kind: kind, How: how, After: time.Since(start)})
		c.mu.Unlock()
	}
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(run, "tcp", c.Addr)
	if err != nil {
		if run.Err() != nil {
			return // healed while dialling: never opened
		}
		end("not connected: " + err.Error())
		return
	}
	defer conn.Close()
	c.mu.Lock()
	c.opened++
	c.mu.Unlock()
	stop := context.AfterFunc(run, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if kind == KindSlowBody {
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n", c.Path, c.Addr)
		if _, err := conn.Write([]byte(head)); err != nil {
			end(c.closed(run, nil))
			return
		}
	}
	var got []byte
	buf := make([]byte, 512)
	for {
		// Between bytes of its body, a slow client reads what the server
		// has to say; a silent one only reads.
		conn.SetReadDeadline(time.Now().Add(time.Second))
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() && run.Err() == nil {
				if kind == KindSlowBody {
					if _, err := conn.Write([]byte(" ")); err != nil {
						end(c.closed(run, append(got, lastWords(conn)...)))
						return
					}
				}
				continue
			}
			end(c.closed(run, got))
			return
		}
	}
}

// lastWords is what the server sent before it closed a connection that
// a write found closed.
func lastWords(conn net.Conn) []byte {
	buf := make([]byte, 512)
	conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	n, _ := conn.Read(buf)
	return buf[:n]
}

// closed says how a connection that can no longer be used ended, from
// what the server sent on it.
func (c *Hostile) closed(run context.Context, got []byte) string {
	if status, ok := statusOf(got); ok {
		return "answered " + status
	}
	if run.Err() != nil {
		return OpenAtHeal
	}
	return "closed without an answer"
}

// statusOf is the status code of the HTTP response that starts got.
func statusOf(got []byte) (string, bool) {
	line, _, _ := bytes.Cut(got, []byte("\r\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return "", false
	}
	return f[1], true
}
