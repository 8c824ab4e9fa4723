-- Consumers (audit log, notifications, reminders): each effect commits together with its inbox row,
-- so an event delivered again (relay re-send, rebalance) changes nothing the second time (G5).

CREATE TABLE inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- One row per task event, as GET /tasks/{id}/history returns them.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    uuid NOT NULL UNIQUE,
    event_type  text NOT NULL,
    task_id     uuid NOT NULL,
    payload     jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_task_idx ON audit_log (task_id, occurred_at, id);

-- Notifications to send; a sender thread delivers pending ones through the configured sink.
CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE,
    task_id         uuid NOT NULL,
    recipient       text NOT NULL,
    message         text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX notifications_pending_idx ON notifications (next_attempt_at, id) WHERE status = 'pending';

-- One reminder per task with a due_at: scheduled at due_at - REMINDER_LEAD, fired once by the
-- scheduler (which writes task.reminder_due through the outbox), or cancelled.
CREATE TABLE reminders (
    task_id     uuid PRIMARY KEY,
    due_at      timestamptz NOT NULL,
    remind_at   timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'fired', 'cancelled')),
    updated_by  uuid NOT NULL,  -- the event that last changed it
    fired_at    timestamptz,
    event_id    uuid            -- the task.reminder_due event
);
CREATE INDEX reminders_due_idx ON reminders (remind_at) WHERE status = 'scheduled';
