// Command mqchaos-dlq-replay moves dead-lettered messages back to the
// queues they came from, optionally only those whose reason matches. Each
// message is removed from the dead-letter queue only after the broker
// confirmed its republish, so an interrupted replay loses nothing and can
// simply be run again (a message replayed twice is absorbed by the
// consumers' idempotency).
//
//	mqchaos-dlq-replay -url amqp://user:pass@127.0.0.1:5672/vhost -system systems/reference/system.yaml -reason retries-exhausted
//	mqchaos-dlq-replay -url ... -dlq orders.dlq -reason-header x-error -source-header x-source-queue
//
// With -system, the description names the dead-letter queues (every
// declared one, unless -dlq narrows them) and the headers a service puts
// its reason and source queue in. Without a source header, the broker's
// x-death entry names the source queue.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/system"
)

func main() {
	url := flag.String("url", os.Getenv("AMQP_URL"), "broker URL with credentials and vhost (default $AMQP_URL)")
	sysPath := flag.String("system", "", "a system description naming the dead-letter queues and the reason and source headers")
	dlqs := flag.String("dlq", "", "dead-letter queues to replay, comma-separated (default with -system: every declared one)")
	reason := flag.String("reason", "", "replay only messages whose reason contains this")
	reasonHeader := flag.String("reason-header", "", "header holding a dead letter's reason (else the broker's x-death reason)")
	sourceHeader := flag.String("source-header", "", "header holding a dead letter's source queue (else the broker's x-death queue)")
	max := flag.Int("max", 0, "stop after this many messages per queue (0: all)")
	flag.Parse()
	if *sysPath != "" {
		sys, err := system.Load(*sysPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mqchaos-dlq-replay:", err)
			os.Exit(2)
		}
		*reasonHeader = cmp.Or(*reasonHeader, sys.ReasonHeader)
		*sourceHeader = cmp.Or(*sourceHeader, sys.SourceHeader)
		*dlqs = cmp.Or(*dlqs, strings.Join(sys.DeadLetterQueues(), ","))
	}
	if *url == "" || *dlqs == "" {
		fmt.Fprintln(os.Stderr, "mqchaos-dlq-replay: -url, and -dlq or -system, are required")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed := false
	for _, q := range strings.Split(*dlqs, ",") {
		n, err := broker.Replay(ctx, *url, q, broker.ReplayOptions{Reason: *reason, ReasonHeader: *reasonHeader, SourceHeader: *sourceHeader, Max: *max})
		fmt.Printf("mqchaos-dlq-replay: %s: moved %d\n", q, n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mqchaos-dlq-replay:", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
