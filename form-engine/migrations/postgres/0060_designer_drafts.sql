-- The form designer's working copies (docs/designer.md): the draft of a template version as
-- the designer last left it, saved even while the checks still find errors (the template
-- contracts only store a template without errors), and who changed it last and when. One row
-- per version; it stays after publishing as the record of the last change.
CREATE TABLE designer_draft (
    template_id       VARCHAR(64)  NOT NULL,
    template_version  INTEGER      NOT NULL,
    care_unit         VARCHAR(64)  NOT NULL,
    document          JSONB        NOT NULL,
    changed_by        VARCHAR(64)  NOT NULL,
    changed_by_name   VARCHAR(200) NOT NULL,
    changed_at        TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (template_id, template_version)
);
CREATE INDEX designer_draft_care_unit ON designer_draft (care_unit);
