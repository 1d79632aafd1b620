// Package eventid keeps a consuming service's record of the event ids it
// took in, each with its contents (type and data), so that an event id a
// producer reuses for other contents is a conflict: recorded, logged,
// counted and not applied, instead of passing for a redelivery.
//
// The first contents of an event id stand. A later delivery of the id
// with the same contents is a redelivery: it goes on to the service,
// whose own keys (order id, kind of notice) make it a duplicate. With
// other contents it is a conflict: a row in event_conflicts (once per id
// and contents; GET /conflicts), a warning, mqchaos_conflicts_total{queue}
// (counted once, as the row), and it is acked without being applied.
// An event's occurred_at is not part of its contents: a producer that
// rebuilds an event to send it again sends the same event.
package eventid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/consume"
	"github.com/mqchaos/mqchaos/services/internal/httpserver"
)

// Migration creates the record of event ids and of conflicts in the
// service's schema.
const Migration = `CREATE TABLE IF NOT EXISTS event_ids (
	event_id text PRIMARY KEY,
	contents text NOT NULL,
	queue text NOT NULL,
	seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS event_conflicts (
	id bigserial PRIMARY KEY,
	event_id text NOT NULL,
	contents text NOT NULL,
	first_contents text NOT NULL,
	queue text NOT NULL,
	replica text NOT NULL,
	seen_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (event_id, contents)
)`

// standing records the batch's event ids ($1) with their contents ($2)
// where they are new, and returns the standing contents of each: its own
// when new, else the first recorded. An id that a concurrent transaction
// recorded after this statement's snapshot is in neither half: the
// caller retries.
const standing = `WITH v AS (
	SELECT * FROM unnest($1::text[], $2::text[]) AS v(id, contents)
), ins AS (
	INSERT INTO event_ids (event_id, contents, queue) SELECT id, contents, $3 FROM v
	ON CONFLICT (event_id) DO NOTHING RETURNING event_id, contents
)
SELECT event_id, contents FROM ins
UNION ALL
SELECT e.event_id, e.contents FROM event_ids e JOIN v ON e.event_id = v.id`

// recordConflicts records the conflicts ($1 ids, $2 contents, $3 first
// contents) once per id and contents, and returns the ids it recorded.
const recordConflicts = `INSERT INTO event_conflicts (event_id, contents, first_contents, queue, replica)
	SELECT id, c, f, $4, $5 FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, c, f)
	ON CONFLICT (event_id, contents) DO NOTHING RETURNING event_id`

// Ledger is safe for concurrent use.
type Ledger struct {
	Pool      *pgxpool.Pool
	Replica   string
	Log       *slog.Logger
	Conflicts *prometheus.CounterVec // by queue
}

// event is one delivery of a batch with an event id the ledger checks.
type event struct {
	i        int
	id       string
	contents string
}

// Guard wraps f, the handler of queue: each delivery's event id is
// checked against the record first, in a statement of its own, and the
// conflicts are recorded and acked (nil errors) without reaching f.
// Deliveries that are not valid events reach f, which refuses them. The
// record is written before f's effect commits: a redelivery with the same
// contents passes it however often f failed.
func (l *Ledger) Guard(queue string, f consume.Func) consume.Func {
	return func(ctx context.Context, ds []amqp.Delivery) []error {
		errs := make([]error, len(ds))
		var evs []event
		for i, d := range ds {
			if id, contents, ok := Contents(d); ok {
				evs = append(evs, event{i: i, id: id, contents: contents})
			}
		}
		conflict, err := l.check(ctx, queue, evs)
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
			return errs
		}
		var pass []amqp.Delivery
		var at []int
		for i, d := range ds {
			if !conflict[i] {
				pass, at = append(pass, d), append(at, i)
			}
		}
		if len(pass) == 0 {
			return errs
		}
		for n, err := range f(ctx, pass) {
			errs[at[n]] = err
		}
		return errs
	}
}

// check records evs' ids and contents and returns which deliveries, by
// batch index, conflict with the standing contents of their id; it
// records those conflicts, logs and counts the ones new to the record.
func (l *Ledger) check(ctx context.Context, queue string, evs []event) (map[int]bool, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	// An id twice in the batch goes to the database once: the first
	// stands, as if the two had come one after the other.
	var ids, contents []string
	first := map[string]bool{}
	for _, e := range evs {
		if !first[e.id] {
			first[e.id] = true
			ids, contents = append(ids, e.id), append(contents, e.contents)
		}
	}
	rows, err := l.Pool.Query(ctx, standing, ids, contents, queue)
	if err != nil {
		return nil, fmt.Errorf("check event ids: %w", err)
	}
	stands := map[string]string{}
	var id, c string
	if _, err := pgx.ForEachRow(rows, []any{&id, &c}, func() error { stands[id] = c; return nil }); err != nil {
		return nil, fmt.Errorf("check event ids: %w", err)
	}
	conflict := map[int]bool{}
	var cids, ccontents, cfirst []string
	for _, e := range evs {
		s, ok := stands[e.id]
		if !ok {
			return nil, fmt.Errorf("check event id %s: recorded by a concurrent delivery; try again", e.id)
		}
		if s != e.contents {
			conflict[e.i] = true
			cids, ccontents, cfirst = append(cids, e.id), append(ccontents, e.contents), append(cfirst, s)
		}
	}
	if len(cids) == 0 {
		return conflict, nil
	}
	rows, err = l.Pool.Query(ctx, recordConflicts, cids, ccontents, cfirst, queue, l.Replica)
	if err != nil {
		return nil, fmt.Errorf("record event id conflicts: %w", err)
	}
	recorded, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("record event id conflicts: %w", err)
	}
	if len(recorded) > 0 {
		l.Conflicts.WithLabelValues(queue).Add(float64(len(recorded)))
		l.Log.Warn("event ids reused with other contents recorded, not applied; the first contents of each id stand", "queue", queue, "event_ids", recorded)
	}
	return conflict, nil
}

// Contents is d's event id and contents, {"type": ..., "data": {...}}
// with the data's fields in the contract's order, when d is a valid
// event of a type the services know; ok is false otherwise.
func Contents(d amqp.Delivery) (id, contents string, ok bool) {
	var data any
	env, o, err := contract.DecodeOrderPlacedDelivery(d.ContentType, d.ContentEncoding, d.Body)
	data = o
	if err != nil {
		var r contract.InventoryResult
		env, r, err = contract.DecodeInventoryResultDelivery(d.ContentType, d.ContentEncoding, d.Body)
		data = r
	}
	if err != nil {
		return "", "", false
	}
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{env.Type, data})
	if err != nil {
		return "", "", false
	}
	return env.EventID, string(b), true
}

// List serves GET /conflicts[?event_id=]: the recorded conflicts, oldest
// first.
func (l *Ledger) List(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("event_id")
	if id != "" {
		if err := httpserver.Text("event_id", id); err != nil {
			httpserver.Respond(w, err)
			return
		}
	}
	rows, err := l.Pool.Query(r.Context(), `SELECT event_id, contents::json, first_contents::json, queue, replica, seen_at
		FROM event_conflicts WHERE $1 = '' OR event_id = $1 ORDER BY id`, id)
	if err != nil {
		httpserver.WriteError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	if err := httpserver.StreamJSON(w, rows, pgx.RowToStructByPos[contract.EventConflict]); err != nil && !errors.Is(err, context.Canceled) {
		l.Log.Error("list conflicts cut short", "err", err)
	}
}
