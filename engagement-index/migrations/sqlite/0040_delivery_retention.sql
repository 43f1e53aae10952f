-- Retention of what was delivered: a message the receiver accepted (push) or acknowledged
-- (pull) is kept as `delivered`, with the time, until the retention job deletes it after the
-- configured age; dead letters are never deleted by the job. A CHECK cannot change in place,
-- so the table is rebuilt keeping every id, and the AUTOINCREMENT counter is carried over
-- explicitly: ids are never reused, even those of deleted messages, so a pull subscriber's
-- offsets stay monotonic across a cleanup.
CREATE TABLE delivery_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    destination     TEXT    NOT NULL,
    notification_id TEXT    NOT NULL UNIQUE,
    payload         TEXT    NOT NULL,
    item_count      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'dead', 'delivered')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    correlation_id  TEXT,
    traceparent     TEXT,
    created_at      TEXT    NOT NULL,
    delivered_at    TEXT,
    CHECK ((state = 'delivered') = (delivered_at IS NOT NULL))
);
INSERT INTO delivery_new (id, destination, notification_id, payload, item_count, state, attempts,
                          next_attempt_at, last_error, correlation_id, traceparent, created_at)
SELECT id, destination, notification_id, payload, item_count, state, attempts,
       next_attempt_at, last_error, correlation_id, traceparent, created_at
FROM delivery ORDER BY id;
INSERT INTO sqlite_sequence (name, seq)
SELECT 'delivery_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'delivery_new');
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'delivery'), 0))
WHERE name = 'delivery_new';
DROP TABLE delivery;
ALTER TABLE delivery_new RENAME TO delivery;
CREATE INDEX delivery_queue ON delivery (destination, state, id);
-- The worker's and the pull point's scans read pending messages only: a partial index keeps
-- them as fast as before however many delivered messages are kept.
CREATE INDEX delivery_pending ON delivery (destination, id) WHERE state = 'pending';
-- The retention job's scan, oldest first.
CREATE INDEX delivery_delivered ON delivery (delivered_at) WHERE state = 'delivered';

-- A pull subscriber's acknowledged offset and the one before it: the last acknowledged batch
-- is what lies between them, which the subscriber may fetch again while it is kept.
CREATE TABLE delivery_pull_point (
    destination         TEXT    PRIMARY KEY,
    acknowledged_offset INTEGER NOT NULL,
    previous_offset     INTEGER NOT NULL,
    acknowledged_at     TEXT    NOT NULL
);
