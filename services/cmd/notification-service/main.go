// Command notification-service runs mqchaos's notification-service; see services/README.md for its configuration.
package main

import (
	"github.com/mqchaos/mqchaos/services/internal/notification"
	"github.com/mqchaos/mqchaos/services/internal/runner"
)

func main() { runner.Main(notification.Service) }
