-- The outbox document is stored as `text`, no longer `json`: the index writes it with its own
-- serializer and the fan-out reads it back whole, so the server's check that it is JSON bought
-- nothing and cost a parse of every document on insert (in psql, about 3 ms for a document of
-- 650 kB; an Update of 1000 engagements makes about 500 kB). To look into one by hand, cast
-- it: `transactions::json`.
-- ALTER TYPE rewrites the table and drops the column's compression setting, so lz4 is set
-- again as in 0073. The outbox holds only what its retention keeps, so the rewrite is small.
ALTER TABLE notification_outbox ALTER COLUMN transactions TYPE text;

DO $$
DECLARE
    part regclass;
BEGIN
    IF 'lz4' = ANY (SELECT unnest(enumvals) FROM pg_settings
                    WHERE name = 'default_toast_compression') THEN
        ALTER TABLE notification_outbox ALTER COLUMN transactions SET COMPRESSION lz4;
        FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                    WHERE inhparent = 'notification_outbox'::regclass LOOP
            EXECUTE format('ALTER TABLE %s ALTER COLUMN transactions SET COMPRESSION lz4', part);
        END LOOP;
    END IF;
END $$;
