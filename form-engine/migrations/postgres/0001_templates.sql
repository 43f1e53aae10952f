-- Form templates: one row per (template_id, template_version). The template itself is kept
-- as its JSON document; the columns beside it are copies of the fields the contracts look
-- templates up by.
CREATE TABLE form_template (
    template_id      VARCHAR(64)  NOT NULL,
    template_version INTEGER      NOT NULL CHECK (template_version > 0),
    care_unit        VARCHAR(64)  NOT NULL,
    publish_status   VARCHAR(16)  NOT NULL
        CHECK (publish_status IN ('Unpublished', 'Pending', 'Published', 'Archived')),
    anonymous_form   BOOLEAN      NOT NULL,
    form_name        TEXT         NOT NULL,
    -- Counts every change of the row; updates name the revision they read (optimistic
    -- locking between engine processes), and compiled schemas are cached per revision.
    revision         BIGINT       NOT NULL,
    document         JSONB        NOT NULL,
    created_at       TIMESTAMPTZ  NOT NULL,
    updated_at       TIMESTAMPTZ  NOT NULL,
    -- Set by DeleteFormTemplate: the version is gone for every lookup, but its document stays
    -- for the completed forms made from it, and its number is never used again.
    deleted_at       TIMESTAMPTZ,
    PRIMARY KEY (template_id, template_version)
);

CREATE INDEX form_template_care_unit ON form_template (care_unit, template_id, template_version);
CREATE INDEX form_template_status ON form_template (publish_status, template_id);
