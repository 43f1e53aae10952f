-- Forms: one row per form. The citizen's progress (the pages reached, the saved answers per
-- page, the last actor) is one JSON document beside the columns the contracts filter on.
-- Dates are Swedish calendar dates.
CREATE TABLE form (
    form_id                      UUID         PRIMARY KEY,
    status                       VARCHAR(20)  NOT NULL
        CHECK (status IN ('ONGOING', 'PENDING_COMPLETION', 'COMPLETED')),
    -- NULL for an anonymous form.
    subject_of_care              VARCHAR(32),
    care_unit                    VARCHAR(64)  NOT NULL,
    care_unit_name               TEXT,
    care_giver                   VARCHAR(64),
    med_unit                     VARCHAR(64),
    system_id                    VARCHAR(64),
    template_id                  VARCHAR(64)  NOT NULL,
    template_version             INTEGER      NOT NULL,
    form_name                    TEXT         NOT NULL,
    clinical_process_interest_id VARCHAR(128),
    form_text                    TEXT,
    expire_date                  DATE,
    keep_until                   DATE,
    -- REQUEST (CreateFormRequest by a care system) or CITIZEN (CreateForm).
    origin                       VARCHAR(8)   NOT NULL,
    created_at                   TIMESTAMPTZ  NOT NULL,
    last_saved_at                TIMESTAMPTZ,
    completed_at                 TIMESTAMPTZ,
    -- Set by the expiry job once expireDate has passed: out of the citizen's active list.
    expired_at                   TIMESTAMPTZ,
    -- CancelForm on a COMPLETED form records a request for revocation.
    revocation_requested_at      TIMESTAMPTZ,
    current_page                 INTEGER,
    progress                     JSONB        NOT NULL,
    -- Counts every change; a write names the revision it read (several engine processes).
    revision                     BIGINT       NOT NULL
);

CREATE INDEX form_subject ON form (subject_of_care, created_at DESC, form_id DESC);
CREATE INDEX form_care_unit ON form (care_unit, created_at DESC, form_id DESC);
CREATE INDEX form_template_use ON form (template_id, template_version, status);
CREATE INDEX form_to_expire ON form (expire_date) WHERE expired_at IS NULL AND status <> 'COMPLETED';
CREATE INDEX form_to_purge ON form (keep_until) WHERE keep_until IS NOT NULL;

-- The first answer to a request made with an Idempotency-Key, so a retry gets it again.
CREATE TABLE idempotency_key (
    scope       VARCHAR(128) NOT NULL,
    key         VARCHAR(255) NOT NULL,
    request     JSONB        NOT NULL,
    response    JSONB        NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_key_age ON idempotency_key (created_at);

-- The engine's outbox of engagement-index posts: one row per Update request body
-- (`{"engagementTransaction":[...]}`), written in the same transaction as the form change,
-- delivered to the index's Update endpoint by the shared delivery worker (common::delivery;
-- the same tables as common/migrations/delivery).
CREATE TABLE delivery (
    id              BIGSERIAL PRIMARY KEY,
    destination     VARCHAR(64)  NOT NULL,
    notification_id UUID         NOT NULL UNIQUE,
    payload         JSONB        NOT NULL,
    item_count      INTEGER      NOT NULL,
    state           VARCHAR(8)   NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts        INTEGER      NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ  NOT NULL,
    last_error      TEXT,
    correlation_id  VARCHAR(128),
    traceparent     VARCHAR(128),
    created_at      TIMESTAMPTZ  NOT NULL
);
CREATE INDEX delivery_queue ON delivery (destination, state, id);

CREATE TABLE delivery_lease (
    destination VARCHAR(64) PRIMARY KEY,
    owner       UUID        NOT NULL,
    until       TIMESTAMPTZ NOT NULL
);
