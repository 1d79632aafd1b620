package order

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mqchaos/mqchaos/services/contract"
)

// FuzzCreateOrder holds POST /orders to its contract: every request is
// either accepted (201) with an order that a lenient decoder reads the
// same way and that, posted again as plain JSON, is found as the same
// order (200); or refused with a 4xx and a JSON reason, storing nothing.
// Never a 5xx, never a panic.
func FuzzCreateOrder(f *testing.F) {
	for _, tc := range badOrders {
		ct, key := "", ""
		for i := 0; i+1 < len(tc.header); i += 2 {
			switch tc.header[i] {
			case "Content-Type":
				ct = tc.header[i+1]
			case "Idempotency-Key":
				key = tc.header[i+1]
			}
		}
		f.Add(ct, key, []byte(tc.body))
	}
	f.Add("application/json", "", []byte(`{"order_id":"o-1","item":"widget-a","quantity":2}`))
	f.Add("", "o-2", []byte(`{"item":"ünï cödé","quantity":2147483647}`))
	f.Add("application/json; charset=utf-8", "", []byte(`{"item":"a\u00e9","quantity":1}`))

	f.Fuzz(func(t *testing.T, contentType, key string, body []byte) {
		st, mux := newTestServer()
		req := httptest.NewRequest(http.MethodPost, "/orders", bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			var e contract.APIError
			if rec.Code < 400 || rec.Code >= 500 || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("refusal %d %q: want a 4xx with a JSON reason", rec.Code, rec.Body)
			}
			if len(st.orders) != 0 {
				t.Fatalf("refused with %d but stored %+v", rec.Code, st.orders)
			}
			return
		}
		var o contract.Order
		if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil || len(st.orders) != 1 || st.orders[o.ID] != o {
			t.Fatalf("201 %s: stored %+v (%v)", rec.Body, st.orders, err)
		}
		var lenient contract.PlaceOrder
		if err := json.Unmarshal(body, &lenient); err != nil {
			t.Fatalf("accepted a body encoding/json refuses: %v", err)
		}
		if lenient.Item != o.Item || lenient.Quantity != o.Quantity || (lenient.OrderID != "" && lenient.OrderID != o.ID) || (key != "" && key != o.ID) {
			t.Fatalf("accepted %+v, a lenient decoder reads %+v (key %q)", o, lenient, key)
		}
		if err := contract.ValidateOrder(o.ID, o.Item, o.Quantity); err != nil {
			t.Fatalf("accepted an invalid order: %v", err)
		}
		again, _ := json.Marshal(contract.PlaceOrder{OrderID: o.ID, Item: o.Item, Quantity: o.Quantity})
		if rec := post(mux, string(again), "Content-Type", "application/json"); rec.Code != http.StatusOK {
			t.Fatalf("re-encoded %s: %d %s; want 200 with the same order", again, rec.Code, rec.Body)
		}
	})
}
