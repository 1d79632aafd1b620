#!/usr/bin/env bash
# Builds mqchaos/toxiproxy:2.12.0: Toxiproxy's server from its Go module
# (`go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0`, CGO
# off) in an image FROM scratch listening on 0.0.0.0:8474, as Toxiproxy's
# own image does. No registry is needed, only the Go module proxy.
#
# Usage: build.sh [-force] [-image NAME]
# An image built from the same recipe (a digest label) is kept. The recipe
# lives in harness/images/toxiproxy.go, which the harness also runs by itself
# the first time a stack is started WithToxiproxy: one recipe, two doors.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec go run ./harness/cmd/mqchaos-toxiproxy-image "$@"
