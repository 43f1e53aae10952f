-- A fan-out round on the NATS backbone (`notification.backbone = "nats"`) between taking its
-- changes from the outbox and the stream storing its notifications. The round publishes
-- straight to the stream; the database queue is not written. The row is committed with the
-- outbox rows' marks, before anything is published, and deleted once the stream has stored
-- every notification of the round. A process that dies in between leaves it behind: the next
-- round (of any process, once `taken_at` is older than the delivery lease) reads the same
-- outbox rows again by `outbox_ids` and publishes the same notifications under the same
-- message ids, which the stream stores once. Rounds are serialised, so there is at most one row.
CREATE TABLE notification_round (
    first_id    INTEGER     PRIMARY KEY,
    outbox_ids  TEXT        NOT NULL,
    owner       TEXT        NOT NULL,
    taken_at    TEXT        NOT NULL
);
