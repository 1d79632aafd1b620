# Shared settings of the local single-node cluster; sourced by the other
# scripts in this directory. Every address is on loopback or in the
# cluster's own private ranges.
K8S_RELEASE=${K8S_RELEASE:-v1.35.4}
K8S_CACHE=${K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mqchaos/k8s/$K8S_RELEASE}
K8S_BIN=$K8S_CACHE/bin
# Everything a running cluster owns lives under K8S_STATE; k8s-down removes it.
K8S_STATE=${K8S_STATE:-/var/lib/mqchaos-k8s}
K8S_RUN=$K8S_STATE/run
K8S_LOG=$K8S_STATE/log
K8S_PKI=$K8S_STATE/pki
K8S_KUBECONFIG=${K8S_KUBECONFIG:-$K8S_STATE/admin.kubeconfig}
K8S_NODE=${K8S_NODE:-mqchaos-node}
K8S_POD_CIDR=10.244.0.0/24
K8S_SERVICE_CIDR=10.96.0.0/24
K8S_BRIDGE=mqk8s0
K8S_APISERVER_PORT=6443
K8S_CONTAINERD_SOCK=$K8S_RUN/containerd/containerd.sock
K8S_PAUSE_IMAGE=localhost/mqchaos-pause:3.10

k8s_log() { printf '%s k8s: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
k8s_die() { k8s_log "$*"; exit 1; }

# The node's own address, on an interface of its own that only this machine
# has (a bridge without ports: this kernel has no dummy interfaces). The
# kubelet refuses a loopback node address, and the API server advertises this
# one as the endpoint of the kubernetes Service.
K8S_NODE_LINK=mqk8snode
K8S_NODE_IP=10.245.0.1
K8S_CLUSTER_DOMAIN=cluster.local

# Sysctls that the kubelet and kube-proxy may change; k8s-up records them and
# k8s-down puts them back.
K8S_SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.ipv4.conf.all.route_localnet"

# Host paths outside K8S_STATE that the kubelet, containerd or the CNI plugins
# write to whatever their configuration says; k8s-down removes the ones that
# did not exist before k8s-up.
K8S_HOST_PATHS="/var/lib/kubelet /var/log/pods /var/log/containers /var/lib/cni /run/netns /run/containerd/runc/k8s.io /var/run/secrets/kubernetes.io"

k8s_kubectl() { "$K8S_BIN/kubectl" --kubeconfig "$K8S_KUBECONFIG" "$@"; }
