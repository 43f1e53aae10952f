-- Identity links (issue 15): a number whose records were moved to another number of the same
-- person (a reserve or coordination number that became a personnummer). One row per linked
-- number, kept for ever: the history of who linked it, when and why. A chain (a -> b, b -> c)
-- is followed to its end.
CREATE TABLE identity_link (
    id              BIGSERIAL    PRIMARY KEY,
    from_number     VARCHAR(12)  NOT NULL UNIQUE,
    to_number       VARCHAR(12)  NOT NULL,
    reason          VARCHAR(500) NOT NULL,
    -- The caller's HSA-id, or 'anonymous' (open mode).
    linked_by       VARCHAR(64)  NOT NULL,
    linked_at       TIMESTAMPTZ  NOT NULL,
    correlation_id  TEXT
);
CREATE INDEX identity_link_to ON identity_link (to_number);
