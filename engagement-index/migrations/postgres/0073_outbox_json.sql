-- The outbox document is written once, as the text the index made, and read once, whole, by
-- the fan-out; nothing queries inside it. As `json` it is stored as written (checked, not
-- converted); as `jsonb` every write paid for converting it to the binary form. ALTER on the
-- partitioned table changes every partition.
ALTER TABLE notification_outbox ALTER COLUMN transactions TYPE JSON USING transactions::json;

-- A large document (an Update of 1000 engagements makes one of about 500 kB) is compressed
-- when stored; lz4 does that about three times faster than the default pglz at much the same
-- size. Only where the server was built with lz4; elsewhere the default stays.
DO $$
DECLARE
    part regclass;
BEGIN
    IF 'lz4' = ANY (SELECT unnest(enumvals) FROM pg_settings
                    WHERE name = 'default_toast_compression') THEN
        -- The partitioned table's setting is what partitions made from now on take; those
        -- that exist are set one by one.
        ALTER TABLE notification_outbox ALTER COLUMN transactions SET COMPRESSION lz4;
        FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                    WHERE inhparent = 'notification_outbox'::regclass LOOP
            EXECUTE format('ALTER TABLE %s ALTER COLUMN transactions SET COMPRESSION lz4', part);
        END LOOP;
    END IF;
END $$;
