-- Who may act as what (common::permissions). A service that enforces permissions copies this
-- file into its own migrations.
CREATE TABLE auth_permission (
    -- The caller's HSA-id (the effective caller: the consumer a trusted gateway names).
    caller     VARCHAR(64)  NOT NULL,
    role       VARCHAR(16)  NOT NULL
               CHECK (role IN ('care_system', 'eservice', 'source_system', 'reader', 'admin')),
    -- A care-unit HSA-id, a sourceSystem, a serviceDomain, or '*' for every scope of the role.
    scope      VARCHAR(255) NOT NULL,
    -- 'config': from [[auth.permissions]], re-applied at every start; 'admin': from the API.
    source     VARCHAR(8)   NOT NULL CHECK (source IN ('config', 'admin')),
    created_at TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (caller, role, scope)
);
