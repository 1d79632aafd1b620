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
		"empty item":    {`{"item":"","quantity":1}`, 400, "1 to 128 characters"},
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
