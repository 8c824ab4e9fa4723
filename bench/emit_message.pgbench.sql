-- bench/emit.sh: the same transaction as emit_function.pgbench.sql with outbox_emit_message (no row).
\set customer random(1, 100000)
BEGIN;
INSERT INTO bench_orders (customer, total) VALUES (:customer, 12.50) RETURNING id::text AS order_id \gset
SELECT outbox_emit_message(topic => 'orders', key => :order_id::text, event_type => 'order.placed',
                           payload => jsonb_build_object('order_id', :order_id::text, 'customer', :customer::int, 'total', '12.50'),
                           aggregate_type => 'order');
COMMIT;
