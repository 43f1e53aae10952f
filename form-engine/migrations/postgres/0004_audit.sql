-- The audit log of patient-data access (common::audit). Append-only: the triggers refuse
-- UPDATE, DELETE and TRUNCATE for every user, the table owner included (only an explicit
-- ALTER TABLE ... DISABLE TRIGGER by the owner lifts them, for a documented retention purge).
-- A service that records access copies this file into its own migrations.
CREATE TABLE audit_event (
    id             BIGSERIAL    PRIMARY KEY,
    at             TIMESTAMPTZ  NOT NULL,
    -- The effective caller's HSA-id, or 'anonymous' (open mode).
    caller         VARCHAR(64)  NOT NULL,
    -- The gateway that relayed the call on behalf of `caller`.
    gateway        VARCHAR(64),
    auth_method    VARCHAR(16)  NOT NULL CHECK (auth_method IN ('open', 'mutual_tls', 'bearer_token')),
    role           VARCHAR(16),
    -- The contract or action (GetForm, FindContent, ...).
    action         TEXT         NOT NULL,
    -- The patient's full personal identity number: the point of the log. Never logged.
    patient        VARCHAR(12),
    care_unit      VARCHAR(64),
    resource       TEXT,
    correlation_id TEXT,
    outcome        VARCHAR(16)  NOT NULL CHECK (outcome IN ('success', 'refused', 'not_found', 'failed'))
);
CREATE INDEX audit_event_patient ON audit_event (patient, id);
CREATE INDEX audit_event_caller ON audit_event (caller, id);

CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
