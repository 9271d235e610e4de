-- chainwatch core tables: chain-agnostic, keyed by chain id.
-- Heights are chain heights (EVM block number, Solana slot, Aptos block height, Sui checkpoint).

CREATE TABLE chains (
    chain_id   TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    network    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
COMMENT ON TABLE chains IS 'Every chain chainwatch has indexed.';
COMMENT ON COLUMN chains.chain_id IS 'family:network, e.g. evm:1.';
COMMENT ON COLUMN chains.family IS 'Chain family (evm, solana, aptos, sui).';
COMMENT ON COLUMN chains.network IS 'Network within the family (EVM chain id, cluster name).';
COMMENT ON COLUMN chains.created_at IS 'When chainwatch first wrote data for this chain.';

CREATE TABLE blocks (
    chain_id    TEXT NOT NULL REFERENCES chains (chain_id),
    height      BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    parent_hash TEXT NOT NULL,
    block_time  TIMESTAMPTZ NOT NULL,
    tx_count    INTEGER NOT NULL,
    PRIMARY KEY (chain_id, height)
);
CREATE UNIQUE INDEX blocks_chain_hash ON blocks (chain_id, hash);
COMMENT ON TABLE blocks IS 'Canonical blocks only: a reorg deletes the blocks it replaced.';
COMMENT ON COLUMN blocks.chain_id IS 'Chain the block belongs to.';
COMMENT ON COLUMN blocks.height IS 'Chain height of the block.';
COMMENT ON COLUMN blocks.hash IS 'Block hash in the chain''s text form.';
COMMENT ON COLUMN blocks.parent_hash IS 'Parent block hash.';
COMMENT ON COLUMN blocks.block_time IS 'Block timestamp reported by the chain.';
COMMENT ON COLUMN blocks.tx_count IS 'Number of transactions indexed for the block.';

CREATE TABLE transactions (
    chain_id     TEXT NOT NULL REFERENCES chains (chain_id),
    hash         TEXT NOT NULL,
    block_height BIGINT NOT NULL,
    block_hash   TEXT NOT NULL,
    tx_index     INTEGER NOT NULL,
    sender       TEXT,
    recipient    TEXT,
    nonce        NUMERIC(20, 0),
    value        NUMERIC(78, 0),
    fee          NUMERIC(78, 0),
    status       TEXT NOT NULL,
    failure      JSONB,
    extra        JSONB,
    -- Hash first: serves lookups by (chain, hash) and by hash across chains with one index.
    PRIMARY KEY (hash, chain_id)
);
CREATE INDEX transactions_block ON transactions (chain_id, block_height, tx_index);
COMMENT ON TABLE transactions IS 'Transactions of canonical blocks. Finality is derived from block_height and the watermarks, so it is not stored per row.';
COMMENT ON COLUMN transactions.chain_id IS 'Chain of the transaction.';
COMMENT ON COLUMN transactions.hash IS 'Transaction hash (Solana: first signature; Sui: digest).';
COMMENT ON COLUMN transactions.block_height IS 'Height of the including block.';
COMMENT ON COLUMN transactions.block_hash IS 'Hash of the including block.';
COMMENT ON COLUMN transactions.tx_index IS 'Position within the block.';
COMMENT ON COLUMN transactions.sender IS 'Signer or fee payer, lowercase for EVM.';
COMMENT ON COLUMN transactions.recipient IS 'Account or contract called (EVM to); NULL for contract creation.';
COMMENT ON COLUMN transactions.nonce IS 'Sender nonce or sequence number, where the chain has one.';
COMMENT ON COLUMN transactions.value IS 'Native value moved, in the smallest unit.';
COMMENT ON COLUMN transactions.fee IS 'Fee paid, in the smallest native unit.';
COMMENT ON COLUMN transactions.status IS 'SUCCEEDED or FAILED for included transactions.';
COMMENT ON COLUMN transactions.failure IS 'Failure {kind, code, message, location, raw} when FAILED.';
COMMENT ON COLUMN transactions.extra IS 'Chain-specific details (EVM gas used, type, contract created, ...).';

CREATE TABLE address_transactions (
    chain_id     TEXT NOT NULL REFERENCES chains (chain_id),
    address      TEXT NOT NULL,
    block_height BIGINT NOT NULL,
    tx_index     INTEGER NOT NULL,
    -- Reverts find rows through the removed transactions (address, height, index), so no
    -- second index on height is needed.
    PRIMARY KEY (chain_id, address, block_height, tx_index)
);
COMMENT ON TABLE address_transactions IS 'Which addresses each canonical transaction touches (sender and recipient), for queries by address. Narrow on purpose: it holds two rows per transaction.';
COMMENT ON COLUMN address_transactions.chain_id IS 'Chain of the transaction.';
COMMENT ON COLUMN address_transactions.address IS 'An address the transaction touches.';
COMMENT ON COLUMN address_transactions.block_height IS 'Height of the including block (newest first in queries).';
COMMENT ON COLUMN address_transactions.tx_index IS 'Position within the block; with block_height it names the transaction (join transactions on chain_id, block_height, tx_index).';

CREATE TABLE transaction_events (
    id           BIGSERIAL PRIMARY KEY,
    chain_id     TEXT NOT NULL REFERENCES chains (chain_id),
    tx_hash      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    block_height BIGINT,
    block_hash   TEXT,
    seq          BIGINT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    detail       JSONB
);
CREATE INDEX transaction_events_tx ON transaction_events (chain_id, tx_hash, id);
CREATE INDEX transaction_events_reorged ON transaction_events (chain_id, tx_hash) WHERE kind = 'REORGED_OUT';
COMMENT ON TABLE transaction_events IS 'Lifecycle history per transaction. The current inclusion is the transactions row and SAFE/FINALIZED moments come from finality_progress; neither is stored here. A reorg writes the inclusion it ends (INCLUDED or REINCLUDED) and then REORGED_OUT.';
COMMENT ON COLUMN transaction_events.id IS 'Insertion order.';
COMMENT ON COLUMN transaction_events.chain_id IS 'Chain of the transaction.';
COMMENT ON COLUMN transaction_events.tx_hash IS 'The transaction.';
COMMENT ON COLUMN transaction_events.kind IS 'SEEN_PENDING, INCLUDED, REORGED_OUT, REINCLUDED, DROPPED or REPLACED_BY.';
COMMENT ON COLUMN transaction_events.block_height IS 'Block involved (the including block, or the block reorged out).';
COMMENT ON COLUMN transaction_events.block_hash IS 'Hash of that block.';
COMMENT ON COLUMN transaction_events.seq IS 'Bus sequence number of the event that caused this row.';
COMMENT ON COLUMN transaction_events.occurred_at IS 'Block time for inclusions, indexing time for reorgs.';
COMMENT ON COLUMN transaction_events.detail IS 'Extra facts (e.g. the replacing transaction).';

CREATE TABLE reorgs (
    id                BIGSERIAL PRIMARY KEY,
    chain_id          TEXT NOT NULL REFERENCES chains (chain_id),
    fork_height       BIGINT NOT NULL,
    fork_hash         TEXT NOT NULL,
    depth             BIGINT NOT NULL,
    old_head_height   BIGINT NOT NULL,
    old_head_hash     TEXT NOT NULL,
    new_head_height   BIGINT NOT NULL,
    new_head_hash     TEXT NOT NULL,
    reverted_tx_count INTEGER NOT NULL,
    seq               BIGINT NOT NULL,
    detected_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX reorgs_chain ON reorgs (chain_id, id DESC);
COMMENT ON TABLE reorgs IS 'Audit log of every reorg undone.';
COMMENT ON COLUMN reorgs.id IS 'Insertion order.';
COMMENT ON COLUMN reorgs.chain_id IS 'Chain that reorganized.';
COMMENT ON COLUMN reorgs.fork_height IS 'Height of the last block both forks share (kept).';
COMMENT ON COLUMN reorgs.fork_hash IS 'Hash of that block.';
COMMENT ON COLUMN reorgs.depth IS 'Blocks removed: old head height minus fork height.';
COMMENT ON COLUMN reorgs.old_head_height IS 'Head before the reorg.';
COMMENT ON COLUMN reorgs.old_head_hash IS 'Hash of the head before the reorg.';
COMMENT ON COLUMN reorgs.new_head_height IS 'Head of the new fork when the reorg was seen.';
COMMENT ON COLUMN reorgs.new_head_hash IS 'Hash of that head.';
COMMENT ON COLUMN reorgs.reverted_tx_count IS 'Transactions removed with the reverted blocks.';
COMMENT ON COLUMN reorgs.seq IS 'Bus sequence number of the revert event.';
COMMENT ON COLUMN reorgs.detected_at IS 'When chainwatch applied the revert.';

CREATE TABLE finality_progress (
    chain_id   TEXT NOT NULL REFERENCES chains (chain_id),
    level      TEXT NOT NULL,
    height     BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    reached_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, level, height)
);
COMMENT ON TABLE finality_progress IS 'When each safe/finalized height was first seen; a transaction became SAFE/FINALIZED at the first row whose height reaches its block.';
COMMENT ON COLUMN finality_progress.chain_id IS 'Chain.';
COMMENT ON COLUMN finality_progress.level IS 'SAFE or FINALIZED.';
COMMENT ON COLUMN finality_progress.height IS 'Height that reached the level.';
COMMENT ON COLUMN finality_progress.hash IS 'Hash of that block.';
COMMENT ON COLUMN finality_progress.reached_at IS 'When chainwatch applied the finality event.';

CREATE TABLE watermarks (
    chain_id         TEXT PRIMARY KEY REFERENCES chains (chain_id),
    seq              BIGINT NOT NULL,
    height           BIGINT,
    hash             TEXT,
    block_time       TIMESTAMPTZ,
    safe_height      BIGINT,
    finalized_height BIGINT,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
COMMENT ON TABLE watermarks IS 'Per chain: the last applied bus event and the indexed head. Written in the same DB transaction as the rows it covers.';
COMMENT ON COLUMN watermarks.chain_id IS 'Chain.';
COMMENT ON COLUMN watermarks.seq IS 'Highest bus seq applied; events at or below it are skipped (idempotence).';
COMMENT ON COLUMN watermarks.height IS 'Height of the indexed head (NULL before the first block).';
COMMENT ON COLUMN watermarks.hash IS 'Hash of the indexed head.';
COMMENT ON COLUMN watermarks.block_time IS 'Block time of the indexed head, for lag in seconds.';
COMMENT ON COLUMN watermarks.safe_height IS 'Latest safe height reported by the chain.';
COMMENT ON COLUMN watermarks.finalized_height IS 'Latest finalized height reported by the chain.';
COMMENT ON COLUMN watermarks.updated_at IS 'When the row last changed.';

CREATE TABLE chain_status (
    chain_id          TEXT PRIMARY KEY REFERENCES chains (chain_id),
    provider_heads    JSONB NOT NULL,
    best_head_height  BIGINT,
    last_heartbeat_at TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE chain_status IS 'Latest heartbeat per chain: what each provider reports as its head.';
COMMENT ON COLUMN chain_status.chain_id IS 'Chain.';
COMMENT ON COLUMN chain_status.provider_heads IS 'Array of {provider (label, never URL), height, error, health}.';
COMMENT ON COLUMN chain_status.best_head_height IS 'Highest head any provider reported; lag is measured against it.';
COMMENT ON COLUMN chain_status.last_heartbeat_at IS 'When the heartbeat was read (provider clock-independent: ingest time).';

-- The API connects with a read-only role. Roles are cluster-wide: create it once.
DO $$
BEGIN
    CREATE ROLE chainwatch_reader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
GRANT USAGE ON SCHEMA public TO chainwatch_reader;
GRANT SELECT ON chains, blocks, transactions, address_transactions, transaction_events, reorgs,
    finality_progress, watermarks, chain_status TO chainwatch_reader;
