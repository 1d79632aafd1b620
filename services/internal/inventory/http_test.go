package inventory

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

type fakeStock struct {
	set      []Stock
	called   []string
	levels   []Stock
	stockErr error
}

func (f *fakeStock) setStock(_ context.Context, st Stock) error {
	f.set = append(f.set, st)
	return nil
}
func (f *fakeStock) stock(context.Context) ([]Stock, error) { return f.levels, f.stockErr }
func (f *fakeStock) processed(context.Context, string) (pgx.Rows, error) {
	f.called = append(f.called, "processed")
	return nil, errors.New("processed: not in this test")
}
func (f *fakeStock) conflicts(context.Context, string) (pgx.Rows, error) {
	f.called = append(f.called, "conflicts")
	return nil, errors.New("conflicts: not in this test")
}

func TestProcessedServesConflictsOnRequest(t *testing.T) {
	mux := http.NewServeMux()
	(&handler{store: &fakeStock{}, maxBody: 1024}).routes(mux)
	for q, want := range map[string]string{
		"":                          "503", // the fake's processed fails
		"?conflicts=false":          "503",
		"?conflicts=true":           "503", // the fake's conflicts fails
		"?conflicts=maybe":          `400 {"error":"conflicts \"maybe\": want true or false"}`,
		"?conflicts=1&order_id=%00": `400 {"error":"order_id holds the control character U+0000 at byte 0"}`,
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/processed"+q, nil))
		if got := strconv.Itoa(rec.Code) + " " + strings.TrimSpace(rec.Body.String()); !strings.HasPrefix(got, want) {
			t.Errorf("GET /processed%s: %s, want %s", q, got, want)
		}
	}
}

func TestProcessedRefusesABadOrderID(t *testing.T) {
	mux := http.NewServeMux()
	(&handler{store: &fakeStock{}, maxBody: 1024}).routes(mux)
	for _, q := range []string{"abc%00def", "%ff", "%20%20"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/processed?order_id="+q, nil))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"error":"order_id`) {
			t.Errorf("order_id=%s: %d %s; want 400 with a JSON reason", q, rec.Code, rec.Body)
		}
	}
}

func TestSetStockValidates(t *testing.T) {
	cases := map[string]struct {
		body   string
		status int
		reason string
	}{
		"ok":            {`{"item":"widget-a","quantity":0}`, 200, ""},
		"negative":      {`{"item":"widget-a","quantity":-1}`, 400, "non-negative integer"},
		"fraction":      {`{"item":"widget-a","quantity":0.5}`, 400, "non-negative integer"},
		"missing item":  {`{"quantity":1}`, 400, "missing fields: item"},
		"empty item":    {`{"item":"","quantity":1}`, 400, "item is missing"},
		"blank item":    {`{"item":" \u00a0 ","quantity":1}`, 400, "item is blank"},
		"NUL in item":   {`{"item":"a\u0000b","quantity":1}`, 400, "control character U+0000"},
		"duplicate key": {`{"item":"a","quantity":1,"quantity":2}`, 400, `duplicate key \"quantity\"`},
		"invalid UTF-8": {"{\"item\":\"a\xff\",\"quantity\":1}", 400, "not valid UTF-8"},
		"above int32":   {`{"item":"a","quantity":2147483648}`, 400, "non-negative integer up to 2147483647"},
		"unknown field": {`{"item":"a","quantity":1,"x":1}`, 400, "unknown field"},
		"invalid JSON":  {`nope`, 400, "invalid JSON"},
		"oversized":     {`{"item":"` + strings.Repeat("a", 5000) + `","quantity":1}`, 413, "too large"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := &fakeStock{}
			mux := http.NewServeMux()
			(&handler{store: st, maxBody: 1024}).routes(mux)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/inventory", strings.NewReader(tc.body)))
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.reason) {
				t.Fatalf("%d %s; want %d with %q", rec.Code, rec.Body, tc.status, tc.reason)
			}
			if (tc.status == 200) != (len(st.set) == 1) {
				t.Fatalf("stored %d rows", len(st.set))
			}
		})
	}
}

// GET /inventory is what a harness reads to check that stock never goes
// negative: every item's level, [] for none, 503 without the database.
func TestInventoryListsStockLevels(t *testing.T) {
	for _, tc := range []struct {
		store *fakeStock
		want  string
	}{
		{&fakeStock{levels: []Stock{{Item: "gadget-c", Quantity: 0}, {Item: "widget-a", Quantity: 997}}}, `200 [{"item":"gadget-c","quantity":0},{"item":"widget-a","quantity":997}]`},
		{&fakeStock{}, `200 []`},
		{&fakeStock{stockErr: errors.New("connection refused")}, `503 {"error":"database unavailable"}`},
	} {
		mux := http.NewServeMux()
		(&handler{store: tc.store, maxBody: 1024}).routes(mux)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/inventory", nil))
		if got := strconv.Itoa(rec.Code) + " " + strings.TrimSpace(rec.Body.String()); got != tc.want {
			t.Errorf("GET /inventory: %s, want %s", got, tc.want)
		}
	}
}
