#!/usr/bin/env bash
# Builds the warehouse image offline: two Debian bookworm bases made by
# debootstrap (no registry needed), one to compile in (g++, cmake and the
# -dev packages) and one to run in (the shared libraries only), then
# systems/warehouse/Dockerfile on top of them.
#
# Usage: build.sh [IMAGE]          (default mqchaos/warehouse:dev)
# A base is kept when it exists and was made from the same package list;
# the image is kept when it carries the digest of its sources and the ids
# of both bases. FORCE=1 rebuilds everything. BUILD_BASE=<image> and
# RUNTIME_BASE=<image> skip debootstrap and use those images instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${1:-mqchaos/warehouse:dev}
build_packages=g++,cmake,make,pkg-config,librabbitmq-dev,libpqxx-dev,libpq-dev,libcpp-httplib-dev,nlohmann-json3-dev
runtime_packages=librabbitmq4,libpqxx-6.4,libcpp-httplib0.11
default_build_base=mqchaos/warehouse-build:bookworm
default_runtime_base=mqchaos/warehouse-base:bookworm
build_base=${BUILD_BASE:-$default_build_base}
runtime_base=${RUNTIME_BASE:-$default_runtime_base}

# A recipe is a digest of what an image is made from; an image made from
# another recipe (an older checkout) is made again.
recipe_of() { echo "debootstrap --variant=minbase --include=$1 bookworm" | sha256sum | cut -c1-16; }
app_recipe() { (cd "$here" && cat Dockerfile CMakeLists.txt src/*) | sha256sum | cut -c1-16; }
label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{.Id}}' "$1"; }

# make_base IMAGE PACKAGES: debootstraps PACKAGES into IMAGE unless it is
# current.
make_base() {
  local base=$1 packages=$2 recipe rootfs
  recipe=$(recipe_of "$packages")
  if [ "${FORCE:-0}" != 1 ] && [ "$(label "$base" io.mqchaos.recipe)" = "$recipe" ]; then
    return
  fi
  command -v debootstrap >/dev/null || {
    echo "warehouse: debootstrap is missing (apt-get install -y debootstrap), or pass BUILD_BASE= and RUNTIME_BASE=" >&2
    exit 1
  }
  rootfs=$(mktemp -d /tmp/mqchaos-warehouse-rootfs.XXXXXX)
  echo "warehouse: debootstrap bookworm with $packages into $rootfs"
  if ! debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" >"$rootfs.log" 2>&1; then
    tail -20 "$rootfs.log" >&2
    rm -rf "$rootfs" "$rootfs.log"
    exit 1
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c "LABEL io.mqchaos.recipe=$recipe" - "$base" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  echo "warehouse: imported $base"
}

[ "$build_base" = "$default_build_base" ] && make_base "$build_base" "$build_packages"
[ "$runtime_base" = "$default_runtime_base" ] && make_base "$runtime_base" "$runtime_packages"

bases="$(image_id "$build_base") $(image_id "$runtime_base")"
if [ "${FORCE:-0}" != 1 ] && [ "$(label "$image" io.mqchaos.warehouse-recipe)" = "$(app_recipe)" ] \
   && [ "$(label "$image" io.mqchaos.bases)" = "$bases" ]; then
  echo "warehouse: $image already built"
  exit 0
fi
echo "warehouse: compiling the services and building $image"
docker build -q -t "$image" \
  --label "io.mqchaos.warehouse-recipe=$(app_recipe)" \
  --label "io.mqchaos.bases=$bases" \
  --build-arg BUILD_BASE="$build_base" --build-arg RUNTIME_BASE="$runtime_base" "$here" >/dev/null
echo "warehouse: built $image"
