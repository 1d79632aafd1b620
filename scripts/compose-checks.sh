#!/usr/bin/env bash
# Checks the compose stack by hand, the way an operator would:
#  1. a malformed message published straight to inventory's queue lands in
#     its dead-letter queue with a reason, and the next order still goes through;
#  2. `docker restart` of RabbitMQ while 150 orders stream in loses none.
# Run after `make up`. Uses curl and python3 only.
set -euo pipefail
order=http://127.0.0.1:8081 inventory=http://127.0.0.1:8082 notification=http://127.0.0.1:8083
mgmt=http://127.0.0.1:15672 auth="${RABBITMQ_USER:-mqchaos}:${RABBITMQ_PASSWORD:-mqchaos-dev}"
compose=${COMPOSE:-docker-compose}
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-mqchaos}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

echo "== 1. malformed message to inventory.order-events"
id=bad-$(date +%s%N)
curl -fsS -u "$auth" -H 'Content-Type: application/json' -X POST "$mgmt/api/exchanges/%2F/amq.default/publish" \
  -d "{\"properties\":{\"message_id\":\"$id\",\"delivery_mode\":2},\"routing_key\":\"inventory.order-events\",\"payload\":\"{\\\"event_id\\\": \\\"x\\\", \\\"data\\\": {\",\"payload_encoding\":\"string\"}" | json 'd'
scripts/demo.sh | grep "^order "
reason=""
for _ in $(seq 1 50); do
  reason=$(curl -fsS -u "$auth" -H 'Content-Type: application/json' -X POST "$mgmt/api/queues/%2F/inventory.order-events.dlq/get" \
    -d '{"count":100,"ackmode":"ack_requeue_true","encoding":"auto"}' |
    python3 -c "import json,sys; print(next((m['properties']['headers']['x-mqchaos-reason'] for m in json.load(sys.stdin) if m['properties'].get('message_id')=='$id'), ''))")
  [ -n "$reason" ] && break
  sleep 0.2
done
echo "dead-lettered $id with reason: $reason"
[ -n "$reason" ]

echo "== 2. docker restart of RabbitMQ during a stream of 150 orders"
prefix=restart-$(date +%s)
( for i in $(seq -w 1 150); do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST "$order/orders" -H 'Content-Type: application/json' -d "{\"order_id\":\"$prefix-$i\",\"item\":\"widget-b\",\"quantity\":1}"
    sleep 0.05
  done ) > /tmp/mqchaos-restart-codes.txt &
load=$!
sleep 2
rabbit=$($compose ps -q rabbitmq)
echo "restarting rabbitmq ($rabbit)"
time docker restart "$rabbit" >/dev/null
wait $load
accepted=$(grep -c '^20[01]$' /tmp/mqchaos-restart-codes.txt || true)
echo "accepted $accepted of 150 (HTTP codes: $(sort /tmp/mqchaos-restart-codes.txt | uniq -c | tr '\n' ' '))"
count() { curl -fsS "$1" | python3 -c "import json,sys; print(len({x['$2'] for x in json.load(sys.stdin) if x['$2'].startswith('$prefix')}))"; }
for _ in $(seq 1 300); do
  processed=$(count "$inventory/processed" order_id 2>/dev/null || echo 0)
  [ "$processed" -ge "$accepted" ] && break
  sleep 0.2
done
reserved=$(curl -fsS "$order/orders?status=reserved" | python3 -c "import json,sys; print(sum(o['id'].startswith('$prefix') for o in json.load(sys.stdin)))")
effects=$(curl -fsS "$inventory/processed" | python3 -c "import json,sys; print(sum(p['order_id'].startswith('$prefix') for p in json.load(sys.stdin)))")
echo "accepted $accepted, processed by inventory $processed (effects $effects), reserved $reserved"
[ "$processed" -eq "$accepted" ] && [ "$effects" -eq "$accepted" ] && [ "$reserved" -eq "$accepted" ]
echo "compose checks passed"
