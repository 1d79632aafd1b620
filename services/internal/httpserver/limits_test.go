package httpserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run a real server on 127.0.0.1 and talk raw HTTP/1.1 to it,
// as a slow or hostile client does. Each limit is short (a few hundred
// ms); the client waits for the server's answer under a deadline ten
// times longer than the limit, so a limit that does not fire fails the
// test instead of hanging it, and nothing asserts how fast it fired.

const (
	short    = 300 * time.Millisecond
	long     = time.Minute
	deadline = 10 * time.Second
)

// everyLimitLong has every limit far away; a test shortens the one it tries.
var everyLimitLong = Limits{HeaderTimeout: long, BodyTimeout: long, HandlerTimeout: long, WriteTimeout: 3 * long, IdleTimeout: long, MaxConns: 100}

// refusals records the limits a server reports, safe for concurrent use.
type refusals struct {
	mu  sync.Mutex
	got []string
}

func (r *refusals) add(limit string) { r.mu.Lock(); r.got = append(r.got, limit); r.mu.Unlock() }
func (r *refusals) has(limit string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.got {
		if l == limit {
			return true
		}
	}
	return false
}

// serve starts h under l on a free port and returns its address.
func serve(t *testing.T, h http.Handler, l Limits) (string, *refusals) {
	t.Helper()
	addr, seen, _ := serveWith(t, h, l)
	return addr, seen
}

func serveWith(t *testing.T, h http.Handler, l Limits) (string, *refusals, *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen := &refusals{}
	s := NewServer(h, l, seen.add)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String(), seen, s
}

// decodeHandler is a POST handler as the services' are: DecodeJSON, then 200.
var decodeHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	var v struct {
		Item string `json:"item"`
	}
	if err := DecodeJSON(w, r, 1<<20, &v); err != nil {
		Respond(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
})

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// answer reads everything the server sends until it closes c, within
// deadline: the answer, and whether the server closed the connection.
func answer(t *testing.T, c net.Conn) (string, bool) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(deadline)); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	return string(b), err == nil
}

func TestASlowBodyIsCutOffWith408AndTheConnectionClosed(t *testing.T) {
	l := everyLimitLong
	l.BodyTimeout = short
	addr, seen := serve(t, decodeHandler, l)
	c := dial(t, addr)
	// The headers at once, then one byte of a 100-byte body, and no more.
	if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	got, closed := answer(t, c)
	if !strings.HasPrefix(got, "HTTP/1.1 408 ") || !strings.Contains(got, "Connection: close") || !strings.Contains(got, `"request body not received within 300ms`) {
		t.Fatalf("answer %q: want 408 with Connection: close and a JSON reason", got)
	}
	if !closed {
		t.Fatalf("connection still open %s after the body's limit", deadline)
	}
	if !seen.has("body") {
		t.Fatalf("refusals %v: want body", seen.got)
	}
}

// A body that arrives in time is served, and the connection is kept for
// the next request: the body's deadline is lifted once it is read.
func TestABodyInTimeIsServedAndTheConnectionKept(t *testing.T) {
	l := everyLimitLong
	l.BodyTimeout = short
	addr, _ := serve(t, decodeHandler, l)
	c := dial(t, addr)
	r := bufio.NewReader(c)
	for i := range 2 {
		if i == 1 {
			// Longer than the body's limit since the first body: only a
			// deadline left behind by the first request would cut this.
			time.Sleep(2 * short)
		}
		if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\n\r\n{\"item\":\"a\"}"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(deadline))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("request %d: %d %s (close %v)", i+1, resp.StatusCode, b, resp.Close)
		}
	}
}

func TestASlowHeaderIsCutOffWith408AndTheConnectionClosed(t *testing.T) {
	l := everyLimitLong
	l.HeaderTimeout = short
	addr, seen := serve(t, decodeHandler, l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: t\r\n"); err != nil { // and never the blank line
		t.Fatal(err)
	}
	got, closed := answer(t, c)
	if !strings.HasPrefix(got, "HTTP/1.1 408 ") || !strings.Contains(got, `"request headers not received in time"`) || !closed {
		t.Fatalf("answer %q, closed %v: want 408 with a JSON reason, then the connection closed", got, closed)
	}
	if !seen.has("header") {
		t.Fatalf("refusals %v: want header", seen.got)
	}
}

// An idle keep-alive connection is closed without an answer: no request
// is owed one.
func TestAnIdleConnectionIsClosedSilently(t *testing.T) {
	l := everyLimitLong
	l.IdleTimeout = short
	addr, _ := serve(t, decodeHandler, l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\n\r\n{\"item\":\"a\"}"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(deadline))
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	rest, err := io.ReadAll(r)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the idle limit: %q, %v; want the connection closed without a word", rest, err)
	}
}

func TestAHandlerPastItsDeadlineAnswers503WithRetryAfter(t *testing.T) {
	l := everyLimitLong
	l.HandlerTimeout = short
	addr, seen := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a database call that does not answer
		WriteError(w, http.StatusServiceUnavailable, "database unavailable")
	}), l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got, closed := answer(t, c)
	if !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "Retry-After: 1\r\n") || !closed {
		t.Fatalf("answer %q: want 503 with Retry-After", got)
	}
	if !seen.has("handler") {
		t.Fatalf("refusals %v: want handler", seen.got)
	}
}

// A client that does not read its answer is cut off: the handler's
// writes fail once the write limit passes, and it ends.
func TestAClientThatDoesNotReadIsCutOff(t *testing.T) {
	l := everyLimitLong
	l.WriteTimeout = short
	wrote := make(chan error, 1)
	addr, seen := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
	}), l)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-wrote:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write failed with %v, want the write deadline", err)
		}
	case <-time.After(deadline):
		t.Fatalf("the handler still writing %s after the write limit", deadline)
	}
	if !seen.has("write") {
		t.Fatalf("refusals %v: want write", seen.got)
	}
}

// Past MaxConns a connection is answered 503 with Retry-After and closed
// before its request is read; the connections already open are served,
// and once one closes, its slot serves a new one.
func TestConnectionsPastTheCapAre503AndClosed(t *testing.T) {
	l := everyLimitLong
	l.MaxConns = 2
	addr, seen, srv := serveWith(t, decodeHandler, l)
	held := []net.Conn{dial(t, addr), dial(t, addr)}
	for _, c := range held {
		// Half a request each: the server holds them, waiting.
		if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	extra := dial(t, addr)
	_, _ = io.WriteString(extra, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\n\r\n{\"item\":\"a\"}")
	got, closed := answer(t, extra)
	if !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "Retry-After: 1\r\n") || !strings.Contains(got, `"too many connections`) || !closed {
		t.Fatalf("answer %q, closed %v: want 503 with Retry-After and a JSON reason, then closed", got, closed)
	}
	if !seen.has("connections") {
		t.Fatalf("refusals %v: want connections", seen.got)
	}
	if n := srv.Open(); n != 2 {
		t.Fatalf("Open() = %d, want the 2 held", n)
	}
	// A held connection finishes its request and is served.
	if _, err := io.WriteString(held[0], "Host: t\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"item\":\"a\"}"); err != nil {
		t.Fatal(err)
	}
	if got, _ := answer(t, held[0]); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
		t.Fatalf("held connection: %q, want 200", got)
	}
	// Its slot is given back once the server has closed it: a new
	// connection is served, within the deadline.
	stop := time.Now().Add(deadline)
	for {
		c := dial(t, addr)
		_, _ = io.WriteString(c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"item\":\"a\"}")
		got, _ := answer(t, c)
		if strings.HasPrefix(got, "HTTP/1.1 200 ") {
			break
		}
		if time.Now().After(stop) {
			t.Fatalf("no new connection served within %s of a slot freed: %q", deadline, got)
		}
	}
}

// Limits{} (UNSAFE_NO_HTTP_LIMITS) is net/http with no limit at all.
func TestNoLimitsIsTheBareServer(t *testing.T) {
	s := NewServer(decodeHandler, Limits{}, nil)
	h := s.http
	if h.ReadHeaderTimeout != 0 || h.ReadTimeout != 0 || h.WriteTimeout != 0 || h.IdleTimeout != 0 || h.MaxHeaderBytes != 0 {
		t.Fatalf("server %+v: want no timeout", h)
	}
}
