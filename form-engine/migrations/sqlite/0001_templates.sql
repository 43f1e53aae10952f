-- Form templates: one row per (template_id, template_version). The template itself is kept
-- as its JSON document; the columns beside it are copies of the fields the contracts look
-- templates up by. Times are UTC, RFC 3339 text.
CREATE TABLE form_template (
    template_id      TEXT    NOT NULL,
    template_version INTEGER NOT NULL,
    care_unit        TEXT    NOT NULL,
    publish_status   TEXT    NOT NULL
        CHECK (publish_status IN ('Unpublished', 'Pending', 'Published', 'Archived')),
    anonymous_form   INTEGER NOT NULL,
    form_name        TEXT    NOT NULL,
    -- Counts every change of the row; updates name the revision they read (optimistic
    -- locking between engine processes), and compiled schemas are cached per revision.
    revision         INTEGER NOT NULL,
    document         TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    -- Set by DeleteFormTemplate: the version is gone for every lookup, but its document stays
    -- for the completed forms made from it, and its number is never used again.
    deleted_at       TEXT,
    PRIMARY KEY (template_id, template_version)
);

CREATE INDEX form_template_care_unit ON form_template (care_unit, template_id, template_version);
CREATE INDEX form_template_status ON form_template (publish_status, template_id);
