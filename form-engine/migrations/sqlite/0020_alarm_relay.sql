-- How far the alarm feed has been relayed to care systems notified directly (the direct and
-- both routes of [notification]): one row, advanced in the transaction that queues the
-- alarms' ProcessNotification, only from the value it was read at, so each alarm is relayed
-- once whichever engine process gets there first.
CREATE TABLE alarm_relay (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_serial INTEGER NOT NULL
);
INSERT INTO alarm_relay (id, last_serial) VALUES (1, 0);
