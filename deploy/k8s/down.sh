#!/usr/bin/env bash
# Takes down what up.sh started: pods first (so that containerd runs the CNI
# teardown of each), then every process it started, its mounts, iptables
# rules, interfaces, cgroups, sysctls and files. Only the cache stays.
# Safe to run again, and after a k8s-up that failed half way.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[ "$(id -u)" = 0 ] || k8s_die "k8s-down must run as root"

pidof_daemon() { cat "$K8S_RUN/pids/$1.pid" 2>/dev/null; }
stop() { # name: SIGTERM, then SIGKILL after 15 s
	local pid
	pid=$(pidof_daemon "$1") || return 0
	kill "$pid" 2>/dev/null || { rm -f "$K8S_RUN/pids/$1.pid"; return 0; }
	for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	kill -9 "$pid" 2>/dev/null
	rm -f "$K8S_RUN/pids/$1.pid"
	k8s_log "stopped $1 ($pid)"
}
ctrk() { ctr -a "$K8S_CONTAINERD_SOCK" -n k8s.io "$@"; }

if [ -d "$K8S_STATE" ]; then
	# No new pods: stop the controllers, then delete every pod while the
	# kubelet still runs, so each sandbox is torn down through CNI.
	stop kube-controller-manager
	stop kube-scheduler
	if pidof_daemon kubelet >/dev/null && k8s_kubectl get --raw /readyz >/dev/null 2>&1; then
		k8s_kubectl delete pods --all --all-namespaces --grace-period=5 --timeout=60s >/dev/null 2>&1 ||
			k8s_log "some pods were not deleted in time"
		for _ in $(seq 60); do
			[ -z "$(ctrk tasks ls -q 2>/dev/null)" ] && break
			sleep 0.5
		done
	fi
	stop kubelet
	stop kube-proxy
	[ -x "$K8S_BIN/kube-proxy" ] && "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1
	stop kube-apiserver
	stop etcd
	# Whatever is left in containerd is killed through containerd.
	if ctrk version >/dev/null 2>&1; then
		for t in $(ctrk tasks ls -q); do ctrk tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
		for _ in $(seq 20); do
			running=$(ctrk tasks ls 2>/dev/null | awk 'NR>1 && $3=="RUNNING"')
			[ -z "$running" ] && break
			sleep 0.5
		done
		for t in $(ctrk tasks ls -q); do ctrk tasks delete -f "$t" >/dev/null 2>&1; done
		for c in $(ctrk containers ls -q); do ctrk containers delete "$c" >/dev/null 2>&1; done
	fi
	stop containerd
	# Shims of this containerd (their command line names its socket).
	for p in /proc/[0-9]*; do
		if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "-address $K8S_CONTAINERD_SOCK"; then
			kill -9 "${p#/proc/}" 2>/dev/null && k8s_log "killed shim ${p#/proc/}"
		fi
	done
fi

# Network namespaces that this cluster's pods left (CNI names them cni-*),
# and every mount under the state directory, deepest first.
if [ -d "$K8S_STATE" ]; then
	for ns in /run/netns/cni-*; do
		[ -e "$ns" ] || continue
		ip netns delete "${ns##*/}" 2>/dev/null || { umount -l "$ns"; rm -f "$ns"; }
	done
	awk -v s="$K8S_STATE" 'index($2, s) == 1 {print $2}' /proc/self/mounts | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
fi

# iptables: the rules this cluster added and the chains of kube-proxy, the
# kubelet and the CNI plugins (KUBE-*, CNI-*); Docker's rules stay.
for ipt in iptables ip6tables; do
	for table in filter nat mangle raw; do
		$ipt -t $table -S 2>/dev/null | grep -E '^-A .*(mqchaos-k8s|-j (KUBE|CNI)-)' |
			while read -r rule; do eval "$ipt -t $table -D ${rule#-A }" 2>/dev/null; done
		for chain in $($ipt -t $table -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}'); do
			$ipt -t $table -F "$chain" 2>/dev/null
		done
		for chain in $($ipt -t $table -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}'); do
			$ipt -t $table -X "$chain" 2>/dev/null
		done
	done
done

for link in "$K8S_BRIDGE" "$K8S_NODE_LINK"; do
	ip link show "$link" >/dev/null 2>&1 && ip link delete "$link"
done

# The kubelet's cgroups, leaves first.
for h in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice; do
	[ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
done

if [ -f "$K8S_STATE/sysctl.before" ]; then
	while IFS= read -r kv; do sysctl -qw "$kv" 2>/dev/null; done <"$K8S_STATE/sysctl.before"
fi
if [ -f "$K8S_STATE/paths.before" ]; then
	for p in $K8S_HOST_PATHS; do
		[ -e "$p" ] || continue
		grep -qxF "$p" "$K8S_STATE/paths.before" && continue
		# ip netns and containerd make /run/netns a mount of its own.
		while mountpoint -q "$p"; do umount "$p" || umount -l "$p"; done
		rm -rf "$p"
	done
fi
rm -rf "$K8S_STATE"
[ "$K8S_KUBECONFIG" = "$K8S_STATE/admin.kubeconfig" ] || rm -f "$K8S_KUBECONFIG"
k8s_log "down"
