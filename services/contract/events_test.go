package contract

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// The golden file pins the wire format other teams' consumers rely on.
func TestOrderPlacedGolden(t *testing.T) {
	body, err := NewEvent("5f0c6a52-0000-4000-8000-000000000001", TypeOrderPlaced,
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), OrderPlaced{OrderID: "order-1", Item: "widget-a", Quantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/order_placed.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(want)) != string(body) {
		t.Fatalf("wire format changed:\n got %s\nwant %s", body, want)
	}
	env, err := DecodeEnvelope(body, TypeOrderPlaced)
	if err != nil {
		t.Fatal(err)
	}
	o, err := DecodeOrderPlaced(env)
	if err != nil || o != (OrderPlaced{OrderID: "order-1", Item: "widget-a", Quantity: 2}) {
		t.Fatalf("round trip: %+v, %v", o, err)
	}
}

func TestInvalidMessagesArePermanent(t *testing.T) {
	env := func(typ string, data string) []byte {
		return []byte(`{"event_id":"e1","type":"` + typ + `","occurred_at":"2026-01-01T00:00:00Z","data":` + data + `}`)
	}
	cases := map[string]struct {
		body []byte
		want string
	}{
		"invalid JSON":         {[]byte(`{"event_id":`), "malformed JSON"},
		"not an object":        {[]byte(`[1,2]`), "malformed JSON"},
		"missing envelope":     {[]byte(`{}`), "missing fields: event_id, type, data"},
		"unknown type":         {env("OrderTeleported", `{}`), `unknown event type "OrderTeleported"`},
		"missing order fields": {env(TypeOrderPlaced, `{"item":"a"}`), "order_id is missing"},
		"wrong types":          {env(TypeOrderPlaced, `{"order_id":"o","item":5,"quantity":1}`), "cannot unmarshal"},
		"string quantity":      {env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":"2"}`), "cannot unmarshal"},
		"zero quantity":        {env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":0}`), "quantity must be a positive integer, got 0"},
		"negative quantity":    {env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":-3}`), "got -3"},
		"fractional quantity":  {env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1.5}`), "cannot unmarshal"},
		"invalid UTF-8":        {[]byte("{\"event_id\":\"e\",\"type\":\"OrderPlaced\",\"data\":{\"item\":\"\xff\"}}"), "not valid UTF-8"},
		"oversized":            {append(env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1}`), make([]byte, MaxMessageBytes)...), "exceeds"},
		"overlong id":          {env(TypeOrderPlaced, `{"order_id":"`+strings.Repeat("x", MaxIDLength+1)+`","item":"a","quantity":1}`), "order_id is longer"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := DecodeEnvelope(tc.body, TypeOrderPlaced)
			if err == nil {
				_, err = DecodeOrderPlaced(e)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestNewIDIsAVersion4UUID(t *testing.T) {
	id := NewID()
	if len(id) != 36 || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
		t.Fatalf("not a v4 UUID: %s", id)
	}
	var s string
	if err := json.Unmarshal([]byte(`"`+id+`"`), &s); err != nil || NewID() == id {
		t.Fatal("ids must be JSON strings and unique")
	}
}
