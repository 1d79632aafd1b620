package httpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound every phase of a request and the connections a server
// holds open. A zero field is no limit (UNSAFE_NO_HTTP_LIMITS zeroes them
// all); MaxHeaderBytes zero is net/http's 1 MiB.
type Limits struct {
	// HeaderTimeout bounds the request line and headers, from the
	// request's first byte. A client that sent part of them and stalls
	// gets 408 and its connection closed.
	HeaderTimeout time.Duration
	// BodyTimeout bounds the body, from the end of the headers: a body
	// still arriving then is cut off; a handler reading it with DecodeJSON
	// answers 408 and the connection is closed.
	BodyTimeout time.Duration
	// HandlerTimeout is the deadline of the request's context: database
	// work past it fails and the handler answers 503 (with Retry-After,
	// as every 503 here). A handler that ignores its context is not
	// stopped: Go cannot end a goroutine.
	HandlerTimeout time.Duration
	// WriteTimeout bounds the whole exchange from the end of the headers
	// to the last byte of the response (net/http's WriteTimeout): a client
	// that does not read its response has its connection closed. Keep it
	// above BodyTimeout + HandlerTimeout.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that sends no next
	// request in time, without an answer (none is due).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers in bytes; more
	// is answered 431 by net/http.
	MaxHeaderBytes int
	// MaxConns bounds the connections open at once. A connection past it
	// is answered 503 with Retry-After at once and closed, before a byte
	// of its request is read, so the connections already open (an honest
	// client's keep-alive pool) are served on.
	MaxConns int
}

// retryAfter is the Retry-After of every 503: the limits and the
// dependencies behind them clear in about that many seconds.
const retryAfter = "1"

// Server is an http.Server under Limits. Create it with NewServer.
type Server struct {
	http    *http.Server
	limits  Limits
	refused func(limit string)
	open    atomic.Int64
	// refusing bounds the goroutines that answer connections past
	// MaxConns; past it, such a connection is closed without an answer.
	refusing chan struct{}
}

// NewServer serves h under l. refused, if not nil, is called once for
// each request or connection a limit cut off, with the limit's name:
// "connections", "header", "body", "handler" or "write". It must be safe
// for concurrent use.
func NewServer(h http.Handler, l Limits, refused func(limit string)) *Server {
	if refused == nil {
		refused = func(string) {}
	}
	s := &Server{limits: l, refused: refused, refusing: make(chan struct{}, 64)}
	s.http = &http.Server{
		Handler:           s.wrap(h),
		ReadHeaderTimeout: l.HeaderTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ConnState:         s.connState,
	}
	return s
}

// Serve accepts connections on ln until Shutdown or Close; see
// http.Server.Serve.
func (s *Server) Serve(ln net.Listener) error {
	return s.http.Serve(&listener{Listener: ln, s: s})
}

// Shutdown stops accepting, closes idle connections and waits for the
// active ones to finish, or for ctx; see http.Server.Shutdown.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// Open is the number of connections the server holds open now, those it
// is refusing past MaxConns aside. Safe for concurrent use.
func (s *Server) Open() int { return int(s.open.Load()) }

// Close closes the listener and every connection at once.
func (s *Server) Close() error { return s.http.Close() }

// wrap puts the body, handler and write limits around h, and a
// Retry-After on every 503.
func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &responseWriter{ResponseWriter: w, s: s}
		if s.limits.BodyTimeout > 0 && r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			if err := rc.SetReadDeadline(time.Now().Add(s.limits.BodyTimeout)); err == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, limit: s.limits.BodyTimeout, s: s}
			}
		}
		if s.limits.HandlerTimeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), s.limits.HandlerTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(rw, r)
		if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
			s.refused("handler")
		}
	})
}

// BodyTimeoutError is a request body that did not arrive within
// Limits.BodyTimeout. DecodeJSON answers it 408.
type BodyTimeoutError struct{ Limit time.Duration }

func (e *BodyTimeoutError) Error() string {
	return fmt.Sprintf("request body not received within %s", e.Limit)
}

// deadlineBody is a request body read under a deadline. At its end the
// deadline is lifted, so that it does not cut short net/http's read of
// the connection while the handler runs; past it, a read fails with a
// *BodyTimeoutError.
type deadlineBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	limit time.Duration
	s     *Server
	once  sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.once.Do(func() { b.s.refused("body") })
		return n, &BodyTimeoutError{Limit: b.limit}
	case err == io.EOF:
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// responseWriter adds Retry-After to a 503 and counts a write cut off by
// the write limit.
type responseWriter struct {
	http.ResponseWriter
	s       *Server
	written bool
	cut     bool
}

func (w *responseWriter) WriteHeader(status int) {
	if !w.written && status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.written = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.written = true
	n, err := w.ResponseWriter.Write(p)
	if err != nil && !w.cut && errors.Is(err, os.ErrDeadlineExceeded) {
		w.cut = true
		w.s.refused("write")
	}
	return n, err
}

// Flush passes on to the connection, for streamed answers.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// listener caps the connections open at once at Limits.MaxConns.
type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if n, max := l.s.open.Add(1), int64(l.s.limits.MaxConns); max > 0 && n > max {
			l.s.open.Add(-1)
			l.s.refused("connections")
			l.s.refuse(c)
			continue
		}
		return &conn{Conn: c, s: l.s, waiting: true}, nil
	}
}

// tooManyConns is the answer to a connection past MaxConns.
var tooManyConns = func() string {
	body := `{"error":"too many connections: the server holds its limit open; retry later"}` + "\n"
	return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: " + retryAfter +
		"\r\nConnection: close\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body
}()

// refuse answers c 503 and closes it, in a goroutine of its own (at most
// cap(s.refusing) at once, each for at most a second): it half-closes
// and reads what the client sent before closing, so that the client's
// unread request does not turn the close into a reset that loses the
// answer. Past that many, c is closed without an answer.
func (s *Server) refuse(c net.Conn) {
	select {
	case s.refusing <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-s.refusing }()
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := io.WriteString(c, tooManyConns); err != nil {
			return
		}
		if hc, ok := c.(interface{ CloseWrite() error }); ok {
			_ = hc.CloseWrite()
			_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
		}
	}()
}

// timeout408 is the answer to a request whose headers did not arrive
// within HeaderTimeout.
var timeout408 = func() string {
	body := `{"error":"request headers not received in time"}` + "\n"
	return "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
		fmt.Sprint(len(body)) + "\r\n\r\n" + body
}()

// conn answers 408 when its read deadline passes while a request's
// headers are half read: net/http closes such a connection without a
// word. An idle connection (nothing read since the last response) is
// closed without one, as none is due; during the body and the handler
// (StateActive) the handler answers.
type conn struct {
	net.Conn
	s       *Server
	mu      sync.Mutex
	waiting bool // StateNew or StateIdle: between requests, or reading headers
	partial bool // bytes read since the connection became waiting
	counted bool // taken off Server.open
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > 0 {
		c.partial = true
	}
	if err != nil && c.waiting && c.partial && errors.Is(err, os.ErrDeadlineExceeded) {
		c.waiting = false // once
		c.s.refused("header")
		_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(c.Conn, timeout408)
	}
	// err unwrapped: net/http knows a timeout by its type, and would
	// answer anything else 400.
	return n, err
}

// connState follows each connection's phase for conn.Read and gives
// back a closed connection's slot.
func (s *Server) connState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateNew, http.StateIdle:
		c.waiting, c.partial = true, false
	case http.StateActive:
		c.waiting = false
	case http.StateClosed, http.StateHijacked:
		if !c.counted {
			c.counted = true
			s.open.Add(-1)
		}
	}
}
