-- The watch list: transactions someone traced (`chainwatch trace`, GraphQL `traceTransaction`)
-- that are not final yet. A poller re-traces each open entry until it is indexed, replaced,
-- dropped or expired, and records SEEN_PENDING / DROPPED / REPLACED_BY in transaction_events.
-- It remembers what a provider once said about the transaction (sender, nonce, call, fee cap),
-- because once every provider has forgotten it that cannot be read from the chain any more.
CREATE TABLE watched_transactions (
    chain_id       TEXT NOT NULL REFERENCES chains (chain_id),
    hash           TEXT NOT NULL,
    sender         TEXT,
    nonce          NUMERIC(20, 0),
    recipient      TEXT,
    value          NUMERIC(78, 0),
    input_hash     TEXT,
    max_fee        NUMERIC(78, 0),
    seen_height    BIGINT,
    first_seen_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at   TIMESTAMPTZ,
    last_traced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_status    TEXT NOT NULL,
    last_reason    TEXT,
    last_message   TEXT NOT NULL,
    final          BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (chain_id, hash)
);
CREATE INDEX watched_transactions_open ON watched_transactions (chain_id, last_traced_at) WHERE NOT final;
COMMENT ON TABLE watched_transactions IS 'Traced transactions, polled until final. One row per (chain, hash); re-tracing updates it.';
COMMENT ON COLUMN watched_transactions.chain_id IS 'Chain of the transaction.';
COMMENT ON COLUMN watched_transactions.hash IS 'Transaction hash in the chain''s text form (lowercase hex on EVM).';
COMMENT ON COLUMN watched_transactions.sender IS 'Signer, as a provider reported it while it knew the transaction; NULL if never seen.';
COMMENT ON COLUMN watched_transactions.nonce IS 'Sender nonce (EVM) or sequence number (Aptos) of the transaction.';
COMMENT ON COLUMN watched_transactions.recipient IS 'Account or contract called (EVM to); NULL for contract creation or if never seen.';
COMMENT ON COLUMN watched_transactions.value IS 'Native value moved, in the smallest unit, for telling a speed-up from another replacement.';
COMMENT ON COLUMN watched_transactions.input_hash IS 'Hash of the call data (EVM keccak-256 of input), for telling a speed-up from another replacement.';
COMMENT ON COLUMN watched_transactions.max_fee IS 'Fee cap per gas (maxFeePerGas, or gasPrice for legacy), in the smallest unit.';
COMMENT ON COLUMN watched_transactions.seen_height IS 'Chain head height when a provider last knew the transaction: a replacement was mined above it.';
COMMENT ON COLUMN watched_transactions.first_seen_at IS 'When the transaction was first traced.';
COMMENT ON COLUMN watched_transactions.last_seen_at IS 'When a provider last knew the transaction (pending or in a block); NULL if never.';
COMMENT ON COLUMN watched_transactions.last_traced_at IS 'When the transaction was last traced.';
COMMENT ON COLUMN watched_transactions.last_status IS 'Verdict of the last trace: PENDING, INCLUDED, FAILED, INDEXED, REPLACED, DROPPED, EXPIRED or NOT_FOUND.';
COMMENT ON COLUMN watched_transactions.last_reason IS 'Why it was pending at the last trace: NONCE_GAP, FEE_TOO_LOW or WAITING.';
COMMENT ON COLUMN watched_transactions.last_message IS 'The last trace''s verdict in plain words.';
COMMENT ON COLUMN watched_transactions.final IS 'True once the verdict cannot change (indexed, replaced, dropped, expired): the poller stops.';

-- Watch-list events happen once per transaction: re-running the poller never duplicates them.
CREATE UNIQUE INDEX transaction_events_watch_once ON transaction_events (chain_id, tx_hash, kind)
    WHERE kind IN ('SEEN_PENDING', 'DROPPED', 'REPLACED_BY');
COMMENT ON COLUMN transaction_events.seq IS 'Bus sequence number of the event that caused this row; 0 for the watch list''s SEEN_PENDING, DROPPED and REPLACED_BY, which no bus event causes.';

GRANT SELECT ON watched_transactions TO chainwatch_reader;
