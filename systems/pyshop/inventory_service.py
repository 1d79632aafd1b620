"""pyshop inventory service.

A consumer thread takes OrderPlaced events from order_placed_queue (manual
acks, prefetch 1), reserves stock in memory and publishes InventoryReserved
or InventoryFailed to the topic exchange "inventory". Malformed messages are
nacked without requeue and dead-lettered to dead_letter_queue. Processed
order ids are kept in memory to skip duplicates.
HTTP: GET /inventory, GET /processed, GET /health.
"""
import json
import os
import threading
import time

import pika
from flask import Flask, jsonify

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@localhost:5672/%2F")
PORT = int(os.environ.get("PORT", "5000"))
ORDERS_EXCHANGE = "orders"
INVENTORY_EXCHANGE = "inventory"
DLX_EXCHANGE = "dlx_exchange"
DEAD_LETTER_QUEUE = "dead_letter_queue"
QUEUE = "order_placed_queue"
RECONNECT_DELAY = 2

app = Flask(__name__)
stock = {"widget": 1_000_000, "gadget": 1_000_000, "gizmo": 1_000_000}
processed = set()
state_lock = threading.Lock()


def log(line):
    print(line, flush=True)


def parse(body):
    """Returns (event, None) or (None, reason)."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"invalid JSON: {exc}"
    if not isinstance(event, dict):
        return None, "body is not a JSON object"
    if not isinstance(event.get("order_id"), str):
        return None, "order_id missing or not a string"
    if not isinstance(event.get("item"), str):
        return None, "item missing or not a string"
    quantity = event.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        return None, "quantity missing or not a positive integer"
    return event, None


def on_message(channel, method, properties, body):
    event, reason = parse(body)
    if event is None:
        log(f"inventory: rejected malformed message: {reason}")
        channel.basic_nack(delivery_tag=method.delivery_tag, requeue=False)
        return

    order_id, item, quantity = event["order_id"], event["item"], event["quantity"]
    with state_lock:
        if order_id in processed:
            duplicate = True
        else:
            duplicate = False
            if stock.get(item, 0) >= quantity:
                stock[item] -= quantity
                reserved = True
            else:
                reserved = False
            processed.add(order_id)
    if duplicate:
        log(f"inventory: order {order_id} already processed, skipping")
        channel.basic_ack(delivery_tag=method.delivery_tag)
        return

    outcome = "InventoryReserved" if reserved else "InventoryFailed"
    routing_key = "inventory.reserved" if reserved else "inventory.failed"
    channel.basic_publish(
        exchange=INVENTORY_EXCHANGE,
        routing_key=routing_key,
        body=json.dumps({"event": outcome, "order_id": order_id, "item": item, "quantity": quantity}),
        properties=pika.BasicProperties(content_type="application/json"),
    )
    if reserved:
        log(f"inventory: order {order_id} reserved")
    else:
        log(f"inventory: order {order_id} failed: insufficient stock")
    channel.basic_ack(delivery_tag=method.delivery_tag)


def declare(channel):
    channel.exchange_declare(exchange=ORDERS_EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(exchange=INVENTORY_EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(exchange=DLX_EXCHANGE, exchange_type="fanout", durable=True)
    channel.queue_declare(queue=DEAD_LETTER_QUEUE, durable=True)
    channel.queue_bind(queue=DEAD_LETTER_QUEUE, exchange=DLX_EXCHANGE)
    channel.queue_declare(queue=QUEUE, durable=True, arguments={"x-dead-letter-exchange": DLX_EXCHANGE})
    channel.queue_bind(queue=QUEUE, exchange=ORDERS_EXCHANGE, routing_key="order.placed")


def consume_forever():
    while True:
        connection = None
        try:
            connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
            channel = connection.channel()
            declare(channel)
            channel.basic_qos(prefetch_count=1)
            channel.basic_consume(queue=QUEUE, on_message_callback=on_message)
            log(f"inventory: consuming from {QUEUE}")
            channel.start_consuming()
        except pika.exceptions.AMQPError as exc:
            log(f"inventory: connection error: {exc!r}; reconnecting in {RECONNECT_DELAY}s")
            try:
                if connection is not None and connection.is_open:
                    connection.close()
            except Exception:
                pass
            time.sleep(RECONNECT_DELAY)


@app.route("/inventory", methods=["GET"])
def get_inventory():
    with state_lock:
        return jsonify(dict(stock))


@app.route("/processed", methods=["GET"])
def get_processed():
    with state_lock:
        return jsonify(sorted(processed))


@app.route("/health", methods=["GET"])
def health():
    return jsonify({"status": "ok"})


if __name__ == "__main__":
    threading.Thread(target=consume_forever, name="consumer", daemon=True).start()
    log(f"inventory: listening on port {PORT}")
    app.run(host="0.0.0.0", port=PORT, threaded=True)
