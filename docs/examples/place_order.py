"""Publishing from your own service: a business row and the event that announces it, written in
one transaction with psycopg 3. outboxd's relay publishes the event to Kafka after the commit.

    DATABASE_URL=postgresql://app@db/shop python place_order.py --customer 7 --total 12.50

Prints the order id and the event id as one JSON line.
"""
import argparse
import json
import os

import psycopg
from psycopg.types.json import Jsonb


def place_order(conn, customer, total, traceparent=None, tenant=None):
    """Inserts the order and its `order.placed` event; both commit or neither does."""
    headers = {}
    if traceparent:
        headers["traceparent"] = traceparent
    if tenant:
        headers["tenant"] = tenant
    with conn.transaction():
        order_id = conn.execute(
            "INSERT INTO shop_orders (customer, total) VALUES (%s, %s) RETURNING id::text",
            (customer, total),
        ).fetchone()[0]
        event_id = conn.execute(
            """SELECT outbox_emit(topic => 'orders', key => %s, event_type => 'order.placed',
                                  payload => %s, headers => %s, aggregate_type => 'order')""",
            (order_id, Jsonb({"order_id": order_id, "customer": customer, "total": str(total)}), Jsonb(headers)),
        ).fetchone()[0]
    # Optional: wake the relay now instead of at its next poll (RELAY_POLL_INTERVAL).
    conn.execute("NOTIFY outboxd_outbox")
    return order_id, event_id


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customer", type=int, required=True)
    parser.add_argument("--total", required=True)
    parser.add_argument("--traceparent")
    parser.add_argument("--tenant")
    args = parser.parse_args()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("""CREATE TABLE IF NOT EXISTS shop_orders (
                            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                            customer integer NOT NULL,
                            total numeric(12, 2) NOT NULL)""")
        order_id, event_id = place_order(conn, args.customer, args.total, args.traceparent, args.tenant)
    print(json.dumps({"order_id": order_id, "event_id": str(event_id)}))


if __name__ == "__main__":
    main()
