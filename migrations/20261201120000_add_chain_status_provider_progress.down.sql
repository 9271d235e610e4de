ALTER TABLE chain_status DROP COLUMN provider_progress;
