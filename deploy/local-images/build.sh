#!/usr/bin/env bash
# Builds RabbitMQ and PostgreSQL images from Debian packages, for machines
# that cannot pull from a registry. They behave like the public `rabbitmq`
# and `postgres` images for everything mqchaos uses: the same ports, the
# same RABBITMQ_DEFAULT_USER/PASS and POSTGRES_USER/PASSWORD/DB variables,
# the management plugin, rabbitmq-diagnostics and pg_isready.
#
# Usage: build.sh RABBITMQ_IMAGE POSTGRES_IMAGE
# An image that already exists is kept; FORCE=1 rebuilds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rabbit_image=${1:?rabbitmq image name}
postgres_image=${2:?postgres image name}
base_image=mqchaos/debian-base:bookworm

have() { docker image inspect "$1" >/dev/null 2>&1; }
# recipe is a digest of what an image is built from; an image built from
# another recipe (an older checkout) is rebuilt.
recipe() { (cd "$here/$1" && cat Dockerfile ./*.sh ./enabled_plugins 2>/dev/null) | sha256sum | cut -c1-16; }
current() {
  [ "$(docker image inspect -f '{{index .Config.Labels "io.mqchaos.recipe"}}' "$1" 2>/dev/null)" = "$(recipe "$2")" ]
}

if [ "${FORCE:-0}" != 1 ] && current "$rabbit_image" rabbitmq && current "$postgres_image" postgres; then
  echo "local images: $rabbit_image and $postgres_image already built"
  exit 0
fi

if [ "${FORCE:-0}" = 1 ] || ! have "$base_image"; then
  command -v debootstrap >/dev/null || {
    echo "local images: debootstrap is missing: install it with \`apt-get install -y debootstrap\` (as root), then run \`LOCAL_IMAGES=1 make images\` again" >&2
    exit 1
  }
  [ "$(id -u)" = 0 ] || { echo "local images: debootstrap needs root: run \`sudo LOCAL_IMAGES=1 make infra-images\`, then \`LOCAL_IMAGES=1 make images\`" >&2; exit 1; }
  rootfs=$(mktemp -d /tmp/mqchaos-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "local images: debootstrap bookworm with rabbitmq-server and postgresql into $rootfs"
  debootstrap --variant=minbase --include=rabbitmq-server,postgresql bookworm "$rootfs" >"$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; exit 1; }
  # Debian's packages create a cluster and a node at install time; the
  # images initialise their own state at first start, as the public ones do.
  rm -rf "$rootfs"/var/lib/postgresql/15/main "$rootfs"/var/lib/rabbitmq/mnesia "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | docker import - "$base_image" >/dev/null
  rm -f "$rootfs.log"
fi

for role in rabbitmq postgres; do
  image=$rabbit_image
  [ "$role" = postgres ] && image=$postgres_image
  docker build -q -t "$image" --label "io.mqchaos.recipe=$(recipe "$role")" --build-arg BASE="$base_image" "$here/$role" >/dev/null
done
echo "local images: built $rabbit_image and $postgres_image"
