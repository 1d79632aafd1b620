#!/usr/bin/env bash
# Starts a single-node Kubernetes cluster on this machine and waits until
# its node is Ready: etcd, a containerd of its own (CRI on, Docker's
# containerd untouched), kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet and kube-proxy (iptables mode). Run as root.
# Every process, mount, interface, iptables rule and file it makes is undone
# by down.sh; only the binaries in the cache stay.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[ "$(id -u)" = 0 ] || k8s_die "k8s-up must run as root"
[ ! -e "$K8S_STATE" ] || k8s_die "$K8S_STATE exists: a cluster is up or was not taken down; run make k8s-down"
for t in etcd containerd containerd-shim-runc-v2 runc ctr openssl iptables ip; do
	command -v $t >/dev/null || k8s_die "$t not found (apt-get install etcd-server containerd runc openssl iptables iproute2)"
done
for p in bridge host-local loopback portmap; do
	[ -x /usr/lib/cni/$p ] || k8s_die "/usr/lib/cni/$p not found (apt-get install containernetworking-plugins)"
done

start=$(date +%s)
"$here/build.sh"
"$here/pause-image.sh"

mkdir -p "$K8S_STATE" "$K8S_RUN/pids" "$K8S_LOG" "$K8S_PKI"
chmod 700 "$K8S_STATE"

# What k8s-down must put back or leave alone.
for s in $K8S_SYSCTLS; do printf '%s=%s\n' "$s" "$(sysctl -n "$s")"; done >"$K8S_STATE/sysctl.before"
for p in $K8S_HOST_PATHS; do [ -e "$p" ] && echo "$p"; done >"$K8S_STATE/paths.before" || true

# --- certificates and kubeconfigs -------------------------------------------
cert() { # name subject extendedKeyUsage [subjectAltName]
	local name=$1 subj=$2 eku=$3 san=${4:-}
	openssl ecparam -name prime256v1 -genkey -noout -out "$K8S_PKI/$name.key" 2>/dev/null
	openssl req -new -key "$K8S_PKI/$name.key" -subj "$subj" -out "$K8S_PKI/$name.csr"
	{
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		[ -z "$san" ] || echo "subjectAltName=$san"
	} >"$K8S_PKI/$name.ext"
	openssl x509 -req -in "$K8S_PKI/$name.csr" -CA "$K8S_PKI/ca.crt" -CAkey "$K8S_PKI/ca.key" \
		-CAcreateserial -days 30 -extfile "$K8S_PKI/$name.ext" -out "$K8S_PKI/$name.crt" 2>/dev/null
	rm "$K8S_PKI/$name.csr" "$K8S_PKI/$name.ext"
}
kubeconfig() { # file name
	local file=$1 name=$2
	cat >"$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: mqchaos
  cluster:
    server: https://127.0.0.1:$K8S_APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$K8S_PKI/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$K8S_PKI/$name.crt")
    client-key-data: $(base64 -w0 "$K8S_PKI/$name.key")
contexts:
- name: mqchaos
  context: {cluster: mqchaos, user: $name}
current-context: mqchaos
KC
	chmod 600 "$file"
}

k8s_log "certificates"
openssl ecparam -name prime256v1 -genkey -noout -out "$K8S_PKI/ca.key" 2>/dev/null
openssl req -x509 -new -key "$K8S_PKI/ca.key" -subj "/CN=mqchaos-k8s-ca" -days 30 -out "$K8S_PKI/ca.crt"
cert apiserver "/CN=kube-apiserver" serverAuth \
	"IP:127.0.0.1,IP:$K8S_NODE_IP,IP:${K8S_SERVICE_CIDR%.0/*}.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$K8S_CLUSTER_DOMAIN"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=mqchaos-admin" clientAuth
cert controller-manager "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kube-proxy "/CN=system:kube-proxy" clientAuth
cert kubelet "/O=system:nodes/CN=system:node:$K8S_NODE" clientAuth
cert kubelet-server "/CN=$K8S_NODE" serverAuth "IP:$K8S_NODE_IP,DNS:$K8S_NODE"
openssl genrsa -out "$K8S_PKI/sa.key" 2048 2>/dev/null
openssl rsa -in "$K8S_PKI/sa.key" -pubout -out "$K8S_PKI/sa.pub" 2>/dev/null
for n in admin controller-manager scheduler kube-proxy kubelet; do
	kubeconfig "$K8S_STATE/$n.kubeconfig" $n
done
[ "$K8S_KUBECONFIG" = "$K8S_STATE/admin.kubeconfig" ] || cp "$K8S_STATE/admin.kubeconfig" "$K8S_KUBECONFIG"

# --- processes --------------------------------------------------------------
# A daemon gets its own session, no inherited descriptors beyond 0-2 (a
# caller's lock must not outlive the caller), a log and a pid file.
daemon() { # name command...
	local name=$1; shift
	setsid "$@" </dev/null >>"$K8S_LOG/$name.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	echo $! >"$K8S_RUN/pids/$name.pid"
}
# wait_for what seconds command...: polls the command every half second.
wait_for() {
	local what=$1 limit=$2; shift 2
	local deadline=$(( $(date +%s) + limit ))
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			k8s_die "$what not ready after $limit s; see $K8S_LOG"
		fi
		sleep 0.5
	done
	k8s_log "$what ready"
}
healthz() { # url cert key
	curl -sf --cacert "$K8S_PKI/ca.crt" --cert "$K8S_PKI/admin.crt" --key "$K8S_PKI/admin.key" "$1"
}

# --- network ----------------------------------------------------------------
k8s_log "network"
ip link add "$K8S_NODE_LINK" type bridge
ip addr add "$K8S_NODE_IP/32" dev "$K8S_NODE_LINK"
ip link set "$K8S_NODE_LINK" up
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
# Docker sets the FORWARD policy to DROP: let pod traffic that kube-proxy
# routes back onto the bridge (pod to Service to pod) through, and nothing
# from the pods out of any other interface, whatever the policy.
iptables -I FORWARD 1 -i "$K8S_BRIDGE" -m comment --comment mqchaos-k8s -j DROP
iptables -I FORWARD 1 -i "$K8S_BRIDGE" -o "$K8S_BRIDGE" -m comment --comment mqchaos-k8s -j ACCEPT
mkdir -p "$K8S_STATE/cni/net.d" "$K8S_STATE/cni/ipam"
cat >"$K8S_STATE/cni/net.d/10-mqchaos.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "mqchaos",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$K8S_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$K8S_STATE/cni/ipam",
        "ranges": [[{"subnet": "$K8S_POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CNI

# --- etcd -------------------------------------------------------------------
k8s_log "etcd $(etcd --version | sed -n 's/^etcd Version: //p')"
daemon etcd etcd --name mqchaos --data-dir "$K8S_STATE/etcd" \
	--listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
	--listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
	--initial-cluster mqchaos=http://127.0.0.1:23800 --log-level warn

# --- containerd -------------------------------------------------------------
k8s_log "containerd $(containerd --version | awk '{print $3}')"
mkdir -p "$K8S_STATE/containerd"
cat >"$K8S_STATE/containerd/config.toml" <<TOML
version = 2
root = "$K8S_STATE/containerd/root"
state = "$K8S_RUN/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = "$K8S_CONTAINERD_SOCK"
[ttrpc]
  address = "$K8S_CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$K8S_STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$K8S_PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # Root here lacks CAP_SYS_RESOURCE, so no process may lower its
  # oom_score_adj: the sandbox's -998 made runc fail ("can't get final
  # child's PID from pipe: EOF"). Clamp every adjustment at containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_STATE/cni/net.d"
    max_conf_num = 1
TOML
daemon containerd containerd --config "$K8S_STATE/containerd/config.toml"
wait_for containerd 30 ctr -a "$K8S_CONTAINERD_SOCK" version
ctr -a "$K8S_CONTAINERD_SOCK" -n k8s.io images import "$K8S_CACHE/images/pause.tar" >/dev/null

# --- control plane ----------------------------------------------------------
wait_for etcd 30 curl -sf http://127.0.0.1:23790/health
k8s_log "kube-apiserver"
daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
	--etcd-servers=http://127.0.0.1:23790 \
	--bind-address=127.0.0.1 --secure-port=$K8S_APISERVER_PORT --advertise-address=$K8S_NODE_IP \
	--service-cluster-ip-range=$K8S_SERVICE_CIDR \
	--client-ca-file="$K8S_PKI/ca.crt" \
	--tls-cert-file="$K8S_PKI/apiserver.crt" --tls-private-key-file="$K8S_PKI/apiserver.key" \
	--kubelet-client-certificate="$K8S_PKI/apiserver-kubelet-client.crt" \
	--kubelet-client-key="$K8S_PKI/apiserver-kubelet-client.key" \
	--kubelet-certificate-authority="$K8S_PKI/ca.crt" \
	--kubelet-preferred-address-types=InternalIP \
	--service-account-issuer=https://kubernetes.default.svc.$K8S_CLUSTER_DOMAIN \
	--service-account-key-file="$K8S_PKI/sa.pub" \
	--service-account-signing-key-file="$K8S_PKI/sa.key" \
	--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
	--allow-privileged=true --profiling=false
wait_for kube-apiserver 120 healthz "https://127.0.0.1:$K8S_APISERVER_PORT/readyz"

k8s_log "kube-controller-manager, kube-scheduler"
daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
	--kubeconfig="$K8S_STATE/controller-manager.kubeconfig" \
	--authentication-kubeconfig="$K8S_STATE/controller-manager.kubeconfig" \
	--authorization-kubeconfig="$K8S_STATE/controller-manager.kubeconfig" \
	--bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
	--service-account-private-key-file="$K8S_PKI/sa.key" --root-ca-file="$K8S_PKI/ca.crt" \
	--cluster-signing-cert-file="$K8S_PKI/ca.crt" --cluster-signing-key-file="$K8S_PKI/ca.key" \
	--service-cluster-ip-range=$K8S_SERVICE_CIDR --profiling=false
daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
	--kubeconfig="$K8S_STATE/scheduler.kubeconfig" \
	--authentication-kubeconfig="$K8S_STATE/scheduler.kubeconfig" \
	--authorization-kubeconfig="$K8S_STATE/scheduler.kubeconfig" \
	--bind-address=127.0.0.1 --leader-elect=false --profiling=false

# --- node -------------------------------------------------------------------
k8s_log "kubelet, kube-proxy"
mkdir -p "$K8S_STATE/kubelet"
: >"$K8S_STATE/resolv.conf"
cat >"$K8S_STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $K8S_NODE_IP
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $K8S_PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $K8S_PKI/kubelet-server.crt
tlsPrivateKeyFile: $K8S_PKI/kubelet-server.key
containerRuntimeEndpoint: unix://$K8S_CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDomain: $K8S_CLUSTER_DOMAIN
resolvConf: $K8S_STATE/resolv.conf
registerNode: true
serializeImagePulls: false
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
protectKernelDefaults: false
oomScoreAdj: 0
YAML
daemon kubelet "$K8S_BIN/kubelet" --config="$K8S_STATE/kubelet.yaml" \
	--kubeconfig="$K8S_STATE/kubelet.kubeconfig" --root-dir="$K8S_STATE/kubelet" \
	--cert-dir="$K8S_STATE/kubelet/pki" \
	--hostname-override=$K8S_NODE --node-ip=$K8S_NODE_IP
cat >"$K8S_STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $K8S_STATE/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $K8S_POD_CIDR
hostnameOverride: $K8S_NODE
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$K8S_NODE_IP/32"]
iptables: {localhostNodePorts: false}
oomScoreAdj: 0
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
daemon kube-proxy "$K8S_BIN/kube-proxy" --config="$K8S_STATE/kube-proxy.yaml"

node_ready() {
	[ "$(k8s_kubectl get node "$K8S_NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_for "node $K8S_NODE" 180 node_ready
sa_ready() { k8s_kubectl -n default get serviceaccount default; }
wait_for "default service account" 60 sa_ready
k8s_log "cluster up in $(( $(date +%s) - start )) s; KUBECONFIG=$K8S_KUBECONFIG"
