-- Engagements: where a resident has information. The nine-field business key of the
-- contract is unique; empty categorization, businessObjectInstanceIdentifier and
-- clinicalProcessInterestId are stored as 'NA'. Times are UTC.
-- Text columns use the "C" collation: byte order, the same as SQLite's, so FindContent and
-- GetUpdates order alike on both backends, and index comparisons skip locale rules.
-- The business key is the primary key, with no surrogate id: every change of a post (a new
-- mostRecentContent moves changed_at, so no update is HOT) writes an entry into every index,
-- and a surrogate key would be one more index to write on every change.
CREATE TABLE engagement (
    registered_resident_identification  VARCHAR(32) COLLATE "C" NOT NULL,
    service_domain                      VARCHAR(255) COLLATE "C" NOT NULL,
    categorization                      VARCHAR(255) COLLATE "C" NOT NULL,
    logical_address                     VARCHAR(64) COLLATE "C" NOT NULL,
    business_object_instance_identifier VARCHAR(128) COLLATE "C" NOT NULL,
    clinical_process_interest_id        VARCHAR(128) COLLATE "C" NOT NULL,
    source_system                       VARCHAR(64) COLLATE "C" NOT NULL,
    data_controller                     VARCHAR(64) COLLATE "C" NOT NULL,
    owner                               VARCHAR(64) COLLATE "C" NOT NULL,
    most_recent_content                 TIMESTAMPTZ,
    creation_time                       TIMESTAMPTZ  NOT NULL,
    update_time                         TIMESTAMPTZ,
    -- When this index last stored a change to the post (its own clock, also for posts
    -- received with ProcessNotification, whose times are the sender's): what GetUpdates
    -- selects on, so a poller never misses a post that arrived late.
    changed_at                          TIMESTAMPTZ  NOT NULL,
    -- The leading (resident, domain) columns serve FindContent.
    CONSTRAINT engagement_business_key PRIMARY KEY (
        registered_resident_identification, service_domain, categorization, logical_address,
        business_object_instance_identifier, clinical_process_interest_id, source_system,
        data_controller, owner)
);

CREATE INDEX engagement_updates ON engagement (service_domain, changed_at, registered_resident_identification);

-- Accepted changes to notify, written in the same transaction as the change (transactional
-- outbox). `txid` lets a reader wait for transactions still in flight, so rows are read
-- in commit order without gaps.
CREATE TABLE notification_outbox (
    id              BIGSERIAL PRIMARY KEY,
    txid            XID8        NOT NULL DEFAULT pg_current_xact_id(),
    -- The engagementTransaction array to notify, as a ProcessNotification request carries it
    -- (every engagement with owner, creationTime and updateTime). A subscriber is never sent
    -- a transaction whose owner is the subscriber itself.
    transactions    JSONB       NOT NULL,
    correlation_id  VARCHAR(128),
    traceparent     VARCHAR(128),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
