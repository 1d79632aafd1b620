package broker

import (
	"context"
	"fmt"

	"golang.org/x/mod/semver"
)

// Version is the broker's release, as GET /api/overview gives it.
type Version struct {
	RabbitMQ string `json:"rabbitmq_version"` // "3.10.8", "4.2.1"
	Erlang   string `json:"erlang_version"`
}

// Version reads the broker's release. Where RabbitMQ's behaviour differs
// by release (a default delivery limit of 20 on quorum queues from 4.0;
// basic.nack no longer counting toward it from 4.3), a scenario or a
// report asks this rather than assuming one.
func (m *Management) Version(ctx context.Context) (Version, error) {
	var v Version
	if _, err := m.do(ctx, "GET", "/api/overview", nil, &v); err != nil {
		return Version{}, fmt.Errorf("broker version: %w", err)
	}
	return v, nil
}

// AtLeast reports whether the release is release ("4.3", "3.10.9") or
// newer; false if it cannot be read.
func (v Version) AtLeast(release string) bool {
	got := "v" + v.RabbitMQ
	return semver.IsValid(got) && semver.Compare(got, "v"+release) >= 0
}

// String is "RabbitMQ 3.10.8 (Erlang 25.2.3)".
func (v Version) String() string {
	if v.RabbitMQ == "" {
		return "RabbitMQ (version unknown)"
	}
	return fmt.Sprintf("RabbitMQ %s (Erlang %s)", v.RabbitMQ, v.Erlang)
}
