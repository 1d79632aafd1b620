"""pyshop notification service.

A consumer thread takes InventoryReserved events from
inventory_reserved_queue (manual acks, prefetch 1) and records each
confirmation in memory. HTTP: GET /notifications, GET /health.
"""
import json
import os
import threading
import time

import pika
from flask import Flask, jsonify

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@localhost:5672/%2F")
PORT = int(os.environ.get("PORT", "5000"))
INVENTORY_EXCHANGE = "inventory"
QUEUE = "inventory_reserved_queue"
RECONNECT_DELAY = 2

app = Flask(__name__)
notifications = []  # [{"order_id"}], one per confirmation received
notifications_lock = threading.Lock()


def log(line):
    print(line, flush=True)


def on_message(channel, method, properties, body):
    try:
        event = json.loads(body)
        order_id = event["order_id"]
        if not isinstance(order_id, str):
            raise ValueError("order_id is not a string")
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        log(f"notification: rejected malformed message: {exc!r}")
        channel.basic_nack(delivery_tag=method.delivery_tag, requeue=False)
        return
    with notifications_lock:
        notifications.append({"order_id": order_id})
    log(f"notification: order {order_id} confirmed")
    channel.basic_ack(delivery_tag=method.delivery_tag)


def consume_forever():
    while True:
        connection = None
        try:
            connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
            channel = connection.channel()
            channel.exchange_declare(exchange=INVENTORY_EXCHANGE, exchange_type="topic", durable=True)
            channel.queue_declare(queue=QUEUE, durable=True)
            channel.queue_bind(queue=QUEUE, exchange=INVENTORY_EXCHANGE, routing_key="inventory.reserved")
            channel.basic_qos(prefetch_count=1)
            channel.basic_consume(queue=QUEUE, on_message_callback=on_message)
            log(f"notification: consuming from {QUEUE}")
            channel.start_consuming()
        except pika.exceptions.AMQPError as exc:
            log(f"notification: connection error: {exc!r}; reconnecting in {RECONNECT_DELAY}s")
            try:
                if connection is not None and connection.is_open:
                    connection.close()
            except Exception:
                pass
            time.sleep(RECONNECT_DELAY)


@app.route("/notifications", methods=["GET"])
def get_notifications():
    with notifications_lock:
        return jsonify(list(notifications))


@app.route("/health", methods=["GET"])
def health():
    return jsonify({"status": "ok"})


if __name__ == "__main__":
    threading.Thread(target=consume_forever, name="consumer", daemon=True).start()
    log(f"notification: listening on port {PORT}")
    app.run(host="0.0.0.0", port=PORT, threaded=True)
