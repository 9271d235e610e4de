-- Per provider: the last head height it reported and when that height first appeared, so that
-- operators can tell a halted chain (every provider's head stops) from a stuck indexer (heads
-- move, the indexed height does not).
ALTER TABLE chain_status
    ADD COLUMN provider_progress JSONB NOT NULL DEFAULT '{}'::jsonb;

COMMENT ON COLUMN chain_status.provider_progress IS 'Object keyed by provider label (never URL): {height, changed_at_ms}: the last head height the provider reported (kept while it does not answer) and the heartbeat time (ms since the Unix epoch, ingest clock) at which that height was first reported.';
