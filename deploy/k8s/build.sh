#!/usr/bin/env bash
# Builds the Kubernetes binaries of one release from the Go module proxy
# into the cache, once: kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy and kubectl. A binary already in the
# cache is never built again.
#
# k8s.io/kubernetes cannot be built with `go install pkg@version`: its go.mod
# replaces every k8s.io staging module with a directory that its module zip
# does not contain. The build copies the module and points those requirements
# at the published staging modules of the same release (v0.X.Y for v1.X.Y).
set -euo pipefail
. "$(dirname "$0")/common.sh"

BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"
missing=""
for b in $BINARIES; do [ -x "$K8S_BIN/$b" ] || missing="$missing $b"; done
if [ -z "$missing" ]; then
	k8s_log "binaries of $K8S_RELEASE cached in $K8S_BIN"
	exit 0
fi

staging=v0.${K8S_RELEASE#v1.}
src=$(go mod download -json "k8s.io/kubernetes@$K8S_RELEASE" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || k8s_die "download k8s.io/kubernetes@$K8S_RELEASE: no module directory"

work=$K8S_CACHE/src
rm -rf "$work"
mkdir -p "$work" "$K8S_BIN"
cp -r "$src/." "$work"
chmod -R u+w "$work"
cd "$work"
# Drop the replace block and require the published staging modules instead.
awk '/^replace \($/ {skip=1; next} skip && /^\)$/ {skip=0; next} !skip' go.mod >go.mod.new
sed -i -E "s#^(\tk8s\.io/[a-z0-9-]+) v0\.0\.0\$#\1 $staging#" go.mod.new
mv go.mod.new go.mod
rm -f go.work go.work.sum

major=${K8S_RELEASE#v}; major=${major%%.*}
minor=${K8S_RELEASE#v*.}; minor=${minor%%.*}
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags="$ldflags -X $p.gitVersion=$K8S_RELEASE -X $p.gitMajor=$major -X $p.gitMinor=$minor"
	ldflags="$ldflags -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

pkgs=""
for b in $missing; do pkgs="$pkgs ./cmd/$b"; done
k8s_log "building$missing of $K8S_RELEASE (staging modules $staging)"
start=$(date +%s)
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags="$ldflags" -o "$K8S_BIN/" $pkgs
k8s_log "built$missing in $(( $(date +%s) - start )) s"
cd /
rm -rf "$work"
