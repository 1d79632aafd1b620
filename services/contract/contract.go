// Package contract is the wire contract of the mqchaos services: exchange,
// queue and routing-key names, event types, and the validation every
// consumer applies to a message body. It is the only package of services/
// that the harness imports, so a test can publish valid and invalid
// messages exactly as the services see them.
package contract

// Exchanges. Both are durable topic exchanges.
const (
	// OrdersExchange carries order events, published by order-service.
	OrdersExchange = "mqchaos.orders"
	// InventoryExchange carries inventory results, published by inventory-service.
	InventoryExchange = "mqchaos.inventory"
	// DeadLetterExchange is a direct exchange; a dead-lettered message is
	// routed with its source queue's name to that queue's dead-letter queue.
	DeadLetterExchange = "mqchaos.dlx"
)

// Routing keys.
const (
	RouteOrderPlaced        = "order.placed"
	RouteOrderCancelled     = "order.cancelled"
	RouteInventoryReserved  = "inventory.reserved"
	RouteInventoryFailed    = "inventory.failed"
	BindAllInventoryResults = "inventory.*"
)

// Queues: one per consuming service and exchange, so that every service
// gets every event (fanout), and replicas of one service compete on it.
const (
	InventoryOrdersQueue       = "inventory.order-events"
	NotificationOrdersQueue    = "notification.order-events"
	NotificationInventoryQueue = "notification.inventory-events"
	OrderInventoryQueue        = "order.inventory-events"
	// SharedOrdersQueue is the wrong topology that the unsafe switch
	// UNSAFE_SHARED_QUEUE selects: inventory and notification compete on one
	// queue, so each OrderPlaced reaches only one of them.
	SharedOrdersQueue = "shared.order-events"
)

// DeadLetterQueue names the dead-letter queue of queue q.
func DeadLetterQueue(q string) string { return q + ".dlq" }

// Headers set on a message that a service dead-letters itself.
const (
	HeaderReason      = "x-mqchaos-reason"      // why, in words
	HeaderErrorClass  = "x-mqchaos-error-class" // "permanent", "retries-exhausted", or (unsafe) "redelivered-and-failed"
	HeaderSourceQueue = "x-mqchaos-source-queue"
	HeaderAttempts    = "x-mqchaos-attempts"
	HeaderReplica     = "x-mqchaos-replica"
)

// MaxMessageBytes is the largest body a consumer accepts; a larger one is
// dead-lettered as oversized.
const MaxMessageBytes = 64 << 10
