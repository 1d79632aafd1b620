package contract

import (
	"testing"
	"time"
)

func BenchmarkDecodeOrderPlaced(b *testing.B) {
	body, _ := NewEvent(NewID(), TypeOrderPlaced, time.Now(), OrderPlaced{OrderID: NewID(), Item: "item-001", Quantity: 1})
	b.ReportAllocs()
	for b.Loop() {
		env, err := DecodeDelivery("application/json", "", body, TypeOrderPlaced)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeOrderPlaced(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeOrderPlacedOnePass(b *testing.B) {
	body, _ := NewEvent(NewID(), TypeOrderPlaced, time.Now(), OrderPlaced{OrderID: NewID(), Item: "item-001", Quantity: 1})
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeOrderPlacedDelivery("application/json", "", body); err != nil {
			b.Fatal(err)
		}
	}
}
