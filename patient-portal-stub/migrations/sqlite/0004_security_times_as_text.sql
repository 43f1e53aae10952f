-- Times as RFC 3339 text in UTC with microseconds (2026-03-01T12:00:00.123000Z), like every
-- SQLite store of the project; they were Unix milliseconds. The tables are rebuilt (a column's
-- type cannot change, and the audit log's triggers refuse UPDATE). A value that was not a
-- whole number is kept as it was, so that reading it fails rather than turning into a time.
CREATE TABLE auth_permission_new (
    caller     TEXT NOT NULL,
    role       TEXT NOT NULL
               CHECK (role IN ('care_system', 'eservice', 'source_system', 'reader', 'admin')),
    scope      TEXT NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('config', 'admin')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (caller, role, scope)
);
INSERT INTO auth_permission_new (caller, role, scope, source, created_at)
SELECT caller, role, scope, source,
       CASE WHEN typeof(created_at) = 'integer'
            THEN strftime('%Y-%m-%dT%H:%M:%S', created_at / 1000, 'unixepoch')
                 || printf('.%03d000Z', created_at % 1000)
            ELSE created_at END
FROM auth_permission;
DROP TABLE auth_permission;
ALTER TABLE auth_permission_new RENAME TO auth_permission;

CREATE TABLE audit_event_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT NOT NULL,
    caller         TEXT NOT NULL,
    gateway        TEXT,
    auth_method    TEXT NOT NULL CHECK (auth_method IN ('open', 'mutual_tls', 'bearer_token')),
    role           TEXT,
    action         TEXT NOT NULL,
    patient        TEXT,
    care_unit      TEXT,
    resource       TEXT,
    correlation_id TEXT,
    outcome        TEXT NOT NULL CHECK (outcome IN ('success', 'refused', 'not_found', 'failed'))
);
INSERT INTO audit_event_new (id, at, caller, gateway, auth_method, role, action, patient,
                             care_unit, resource, correlation_id, outcome)
SELECT id,
       CASE WHEN typeof(at) = 'integer'
            THEN strftime('%Y-%m-%dT%H:%M:%S', at / 1000, 'unixepoch')
                 || printf('.%03d000Z', at % 1000)
            ELSE at END,
       caller, gateway, auth_method, role, action, patient, care_unit, resource, correlation_id,
       outcome
FROM audit_event ORDER BY id;
-- Dropping the table drops its triggers and indexes; the next id continues from the old
-- table's (the rename carries the AUTOINCREMENT counter).
DROP TABLE audit_event;
ALTER TABLE audit_event_new RENAME TO audit_event;
CREATE INDEX audit_event_patient ON audit_event (patient, id);
CREATE INDEX audit_event_caller ON audit_event (caller, id);

CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only');
END;

CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only');
END;
