-- Retention of what was delivered: a message the receiver accepted (push) or acknowledged
-- (pull) is kept as `delivered`, with the time, until the retention job deletes it after the
-- configured age; dead letters are never deleted by the job. Ids are never reused, so a pull
-- subscriber's offsets stay monotonic across a cleanup.
ALTER TABLE delivery DROP CONSTRAINT IF EXISTS delivery_state_check;
ALTER TABLE delivery ALTER COLUMN state TYPE VARCHAR(9);
ALTER TABLE delivery ADD COLUMN delivered_at TIMESTAMPTZ;
ALTER TABLE delivery ADD CONSTRAINT delivery_state_check
    CHECK (state IN ('pending', 'dead', 'delivered'));
ALTER TABLE delivery ADD CONSTRAINT delivery_delivered_at_check
    CHECK ((state = 'delivered') = (delivered_at IS NOT NULL));
-- The worker's and the pull point's scans read pending messages only: a partial index keeps
-- them as fast as before however many delivered messages are kept.
CREATE INDEX delivery_pending ON delivery (destination, id) WHERE state = 'pending';
-- The retention job's scan, oldest first.
CREATE INDEX delivery_delivered ON delivery (delivered_at) WHERE state = 'delivered';

-- A pull subscriber's acknowledged offset and the one before it: the last acknowledged batch
-- is what lies between them, which the subscriber may fetch again while it is kept.
CREATE TABLE delivery_pull_point (
    destination         VARCHAR(64) PRIMARY KEY,
    acknowledged_offset BIGINT      NOT NULL,
    previous_offset     BIGINT      NOT NULL,
    acknowledged_at     TIMESTAMPTZ NOT NULL
);
