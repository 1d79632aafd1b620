package order

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/outage"
	"github.com/mqchaos/mqchaos/services/internal/outbox"
)

// fakeStore keeps orders in memory, for handler tests.
type fakeStore struct {
	mu     sync.Mutex
	orders map[string]Order
	events []outbox.Event
}

func (f *fakeStore) Create(_ context.Context, o Order, ev outbox.Event) (Order, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.orders[o.ID]; ok {
		if old.Item != o.Item || old.Quantity != o.Quantity {
			return Order{}, false, errConflict
		}
		return old, false, nil
	}
	f.orders[o.ID] = o
	f.events = append(f.events, ev)
	return o, true, nil
}

func (f *fakeStore) Get(_ context.Context, id string) (Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[id]
	if !ok {
		return o, errNotFound
	}
	return o, nil
}

func (f *fakeStore) List(context.Context, string) ([]Order, error) { return nil, nil }

func newTestServer() (*fakeStore, *http.ServeMux) {
	st := &fakeStore{orders: map[string]Order{}}
	h := &handler{store: st, outbox: &outbox.Outbox{}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), maxBody: 1024}
	h.db = outage.New("database", "POST /orders", h.log, outage.NewMetrics())
	mux := http.NewServeMux()
	h.routes(mux)
	return st, mux
}

func post(mux *http.ServeMux, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

// badOrders are the POST /orders requests that must be refused, with a
// piece of the reason each must give. They seed FuzzCreateOrder too.
var badOrders = map[string]struct {
	body   string
	header []string
	status int
	reason string
}{
	"invalid JSON":         {`{"item":`, nil, 400, "invalid JSON"},
	"empty body":           {``, nil, 400, "body is empty"},
	"not an object":        {`[1]`, nil, 400, "must be an object"},
	"trailing data":        {`{"item":"a","quantity":1} {}`, nil, 400, "single object"},
	"unknown field":        {`{"item":"a","quantity":1,"price":3}`, nil, 400, `unknown field "price"`},
	"missing item":         {`{"quantity":1}`, nil, 400, "missing fields: item"},
	"missing both":         {`{}`, nil, 400, "missing fields: item, quantity"},
	"item not a string":    {`{"item":7,"quantity":1}`, nil, 400, `field "item" must be a string`},
	"zero quantity":        {`{"item":"a","quantity":0}`, nil, 400, "positive integer, got 0"},
	"negative quantity":    {`{"item":"a","quantity":-1}`, nil, 400, "positive integer, got -1"},
	"fractional quantity":  {`{"item":"a","quantity":1.5}`, nil, 400, "positive integer, got 1.5"},
	"string quantity":      {`{"item":"a","quantity":"1"}`, nil, 400, `positive integer, got "1"`},
	"empty item":           {`{"item":"","quantity":1}`, nil, 400, "item is missing"},
	"empty order id":       {`{"order_id":"","item":"a","quantity":1}`, nil, 400, "order_id must not be empty"},
	"id and key differ":    {`{"order_id":"a","item":"a","quantity":1}`, []string{"Idempotency-Key", "b"}, 400, "differ"},
	"body too large":       {`{"item":"` + strings.Repeat("a", 2000) + `","quantity":1}`, nil, 413, "body too large"},
	"large and not JSON":   {strings.Repeat("a", 2000), nil, 413, "body too large"},
	"overlong order id":    {`{"order_id":"` + strings.Repeat("x", 200) + `","item":"a","quantity":1}`, nil, 400, "order_id is longer than 128"},
	"quantity above int32": {`{"item":"a","quantity":2147483648}`, nil, 400, "at most 2147483647"},
	"huge quantity":        {`{"item":"a","quantity":99999999999999999999999}`, nil, 400, "at most 2147483647"},
	"NUL in item":          {`{"item":"abc\u0000def","quantity":1}`, nil, 400, "item holds the control character U+0000 at byte 3"},
	"newline in order id":  {`{"order_id":"o\n1","item":"a","quantity":1}`, nil, 400, "order_id holds the control character U+000A"},
	"C1 control":           {`{"item":"a\u0080","quantity":1}`, nil, 400, "U+0080"},
	"lone surrogate":       {`{"item":"\udc00","quantity":1}`, nil, 400, "item holds U+FFFD"},
	"blank item":           {`{"item":"   ","quantity":1}`, nil, 400, "item is blank"},
	"blank order id":       {`{"order_id":"\t","item":"a","quantity":1}`, nil, 400, "order_id holds the control character U+0009"},
	"whitespace order id":  {`{"order_id":" \u3000 ","item":"a","quantity":1}`, nil, 400, "order_id is blank"},
	"blank key header":     {`{"item":"a","quantity":1}`, []string{"Idempotency-Key", "   "}, 400, "Idempotency-Key is blank"},
	"empty key header":     {`{"item":"a","quantity":1}`, []string{"Idempotency-Key", ""}, 400, "Idempotency-Key is empty"},
	"empty key and an id":  {`{"order_id":"o-1","item":"a","quantity":1}`, []string{"Idempotency-Key", ""}, 400, "Idempotency-Key is empty"},
	"byte order mark":      {"\xef\xbb\xbf{\"item\":\"a\",\"quantity\":1}", nil, 400, "byte order mark"},
	"invalid UTF-8 item":   {"{\"item\":\"wid\xffget\",\"quantity\":1}", nil, 400, "body is not valid UTF-8 (at byte 12)"},
	"invalid UTF-8 key":    {`{"item":"a","quantity":1}`, []string{"Idempotency-Key", "o\xff"}, 400, "Idempotency-Key is not valid UTF-8"},
	"duplicate item":       {`{"item":"a","item":"b","quantity":1}`, nil, 400, `duplicate key "item"`},
	"duplicate by case":    {`{"item":"a","Item":"b","quantity":1}`, nil, 400, `duplicate key "Item": it names the same field as "item"`},
	"field in other case":  {`{"ITEM":"a","quantity":1}`, nil, 400, `unknown field "ITEM"`},
	"too deep":             {`{"quantity":1,"item":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, nil, 400, "nested deeper than 32"},
	"text/plain":           {`{"item":"a","quantity":1}`, []string{"Content-Type", "text/plain"}, 415, `content-type "text/plain" is not JSON`},
	"form":                 {`item=a&quantity=1`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "want application/json"},
	"latin-1 charset":      {`{"item":"a","quantity":1}`, []string{"Content-Type", "application/json; charset=latin1"}, 415, `charset "latin1"`},
	"gzip encoding":        {`{"item":"a","quantity":1}`, []string{"Content-Type", "application/json", "Content-Encoding", "gzip"}, 415, `content-encoding "gzip" is not supported`},
}

func TestCreateRejectsBadInputAndStoresNothing(t *testing.T) {
	for name, tc := range badOrders {
		t.Run(name, func(t *testing.T) {
			st, mux := newTestServer()
			rec := post(mux, tc.body, tc.header...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			var e contract.APIError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !strings.Contains(e.Error, tc.reason) {
				t.Fatalf("body %s: want a JSON error containing %q", rec.Body, tc.reason)
			}
			if len(st.orders) != 0 {
				t.Fatalf("stored %d orders from bad input", len(st.orders))
			}
		})
	}
}

// Over the wire Go's server trims a header value's blanks, so an
// all-blank Idempotency-Key arrives empty: it is refused as an empty one
// is, not taken for an absent key. Two keys are refused too.
func TestCreateRefusesAnEmptyOrBlankKeyOverHTTP(t *testing.T) {
	st, mux := newTestServer()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for key, want := range map[string]string{"": "Idempotency-Key is empty", "   ": "Idempotency-Key is empty", "\t": "Idempotency-Key is empty", "o-1\no-2": "given 2 times"} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"item":"a","quantity":1}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header["Idempotency-Key"] = strings.Split(key, "\n")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e contract.APIError
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || err != nil || !strings.Contains(e.Error, want) {
			t.Errorf("Idempotency-Key %q: %d %q; want 400 with %q", key, resp.StatusCode, e.Error, want)
		}
	}
	if len(st.orders) != 0 {
		t.Fatalf("stored %d orders", len(st.orders))
	}
}

func TestCreateAcceptsJSONMediaTypes(t *testing.T) {
	for i, ct := range []string{"", "application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8", "application/merge-patch+json"} {
		st, mux := newTestServer()
		rec := post(mux, `{"order_id":"o-`+strconv.Itoa(i)+`","item":"ünï cödé","quantity":2147483647}`, "Content-Type", ct)
		if rec.Code != 201 || len(st.orders) != 1 {
			t.Errorf("Content-Type %q: %d %s", ct, rec.Code, rec.Body)
		}
	}
}

func TestGetRefusesABadIDWithA400(t *testing.T) {
	_, mux := newTestServer()
	for path, want := range map[string]string{
		"/orders/abc%00def":                   "order id holds the control character U+0000 at byte 3",
		"/orders/%ff":                         "order id is not valid UTF-8",
		"/orders/%20%20":                      "order id is blank",
		"/orders/" + strings.Repeat("x", 129): "order id is longer than 128",
		"/orders/a%0Ab":                       "U+000A",
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var e contract.APIError
		if rec.Code != 400 || json.Unmarshal(rec.Body.Bytes(), &e) != nil || !strings.Contains(e.Error, want) {
			t.Errorf("GET %s: %d %s; want 400 with %q", path, rec.Code, rec.Body, want)
		}
	}
}

func TestCreateIsIdempotentByOrderID(t *testing.T) {
	st, mux := newTestServer()
	first := post(mux, `{"order_id":"o-1","item":"widget-a","quantity":2}`)
	again := post(mux, `{"item":"widget-a","quantity":2}`, "Idempotency-Key", "o-1")
	other := post(mux, `{"order_id":"o-1","item":"widget-b","quantity":2}`)
	if first.Code != 201 || again.Code != 200 || other.Code != 409 {
		t.Fatalf("statuses %d, %d, %d; want 201, 200, 409", first.Code, again.Code, other.Code)
	}
	if len(st.orders) != 1 || len(st.events) != 1 {
		t.Fatalf("%d orders and %d events, want 1 and 1", len(st.orders), len(st.events))
	}
	env, err := contract.DecodeEnvelope(st.events[0].Body, contract.TypeOrderPlaced)
	if err != nil {
		t.Fatal(err)
	}
	if o, err := contract.DecodeOrderPlaced(env); err != nil || o.OrderID != "o-1" || o.Quantity != 2 {
		t.Fatalf("event %+v, %v", o, err)
	}
}

func TestCreateGeneratesAnIDAndGetFindsIt(t *testing.T) {
	_, mux := newTestServer()
	rec := post(mux, `{"item":"widget-a","quantity":1}`)
	var o contract.Order
	if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil || rec.Code != 201 || o.ID == "" || o.Status != StatusPending {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	get := httptest.NewRecorder()
	mux.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "/orders/"+o.ID, nil))
	missing := httptest.NewRecorder()
	mux.ServeHTTP(missing, httptest.NewRequest(http.MethodGet, "/orders/nope", nil))
	if get.Code != 200 || missing.Code != 404 {
		t.Fatalf("get %d, missing %d", get.Code, missing.Code)
	}
}

func TestCreateRecordsTheRequestKey(t *testing.T) {
	_, mux := newTestServer()
	for _, rec := range []*httptest.ResponseRecorder{
		post(mux, `{"order_id":"o-1","item":"widget-a","quantity":1}`),
		post(mux, `{"item":"widget-a","quantity":1}`, "Idempotency-Key", "o-2"),
		post(mux, `{"item":"widget-a","quantity":1}`),
	} {
		var o contract.Order
		if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil || rec.Code != 201 || o.ID == "" || o.RequestKey != o.ID {
			t.Fatalf("%d %s: want 201 with request_key equal to id", rec.Code, rec.Body)
		}
	}
}

// With UNSAFE_HTTP_NO_IDEMPOTENCY a retried request is a new order: a new
// id and a new OrderPlaced each time, the client's key recorded on both.
func TestCreateWithoutIdempotencyPlacesARetryAgain(t *testing.T) {
	st := &fakeStore{orders: map[string]Order{}}
	h := &handler{store: st, outbox: &outbox.Outbox{}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), maxBody: 1024, noIdempotency: true}
	h.db = outage.New("database", "POST /orders", h.log, outage.NewMetrics())
	unsafe := http.NewServeMux()
	h.routes(unsafe)
	var ids []string
	for _, rec := range []*httptest.ResponseRecorder{
		post(unsafe, `{"order_id":"o-1","item":"widget-a","quantity":1}`),
		post(unsafe, `{"order_id":"o-1","item":"widget-a","quantity":1}`),
		post(unsafe, `{"item":"widget-a","quantity":1}`, "Idempotency-Key", "o-1"),
	} {
		var o contract.Order
		if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil || rec.Code != 201 || o.RequestKey != "o-1" || o.ID == "o-1" {
			t.Fatalf("%d %s: want 201, a new id and request_key o-1", rec.Code, rec.Body)
		}
		ids = append(ids, o.ID)
	}
	if ids[0] == ids[1] || ids[1] == ids[2] || len(st.orders) != 3 || len(st.events) != 3 {
		t.Fatalf("ids %v, %d orders, %d events: want 3 distinct", ids, len(st.orders), len(st.events))
	}
	if rec := post(unsafe, `{"order_id":"o\n1","item":"a","quantity":1}`); rec.Code != 400 {
		t.Fatalf("a bad key must still be refused: %d %s", rec.Code, rec.Body)
	}
}
