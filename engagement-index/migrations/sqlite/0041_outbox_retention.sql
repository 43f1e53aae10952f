-- Retention of what was delivered: an outbox row the fan-out has moved into the subscribers'
-- queues is kept, marked with the time, until the retention job deletes it after the
-- configured age. The fan-out reads only rows not yet fanned out; the partial index keeps that
-- read as fast as before however many rows are kept.
ALTER TABLE notification_outbox ADD COLUMN fanned_out_at TEXT;
CREATE INDEX notification_outbox_waiting ON notification_outbox (id) WHERE fanned_out_at IS NULL;
CREATE INDEX notification_outbox_fanned_out ON notification_outbox (fanned_out_at)
    WHERE fanned_out_at IS NOT NULL;
