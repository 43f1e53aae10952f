-- The delivery queue of the shared delivery worker (common::delivery). A service that uses it
-- copies this table into its own migrations.
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
