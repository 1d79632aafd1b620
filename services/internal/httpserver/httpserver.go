// Package httpserver holds the services' HTTP plumbing: JSON responses,
// strict JSON request decoding with clear 4xx errors, and the health,
// readiness and metrics endpoints every service exposes.
package httpserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mqchaos/mqchaos/services/contract"
)

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error": reason} with status.
func WriteError(w http.ResponseWriter, status int, reason string) {
	WriteJSON(w, status, contract.APIError{Error: reason})
}

// RequestError is a client mistake, with the status to answer it with.
type RequestError struct {
	Status int
	Reason string
	// Close answers with Connection: close: the client broke a limit and
	// what it still sends is not read.
	Close bool
}

func (e *RequestError) Error() string { return e.Reason }

// BadRequest builds a 400 RequestError.
func BadRequest(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Reason: fmt.Sprintf(format, args...)}
}

// DecodeJSON decodes one JSON object from r's body into dst under the
// services' one set of input rules (contract.Decode): JSON content type
// and no content encoding, valid UTF-8, no duplicate or unknown keys, one
// object and nothing after it, every field of its type. Its error is a
// *RequestError that says what was wrong: 415 for the media, 413 for a
// body over maxBytes, 408 for a body that did not arrive within the
// server's Limits.BodyTimeout (both with Connection: close), 400 for
// everything else.
func DecodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) error {
	if err := contract.CheckMedia(r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding")); err != nil {
		return Invalid(err)
	}
	tooLarge := &RequestError{Status: http.StatusRequestEntityTooLarge, Reason: fmt.Sprintf("body too large: limit is %d bytes", maxBytes), Close: true}
	if r.ContentLength > maxBytes { // judged by its declared size, before reading a byte of it
		return tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		var slow *BodyTimeoutError
		switch {
		case errors.As(err, new(*http.MaxBytesError)):
			return tooLarge
		case errors.As(err, &slow):
			return &RequestError{Status: http.StatusRequestTimeout, Reason: slow.Error() + ": send it at once, or not at all", Close: true}
		}
		return BadRequest("body not read: %v", err)
	}
	if err := contract.Decode(body, dst); err != nil {
		return Invalid(err)
	}
	return nil
}

// Invalid turns a contract validation error into a *RequestError: 415 for
// a *contract.MediaError, else 400, with the reason of err.
func Invalid(err error) *RequestError {
	if errors.As(err, new(*contract.MediaError)) {
		return &RequestError{Status: http.StatusUnsupportedMediaType, Reason: contract.Reason(err)}
	}
	return BadRequest("%s", contract.Reason(err))
}

// Text checks a path or query parameter with contract.CheckText; its
// error is a 400 *RequestError.
func Text(name, value string) error {
	if err := contract.CheckText(name, value, contract.MaxIDLength); err != nil {
		return Invalid(err)
	}
	return nil
}

// StreamJSON answers 200 with rows as a JSON array, encoding one row at a
// time, so a long list never sits in memory whole. It closes rows. An
// error after the first byte cuts the array short (the client sees invalid
// JSON); it is returned for logging.
func StreamJSON[T any](w http.ResponseWriter, rows pgx.Rows, scan pgx.RowToFunc[T]) error {
	defer rows.Close()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw)
	sep := "["
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		bw.WriteString(sep)
		sep = ","
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if sep == "[" {
		bw.WriteString("[")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// Readiness is the /ready answer to checks: the status code and the body.
func Readiness(checks []Check) (int, map[string]string) {
	body := map[string]string{"status": "ready"}
	var failed []string
	for _, c := range checks {
		if c.Detail != "" {
			body[c.Name] = c.Detail
		}
		if !c.OK {
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	if len(failed) > 0 {
		body["status"], body["reason"] = "not ready", strings.Join(failed, "; ")
		return http.StatusServiceUnavailable, body
	}
	return http.StatusOK, body
}

// NonNil returns s, or an empty slice for nil, so a list encodes as [] not null.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Field is a request field and whether the request had it.
type Field struct {
	Name    string
	Present bool
}

// Require returns a 400 that names every absent field, or nil.
func Require(fields ...Field) error {
	var missing []string
	for _, f := range fields {
		if !f.Present {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return BadRequest("missing fields: %s", strings.Join(missing, ", "))
	}
	return nil
}

// IntBetween reads raw as a JSON integer literal (no fraction, exponent or
// quotes) from min to max.
func IntBetween(raw json.RawMessage, min, max int) (int, bool) {
	n, err := strconv.Atoi(string(raw))
	return n, err == nil && n >= min && n <= max
}

// Respond writes err as its RequestError status, or 500.
func Respond(w http.ResponseWriter, err error) {
	var re *RequestError
	if errors.As(err, &re) {
		if re.Close {
			w.Header().Set("Connection", "close")
		}
		WriteError(w, re.Status, re.Reason)
		return
	}
	WriteError(w, http.StatusInternalServerError, err.Error())
}

// Check is one dependency's part of readiness.
type Check struct {
	Name   string // its key in the /ready body: "amqp", "database", ...
	OK     bool   // false makes /ready answer 503
	Detail string // the key's value: its state, or why it is not ready
}

// Mount adds GET /health (alive), GET /ready, GET /metrics, the pprof
// profiles under /debug/pprof/, and a catch-all: a method a known path
// does not serve answers 405 with the methods it does serve in Allow
// (OPTIONS: 204 with Allow), an unknown path 404, both with a JSON reason.
// Mount the service's own routes on mux before or after: the catch-all
// asks mux when it is hit.
//
// GET /ready answers 200 when every check of ready() is OK, else 503; its
// JSON body has "status" ("ready" or "not ready"), each check's Detail
// under its Name, and with 503 a "reason" joining the failed checks.
func Mount(mux *http.ServeMux, reg *prometheus.Registry, ready func() []Check) {
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		status, body := Readiness(ready())
		WriteJSON(w, status, body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		allow := allowed(mux, r)
		switch {
		case len(allow) == 0:
			WriteError(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
		case r.Method == http.MethodOptions:
			w.Header().Set("Allow", strings.Join(allow, ", "))
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", strings.Join(allow, ", "))
			WriteError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		}
	})
}

// methods are the methods a path is probed with for its Allow header.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowed lists the methods mux routes r's path to a handler other than
// the catch-all "/": none for an unknown path.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range methods {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}
