package inventory

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

type fakeStock struct{ set []Stock }

func (f *fakeStock) setStock(_ context.Context, st Stock) error {
	f.set = append(f.set, st)
	return nil
}
func (f *fakeStock) stock(context.Context) ([]Stock, error) { return nil, nil }
func (f *fakeStock) processed(context.Context, string) (pgx.Rows, error) {
	return nil, errors.New("not in this test")
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
