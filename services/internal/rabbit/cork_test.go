package rabbit

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// writes records each write to the connection.
type writes struct {
	net.Conn
	got    [][]byte
	fail   error
	closed bool
}

func (w *writes) Write(p []byte) (int, error) {
	if w.fail != nil {
		return 0, w.fail
	}
	w.got = append(w.got, bytes.Clone(p))
	return len(p), nil
}

func (w *writes) Close() error { w.closed = true; return nil }

func (w *writes) SetWriteDeadline(time.Time) error { return nil }

func TestCorkSendsABatchInOneWrite(t *testing.T) {
	w := &writes{}
	c := &corkConn{Conn: w}
	c.Write([]byte("a"))
	c.cork()
	c.Write([]byte("b"))
	c.cork() // nested: only the last uncork sends
	c.Write([]byte("c"))
	if err := c.uncork(); err != nil || len(w.got) != 1 {
		t.Fatalf("inner uncork sent: %q, %v", w.got, err)
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("d"))
	want := []string{"a", "bc", "d"}
	if len(w.got) != len(want) {
		t.Fatalf("writes %q, want %q", w.got, want)
	}
	for i := range want {
		if string(w.got[i]) != want[i] {
			t.Fatalf("writes %q, want %q", w.got, want)
		}
	}
}

func TestCorkFailedWriteClosesTheConnection(t *testing.T) {
	w := &writes{}
	c := &corkConn{Conn: w}
	c.cork()
	if n, err := c.Write([]byte("held")); n != 4 || err != nil {
		t.Fatalf("held write: %d, %v", n, err)
	}
	w.fail = errors.New("broken pipe")
	if err := c.uncork(); err == nil || !w.closed {
		t.Fatalf("uncork: %v, closed %v: a lost batch must fail the session", err, w.closed)
	}
}

// A peer that reads nothing (a broker that blocked the connection, with
// the socket buffers full) makes a write fail after the timeout instead
// of hanging the publisher, and uncork then closes the connection.
func TestCorkWriteToAPeerThatDoesNotReadTimesOut(t *testing.T) {
	client, server := net.Pipe() // unbuffered: a write waits for a read that never comes
	defer server.Close()
	c := &corkConn{Conn: client, timeout: 100 * time.Millisecond}
	start := time.Now()
	if _, err := c.Write([]byte("heartbeat")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("uncorked write: %v, want a deadline error", err)
	}
	c.cork()
	c.Write([]byte("batch"))
	if err := c.uncork(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("uncork: %v, want a deadline error", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("two writes with a 100ms deadline took %s", took)
	}
	if _, err := client.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("after a failed uncork the connection must be closed, write gave %v", err)
	}
}
