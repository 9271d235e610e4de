COMMENT ON COLUMN transaction_events.seq IS 'Bus sequence number of the event that caused this row.';
DROP INDEX transaction_events_watch_once;
DELETE FROM transaction_events WHERE kind IN ('SEEN_PENDING', 'DROPPED', 'REPLACED_BY');
REVOKE ALL ON watched_transactions FROM chainwatch_reader;
DROP TABLE watched_transactions;
