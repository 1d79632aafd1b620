// Command order-service runs mqchaos's order-service; see services/README.md for its configuration.
package main

import (
	"github.com/mqchaos/mqchaos/services/internal/order"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

func main() { runner.Main(order.Service) }
