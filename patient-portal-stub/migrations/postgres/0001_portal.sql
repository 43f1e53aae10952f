-- The patient portal stub: test citizens, their inbox, the simulated SMS/e-mail log and the
-- web sessions of signed-in citizens. Times are UTC.

-- A test citizen. `citizen_id` is opaque and is what admin URLs carry: a personal identity
-- number must never appear in a URL.
CREATE TABLE citizen (
    citizen_id                UUID PRIMARY KEY,
    personal_identity_number  VARCHAR(12)  NOT NULL UNIQUE,
    name                      VARCHAR(200) NOT NULL,
    active                    BOOLEAN      NOT NULL,
    notification_sms          BOOLEAN      NOT NULL,
    notification_email        BOOLEAN      NOT NULL,
    phone                     VARCHAR(32),
    email                     VARCHAR(254),
    created_at                TIMESTAMPTZ  NOT NULL,
    updated_at                TIMESTAMPTZ  NOT NULL
);

-- A message in a citizen's inbox (AddMessageToPatientPortalInbox). Deleting a test citizen
-- deletes everything kept about them.
CREATE TABLE inbox_message (
    message_id      UUID PRIMARY KEY,
    citizen_id      UUID          NOT NULL REFERENCES citizen (citizen_id) ON DELETE CASCADE,
    care_unit       VARCHAR(64)   NOT NULL,
    care_unit_name  VARCHAR(255)  NOT NULL,
    subject         VARCHAR(255)  NOT NULL,
    body            TEXT          NOT NULL,
    url             VARCHAR(2048),
    source_system   VARCHAR(64)   NOT NULL,
    expire_date     DATE,
    received_at     TIMESTAMPTZ   NOT NULL,
    read_at         TIMESTAMPTZ
);

CREATE INDEX inbox_message_by_citizen ON inbox_message (citizen_id, received_at);

-- What the real portal would have sent by SMS or e-mail: the fixed notice text and where it
-- went, never the message's subject or body.
CREATE TABLE notification (
    notification_id  UUID PRIMARY KEY,
    citizen_id       UUID         NOT NULL REFERENCES citizen (citizen_id) ON DELETE CASCADE,
    message_id       UUID         NOT NULL REFERENCES inbox_message (message_id) ON DELETE CASCADE,
    channel          VARCHAR(8)   NOT NULL CHECK (channel IN ('SMS', 'EMAIL')),
    recipient        VARCHAR(254) NOT NULL,
    text             VARCHAR(500) NOT NULL,
    sent_at          TIMESTAMPTZ  NOT NULL
);

CREATE INDEX notification_by_time ON notification (sent_at);
CREATE INDEX notification_by_citizen ON notification (citizen_id, sent_at);

-- A signed-in citizen's session. Only the SHA-256 of the cookie value is kept, so the table
-- cannot be used to take over a session.
CREATE TABLE web_session (
    session_hash  CHAR(64)    PRIMARY KEY,
    citizen_id    UUID        NOT NULL REFERENCES citizen (citizen_id) ON DELETE CASCADE,
    csrf_token    CHAR(64)    NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX web_session_by_expiry ON web_session (expires_at);
