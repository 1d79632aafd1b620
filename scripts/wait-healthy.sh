#!/usr/bin/env bash
# Waits until every container of the compose stack reports healthy (at most
# WAIT_SECONDS, default 120), then prints their states.
set -euo pipefail
compose=${COMPOSE:-docker-compose}
deadline=$(( $(date +%s) + ${WAIT_SECONDS:-120} ))
while :; do
  ids=$($compose ps -q)
  unhealthy=0
  for id in $ids; do
    state=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")
    [ "$state" = healthy ] || unhealthy=$((unhealthy + 1))
  done
  if [ -n "$ids" ] && [ "$unhealthy" -eq 0 ]; then
    $compose ps
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    $compose ps
    echo "stack not healthy after ${WAIT_SECONDS:-120}s: $unhealthy container(s) not healthy" >&2
    exit 1
  fi
  sleep 1
done
