package fault

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ConsumerTimeout lowers the broker node's delivery acknowledgement
// timeout (consumer_timeout) to d: a consumer that holds a delivery
// unacked for longer has its channel closed by the broker with
// PRECONDITION_FAILED, and its unacked deliveries go back to the queue.
// The broker reads the setting when a channel opens and checks it on the
// channel's tick, so it applies to channels opened after Inject, within
// about a tick (see ChannelTick). Heal restores the value read at Inject.
// On RabbitMQ 3.10 this is the only way to set it at run time (per-queue
// arguments and policies came with 3.12).
func ConsumerTimeout(broker Execer, d time.Duration) Fault {
	return &appEnv{broker: broker, key: "consumer_timeout", value: strconv.FormatInt(d.Milliseconds(), 10),
		deflt: "1800000", name: "consumer_timeout " + d.String() + " on the broker"}
}

// ChannelTick sets how often the broker node's channels run their
// periodic checks (channel_tick_interval; consumer_timeout among them)
// for channels opened after Inject. RabbitMQ's default is a minute, which
// is also the resolution of consumer_timeout. Heal restores it.
func ChannelTick(broker Execer, d time.Duration) Fault {
	return &appEnv{broker: broker, key: "channel_tick_interval", value: strconv.FormatInt(d.Milliseconds(), 10),
		deflt: "60000", name: "channel tick " + d.String() + " on the broker"}
}

// appEnv sets one key of the rabbit application's environment.
type appEnv struct {
	broker     Execer
	key, value string
	name       string
	// deflt is RabbitMQ's default, restored when the key was not set:
	// unsetting channel_tick_interval leaves new channels unable to open.
	deflt   string
	restore string
}

func (a *appEnv) Name() string { return a.name }

// Witness reads the setting back and sees the value set.
func (a *appEnv) Witness(context.Context) (Check, error) {
	return func(ctx context.Context) (string, error) {
		got, err := eval(ctx, a.broker, "application:get_env(rabbit, "+a.key+").")
		switch {
		case err != nil:
			return "", fmt.Errorf("read %s: %w", a.key, err)
		case got != "{ok,"+a.value+"}":
			return "", fmt.Errorf("%s is %s, not %s", a.key, got, a.value)
		}
		return a.key + " " + a.value + " on the broker", nil
	}, nil
}

func (a *appEnv) Inject(ctx context.Context) error {
	old, err := eval(ctx, a.broker, "application:get_env(rabbit, "+a.key+").")
	if err != nil {
		return fmt.Errorf("read %s: %w", a.key, err)
	}
	// {ok,1800000} or undefined
	a.restore = strings.TrimSuffix(strings.TrimPrefix(old, "{ok,"), "}")
	if a.restore == "undefined" {
		a.restore = a.deflt
	}
	if _, err := eval(ctx, a.broker, "application:set_env(rabbit, "+a.key+", "+a.value+")."); err != nil {
		return fmt.Errorf("set %s: %w", a.key, err)
	}
	return nil
}

func (a *appEnv) Heal(ctx context.Context) error {
	expr := "application:set_env(rabbit, " + a.key + ", " + a.restore + ")."
	if _, err := eval(ctx, a.broker, expr); err != nil {
		return fmt.Errorf("restore %s: %w", a.key, err)
	}
	return nil
}
