-- The delivery queue's times as RFC 3339 text in UTC with microseconds, like every SQLite
-- store of the project; they were Unix milliseconds. The tables are rebuilt (a column's type
-- cannot change), keeping every id: a pull subscriber's offset is one. A value that was not a
-- whole number is kept as it was, so that reading it fails rather than turning into a time.
CREATE TABLE delivery_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    destination     TEXT    NOT NULL,
    notification_id TEXT    NOT NULL UNIQUE,
    payload         TEXT    NOT NULL,
    item_count      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    correlation_id  TEXT,
    traceparent     TEXT,
    created_at      TEXT    NOT NULL
);
INSERT INTO delivery_new (id, destination, notification_id, payload, item_count, state, attempts,
                          next_attempt_at, last_error, correlation_id, traceparent, created_at)
SELECT id, destination, notification_id, payload, item_count, state, attempts,
       CASE WHEN typeof(next_attempt_at) = 'integer'
            THEN strftime('%Y-%m-%dT%H:%M:%S', next_attempt_at / 1000, 'unixepoch')
                 || printf('.%03d000Z', next_attempt_at % 1000)
            ELSE next_attempt_at END,
       last_error, correlation_id, traceparent,
       CASE WHEN typeof(created_at) = 'integer'
            THEN strftime('%Y-%m-%dT%H:%M:%S', created_at / 1000, 'unixepoch')
                 || printf('.%03d000Z', created_at % 1000)
            ELSE created_at END
FROM delivery ORDER BY id;
-- The rename carries the AUTOINCREMENT counter: new ids continue after the old table's.
DROP TABLE delivery;
ALTER TABLE delivery_new RENAME TO delivery;
CREATE INDEX delivery_queue ON delivery (destination, state, id);

CREATE TABLE delivery_lease_new (
    destination TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    until       TEXT NOT NULL
);
INSERT INTO delivery_lease_new (destination, owner, until)
SELECT destination, owner,
       CASE WHEN typeof(until) = 'integer'
            THEN strftime('%Y-%m-%dT%H:%M:%S', until / 1000, 'unixepoch')
                 || printf('.%03d000Z', until % 1000)
            ELSE until END
FROM delivery_lease;
DROP TABLE delivery_lease;
ALTER TABLE delivery_lease_new RENAME TO delivery_lease;
