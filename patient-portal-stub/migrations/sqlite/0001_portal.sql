-- The patient portal stub: test citizens, their inbox, the simulated SMS/e-mail log and the
-- web sessions of signed-in citizens. Times are UTC, RFC 3339 text; dates YYYY-MM-DD.

-- A test citizen. `citizen_id` is opaque and is what admin URLs carry: a personal identity
-- number must never appear in a URL.
CREATE TABLE citizen (
    citizen_id                TEXT PRIMARY KEY,
    personal_identity_number  TEXT NOT NULL UNIQUE,
    name                      TEXT NOT NULL,
    active                    BOOLEAN NOT NULL,
    notification_sms          BOOLEAN NOT NULL,
    notification_email        BOOLEAN NOT NULL,
    phone                     TEXT,
    email                     TEXT,
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL
);

-- A message in a citizen's inbox (AddMessageToPatientPortalInbox). Deleting a test citizen
-- deletes everything kept about them.
CREATE TABLE inbox_message (
    message_id      TEXT PRIMARY KEY,
    citizen_id      TEXT NOT NULL REFERENCES citizen (citizen_id) ON DELETE CASCADE,
    care_unit       TEXT NOT NULL,
    care_unit_name  TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    url             TEXT,
    source_system   TEXT NOT NULL,
    expire_date     TEXT,
    received_at     TEXT NOT NULL,
    read_at         TEXT
);

CREATE INDEX inbox_message_by_citizen ON inbox_message (citizen_id, received_at);

-- What the real portal would have sent by SMS or e-mail: the fixed notice text and where it
-- went, never the message's subject or body.
CREATE TABLE notification (
    notification_id  TEXT PRIMARY KEY,
    citizen_id       TEXT NOT NULL REFERENCES citizen (citizen_id) ON DELETE CASCADE,
    message_id       TEXT NOT NULL REFERENCES inbox_message (message_id) ON DELETE CASCADE,
    channel          TEXT NOT NULL CHECK (channel IN ('SMS', 'EMAIL')),
    recipient        TEXT NOT NULL,
    text             TEXT NOT NULL,
    sent_at          TEXT NOT NULL
);

CREATE INDEX notification_by_time ON notification (sent_at);
CREATE INDEX notification_by_citizen ON notification (citizen_id, sent_at);

-- A signed-in citizen's session. Only the SHA-256 of the cookie value is kept, so the table
-- cannot be used to take over a session.
CREATE TABLE web_session (
    session_hash  TEXT PRIMARY KEY,
    citizen_id    TEXT NOT NULL REFERENCES citizen (citizen_id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);

CREATE INDEX web_session_by_expiry ON web_session (expires_at);
