-- Forms partitioned by month (common::partitions), so that the table of forms stays bounded:
-- forms are deleted one by one after their keepUntil (with their post to the engagement
-- index), and a month that has emptied is dropped whole with its files and index pages.
--
-- The partition key is the form's id: new forms get a UUIDv7 made at their creation time,
-- whose first 48 bits are its milliseconds, so a month's forms are the ids from the lowest id
-- of its first millisecond up to the next month's. Partitions are named form_pYYYYMM (UTC
-- months); the primary key stays (form_id), so a form is still found by its id alone, in one
-- partition. Ids made before (random UUIDv4) or brought in by a migration from another system
-- fall into no month and stay in form_default, where the keepUntil sweep deletes them as
-- before.
--
-- The existing table is converted without copying a row: it becomes the default partition of a
-- new partitioned table (its indexes are taken over as the partition's). The service creates
-- the current month and the ones ahead at its start, moving any row of theirs out of the
-- default partition.
--
-- The references to forms (reminders) are made again to the new table, as they were. When the
-- service moves forms out of the default partition into a month it creates, it takes them off
-- for the move and puts them back in the same transaction (common::partitions).
ALTER TABLE form_reminder_days DROP CONSTRAINT form_reminder_days_form_id_fkey;
ALTER TABLE form_reminder DROP CONSTRAINT form_reminder_form_id_fkey;
ALTER TABLE form_reminder_attempt DROP CONSTRAINT form_reminder_attempt_form_id_fkey;

ALTER TABLE form RENAME TO form_default;
ALTER TABLE form_default RENAME CONSTRAINT form_pkey TO form_default_pkey;
ALTER INDEX form_subject RENAME TO form_default_subject;
ALTER INDEX form_care_unit RENAME TO form_default_care_unit;
ALTER INDEX form_template_use RENAME TO form_default_template_use;
ALTER INDEX form_to_expire RENAME TO form_default_to_expire;
ALTER INDEX form_to_purge RENAME TO form_default_to_purge;

CREATE TABLE form (LIKE form_default INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (form_id)
) PARTITION BY RANGE (form_id);
CREATE INDEX form_subject ON form (subject_of_care, created_at DESC, form_id DESC);
CREATE INDEX form_care_unit ON form (care_unit, created_at DESC, form_id DESC);
CREATE INDEX form_template_use ON form (template_id, template_version, status);
CREATE INDEX form_to_expire ON form (expire_date) WHERE expired_at IS NULL AND status <> 'COMPLETED';
CREATE INDEX form_to_purge ON form (keep_until) WHERE keep_until IS NOT NULL;
ALTER TABLE form ATTACH PARTITION form_default DEFAULT;

-- The current month and three ahead, unless the default partition holds ids of one of them
-- (then the service's retention job makes it at start, moving those rows).
DO $$
DECLARE
    this_month CONSTANT timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    month timestamptz;
    low uuid;
    high uuid;
BEGIN
    FOR ahead IN 0..3 LOOP
        month := this_month + make_interval(months => ahead);
        low := (lpad(to_hex((extract(epoch FROM month) * 1000)::bigint), 12, '0')
                || '00000000000000000000')::uuid;
        high := (lpad(to_hex((extract(epoch FROM month + interval '1 month') * 1000)::bigint), 12, '0')
                 || '00000000000000000000')::uuid;
        CONTINUE WHEN EXISTS (SELECT 1 FROM form_default WHERE form_id >= low AND form_id < high);
        EXECUTE format('CREATE TABLE %I PARTITION OF form FOR VALUES FROM (%L) TO (%L)',
            'form_p' || to_char(month AT TIME ZONE 'UTC', 'YYYYMM'), low, high);
    END LOOP;
END $$;

ALTER TABLE form_reminder_days ADD CONSTRAINT form_reminder_days_form_id_fkey
    FOREIGN KEY (form_id) REFERENCES form (form_id) ON DELETE CASCADE;
ALTER TABLE form_reminder ADD CONSTRAINT form_reminder_form_id_fkey
    FOREIGN KEY (form_id) REFERENCES form (form_id) ON DELETE CASCADE;
ALTER TABLE form_reminder_attempt ADD CONSTRAINT form_reminder_attempt_form_id_fkey
    FOREIGN KEY (form_id) REFERENCES form (form_id) ON DELETE CASCADE;
