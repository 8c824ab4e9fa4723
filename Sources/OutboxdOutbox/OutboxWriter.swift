/// Writes events into the outbox inside another module's statement, so the change that an event
/// announces and the event commit together (G1) in one statement and one round trip: the API's
/// task writes and the reminder scheduler compose `insertNewEvents` into their data-modifying CTEs.
///
/// A clause rather than a SQL function: PostgreSQL plans it inside the caller's statement like the
/// insert it replaces (a function's INSERT is never inlined into the caller's plan: it runs as a
/// call per row), and it needs no migration. The outbox's columns appear only here; callers name the events' fields.
public enum OutboxWriter {
    /// `INSERT INTO outbox … SELECT … FROM new_events`: a CTE body, no values (only the caller's
    /// `$n`). The statement defines, before it, a CTE `new_events` with the columns
    /// - `event_id` uuid (the public id, `ce_id`), `aggregate_type` text, `aggregate_id` text (the
    ///   Kafka key), `event_type` text, `topic` text, `payload` jsonb;
    /// - `headers` jsonb: the event's stored Kafka headers (`{"traceparent": …}`; `'{}'` for none);
    /// - `position`: the events' order within the statement; ids (the claim order, G3) follow it.
    ///
    /// Give parameters their type (`$7::text`): in a CTE's select list nothing else infers it.
    public static let insertNewEvents = """
        INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, topic, payload, headers)
        SELECT event_id, aggregate_type, aggregate_id, event_type, topic, payload, headers FROM new_events ORDER BY position
        """
}
