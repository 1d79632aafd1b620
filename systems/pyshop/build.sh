#!/usr/bin/env bash
# Builds the pyshop image offline: a Debian bookworm base with python3,
# python3-flask and python3-pika made by debootstrap (no registry needed),
# then systems/pyshop/Dockerfile on top of it.
#
# Usage: build.sh [IMAGE]          (default mqchaos/pyshop:dev)
# The base image is kept when it exists and was made from the same package
# list; FORCE=1 rebuilds it. BASE=<image> skips debootstrap and builds the
# Dockerfile on that image instead (any image with python3, flask and pika).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-mqchaos/pyshop:dev}
packages=python3,python3-flask,python3-pika
default_base=mqchaos/pyshop-base:bookworm
base=${BASE:-$default_base}

# recipe is a digest of what an image is built from; an image built from
# another recipe (an older checkout) is rebuilt.
base_recipe() { echo "debootstrap --variant=minbase --include=$packages bookworm" | sha256sum | cut -c1-16; }
app_recipe() { (cd "$here" && cat Dockerfile ./*.py) | sha256sum | cut -c1-16; }
label() { docker image inspect -f '{{index .Config.Labels "io.mqchaos.recipe"}}' "$1" 2>/dev/null || true; }

if [ "$base" = "$default_base" ] && { [ "${FORCE:-0}" = 1 ] || [ "$(label "$base")" != "$(base_recipe)" ]; }; then
  command -v debootstrap >/dev/null || {
    echo "pyshop: debootstrap is missing (apt-get install -y debootstrap), or pass BASE=<an image with python3, flask and pika>" >&2
    exit 1
  }
  rootfs=$(mktemp -d /tmp/mqchaos-pyshop-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
  echo "pyshop: debootstrap bookworm with $packages into $rootfs"
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" >"$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c "LABEL io.mqchaos.recipe=$(base_recipe)" - "$base" >/dev/null
  echo "pyshop: imported $base"
fi

if [ "${FORCE:-0}" != 1 ] && [ "$(label "$image")" = "$(app_recipe)" ] \
   && [ "$(docker image inspect -f '{{index .Config.Labels "io.mqchaos.base"}}' "$image" 2>/dev/null)" = "$(docker image inspect -f '{{.Id}}' "$base")" ]; then
  echo "pyshop: $image already built"
  exit 0
fi
docker build -q -t "$image" \
  --label "io.mqchaos.recipe=$(app_recipe)" \
  --label "io.mqchaos.base=$(docker image inspect -f '{{.Id}}' "$base")" \
  --build-arg BASE="$base" "$here" >/dev/null
echo "pyshop: built $image"
