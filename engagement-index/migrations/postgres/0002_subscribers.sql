-- Subscribers: who is notified of accepted changes (replaces TAK's
-- GetLogicalAddresseesByServiceContract lookup). `filter` is a JSON array of
-- {"serviceDomain": "...", "categorization": ["..."]}; empty means everything.
CREATE TABLE subscriber (
    logical_address    VARCHAR(64) PRIMARY KEY,
    url                TEXT,
    delivery           VARCHAR(4)  NOT NULL CHECK (delivery IN ('push', 'pull')),
    filter             JSONB       NOT NULL,
    -- Declared in the configuration file: re-applied at every start.
    declared_in_config BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);

-- Notifications waiting for their subscriber: the queue of the shared delivery worker
-- (common::delivery; the same tables as common/migrations/delivery). The destination is the
-- subscriber's logical address; for pull subscribers the id is the offset.
CREATE TABLE delivery (
    -- Order within a destination, and the pull offset.
    id              BIGSERIAL PRIMARY KEY,
    destination     VARCHAR(64)  NOT NULL,
    -- Stable across retries: sent as `x-notification-id` so receivers can de-duplicate.
    notification_id UUID         NOT NULL UNIQUE,
    payload         JSONB        NOT NULL,
    item_count      INTEGER      NOT NULL,
    state           VARCHAR(8)   NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts        INTEGER      NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ  NOT NULL,
    last_error      TEXT,
    correlation_id  VARCHAR(128),
    traceparent     VARCHAR(128),
    created_at      TIMESTAMPTZ  NOT NULL
);
CREATE INDEX delivery_queue ON delivery (destination, state, id);

-- Which worker delivers to a destination now; a lease that runs out passes to another worker.
CREATE TABLE delivery_lease (
    destination VARCHAR(64) PRIMARY KEY,
    owner       UUID        NOT NULL,
    until       TIMESTAMPTZ NOT NULL
);
