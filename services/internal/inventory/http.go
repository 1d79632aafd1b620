package inventory

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/httpserver"
)

type stockStore interface {
	setStock(ctx context.Context, st Stock) error
	stock(ctx context.Context) ([]Stock, error)
	processed(ctx context.Context, orderID string) (pgx.Rows, error)
	conflicts(ctx context.Context, orderID string) (pgx.Rows, error)
}

type handler struct {
	store   stockStore
	maxBody int64
}

func (h *handler) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /inventory", h.list)
	mux.HandleFunc("POST /inventory", h.set)
	mux.HandleFunc("GET /processed", h.processed)
}

type setRequest struct {
	Item     *string         `json:"item"`
	Quantity json.RawMessage `json:"quantity"`
}

// parseSet validates a POST /inventory body: an item (contract.CheckText)
// and a quantity from 0 to contract.MaxQuantity.
func parseSet(w http.ResponseWriter, r *http.Request, maxBody int64) (Stock, error) {
	var req setRequest
	if err := httpserver.DecodeJSON(w, r, maxBody, &req); err != nil {
		return Stock{}, err
	}
	if err := httpserver.Require(httpserver.Field{Name: "item", Present: req.Item != nil}, httpserver.Field{Name: "quantity", Present: len(req.Quantity) > 0}); err != nil {
		return Stock{}, err
	}
	if err := contract.CheckText("item", *req.Item, contract.MaxIDLength); err != nil {
		return Stock{}, httpserver.Invalid(err)
	}
	qty, ok := httpserver.IntBetween(req.Quantity, 0, contract.MaxQuantity)
	if !ok {
		return Stock{}, httpserver.BadRequest("quantity must be a non-negative integer up to %d, got %s", contract.MaxQuantity, req.Quantity)
	}
	return Stock{Item: *req.Item, Quantity: qty}, nil
}

// set serves POST /inventory: sets one item's stock level.
func (h *handler) set(w http.ResponseWriter, r *http.Request) {
	st, err := parseSet(w, r, h.maxBody)
	if err != nil {
		httpserver.Respond(w, err)
		return
	}
	if err := h.store.setStock(r.Context(), st); err != nil {
		httpserver.WriteError(w, http.StatusServiceUnavailable, "stock not set: database unavailable")
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, st)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	st, err := h.store.stock(r.Context())
	if err != nil {
		httpserver.WriteError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, httpserver.NonNil(st))
}

// processed serves GET /processed[?order_id=][&conflicts=true]: which
// orders were applied, by which replica, when; with conflicts=true, the
// duplicates that conflicted with an applied order instead.
func (h *handler) processed(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("order_id")
	if id != "" {
		if err := httpserver.Text("order_id", id); err != nil {
			httpserver.Respond(w, err)
			return
		}
	}
	conflicts, err := strconv.ParseBool(cmp.Or(r.URL.Query().Get("conflicts"), "false"))
	if err != nil {
		httpserver.WriteError(w, http.StatusBadRequest, fmt.Sprintf("conflicts %q: want true or false", r.URL.Query().Get("conflicts")))
		return
	}
	if conflicts {
		rows, err := h.store.conflicts(r.Context(), id)
		if err != nil {
			httpserver.WriteError(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		_ = httpserver.StreamJSON(w, rows, pgx.RowToStructByPos[Conflict]) // a cut-short list is invalid JSON to the client
		return
	}
	rows, err := h.store.processed(r.Context(), id)
	if err != nil {
		httpserver.WriteError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	_ = httpserver.StreamJSON(w, rows, pgx.RowToStructByPos[Processed]) // a cut-short list is invalid JSON to the client
}
