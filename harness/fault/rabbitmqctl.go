package fault

import (
	"context"
	"fmt"
	"io"
	"strings"

	tcexec "github.com/testcontainers/testcontainers-go/exec"
)

// Execer runs a command in a container and returns its exit code and
// output; a testcontainers Container is one (the broker's, for the
// faults that act through rabbitmqctl).
type Execer interface {
	Exec(ctx context.Context, cmd []string, options ...tcexec.ProcessOption) (int, io.Reader, error)
}

// rabbitmqctl runs rabbitmqctl with args in the broker's container and
// returns its output, trimmed.
func rabbitmqctl(ctx context.Context, broker Execer, args ...string) (string, error) {
	code, r, err := broker.Exec(ctx, append([]string{"rabbitmqctl", "--quiet"}, args...), tcexec.Multiplexed())
	if err != nil {
		return "", fmt.Errorf("rabbitmqctl %s: %w", args[0], err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("rabbitmqctl %s: read output: %w", args[0], err)
	}
	text := strings.TrimSpace(string(out))
	if code != 0 {
		return "", fmt.Errorf("rabbitmqctl %s: exit %d: %s", args[0], code, text)
	}
	return text, nil
}

// eval evaluates an Erlang expression on the broker node and returns the
// printed result.
func eval(ctx context.Context, broker Execer, expr string) (string, error) {
	return rabbitmqctl(ctx, broker, "eval", expr)
}
