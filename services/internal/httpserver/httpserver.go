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
}

func (e *RequestError) Error() string { return e.Reason }

// BadRequest builds a 400 RequestError.
func BadRequest(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Reason: fmt.Sprintf(format, args...)}
}

// DecodeJSON decodes one JSON object from r's body into dst, refusing
// unknown fields, trailing data and bodies over maxBytes. Its error is a
// *RequestError that says what was wrong.
func DecodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) error {
	if r.ContentLength > maxBytes { // judged by its declared size, before reading a byte of it
		return describe(&http.MaxBytesError{Limit: maxBytes}, maxBytes)
	}
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return describe(err, maxBytes)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return describe(err, maxBytes)
		}
		return BadRequest("invalid JSON: body must hold a single object")
	}
	return nil
}

func describe(err error, maxBytes int64) *RequestError {
	var (
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &RequestError{Status: http.StatusRequestEntityTooLarge, Reason: fmt.Sprintf("body too large: limit is %d bytes", maxBytes)}
	case errors.Is(err, io.EOF):
		return BadRequest("invalid JSON: body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("invalid JSON: %v", err)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return BadRequest("invalid JSON: body must be an object")
		}
		return BadRequest("field %q must be %s, got %s", typeErr.Field, kind(typeErr.Type.Kind().String()), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return BadRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return BadRequest("invalid JSON: %v", err)
	}
}

func kind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32":
		return "an integer"
	default:
		return "a " + k
	}
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

// IntAtLeast reads raw as a JSON integer literal (no fraction, exponent or
// quotes) of at least min.
func IntAtLeast(raw json.RawMessage, min int) (int, bool) {
	n, err := strconv.Atoi(string(raw))
	return n, err == nil && n >= min
}

// Respond writes err as its RequestError status, or 500.
func Respond(w http.ResponseWriter, err error) {
	var re *RequestError
	if errors.As(err, &re) {
		WriteError(w, re.Status, re.Reason)
		return
	}
	WriteError(w, http.StatusInternalServerError, err.Error())
}

// Mount adds GET /health (alive), GET /ready (ready() true), GET /metrics,
// the pprof profiles under /debug/pprof/, and a JSON 404 for unknown paths.
func Mount(mux *http.ServeMux, reg *prometheus.Registry, ready func() error) {
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
}
