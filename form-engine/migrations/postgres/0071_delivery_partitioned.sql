-- The delivery queue partitioned by month of `created_at` (common::partitions), so that it
-- stays bounded: the service creates each month's partition ahead of time, and the retention
-- job drops a month whose messages were all delivered before the retention age (a month that
-- still holds a pending message or a dead letter is never dropped; its delivered rows go by the
-- batch delete as before). A row whose month has no partition lands in the default partition,
-- so no message is ever refused.
--
-- The existing table is converted in place: a partitioned table is created beside it, a
-- partition for every month its rows cover (and three ahead), the rows are copied across with
-- their ids, and the names are swapped. The id sequence carries on, so pull offsets stay
-- monotonic.
--
-- A partitioned table's unique keys must hold the partition key: the primary key is
-- (id, created_at) and notification_id is unique with created_at. Ids still come from one
-- sequence and notification ids are random UUIDs, so each still names one message; nothing
-- looks a message up by notification id or writes with ON CONFLICT on either key.
ALTER TABLE delivery RENAME TO delivery_unpartitioned;
ALTER TABLE delivery_unpartitioned RENAME CONSTRAINT delivery_pkey TO delivery_unpartitioned_pkey;
ALTER TABLE delivery_unpartitioned RENAME CONSTRAINT delivery_notification_id_key
    TO delivery_unpartitioned_notification_id_key;
DROP INDEX delivery_queue;
DROP INDEX delivery_pending;
DROP INDEX delivery_delivered;
DROP INDEX delivery_dead;

CREATE TABLE delivery (
    id              BIGINT       NOT NULL DEFAULT nextval('delivery_id_seq'),
    destination     VARCHAR(64)  NOT NULL,
    notification_id UUID         NOT NULL,
    payload         JSONB        NOT NULL,
    item_count      INTEGER      NOT NULL,
    state           VARCHAR(9)   NOT NULL DEFAULT 'pending'
        CONSTRAINT delivery_state_check CHECK (state IN ('pending', 'dead', 'delivered')),
    attempts        INTEGER      NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ  NOT NULL,
    last_error      TEXT,
    correlation_id  VARCHAR(128),
    traceparent     VARCHAR(128),
    created_at      TIMESTAMPTZ  NOT NULL,
    delivered_at    TIMESTAMPTZ,
    CONSTRAINT delivery_delivered_at_check CHECK ((state = 'delivered') = (delivered_at IS NOT NULL)),
    PRIMARY KEY (id, created_at),
    UNIQUE (notification_id, created_at)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE delivery_id_seq OWNED BY delivery.id;
CREATE INDEX delivery_queue ON delivery (destination, state, id);
CREATE INDEX delivery_pending ON delivery (destination, id) WHERE state = 'pending';
CREATE INDEX delivery_delivered ON delivery (delivered_at) WHERE state = 'delivered';
CREATE INDEX delivery_dead ON delivery (destination, id) WHERE state = 'dead';
CREATE TABLE delivery_default PARTITION OF delivery DEFAULT;

-- Monthly partitions (UTC months, named delivery_pYYYYMM) from the oldest row's month, at most
-- a year back, to three months ahead; rows outside go to the default partition.
DO $$
DECLARE
    this_month CONSTANT timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    month timestamp;
    last_month timestamp;
BEGIN
    -- (greatest and least skip NULLs: an empty table's NULLs are replaced first.)
    SELECT date_trunc('month', min(created_at) AT TIME ZONE 'UTC'), date_trunc('month', max(created_at) AT TIME ZONE 'UTC')
      INTO month, last_month
      FROM delivery_unpartitioned;
    month := greatest(least(coalesce(month, this_month), this_month), this_month - interval '12 months');
    last_month := least(greatest(coalesce(last_month, this_month), this_month + interval '3 months'),
                        this_month + interval '12 months');
    WHILE month <= last_month LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF delivery FOR VALUES FROM (%L) TO (%L)',
            'delivery_p' || to_char(month, 'YYYYMM'),
            month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
        month := month + interval '1 month';
    END LOOP;
END $$;

INSERT INTO delivery (id, destination, notification_id, payload, item_count, state, attempts,
                      next_attempt_at, last_error, correlation_id, traceparent, created_at,
                      delivered_at)
SELECT id, destination, notification_id, payload, item_count, state, attempts,
       next_attempt_at, last_error, correlation_id, traceparent, created_at, delivered_at
  FROM delivery_unpartitioned;
DROP TABLE delivery_unpartitioned;
