#!/usr/bin/env bash
# Checks a running local cluster end to end, with a locally imported image
# (default mqchaos/rabbitmq:3.10-local, which make k8s-images copies in):
# a Deployment runs; a pod reaches it through its Service's ClusterIP;
# kubectl exec and kubectl port-forward work; a deleted pod is replaced.
# Works in a namespace of its own and deletes it at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
IMAGE=${1:-mqchaos/rabbitmq:3.10-local}
ns=mqchaos-smoke
k() { k8s_kubectl -n $ns "$@"; }
t0=$(date +%s)
step() { k8s_log "$(( $(date +%s) - t0 )) s: $*"; }
trap 'k8s_kubectl delete namespace $ns --wait=false >/dev/null 2>&1 || true' EXIT

k8s_kubectl create namespace $ns >/dev/null
for _ in $(seq 60); do k get serviceaccount default >/dev/null 2>&1 && break; sleep 0.5; done
k apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: broker}
spec:
  replicas: 1
  selector: {matchLabels: {app: broker}}
  template:
    metadata: {labels: {app: broker}}
    spec:
      containers:
      - name: rabbitmq
        image: $IMAGE
        imagePullPolicy: IfNotPresent
        ports: [{containerPort: 5672}, {containerPort: 15672}]
        readinessProbe:
          tcpSocket: {port: 15672}
          periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata: {name: broker}
spec:
  selector: {app: broker}
  ports: [{name: amqp, port: 5672}, {name: management, port: 15672}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: client
    image: $IMAGE
    imagePullPolicy: IfNotPresent
    command: [sleep, infinity]
YAML
k rollout status deployment/broker --timeout=180s >/dev/null
step "deployment broker available"
k wait --for=condition=Ready pod/client --timeout=120s >/dev/null
step "pod client ready"

ip=$(k get service broker -o jsonpath='{.spec.clusterIP}')
status=$(k exec client -- bash -c "exec 3<>/dev/tcp/$ip/15672; printf 'GET / HTTP/1.0\r\n\r\n' >&3; head -1 <&3")
step "exec in client, GET http://$ip:15672/ through the ClusterIP: $status"
case $status in *" 200 "*) ;; *) k8s_die "ClusterIP: want HTTP 200, got: $status" ;; esac

port=$(( 20000 + RANDOM % 10000 ))
k port-forward --address 127.0.0.1 deployment/broker "$port:15672" >"$K8S_LOG/smoke-port-forward.log" 2>&1 3>&- &
pf=$!
code=""
for _ in $(seq 40); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)
	[ "$code" = 200 ] && break
	sleep 0.5
done
kill $pf 2>/dev/null || true
wait $pf 2>/dev/null || true
step "port-forward 127.0.0.1:$port to the broker's 15672: HTTP $code"
if [ "$code" != 200 ]; then
	cat "$K8S_LOG/smoke-port-forward.log" >&2
	k8s_die "port-forward: want HTTP 200, got ${code:-no answer}"
fi

old=$(k get pods -l app=broker -o jsonpath='{.items[0].metadata.name}')
k delete pod "$old" --wait=false >/dev/null
for _ in $(seq 240); do
	new=$(k get pods -l app=broker -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
		awk -v old="$old" '$1 != old && $2 == "True" {print $1}')
	[ -n "$new" ] && break
	sleep 0.5
done
[ -n "$new" ] || k8s_die "deleted pod $old was not replaced by a ready pod"
step "deleted pod $old, replaced by ready pod $new"
