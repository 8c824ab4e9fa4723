-- bench/emit.sh: the same transaction as emit_function.pgbench.sql with the plain INSERT instead.
\set customer random(1, 100000)
BEGIN;
INSERT INTO bench_orders (customer, total) VALUES (:customer, 12.50) RETURNING id::text AS order_id \gset
INSERT INTO outbox (topic, aggregate_id, event_type, payload, aggregate_type)
VALUES ('orders', :order_id::text, 'order.placed', jsonb_build_object('order_id', :order_id::text, 'customer', :customer::int, 'total', '12.50'), 'order')
RETURNING event_id;
COMMIT;
