-- Forms: one row per form. The citizen's progress (the pages reached, the saved answers per
-- page, the last actor) is one JSON document beside the columns the contracts filter on.
-- Times are UTC, RFC 3339 text of fixed width (text order is time order); dates are
-- Swedish calendar dates as YYYY-MM-DD.
CREATE TABLE form (
    form_id                      TEXT    PRIMARY KEY,
    status                       TEXT    NOT NULL
        CHECK (status IN ('ONGOING', 'PENDING_COMPLETION', 'COMPLETED')),
    -- NULL for an anonymous form.
    subject_of_care              TEXT,
    care_unit                    TEXT    NOT NULL,
    care_unit_name               TEXT,
    care_giver                   TEXT,
    med_unit                     TEXT,
    system_id                    TEXT,
    template_id                  TEXT    NOT NULL,
    template_version             INTEGER NOT NULL,
    form_name                    TEXT    NOT NULL,
    clinical_process_interest_id TEXT,
    form_text                    TEXT,
    expire_date                  TEXT,
    keep_until                   TEXT,
    -- REQUEST (CreateFormRequest by a care system) or CITIZEN (CreateForm).
    origin                       TEXT    NOT NULL,
    created_at                   TEXT    NOT NULL,
    last_saved_at                TEXT,
    completed_at                 TEXT,
    -- Set by the expiry job once expireDate has passed: out of the citizen's active list.
    expired_at                   TEXT,
    -- CancelForm on a COMPLETED form records a request for revocation.
    revocation_requested_at      TEXT,
    current_page                 INTEGER,
    progress                     TEXT    NOT NULL,
    -- Counts every change; a write names the revision it read (several engine processes).
    revision                     INTEGER NOT NULL
);

CREATE INDEX form_subject ON form (subject_of_care, created_at DESC, form_id DESC);
CREATE INDEX form_care_unit ON form (care_unit, created_at DESC, form_id DESC);
CREATE INDEX form_template_use ON form (template_id, template_version, status);
CREATE INDEX form_to_expire ON form (expire_date) WHERE expired_at IS NULL AND status <> 'COMPLETED';
CREATE INDEX form_to_purge ON form (keep_until) WHERE keep_until IS NOT NULL;

-- The first answer to a request made with an Idempotency-Key, so a retry gets it again.
CREATE TABLE idempotency_key (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    request     TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_key_age ON idempotency_key (created_at);

-- The engine's outbox of engagement-index posts: one row per Update request body
-- (`{"engagementTransaction":[...]}`), written in the same transaction as the form change,
-- delivered to the index's Update endpoint by the shared delivery worker (common::delivery;
-- the same tables as common/migrations/delivery). Times are Unix milliseconds.
CREATE TABLE delivery (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    destination     TEXT    NOT NULL,
    notification_id TEXT    NOT NULL UNIQUE,
    payload         TEXT    NOT NULL,
    item_count      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    correlation_id  TEXT,
    traceparent     TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX delivery_queue ON delivery (destination, state, id);

CREATE TABLE delivery_lease (
    destination TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    until       INTEGER NOT NULL
);
