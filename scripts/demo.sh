#!/usr/bin/env bash
# Places one order through the compose stack and follows it: the order ends
# reserved, the stock drops by its quantity, two notifications are recorded.
set -euo pipefail
order=http://127.0.0.1:8081 inventory=http://127.0.0.1:8082 notification=http://127.0.0.1:8083
stock() { curl -fsS "$inventory/inventory" | python3 -c 'import json,sys; print({s["item"]: s["quantity"] for s in json.load(sys.stdin)}.get("widget-a"))'; }
before=$(stock)
id=demo-$(date +%s%N)
echo "POST /orders $id"
curl -fsS -X POST "$order/orders" -H 'Content-Type: application/json' -d "{\"order_id\":\"$id\",\"item\":\"widget-a\",\"quantity\":2}"
for _ in $(seq 1 100); do
  status=$(curl -fsS "$order/orders/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  count=$(curl -fsS "$notification/notifications?order_id=$id" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  [ "$status" != pending ] && [ "$count" -ge 2 ] && break
  sleep 0.1
done
after=$(stock)
echo "order $id: status $status; widget-a stock $before -> $after; notifications $count"
curl -fsS "$notification/notifications?order_id=$id"; echo
[ "$status" = reserved ] && [ $((before - after)) -eq 2 ] && [ "$count" -eq 2 ]
