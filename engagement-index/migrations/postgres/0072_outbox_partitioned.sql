-- The notification outbox partitioned by month of `created_at` (common::partitions), so that
-- it stays bounded: the service creates each month's partition ahead of time, and the
-- retention job drops a month whose rows were all fanned out before the retention age (a
-- month that still holds a row not yet fanned out is never dropped; its fanned-out rows go by
-- the batch delete as before). A row whose month has no partition lands in the default
-- partition, so no change is ever refused.
--
-- The existing table is converted in place: a partitioned table is created beside it, a
-- partition for every month its rows cover (and three ahead), the rows are copied across with
-- their ids and transaction ids, and the names are swapped. The id sequence carries on.
--
-- A partitioned table's primary key must hold the partition key: (id, created_at). Ids still
-- come from one sequence, so an id alone still names one row.
ALTER TABLE notification_outbox RENAME TO notification_outbox_unpartitioned;
ALTER TABLE notification_outbox_unpartitioned RENAME CONSTRAINT notification_outbox_pkey
    TO notification_outbox_unpartitioned_pkey;
DROP INDEX notification_outbox_waiting;
DROP INDEX notification_outbox_fanned_out;

CREATE TABLE notification_outbox (
    id              BIGINT      NOT NULL DEFAULT nextval('notification_outbox_id_seq'),
    txid            XID8        NOT NULL DEFAULT pg_current_xact_id(),
    transactions    JSONB       NOT NULL,
    correlation_id  VARCHAR(128),
    traceparent     VARCHAR(128),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    fanned_out_at   TIMESTAMPTZ,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE notification_outbox_id_seq OWNED BY notification_outbox.id;
CREATE INDEX notification_outbox_waiting ON notification_outbox (id) WHERE fanned_out_at IS NULL;
CREATE INDEX notification_outbox_fanned_out ON notification_outbox (fanned_out_at)
    WHERE fanned_out_at IS NOT NULL;
CREATE TABLE notification_outbox_default PARTITION OF notification_outbox DEFAULT;

-- Monthly partitions (UTC months, named notification_outbox_pYYYYMM) from the oldest row's
-- month, at most a year back, to three months ahead; rows outside go to the default partition.
DO $$
DECLARE
    this_month CONSTANT timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    month timestamp;
    last_month timestamp;
BEGIN
    -- (greatest and least skip NULLs: an empty table's NULLs are replaced first.)
    SELECT date_trunc('month', min(created_at) AT TIME ZONE 'UTC'), date_trunc('month', max(created_at) AT TIME ZONE 'UTC')
      INTO month, last_month
      FROM notification_outbox_unpartitioned;
    month := greatest(least(coalesce(month, this_month), this_month), this_month - interval '12 months');
    last_month := least(greatest(coalesce(last_month, this_month), this_month + interval '3 months'),
                        this_month + interval '12 months');
    WHILE month <= last_month LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF notification_outbox FOR VALUES FROM (%L) TO (%L)',
            'notification_outbox_p' || to_char(month, 'YYYYMM'),
            month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
        month := month + interval '1 month';
    END LOOP;
END $$;

INSERT INTO notification_outbox (id, txid, transactions, correlation_id, traceparent, created_at,
                                 fanned_out_at)
SELECT id, txid, transactions, correlation_id, traceparent, created_at, fanned_out_at
  FROM notification_outbox_unpartitioned;
DROP TABLE notification_outbox_unpartitioned;
