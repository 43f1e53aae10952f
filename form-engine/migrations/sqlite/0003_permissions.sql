-- Who may act as what (common::permissions). A service that enforces permissions copies this
-- file into its own migrations. Times are Unix milliseconds.
CREATE TABLE auth_permission (
    -- The caller's HSA-id (the effective caller: the consumer a trusted gateway names).
    caller     TEXT    NOT NULL,
    role       TEXT    NOT NULL
               CHECK (role IN ('care_system', 'eservice', 'source_system', 'reader', 'admin')),
    -- A care-unit HSA-id, a sourceSystem, a serviceDomain, or '*' for every scope of the role.
    scope      TEXT    NOT NULL,
    -- 'config': from [[auth.permissions]], re-applied at every start; 'admin': from the API.
    source     TEXT    NOT NULL CHECK (source IN ('config', 'admin')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (caller, role, scope)
);
