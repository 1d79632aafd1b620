#!/usr/bin/env bash
# Runs the catalogue's transient-queues specs once per first queue flag
# alone. The catalogue asks for controls by name, and the name it has for
# the queue flags, transient-queues, stands in system.yaml for all three
# (durable 0, exclusive 1, auto_delete 1). For each flag this writes a copy
# of the description to a temporary directory in which transient-queues is
# that flag alone, and runs the specs that ask for it.
#
# Usage: flag-variants.sh [FLAG...]   (default: non-durable-queue
#        exclusive-queue auto-delete-queue); extra ginkgo flags in GINKGO_FLAGS.
# Run it from anywhere; it wants the same environment as the suite
# (TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 etc.) and takes no lock itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(non-durable-queue exclusive-queue auto-delete-queue)
tmp=$(mktemp -d /tmp/mqchaos-warehouse-flags.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
status=0
for flag in "${flags[@]}"; do
  grep -q "^  $flag:" "$here/system.yaml" || { echo "no control $flag in system.yaml" >&2; exit 2; }
  desc="$tmp/$flag.yaml"
  sed -e "s|^      context: \.$|      context: $here|" \
      -e "s|^  transient-queues:|  all-three-queue-flags:|" \
      -e "s|^  $flag:|  transient-queues:|" \
      -e "s|^name: warehouse$|name: warehouse-$flag|" "$here/system.yaml" >"$desc"
  echo "== transient-queues as $flag alone"
  (cd "$root" && go tool ginkgo ${GINKGO_FLAGS:-} --focus='transient-queues' ./scenarios -- -system="$desc") || status=1
done
exit $status
