// Command inventory-service runs mqchaos's inventory-service; see services/README.md for its configuration.
package main

import (
	"github.com/mqchaos/mqchaos/services/internal/inventory"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

func main() { runner.Main(inventory.Service) }
