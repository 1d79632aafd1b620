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

// onInventoryResult moves each order of a batch to reserved or rejected,
// in one transaction. Applying a result twice changes nothing, so no
// idempotency key is needed. A result for an order this service never
// stored is acked and logged.
func (c *consumer) onInventoryResult(ctx context.Context, ds []amqp.Delivery) []error {
	errs := make([]error, len(ds))
	type result struct {
		i      int
		r      contract.InventoryResult
		status string
		exists bool
	}
	var results []*result
	for i, d := range ds {
		env, err := contract.DecodeEnvelope(d.Body, contract.TypeInventoryReserved, contract.TypeInventoryFailed)
		if err != nil {
			errs[i] = err
			continue
		}
		r, err := contract.DecodeInventoryResult(env)
		if err != nil {
			errs[i] = err
			continue
		}
		status := StatusReserved
		if env.Type == contract.TypeInventoryFailed {
			status = StatusRejected
		}
		results = append(results, &result{i: i, r: r, status: status})
	}
	if len(results) == 0 {
		return errs
	}
	err := postgres.InTx(ctx, c.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, res := range results {
			b.Queue(setStatus, res.r.OrderID, res.status, res.r.Reason).QueryRow(func(row pgx.Row) error {
				return row.Scan(&res.exists)
			})
		}
		return tx.SendBatch(ctx, b).Close()
	})
	for _, res := range results {
		switch {
		case err != nil:
			errs[res.i] = fmt.Errorf("set order %s %s: %w", res.r.OrderID, res.status, err)
		case !res.exists:
			c.log.Info("inventory result for an unknown order ignored", "order_id", res.r.OrderID)
		}
	}
	return errs
}
