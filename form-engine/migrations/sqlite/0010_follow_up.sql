-- Follow-up of forms (docs/follow-up.md): the alarm feed per care unit and the reminders to
-- the citizen before expireDate. Times are RFC 3339 text in UTC with microseconds.

-- The installation's last alarm serial number: one row, updated in the transaction that adds
-- an alarm, so numbers are gap-free and in commit order (SQLite has one writer).
CREATE TABLE alarm_serial (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_serial INTEGER NOT NULL
);
INSERT INTO alarm_serial (id, last_serial) VALUES (1, 0);

-- An alarm for the care unit that requested a form: FormExpired or RevocationRequested, at
-- most one of each kind per form.
CREATE TABLE alarms (
    serial_number INTEGER PRIMARY KEY,
    care_unit TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('FormExpired', 'RevocationRequested')),
    form_id TEXT NOT NULL,
    subject_of_care TEXT,
    template_id TEXT NOT NULL,
    expire_date TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (form_id, kind)
);
CREATE INDEX alarms_care_unit ON alarms (care_unit, serial_number);
CREATE INDEX alarms_created_at ON alarms (created_at);

-- How far each care unit has acknowledged its feed (by asking after that number).
CREATE TABLE alarm_acknowledged (
    care_unit TEXT PRIMARY KEY,
    serial_number INTEGER NOT NULL,
    acknowledged_at TEXT NOT NULL
);

-- Reminder rows go with their form (keepUntil, DeleteForm); alarms stay on the feed.

-- reminderDaysBefore given on CreateFormRequest (a JSON array of days); without a row the
-- template's policy holds.
CREATE TABLE form_reminder_days (
    form_id TEXT PRIMARY KEY REFERENCES form (form_id) ON DELETE CASCADE,
    days TEXT NOT NULL
);

-- One reminder of a form on one day: inserted (claimed) before it is sent, so each is sent
-- once whichever engine process gets there first. A reminder the portal did not answer is
-- tried again from next_attempt_at.
CREATE TABLE form_reminder (
    form_id TEXT NOT NULL REFERENCES form (form_id) ON DELETE CASCADE,
    due_date TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    outcome TEXT,
    next_attempt_at TEXT,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (form_id, due_date)
);
CREATE INDEX form_reminder_retry ON form_reminder (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- Every attempt and its outcome, as GetForm shows them (reminders: [{at, outcome}]).
CREATE TABLE form_reminder_attempt (
    form_id TEXT NOT NULL REFERENCES form (form_id) ON DELETE CASCADE,
    due_date TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (form_id, due_date, attempt)
);
