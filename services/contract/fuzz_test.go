package contract

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzDecodeDelivery holds the consumers' decoder to its contract: every
// message is either accepted with values that re-encode to the same
// meaning, or refused with a reason that wraps ErrInvalid; never a panic.
func FuzzDecodeDelivery(f *testing.F) {
	for _, tc := range badEvents {
		if len(tc.body) <= 4096 {
			f.Add(tc.contentType, tc.contentEncoding, tc.body)
		}
	}
	good, _ := NewEvent("e-1", TypeOrderPlaced, time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), OrderPlaced{OrderID: "o-1", Item: "widget-a", Quantity: 2})
	f.Add("application/json", "", good)
	f.Add("", "identity", good)
	failed, _ := NewEvent("e-2", TypeInventoryFailed, time.Now(), InventoryResult{OrderID: "o-1", Item: "widget-a", Quantity: 2, Reason: ReasonUnknownItem})
	f.Add("application/json; charset=utf-8", "", failed)
	f.Add("", "", []byte(`{"event_id":"e","type":"OrderPlaced","occurred_at":"2026-01-01T00:00:00+02:00","data":{"order_id":"ö","item":"日本","quantity":2147483647}}`))

	f.Fuzz(func(t *testing.T, contentType, contentEncoding string, body []byte) {
		accept := []string{TypeOrderPlaced, TypeInventoryReserved, TypeInventoryFailed}
		env, err := DecodeDelivery(contentType, contentEncoding, body, accept...)
		if err == nil {
			if env.Type == TypeOrderPlaced {
				var o OrderPlaced
				if o, err = DecodeOrderPlaced(env); err == nil {
					checkOrderPlaced(t, body, env, o)
				}
			} else {
				var r InventoryResult
				if r, err = DecodeInventoryResult(env); err == nil {
					checkResult(t, body, env, r)
				}
			}
		}
		if err != nil && (!errors.Is(err, ErrInvalid) || Reason(err) == "") {
			t.Fatalf("refusal %q does not wrap ErrInvalid with a reason", err)
		}
		checkOnePass(t, contentType, contentEncoding, body)
	})
}

// checkOnePass holds the one-pass decoders the consumers call to the
// two-pass reference (DecodeDelivery, then the data's decoder): they
// accept the same messages with the same values and refuse the same ones,
// each refusal wrapping ErrInvalid with a reason.
func checkOnePass(t *testing.T, contentType, contentEncoding string, body []byte) {
	t.Helper()
	agree := func(name string, refErr, err error, same bool) {
		t.Helper()
		if (refErr == nil) != (err == nil) || refErr == nil && !same {
			t.Fatalf("%s: one pass says %v, two passes %v", name, err, refErr)
		}
		if err != nil && (!errors.Is(err, ErrInvalid) || Reason(err) == "") {
			t.Fatalf("%s: refusal %q does not wrap ErrInvalid with a reason", name, err)
		}
	}
	refEnv, refErr := DecodeDelivery(contentType, contentEncoding, body, TypeOrderPlaced)
	var refO OrderPlaced
	if refErr == nil {
		refO, refErr = DecodeOrderPlaced(refEnv)
	}
	env, o, err := DecodeOrderPlacedDelivery(contentType, contentEncoding, body)
	agree("OrderPlaced", refErr, err, o == refO && sameEnvelope(env, refEnv))

	refEnv, refErr = DecodeDelivery(contentType, contentEncoding, body, TypeInventoryReserved, TypeInventoryFailed)
	var refR InventoryResult
	if refErr == nil {
		refR, refErr = DecodeInventoryResult(refEnv)
	}
	env, r, err := DecodeInventoryResultDelivery(contentType, contentEncoding, body)
	agree("InventoryResult", refErr, err, r == refR && sameEnvelope(env, refEnv))
}

func sameEnvelope(a, b Envelope) bool {
	return a.EventID == b.EventID && a.Type == b.Type && a.OccurredAt.Equal(b.OccurredAt) && string(a.Data) == string(b.Data)
}

// checkEnvelope: the accepted envelope is what a lenient decoder reads
// (no duplicate key, no replaced byte changed its meaning), and its text
// passes the text rules.
func checkEnvelope(t *testing.T, body []byte, env Envelope) Envelope {
	t.Helper()
	var lenient Envelope
	if err := json.Unmarshal(body, &lenient); err != nil {
		t.Fatalf("accepted a body encoding/json refuses: %v", err)
	}
	if lenient.EventID != env.EventID || lenient.Type != env.Type || !lenient.OccurredAt.Equal(env.OccurredAt) {
		t.Fatalf("accepted envelope %+v, a lenient decoder reads %+v", env, lenient)
	}
	if err := CheckText("event_id", env.EventID, MaxIDLength); err != nil {
		t.Fatalf("accepted: %v", err)
	}
	return lenient
}

func checkOrderPlaced(t *testing.T, body []byte, env Envelope, o OrderPlaced) {
	lenient := checkEnvelope(t, body, env)
	var lo OrderPlaced
	if err := json.Unmarshal(lenient.Data, &lo); err != nil || lo != o {
		t.Fatalf("accepted %+v, a lenient decoder reads %+v (%v)", o, lo, err)
	}
	if ValidateOrder(o.OrderID, o.Item, o.Quantity) != nil {
		t.Fatalf("accepted an invalid order %+v", o)
	}
	again, err := NewEvent(env.EventID, env.Type, env.OccurredAt, o)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", o, err)
	}
	env2, err := DecodeDelivery("application/json", "", again, TypeOrderPlaced)
	if err != nil {
		t.Fatalf("re-encoded %s refused: %v", again, err)
	}
	o2, err := DecodeOrderPlaced(env2)
	if err != nil || o2 != o || env2.EventID != env.EventID || !env2.OccurredAt.Equal(env.OccurredAt) {
		t.Fatalf("round trip changed the meaning: %+v -> %+v (%v)", o, o2, err)
	}
}

func checkResult(t *testing.T, body []byte, env Envelope, r InventoryResult) {
	lenient := checkEnvelope(t, body, env)
	var lr InventoryResult
	if err := json.Unmarshal(lenient.Data, &lr); err != nil || lr != r {
		t.Fatalf("accepted %+v, a lenient decoder reads %+v (%v)", r, lr, err)
	}
	again, err := NewEvent(env.EventID, env.Type, env.OccurredAt, r)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", r, err)
	}
	env2, err := DecodeDelivery("", "", again, env.Type)
	if err != nil {
		t.Fatalf("re-encoded %s refused: %v", again, err)
	}
	if r2, err := DecodeInventoryResult(env2); err != nil || r2 != r {
		t.Fatalf("round trip changed the meaning: %+v -> %+v (%v)", r, r2, err)
	}
}
