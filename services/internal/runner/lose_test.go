package runner

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Every 10th delivery given, across batches and single retries, is acked
// (nil error) without reaching f; the others reach f and keep its errors.
func TestLoseOneInSkipsEveryNthDelivery(t *testing.T) {
	var applied []string
	f := loseOneIn(10, slog.New(slog.NewTextHandler(io.Discard, nil)), func(_ context.Context, ds []amqp.Delivery) []error {
		errs := make([]error, len(ds))
		for i, d := range ds {
			applied = append(applied, d.MessageId)
			if d.MessageId == "13" {
				errs[i] = io.ErrUnexpectedEOF
			}
		}
		return errs
	})
	var failed []string
	batch := func(from, to int) {
		var ds []amqp.Delivery
		for i := from; i <= to; i++ {
			ds = append(ds, amqp.Delivery{MessageId: strconv.Itoa(i)})
		}
		for i, err := range f(context.Background(), ds) {
			if err != nil {
				failed = append(failed, ds[i].MessageId)
			}
		}
	}
	batch(1, 7)
	batch(8, 8)
	batch(9, 25)
	if len(applied) != 23 {
		t.Fatalf("applied %d of 25, want 23 (10 and 20 lost): %v", len(applied), applied)
	}
	for _, id := range applied {
		if id == "10" || id == "20" {
			t.Fatalf("delivery %s was applied; every 10th must be lost: %v", id, applied)
		}
	}
	if len(failed) != 1 || failed[0] != "13" {
		t.Fatalf("failed %v, want [13]: f's error must stay with its delivery", failed)
	}
}
