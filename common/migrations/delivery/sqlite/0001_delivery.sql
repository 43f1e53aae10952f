-- The delivery queue of the shared delivery worker (common::delivery). A service that uses it
-- copies this table into its own migrations. Times are Unix milliseconds.
CREATE TABLE delivery (
    -- Order within a destination, and the pull offset.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    destination     TEXT    NOT NULL,
    -- Stable across retries: sent as `x-notification-id` so receivers can de-duplicate.
    notification_id TEXT    NOT NULL UNIQUE,
    payload         TEXT    NOT NULL,
    item_count      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    correlation_id  TEXT,
    traceparent     TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX delivery_queue ON delivery (destination, state, id);

-- Which worker delivers to a destination now; a lease that runs out passes to another worker.
CREATE TABLE delivery_lease (
    destination TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    until       INTEGER NOT NULL
);
