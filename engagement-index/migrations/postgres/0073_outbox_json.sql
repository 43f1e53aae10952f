-- The outbox document is written once, as the text the index made, and read once, whole, by
-- the fan-out; nothing queries inside it. As `json` it is stored as written (checked, not
-- converted); as `jsonb` every write paid for converting it to the binary form, about a fifth of
-- an Update of 1000 engagements (docs/benchmarks.md). ALTER on the partitioned table changes
-- every partition.
ALTER TABLE notification_outbox ALTER COLUMN transactions TYPE JSON USING transactions::json;
