package order

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/mqchaos/mqchaos/services/contract"
	"github.com/mqchaos/mqchaos/services/internal/postgres"
)

type consumer struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// onInventoryResult moves the orders of a batch to reserved or rejected,
// in one statement. Applying a result twice changes nothing, so no
// idempotency key is needed. A result for an order this service never
// stored is acked and logged.
func (c *consumer) onInventoryResult(ctx context.Context, ds []amqp.Delivery) []error {
	errs := make([]error, len(ds))
	var (
		at                  []int // batch index of each result
		ids, statuses, whys []string
	)
	for i, d := range ds {
		env, r, err := contract.DecodeInventoryResultDelivery(d.ContentType, d.ContentEncoding, d.Body)
		if err != nil {
			errs[i] = err
			continue
		}
		status := StatusReserved
		if env.Type == contract.TypeInventoryFailed {
			status = StatusRejected
		}
		at, ids, statuses, whys = append(at, i), append(ids, r.OrderID), append(statuses, status), append(whys, r.Reason)
	}
	if len(ids) == 0 {
		return errs
	}
	var known []string
	err := postgres.InTx(ctx, c.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, setStatuses, ids, statuses, whys)
		if err != nil {
			return err
		}
		known, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		for n, i := range at {
			errs[i] = fmt.Errorf("set order %s %s: %w", ids[n], statuses[n], err)
		}
		return errs
	}
	if len(known) < len(ids) {
		found := map[string]bool{}
		for _, id := range known {
			found[id] = true
		}
		for _, id := range ids {
			if !found[id] {
				c.log.Info("inventory result for an unknown order ignored", "order_id", id)
			}
		}
	}
	return errs
}
