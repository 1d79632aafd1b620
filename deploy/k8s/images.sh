#!/usr/bin/env bash
# Copies images from the local Docker engine into the cluster's containerd
# (namespace k8s.io), where the kubelet finds them without a registry. With
# no arguments: every mqchaos/* image and the Toxiproxy image Docker has.
# A pod then names the image as Docker does (mqchaos/rabbitmq:3.10-local)
# with imagePullPolicy IfNotPresent (the default for a tag other than latest).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

ctr -a "$K8S_CONTAINERD_SOCK" version >/dev/null 2>&1 || k8s_die "the cluster's containerd is not running: make k8s-up first"
# The helper container of every pod the harness starts (signals/main.go),
# built FROM scratch each time: it is small.
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
(cd "$here/signals" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/signals" .)
cp "$here/signals/Dockerfile" "$ctx/"
docker build -q -t mqchaos/signals:dev "$ctx" >/dev/null
images=("$@")
if [ ${#images[@]} -eq 0 ]; then
	mapfile -t images < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(mqchaos/|[^ ]*toxiproxy)' | grep -v ':<none>$')
fi
for img in "${images[@]}"; do
	t0=$(date +%s)
	docker save "$img" | ctr -a "$K8S_CONTAINERD_SOCK" -n k8s.io images import - >/dev/null
	k8s_log "imported $img in $(( $(date +%s) - t0 )) s"
done
