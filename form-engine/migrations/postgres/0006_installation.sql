-- The installation (common/src/installation): its mode (staging while data is migrated in,
-- then operational), the one-time keys a migration client uses, and the migration's progress.
-- Times are TIMESTAMPTZ.

CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    installation_id TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('staging', 'operational')),
    created_at TIMESTAMPTZ NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    changed_by TEXT NOT NULL
);

-- Only the SHA-256 of a key's secret is kept; the key itself is shown once.
CREATE TABLE installation_migration_key (
    id TEXT PRIMARY KEY,
    installation_id TEXT NOT NULL,
    secret_sha256 BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    revoked_because TEXT
);

-- At most one key is not revoked.
CREATE UNIQUE INDEX installation_migration_key_one_active
    ON installation_migration_key (installation_id) WHERE revoked_at IS NULL;

-- Records taken in through the migration endpoints, per entity.
CREATE TABLE installation_migration_progress (
    entity TEXT PRIMARY KEY,
    accepted BIGINT NOT NULL,
    refused BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
