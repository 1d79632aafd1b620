package rabbit

import (
	"net"
	"sync"
	"time"
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
//
// With timeout set, a write to the connection that takes longer fails
// (os.ErrDeadlineExceeded) instead of blocking: a broker that stopped
// reading the socket (connection.blocked by a memory or disk alarm, or
// a peer gone half-open) fills the socket buffers, and amqp091-go's
// writes, heartbeats and acks included, would otherwise wait forever
// under its send lock. A failed write leaves a partial frame behind, so
// amqp091-go (or uncork) closes the connection and the session ends.
type corkConn struct {
	net.Conn
	timeout time.Duration // per write; 0: none
	mu      sync.Mutex
	corked  int
	held    []byte
}

// Write sends p now, or holds it while corked.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked > 0 {
		c.held = append(c.held, p...)
		return len(p), nil
	}
	return c.write(p)
}

// write writes p under the write deadline. c.mu is held.
func (c *corkConn) write(p []byte) (int, error) {
	if c.timeout <= 0 {
		return c.Conn.Write(p)
	}
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if err == nil {
		err = c.Conn.SetWriteDeadline(time.Time{})
	}
	return n, err
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
	_, err := c.write(c.held)
	if cap(c.held) > 1<<20 {
		c.held = nil // do not keep an outsized buffer
	}
	c.held = c.held[:0]
	if err != nil {
		_ = c.Conn.Close() // the broker cannot have what was held: fail the session
	}
	return err
}
