// Package postgres opens a service's connection pool, applies its schema,
// and runs transactions.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects a pool whose connections use schema as search path, waiting
// with backoff until the database answers or ctx ends. It then applies
// migrations (idempotent DDL) under an advisory lock, so that replicas
// starting together do not race. A database whose encoding is not UTF8
// is refused: the services store UTF-8 text, and SQL_ASCII would take
// bytes it cannot interpret.
func Open(ctx context.Context, log *slog.Logger, url, schema string, maxConns int, migrations ...string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	delay := 200 * time.Millisecond
	for {
		err = migrate(ctx, pool, schema, migrations)
		if err == nil {
			var enc string
			if err = pool.QueryRow(ctx, `SELECT current_setting('server_encoding')`).Scan(&enc); err == nil {
				if err := CheckEncoding(enc); err != nil {
					pool.Close()
					return nil, err
				}
				return pool, nil
			}
		}
		log.Warn("database not ready", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			pool.Close()
			return nil, fmt.Errorf("migrate schema %s: %w", schema, errors.Join(err, ctx.Err()))
		case <-time.After(delay):
		}
		delay = min(delay*2, 3*time.Second)
	}
}

func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, migrations []string) error {
	return InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('mqchaos-migrate'))`); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		for i, m := range migrations {
			if _, err := tx.Exec(ctx, m); err != nil {
				return fmt.Errorf("migration %d: %w", i, err)
			}
		}
		return nil
	})
}

// InTx runs fn in a transaction and commits it when fn returns nil.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// CheckEncoding refuses a server encoding other than UTF8.
func CheckEncoding(serverEncoding string) error {
	if serverEncoding != "UTF8" {
		return fmt.Errorf("database encoding is %s, want UTF8: create the cluster with initdb --encoding=UTF8 (the public postgres image does)", serverEncoding)
	}
	return nil
}
