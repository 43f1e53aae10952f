-- The audit log partitioned by month of `at` (common::partitions), so that it stays bounded:
-- the service creates each month's partition ahead of time, and after the configured age an
-- old month is exported to a file and then dropped whole (no row is ever deleted; the
-- append-only triggers stay). A row whose month has no partition lands in the default
-- partition, so no write is ever refused.
--
-- The existing table is converted in place: a partitioned table is created beside it, a
-- partition for every month its rows cover (and three ahead), the rows are copied across with
-- their ids, and the names are swapped. The id sequence carries on.
--
-- A partitioned table's primary key must hold the partition key: (id, at). Ids still come from
-- one sequence, so an id alone still names one row.
ALTER TABLE audit_event RENAME TO audit_event_unpartitioned;
ALTER TABLE audit_event_unpartitioned RENAME CONSTRAINT audit_event_pkey TO audit_event_unpartitioned_pkey;
ALTER INDEX audit_event_unpartitioned_pkey RENAME TO audit_event_unpartitioned_pkey_index;
DROP INDEX audit_event_patient;
DROP INDEX audit_event_caller;

CREATE TABLE audit_event (
    id             BIGINT       NOT NULL DEFAULT nextval('audit_event_id_seq'),
    at             TIMESTAMPTZ  NOT NULL,
    caller         VARCHAR(64)  NOT NULL,
    gateway        VARCHAR(64),
    auth_method    VARCHAR(16)  NOT NULL CHECK (auth_method IN ('open', 'mutual_tls', 'bearer_token')),
    role           VARCHAR(16),
    action         TEXT         NOT NULL,
    patient        VARCHAR(12),
    care_unit      VARCHAR(64),
    resource       TEXT,
    correlation_id TEXT,
    outcome        VARCHAR(16)  NOT NULL CHECK (outcome IN ('success', 'refused', 'not_found', 'failed')),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit_event_id_seq OWNED BY audit_event.id;
CREATE INDEX audit_event_patient ON audit_event (patient, id);
CREATE INDEX audit_event_caller ON audit_event (caller, id);
CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT;

-- Monthly partitions (UTC months, named audit_event_pYYYYMM) from the oldest row's month, at
-- most eleven years back, to three months ahead; rows outside go to the default partition.
DO $$
DECLARE
    this_month CONSTANT timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
    month timestamp;
    last_month timestamp;
BEGIN
    -- (greatest and least skip NULLs: an empty table's NULLs are replaced first.)
    SELECT date_trunc('month', min(at) AT TIME ZONE 'UTC'), date_trunc('month', max(at) AT TIME ZONE 'UTC')
      INTO month, last_month
      FROM audit_event_unpartitioned;
    month := greatest(least(coalesce(month, this_month), this_month), this_month - interval '132 months');
    last_month := least(greatest(coalesce(last_month, this_month), this_month + interval '3 months'),
                        this_month + interval '12 months');
    WHILE month <= last_month LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_event FOR VALUES FROM (%L) TO (%L)',
            'audit_event_p' || to_char(month, 'YYYYMM'),
            month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
        month := month + interval '1 month';
    END LOOP;
END $$;

INSERT INTO audit_event (id, at, caller, gateway, auth_method, role, action, patient, care_unit,
                         resource, correlation_id, outcome)
SELECT id, at, caller, gateway, auth_method, role, action, patient, care_unit,
       resource, correlation_id, outcome
  FROM audit_event_unpartitioned;
-- Dropping the old table drops its rows without a DELETE: its triggers do not fire.
DROP TABLE audit_event_unpartitioned;

-- Append-only as before: row triggers on a partitioned table apply to every partition. Only
-- dropping a whole partition (the retention job, after the export) removes rows.
CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
