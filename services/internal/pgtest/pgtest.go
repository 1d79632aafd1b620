// Package pgtest starts a PostgreSQL container for the services' tests
// that need a real database: the image of POSTGRES_IMAGE, else the local
// build, published on 127.0.0.1 only, labelled as the harness labels its
// containers so that mqchaos clean removes it if the test dies first.
package pgtest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	dnetwork "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Start starts the container for t, named run in its labels
// ("eventid-test"), terminated when t ends, and returns its database's
// URL. It skips t unless MQCHAOS_BROKER_TESTS=1: run it under the
// machine's Docker lock.
func Start(t *testing.T, run string) string {
	t.Helper()
	if os.Getenv("MQCHAOS_BROKER_TESTS") != "1" {
		t.Skip("starts a PostgreSQL container: set MQCHAOS_BROKER_TESTS=1 and run under flock -x /tmp/mqchaos-docker.lock")
	}
	const user, pass = "mqchaos", "mqchaos-test"
	image := os.Getenv("POSTGRES_IMAGE")
	if image == "" {
		image = "mqchaos/postgres:15-local"
	}
	host, _ := os.Hostname()
	ctr, err := testcontainers.Run(context.Background(), image,
		testcontainers.WithLabels(map[string]string{"io.mqchaos.managed": "true", "io.mqchaos.run": fmt.Sprintf("%s-%d", run, os.Getpid()),
			"io.mqchaos.pid": fmt.Sprint(os.Getpid()), "io.mqchaos.host": host}),
		testcontainers.WithEnv(map[string]string{"POSTGRES_USER": user, "POSTGRES_PASSWORD": pass, "POSTGRES_DB": "mqchaos"}),
		testcontainers.WithExposedPorts("5432/tcp"),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = dnetwork.PortMap{dnetwork.MustParsePort("5432/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1")}}}
		}),
		testcontainers.WithWaitStrategyAndDeadline(3*time.Minute,
			wait.ForExec([]string{"pg_isready", "-h", "127.0.0.1", "-U", user, "-d", "mqchaos"}).WithPollInterval(250*time.Millisecond)),
	)
	t.Cleanup(func() {
		if ctr != nil {
			_ = ctr.Terminate(context.Background())
		}
	})
	if err != nil {
		t.Fatalf("start %s: %v", image, err)
	}
	p, err := ctr.MappedPort(context.Background(), "5432/tcp")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%s/mqchaos?sslmode=disable", user, pass, p.Port())
}
