-- Subscribers: who is notified of accepted changes (replaces TAK's
-- GetLogicalAddresseesByServiceContract lookup). `filter` is a JSON array of
-- {"serviceDomain": "...", "categorization": ["..."]}; empty means everything.
CREATE TABLE subscriber (
    logical_address    TEXT    PRIMARY KEY,
    url                TEXT,
    delivery           TEXT    NOT NULL CHECK (delivery IN ('push', 'pull')),
    filter             TEXT    NOT NULL,
    -- Declared in the configuration file: re-applied at every start.
    declared_in_config INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL
);

-- Notifications waiting for their subscriber: the queue of the shared delivery worker
-- (common::delivery; the same tables as common/migrations/delivery). The destination is the
-- subscriber's logical address; for pull subscribers the id is the offset. Times are Unix ms.
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
