package fault

import (
	"context"
	"fmt"
	"strings"
)

// MemoryAlarm sets the broker node's memory high watermark so low that
// its memory alarm goes off at once: RabbitMQ blocks every connection
// that publishes (connection.blocked) on every vhost of the node, and
// consumers keep receiving. Heal restores the watermark read at Inject.
// The node's other tenants are blocked too: give the scenario a broker of
// its own.
func MemoryAlarm(broker Execer) Fault {
	return &alarm{broker: broker, resource: "memory",
		get: "vm_memory_monitor:get_vm_memory_high_watermark().",
		set: func(v string) string { return "vm_memory_monitor:set_vm_memory_high_watermark(" + v + ")." },
		// A fraction of the memory the node sees, far below what it uses.
		trip: "0.0001"}
}

// DiskAlarm sets the broker node's free disk limit far above the free
// space of any disk (1 PB), so its disk alarm goes off at once, with the
// same effect on publishers as MemoryAlarm. Heal restores the limit read
// at Inject.
func DiskAlarm(broker Execer) Fault {
	return &alarm{broker: broker, resource: "disk",
		get:  "rabbit_disk_monitor:get_disk_free_limit().",
		set:  func(v string) string { return "rabbit_disk_monitor:set_disk_free_limit(" + v + ")." },
		trip: "1000000000000000"}
}

type alarm struct {
	broker   Execer
	resource string
	get      string
	set      func(value string) string
	trip     string
	restore  string // the setting read at Inject
}

func (a *alarm) Name() string { return a.resource + " alarm on the broker" }

// Witness sees the node list the alarm (rabbit_alarm:get_alarms()),
// which it raises within a few seconds.
func (a *alarm) Witness(context.Context) (Check, error) {
	return func(ctx context.Context) (string, error) {
		return Eventually(ctx, func(ctx context.Context) (string, bool, error) {
			alarms, err := eval(ctx, a.broker, "rabbit_alarm:get_alarms().")
			if err != nil {
				return "", false, err
			}
			if strings.Contains(alarms, "{resource_limit,"+a.resource+",") {
				return "the broker lists its " + a.resource + " alarm", true, nil
			}
			return "the broker lists no " + a.resource + " alarm: " + alarms, false, nil
		})
	}, nil
}

func (a *alarm) Inject(ctx context.Context) error {
	old, err := eval(ctx, a.broker, a.get)
	if err != nil {
		return fmt.Errorf("read the %s limit: %w", a.resource, err)
	}
	a.restore = old
	if _, err := eval(ctx, a.broker, a.set(a.trip)); err != nil {
		return fmt.Errorf("lower the %s limit: %w", a.resource, err)
	}
	return nil
}

func (a *alarm) Heal(ctx context.Context) error {
	if a.restore == "" {
		return nil
	}
	if _, err := eval(ctx, a.broker, a.set(a.restore)); err != nil {
		return fmt.Errorf("restore the %s limit %s: %w", a.resource, a.restore, err)
	}
	return nil
}
