-- The audit log of patient-data access (common::audit). Append-only: the triggers refuse
-- UPDATE and DELETE. A service that records access copies this file into its own migrations.
-- Times are Unix milliseconds.
CREATE TABLE audit_event (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             INTEGER NOT NULL,
    -- The effective caller's HSA-id, or 'anonymous' (open mode).
    caller         TEXT    NOT NULL,
    -- The gateway that relayed the call on behalf of `caller`.
    gateway        TEXT,
    auth_method    TEXT    NOT NULL CHECK (auth_method IN ('open', 'mutual_tls', 'bearer_token')),
    role           TEXT,
    -- The contract or action (GetForm, FindContent, ...).
    action         TEXT    NOT NULL,
    -- The patient's full personal identity number: the point of the log. Never logged.
    patient        TEXT,
    care_unit      TEXT,
    resource       TEXT,
    correlation_id TEXT,
    outcome        TEXT    NOT NULL CHECK (outcome IN ('success', 'refused', 'not_found', 'failed'))
);
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
