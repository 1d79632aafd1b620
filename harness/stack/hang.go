package stack

import (
	"bytes"
	"context"
	"fmt"

	"golang.org/x/mod/semver"

	"github.com/mqchaos/mqchaos/harness/broker"
)

// KnownHang says why the node hangs, when it hangs in a way the
// broker's release v (read from another node: a hung node's API does not
// answer) is known for, and "" otherwise.
//
// The one known: RabbitMQ before 3.10.9 on Erlang 25.1 or newer. A node
// that starts its application again after a partition (pause_minority,
// autoheal) can hang in global:sync for good: RabbitMQ's own workaround
// for a stuck global (its log: "Global hang workaround", then "Faking
// nodedown/nodeup") sends global the messages of Erlang before 25.1,
// which global now drops ("received an unexpected message").
// rabbitmq/rabbitmq-server#6034, fixed in 3.10.9. Debian 12's
// rabbitmq-server is 3.10.8 on Erlang 25.2. Restarting the node's
// container clears it.
func (n *Node) KnownHang(ctx context.Context, v broker.Version) (string, error) {
	if !hangProne(v) {
		return "", nil
	}
	logs, err := n.Logs(ctx)
	if err != nil {
		return "", err
	}
	if !globalHang(logs) {
		return "", nil
	}
	return fmt.Sprintf("%s hangs in global:sync after starting RabbitMQ again: on %s, RabbitMQ's workaround for a stuck global sends messages that global drops since Erlang 25.1 (rabbitmq/rabbitmq-server#6034, fixed in 3.10.9)", n.Alias, v), nil
}

// hangProne reports whether release v is RabbitMQ before 3.10.9 on
// Erlang 25.1 or newer.
func hangProne(v broker.Version) bool {
	erlang := "v" + v.Erlang
	return v.RabbitMQ != "" && !v.AtLeast("3.10.9") && semver.IsValid(erlang) && semver.Compare(erlang, "v25.1") >= 0
}

// globalHang reports whether a node's log shows, since its last start of
// RabbitMQ, the workaround's attempt and global dropping its messages.
func globalHang(logs []byte) bool {
	if i := bytes.LastIndex(logs, []byte(" Starting RabbitMQ ")); i >= 0 {
		logs = logs[i:]
	}
	return bytes.Contains(logs, []byte("Global hang workaround")) && bytes.Contains(logs, []byte("global_name_server received an unexpected message"))
}
