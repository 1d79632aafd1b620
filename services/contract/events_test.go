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

// env builds an envelope around data, as JSON text.
func env(typ, data string) []byte {
	return []byte(`{"event_id":"e1","type":"` + typ + `","occurred_at":"2026-01-01T00:00:00Z","data":` + data + `}`)
}

// badEvents are the messages every consumer must refuse, with a piece of
// the reason each must give. They seed FuzzDecodeDelivery too.
var badEvents = map[string]struct {
	contentType, contentEncoding string
	body                         []byte
	want                         string
}{
	"invalid JSON":            {"", "", []byte(`{"event_id":`), "invalid JSON: unexpected end"},
	"not an object":           {"", "", []byte(`[1,2]`), "body must be an object"},
	"empty body":              {"", "", []byte(``), "body is empty"},
	"trailing data":           {"", "", append(env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1}`), `{}`...), "single object"},
	"missing envelope":        {"", "", []byte(`{}`), "missing fields: event_id, type, data"},
	"null data":               {"", "", env(TypeOrderPlaced, `null`), "missing fields: data"},
	"unknown type":            {"", "", env("OrderTeleported", `{}`), `unknown event type "OrderTeleported"`},
	"missing order fields":    {"", "", env(TypeOrderPlaced, `{"item":"a"}`), "order_id is missing"},
	"wrong types":             {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":5,"quantity":1}`), `field "item" must be a string, got number`},
	"string quantity":         {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":"2"}`), `field "quantity" must be an integer, got string`},
	"zero quantity":           {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":0}`), "quantity must be a positive integer, got 0"},
	"negative quantity":       {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":-3}`), "got -3"},
	"fractional quantity":     {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1.5}`), `must be an integer, got number 1.5`},
	"exponent quantity":       {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1e2}`), `must be an integer`},
	"quantity above int32":    {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":2147483648}`), "at most 2147483647"},
	"invalid UTF-8":           {"", "", []byte("{\"event_id\":\"e\",\"type\":\"OrderPlaced\",\"data\":{\"item\":\"\xff\"}}"), "not valid UTF-8 (at byte 53)"},
	"byte order mark":         {"", "", append([]byte("\xef\xbb\xbf"), env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1}`)...), "byte order mark (EF BB BF)"},
	"lone surrogate escape":   {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a\ud800","quantity":1}`), "item holds U+FFFD"},
	"NUL in item":             {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"abc\u0000def","quantity":1}`), "item holds the control character U+0000 at byte 3"},
	"tab in order id":         {"", "", env(TypeOrderPlaced, `{"order_id":"o\t1","item":"a","quantity":1}`), "order_id holds the control character U+0009"},
	"C1 control in item":      {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a\u0085","quantity":1}`), "U+0085"},
	"DEL in event id":         {"", "", []byte(`{"event_id":"e\u007f","type":"OrderPlaced","data":{"order_id":"o","item":"a","quantity":1}}`), "event_id holds the control character U+007F"},
	"blank item":              {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"   ","quantity":1}`), "item is blank"},
	"blank unicode spaces":    {"", "", env(TypeOrderPlaced, `{"order_id":"\u00a0\u3000","item":"a","quantity":1}`), "order_id is blank"},
	"blank event id":          {"", "", []byte(`{"event_id":" ","type":"OrderPlaced","data":{"order_id":"o","item":"a","quantity":1}}`), "event_id is blank"},
	"duplicate data key":      {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","item":"b","quantity":1}`), `duplicate key "item" in data`},
	"duplicate order id":      {"", "", env(TypeOrderPlaced, `{"order_id":"o","order_id":"p","item":"a","quantity":1}`), `duplicate key "order_id" in data`},
	"duplicate by case":       {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","ITEM":"b","quantity":1}`), `duplicate key "ITEM" in data: it names the same field as "item"`},
	"duplicate envelope key":  {"", "", []byte(`{"event_id":"e1","event_id":"e2","type":"OrderPlaced","data":{"order_id":"o","item":"a","quantity":1}}`), `duplicate key "event_id"`},
	"duplicate nested deeper": {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1,"x":{"k":1,"k":2}}`), `duplicate key "k" in data.x`},
	"unknown envelope field":  {"", "", []byte(`{"event_id":"e1","type":"OrderPlaced","priority":9,"data":{"order_id":"o","item":"a","quantity":1}}`), `unknown field "priority"`},
	"unknown data field":      {"", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1,"price":3}`), `unknown field "price"`},
	"field in other case":     {"", "", env(TypeOrderPlaced, `{"order_id":"o","Item":"a","quantity":1}`), `unknown field "Item"`},
	"too deep":                {"", "", env(TypeOrderPlaced, strings.Repeat(`[`, 40)+strings.Repeat(`]`, 40)), "nested deeper than 32"},
	"oversized":               {"", "", append(env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1}`), make([]byte, MaxMessageBytes)...), "exceeds"},
	"overlong id":             {"", "", env(TypeOrderPlaced, `{"order_id":"`+strings.Repeat("x", MaxIDLength+1)+`","item":"a","quantity":1}`), "order_id is longer"},
	"gzip encoding":           {"application/json", "gzip", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1}`), `content-encoding "gzip" is not supported`},
	"text/plain":              {"text/plain", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1}`), `content-type "text/plain" is not JSON`},
	"latin-1 charset":         {"application/json; charset=iso-8859-1", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1}`), `charset "iso-8859-1"`},
	"garbled content type":    {"application/json; ;", "", env(TypeOrderPlaced, `{"order_id":"o","item":"a","quantity":1}`), "not a media type"},
}

func decodeOrderDelivery(contentType, contentEncoding string, body []byte) (Envelope, OrderPlaced, error) {
	e, err := DecodeDelivery(contentType, contentEncoding, body, TypeOrderPlaced)
	if err != nil {
		return e, OrderPlaced{}, err
	}
	o, err := DecodeOrderPlaced(e)
	return e, o, err
}

func TestInvalidMessagesArePermanent(t *testing.T) {
	for name, tc := range badEvents {
		t.Run(name, func(t *testing.T) {
			_, _, err := decodeOrderDelivery(tc.contentType, tc.contentEncoding, tc.body)
			_, _, onePass := DecodeOrderPlacedDelivery(tc.contentType, tc.contentEncoding, tc.body)
			for _, err := range []error{err, onePass} {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v does not wrap ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %q lacks %q", err, tc.want)
				}
			}
			checkOnePass(t, tc.contentType, tc.contentEncoding, tc.body)
		})
	}
}

func TestMediaErrorsAreMarked(t *testing.T) {
	for _, name := range []string{"gzip encoding", "text/plain", "latin-1 charset", "garbled content type"} {
		tc := badEvents[name]
		_, _, err := decodeOrderDelivery(tc.contentType, tc.contentEncoding, tc.body)
		var me *MediaError
		if !errors.As(err, &me) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v is not a *MediaError wrapping ErrInvalid", name, err)
		}
	}
	if _, _, err := decodeOrderDelivery("invalid", "", []byte(`{}`)); !errors.As(err, new(*MediaError)) {
		t.Errorf("a garbled content type is a media error: %v", err)
	}
}

// Every event the services and the harness publish passes: the decoders
// know each of their fields, under each content type a publisher sets.
func TestPublishedEventsPass(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	placed := OrderPlaced{OrderID: "order-1", Item: "widget-a", Quantity: 2}
	failed := InventoryResult{OrderID: "order-1", Item: "widget-a", Quantity: 2, Reason: ReasonInsufficientStock}
	reserved := InventoryResult{OrderID: "order-1", Item: "widget-a", Quantity: 2}
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8", "application/cloudevents+json"} {
		for _, ce := range []string{"", "identity"} {
			body, err := NewEvent(NewID(), TypeOrderPlaced, at, placed)
			if err != nil {
				t.Fatal(err)
			}
			if _, o, err := decodeOrderDelivery(ct, ce, body); err != nil || o != placed {
				t.Errorf("OrderPlaced under %q/%q: %+v, %v", ct, ce, o, err)
			}
			for typ, r := range map[string]InventoryResult{TypeInventoryFailed: failed, TypeInventoryReserved: reserved} {
				body, err := NewEvent(NewID(), typ, at, r)
				if err != nil {
					t.Fatal(err)
				}
				e, err := DecodeDelivery(ct, ce, body, TypeInventoryReserved, TypeInventoryFailed)
				if err != nil {
					t.Fatalf("%s under %q/%q: %v", typ, ct, ce, err)
				}
				if got, err := DecodeInventoryResult(e); err != nil || got != r {
					t.Errorf("%s under %q/%q: %+v, %v", typ, ct, ce, got, err)
				}
			}
		}
	}
	// What the harness's poison list builds for a valid shape: a map with
	// the same keys, in another order, with occurred_at.
	body := []byte(`{"data":{"quantity":1,"item":"widget-a","order_id":"o-1"},"occurred_at":"2026-01-01T00:00:00.123456789Z","type":"OrderPlaced","event_id":"e-1"}`)
	if _, _, err := decodeOrderDelivery("application/json", "", body); err != nil {
		t.Errorf("map-built event: %v", err)
	}
	if _, o, err := DecodeOrderPlacedDelivery("application/json", "", body); err != nil || o != (OrderPlaced{OrderID: "o-1", Item: "widget-a", Quantity: 1}) {
		t.Errorf("map-built event, one pass: %+v, %v", o, err)
	}
}

func TestCheckText(t *testing.T) {
	ok := []string{"widget-a", "ünïcödé", "a b", "日本", strings.Repeat("x", MaxIDLength), " padded "}
	for _, s := range ok {
		if err := CheckText("item", s, MaxIDLength); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	bad := map[string]string{"": "missing", " \t": "control", "   ": "blank", "\u2003": "blank", "a\x00": "U+0000", "\xff": "not valid UTF-8", "a\u009f": "U+009F", "\ufffd": "U+FFFD", strings.Repeat("x", MaxIDLength+1): "longer than"}
	for s, want := range bad {
		if err := CheckText("item", s, MaxIDLength); err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an ErrInvalid with %q", s, err, want)
		}
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

// An order's events on one queue: OrderPlaced and OrderCancelled each
// decode to their order id; another type, or a cancellation without an
// order id or with a field it does not have, is invalid.
func TestDecodeOrderEventDelivery(t *testing.T) {
	at := time.Now()
	placed, _ := NewEvent("e-1", TypeOrderPlaced, at, OrderPlaced{OrderID: "o-1", Item: "widget-a", Quantity: 1})
	cancelled, _ := NewEvent("e-2", TypeOrderCancelled, at, OrderCancelled{OrderID: "o-1"})
	for body, want := range map[string]string{string(placed): TypeOrderPlaced, string(cancelled): TypeOrderCancelled} {
		env, id, err := DecodeOrderEventDelivery("application/json", "", []byte(body))
		if err != nil || id != "o-1" || env.Type != want {
			t.Fatalf("%s: %s %q %v", body, env.Type, id, err)
		}
	}
	for _, body := range []string{
		`{"event_id":"e-3","type":"OrderCancelled","occurred_at":"2026-12-03T00:00:00Z","data":{}}`,
		`{"event_id":"e-3","type":"OrderCancelled","occurred_at":"2026-12-03T00:00:00Z","data":{"order_id":"o-1","item":"x"}}`,
		`{"event_id":"e-3","type":"InventoryReserved","occurred_at":"2026-12-03T00:00:00Z","data":{"order_id":"o-1"}}`,
	} {
		if _, _, err := DecodeOrderEventDelivery("application/json", "", []byte(body)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: %v, want invalid", body, err)
		}
	}
}
