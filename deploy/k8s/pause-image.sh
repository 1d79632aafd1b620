#!/usr/bin/env bash
# Builds the pod sandbox image from ./pause (a static Go program FROM
# scratch) and saves it as a tarball in the cache, once; up.sh imports it
# into the cluster's containerd. No registry is needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

tar=$K8S_CACHE/images/pause.tar
[ ! -s "$tar" ] || exit 0
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
(cd "$here/pause" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/pause" .)
cp "$here/pause/Dockerfile" "$ctx/"
docker build -q -t "$K8S_PAUSE_IMAGE" "$ctx" >/dev/null
mkdir -p "$(dirname "$tar")"
docker save "$K8S_PAUSE_IMAGE" >"$tar.new"
mv "$tar.new" "$tar"
docker rmi -f "$K8S_PAUSE_IMAGE" >/dev/null
k8s_log "pause image $K8S_PAUSE_IMAGE saved to $tar"
