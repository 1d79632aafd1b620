"""pyshop order service.

POST /order {"item", "quantity"} stores the order in memory, then publishes
an OrderPlaced event to the topic exchange "orders" (routing key
"order.placed") over a new connection, without publisher confirms and with
transient messages. GET /orders lists the stored orders; GET /health.
"""
import json
import os
import threading
import uuid

import pika
from flask import Flask, jsonify, request

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@localhost:5672/%2F")
PORT = int(os.environ.get("PORT", "5000"))
EXCHANGE = "orders"
ROUTING_KEY = "order.placed"

app = Flask(__name__)
orders = {}  # order id -> {"id", "item", "quantity"}
orders_lock = threading.Lock()


def publish_order_placed(order):
    """Opens a connection, declares the exchange, publishes, closes."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        channel.exchange_declare(exchange=EXCHANGE, exchange_type="topic", durable=True)
        body = json.dumps({
            "event": "OrderPlaced",
            "order_id": order["id"],
            "item": order["item"],
            "quantity": order["quantity"],
        })
        channel.basic_publish(
            exchange=EXCHANGE,
            routing_key=ROUTING_KEY,
            body=body,
            properties=pika.BasicProperties(content_type="application/json"),
        )
    finally:
        if connection.is_open:
            connection.close()


@app.route("/order", methods=["POST"])
def create_order():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify({"error": "request body must be a JSON object"}), 400
    for field in ("item", "quantity"):
        if field not in data:
            return jsonify({"error": f"missing field: {field}"}), 400

    order = {"id": str(uuid.uuid4()), "item": data["item"], "quantity": data["quantity"]}
    with orders_lock:
        orders[order["id"]] = order
    print(f"order: order {order['id']} stored", flush=True)

    try:
        publish_order_placed(order)
    except Exception as exc:  # broker away, connection refused, ...
        print(f"order: order {order['id']} publish failed: {exc!r}", flush=True)
        return jsonify({"error": f"failed to publish order {order['id']}: {exc!r}"}), 500

    print(f"order: order {order['id']} placed", flush=True)
    return jsonify({"order_id": order["id"], "item": order["item"], "quantity": order["quantity"]}), 201


@app.route("/orders", methods=["GET"])
def list_orders():
    with orders_lock:
        return jsonify(list(orders.values()))


@app.route("/health", methods=["GET"])
def health():
    return jsonify({"status": "ok"})


if __name__ == "__main__":
    print(f"order: listening on port {PORT}", flush=True)
    app.run(host="0.0.0.0", port=PORT, threaded=True)
