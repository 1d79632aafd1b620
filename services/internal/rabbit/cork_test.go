package rabbit

import (
	"bytes"
	"errors"
	"net"
	"testing"
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
