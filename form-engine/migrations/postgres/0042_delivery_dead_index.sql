-- Dead letters read through their own partial index (the queue figures, the admin listing),
-- so the delivered messages kept for retention are never scanned to count them.
CREATE INDEX delivery_dead ON delivery (destination, id) WHERE state = 'dead';
