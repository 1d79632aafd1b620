package rabbit

import (
	"net"
	"sync"
)

// corkConn is the connection under amqp091-go, which writes and flushes
// every publish on its own: a syscall and a TCP segment per message, and
// a read per message on the broker's side. While corked, writes are held
// in memory; the last uncork sends them in one write. PublishBatch corks
// around a batch, so the relay's batch leaves in one write and then waits
// for its confirms.
//
// A held write is reported written. If the later write fails, the
// connection is closed, so its publishes fail to be confirmed and are
// published again; nothing held is taken for sent. Frames of other
// channels (acks, heartbeats) written meanwhile wait for the same write:
// a batch is held for as long as it takes to encode it. Safe for
// concurrent use.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked int
	held   []byte
}

// Write sends p now, or holds it while corked.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked > 0 {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// cork holds writes until the matching uncork.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked++
	c.mu.Unlock()
}

// uncork ends a cork; the last one sends what was held, in one write.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked--; c.corked > 0 || len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	if cap(c.held) > 1<<20 {
		c.held = nil // do not keep an outsized buffer
	}
	c.held = c.held[:0]
	if err != nil {
		_ = c.Conn.Close() // the broker cannot have what was held: fail the session
	}
	return err
}
