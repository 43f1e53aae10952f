-- The queue's writes, made smaller. At 1000 changes a second to 50 subscribers the queue was
-- three quarters of the write-ahead log; these changes took it from 114 MB to 89 MB in
-- ten seconds of that load.
--
-- Two of the five indexes took an entry on every message twice (when queued and when
-- delivered) without serving a read the others do not:
-- - The unique key on (notification_id, created_at): nothing looks a message up by its
--   notification id, a random UUID made when the message is queued. Its entries fell at
--   random places in the index, each dirtying a page of its own.
-- - delivery_queue (destination, state, id), whose pending and dead parts repeat the partial
--   indexes delivery_pending and delivery_dead. Its delivered part stays as a partial index
--   of its own: the admin listing of delivered messages and the pull point's refetch read it.
ALTER TABLE delivery DROP CONSTRAINT delivery_notification_id_created_at_key;
DROP INDEX delivery_queue;
CREATE INDEX delivery_delivered_queue ON delivery (destination, id) WHERE state = 'delivered';

-- A message's row is written twice: queued, then delivered or failed. With the payload inside
-- the row the second write copied the payload; kept out of the row (compressed, in the
-- partition's TOAST table) whenever the row would pass 128 bytes, the second write copies a
-- pointer to it. A partitioned table holds no storage parameters: each partition is set here,
-- and the service makes new ones with the same (common::partitions). Rows already queued keep
-- their form. The short bounded columns stay in the row: else the 128 bytes would send the
-- trace and correlation ids to the TOAST table too, a value of their own each.
ALTER TABLE delivery ALTER COLUMN destination SET STORAGE PLAIN,
    ALTER COLUMN correlation_id SET STORAGE PLAIN,
    ALTER COLUMN traceparent SET STORAGE PLAIN;
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits
                WHERE inhparent = 'delivery'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (toast_tuple_target = 128)', part);
    END LOOP;
END $$;
