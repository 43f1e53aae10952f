-- Engagements: where a resident has information. The nine-field business key of the
-- contract is unique; empty categorization, businessObjectInstanceIdentifier and
-- clinicalProcessInterestId are stored as 'NA'. Times are UTC, fixed-width RFC 3339 text
-- (`2024-01-15T11:00:00.000000Z`), so text order is time order.
CREATE TABLE engagement (
    id                                  INTEGER PRIMARY KEY AUTOINCREMENT,
    registered_resident_identification  TEXT NOT NULL,
    service_domain                      TEXT NOT NULL,
    categorization                      TEXT NOT NULL,
    logical_address                     TEXT NOT NULL,
    business_object_instance_identifier TEXT NOT NULL,
    clinical_process_interest_id        TEXT NOT NULL,
    source_system                       TEXT NOT NULL,
    data_controller                     TEXT NOT NULL,
    owner                               TEXT NOT NULL,
    most_recent_content                 TEXT,
    creation_time                       TEXT NOT NULL,
    update_time                         TEXT,
    -- When this index last stored a change to the post (its own clock, also for posts
    -- received with ProcessNotification, whose times are the sender's): what GetUpdates
    -- selects on, so a poller never misses a post that arrived late.
    changed_at                          TEXT NOT NULL,
    -- The leading (resident, domain) columns serve FindContent.
    CONSTRAINT engagement_business_key UNIQUE (
        registered_resident_identification, service_domain, categorization, logical_address,
        business_object_instance_identifier, clinical_process_interest_id, source_system,
        data_controller, owner)
);

CREATE INDEX engagement_updates ON engagement (service_domain, changed_at, registered_resident_identification);

-- Accepted changes to notify, written in the same transaction as the change (transactional
-- outbox). SQLite has one writer at a time, so id order is commit order.
CREATE TABLE notification_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The engagementTransaction array to notify, as a ProcessNotification request carries it
    -- (every engagement with owner, creationTime and updateTime). A subscriber is never sent
    -- a transaction whose owner is the subscriber itself.
    transactions    TEXT NOT NULL,
    correlation_id  TEXT,
    traceparent     TEXT,
    created_at      TEXT NOT NULL
);
