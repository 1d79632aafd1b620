package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/failpoint"
	"github.com/mqchaos/mqchaos/services/internal/httpserver"
	"github.com/mqchaos/mqchaos/services/internal/outage"
	"github.com/mqchaos/mqchaos/services/internal/outbox"
)

type handler struct {
	store   store
	outbox  *outbox.Outbox
	fps     *failpoint.Set
	log     *slog.Logger
	db      *outage.Tracker // the database as the HTTP handlers see it
	maxBody int64
	// noIdempotency (UNSAFE_HTTP_NO_IDEMPOTENCY): every POST makes a new
	// order with an id of its own; the client's key is only recorded.
	noIdempotency bool
}

func (h *handler) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /orders", h.create)
	mux.HandleFunc("GET /orders", h.list)
	mux.HandleFunc("GET /orders/{id}", h.get)
}

// createRequest is the body of POST /orders.
type createRequest struct {
	OrderID  *string         `json:"order_id"`
	Item     *string         `json:"item"`
	Quantity json.RawMessage `json:"quantity"`
}

// parseCreate validates a POST /orders request into an order, under the
// rules of httpserver.DecodeJSON and contract.ValidateOrder: the same as
// every consumer applies to an OrderPlaced. The order's id and request key
// are the client's key (order_id or Idempotency-Key), or a new id without
// one; with noIdempotency the id is always new.
func parseCreate(w http.ResponseWriter, r *http.Request, maxBody int64, noIdempotency bool) (Order, error) {
	var req createRequest
	if err := httpserver.DecodeJSON(w, r, maxBody, &req); err != nil {
		return Order{}, err
	}
	if err := httpserver.Require(httpserver.Field{Name: "item", Present: req.Item != nil}, httpserver.Field{Name: "quantity", Present: len(req.Quantity) > 0}); err != nil {
		return Order{}, err
	}
	qty, ok := httpserver.IntBetween(req.Quantity, 1, contract.MaxQuantity)
	switch {
	case !ok && qty > contract.MaxQuantity:
		return Order{}, httpserver.BadRequest("quantity must be at most %d, got %s", contract.MaxQuantity, req.Quantity)
	case !ok:
		return Order{}, httpserver.BadRequest("quantity must be a positive integer, got %s", req.Quantity)
	}
	id, err := idempotencyKey(r.Header)
	if err != nil {
		return Order{}, err
	}
	if req.OrderID != nil {
		if id != "" && id != *req.OrderID {
			return Order{}, httpserver.BadRequest("order_id %q and Idempotency-Key %q differ", *req.OrderID, id)
		}
		id = *req.OrderID
		if id == "" {
			return Order{}, httpserver.BadRequest("order_id must not be empty")
		}
	}
	if id == "" {
		id = contract.NewID()
	}
	if err := contract.ValidateOrder(id, *req.Item, qty); err != nil {
		return Order{}, httpserver.Invalid(err)
	}
	o := Order{ID: id, RequestKey: id, Item: *req.Item, Quantity: qty, Status: StatusPending}
	if noIdempotency {
		o.ID = contract.NewID() // the careless API: the key names nothing
	}
	return o, nil
}

// idempotencyKey is the request's Idempotency-Key, or "" without one. A
// key that is there must be one key, not empty, under the text rules
// (contract.CheckText): an empty or all-blank header (Go's server trims a
// value's blanks, so it arrives empty) is a 400, as an empty order_id is,
// not a request without a key, which would lose idempotency on every
// retry of a client whose key variable is empty.
func idempotencyKey(h http.Header) (string, error) {
	keys, given := h["Idempotency-Key"]
	switch {
	case !given:
		return "", nil
	case len(keys) > 1:
		return "", httpserver.BadRequest("Idempotency-Key given %d times: send one", len(keys))
	case keys[0] == "":
		return "", httpserver.BadRequest("Idempotency-Key is empty: send a key, or no Idempotency-Key header")
	}
	if err := contract.CheckText("Idempotency-Key", keys[0], contract.MaxIDLength); err != nil {
		return "", httpserver.Invalid(err)
	}
	return keys[0], nil
}

// create serves POST /orders: 201 with a new order, 200 with the existing
// one for a repeated id, 409 if the id names a different order, 4xx for
// bad input (nothing stored), 503 if the database is unavailable.
func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	o, err := parseCreate(w, r, h.maxBody, h.noIdempotency)
	if err != nil {
		httpserver.Respond(w, err)
		return
	}
	ctx := r.Context()
	ev, err := placedEvent(o)
	if err != nil {
		httpserver.Respond(w, err)
		return
	}
	saved, created, err := h.store.Create(ctx, o, ev)
	switch {
	case errors.Is(err, errConflict):
		httpserver.WriteError(w, http.StatusConflict, fmt.Sprintf("order %q exists with other contents", o.ID))
		return
	case err != nil:
		h.db.Failed(err) // logged once per outage
		h.log.Debug("store order failed", "order_id", o.ID, "err", err)
		httpserver.WriteError(w, http.StatusServiceUnavailable, "order not stored: database unavailable")
		return
	}
	h.db.Succeeded()
	if !created {
		httpserver.WriteJSON(w, http.StatusOK, saved)
		return
	}
	h.fps.Hit(ctx, failpoint.OrderAfterCommit)
	if err := h.outbox.Stored(context.WithoutCancel(ctx), ev); err != nil {
		// Only with UNSAFE_NO_OUTBOX: the order is stored, its event is not.
		h.log.Error("direct publish failed after commit: event lost", "order_id", o.ID, "err", err)
	}
	httpserver.WriteJSON(w, http.StatusCreated, saved)
}

func placedEvent(o Order) (outbox.Event, error) {
	id := contract.NewID()
	body, err := contract.NewEvent(id, contract.TypeOrderPlaced, time.Now(), contract.OrderPlaced{OrderID: o.ID, Item: o.Item, Quantity: o.Quantity})
	if err != nil {
		return outbox.Event{}, err
	}
	return outbox.Event{ID: id, Type: contract.TypeOrderPlaced, Exchange: contract.OrdersExchange, RoutingKey: contract.RouteOrderPlaced, Body: body}, nil
}

// get serves GET /orders/{id}: 400 for an id that breaks the text rules
// (it could name no order), 404 for an unknown one.
func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	if err := httpserver.Text("order id", r.PathValue("id")); err != nil {
		httpserver.Respond(w, err)
		return
	}
	o, err := h.store.Get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, errNotFound):
		httpserver.WriteError(w, http.StatusNotFound, fmt.Sprintf("order %q not found", r.PathValue("id")))
	case err != nil:
		httpserver.WriteError(w, http.StatusServiceUnavailable, "database unavailable")
	default:
		httpserver.WriteJSON(w, http.StatusOK, o)
	}
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	switch status {
	case "", StatusPending, StatusReserved, StatusRejected:
	default:
		httpserver.WriteError(w, http.StatusBadRequest, fmt.Sprintf("status %q: want pending, reserved or rejected", status))
		return
	}
	orders, err := h.store.List(r.Context(), status)
	if err != nil {
		httpserver.WriteError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, httpserver.NonNil(orders))
}
