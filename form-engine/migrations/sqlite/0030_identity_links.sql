-- Identity links (issue 15): a number whose records were moved to another number of the same
-- person (a reserve or coordination number that became a personnummer). One row per linked
-- number, kept for ever: the history of who linked it, when and why. A chain (a -> b, b -> c)
-- is followed to its end. Times are RFC 3339 UTC text, as the other tables.
CREATE TABLE identity_link (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    from_number     TEXT NOT NULL UNIQUE,
    to_number       TEXT NOT NULL,
    reason          TEXT NOT NULL,
    -- The caller's HSA-id, or 'anonymous' (open mode).
    linked_by       TEXT NOT NULL,
    linked_at       TEXT NOT NULL,
    correlation_id  TEXT
);
CREATE INDEX identity_link_to ON identity_link (to_number);
