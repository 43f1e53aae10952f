-- A message's payload is stored as `json` (its text, checked to be JSON), no longer `jsonb`: the
-- queue writes it once per subscriber and reads it back whole to send it, and never looks
-- into it in SQL, so building the binary form on every write bought nothing. At 50
-- subscribers that build was most of the fan-out's database time (about 10 ms a round of 50
-- rows of 17 kB, against 3 ms as text). Messages already queued are converted (their keys come
-- out in jsonb's order; the JSON is the same). Stored compressed with lz4 as before, where the
-- server has it.
ALTER TABLE delivery ALTER COLUMN payload TYPE json USING payload::json;

DO $$
DECLARE
    part regclass;
BEGIN
    IF 'lz4' = ANY (SELECT unnest(enumvals) FROM pg_settings
                    WHERE name = 'default_toast_compression') THEN
        ALTER TABLE delivery ALTER COLUMN payload SET COMPRESSION lz4;
        FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                    WHERE inhparent = 'delivery'::regclass LOOP
            EXECUTE format('ALTER TABLE %s ALTER COLUMN payload SET COMPRESSION lz4', part);
        END LOOP;
    END IF;
END $$;
