-- bench/wal.sh: another service's transaction: its event through outbox_emit (no NOTIFY), its id
-- kept in bench_emits, whose xmin's commit timestamp is the event's commit time.
\set customer random(1, 100000)
INSERT INTO bench_emits (event_id)
VALUES (outbox_emit(topic => 'task-events', key => 'customer-' || :customer, event_type => 'order.placed',
                    payload => jsonb_build_object('customer', :customer::int, 'total', '12.50'), aggregate_type => 'order'));
