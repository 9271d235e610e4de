//! The API's reads. Finality of a transaction is derived here from its block height and the
//! chain's watermarks, never stored per row.
//!
//! Contracts:
//! - Every method is a read: it never writes and works on a read-only connection
//!   ([`Store::connect_read_only`]).
//! - A transaction's [`Finality`] is `FINALIZED` when its block height is at or below the chain's
//!   finalized watermark, `SAFE` when at or below the safe watermark, `INCLUDED` otherwise.
//! - A transaction that a reorg removed and that no later block included again is reported with
//!   status [`TxStatus::ReorgedOut`], no block and no finality.
//! - Times are milliseconds since the Unix epoch; NUMERIC columns (nonce, value, fee) are returned
//!   as decimal strings so that no precision is lost.
//! - Lists ([`Store::address_transactions`], [`Store::block_transactions`], [`Store::reorgs`])
//!   are keyset pages: they take the last key of the previous page ([`TxKey`], a reorg id) and
//!   return the entries strictly past it plus whether more follow ([`Page`]), so rows written
//!   between two page reads above the first page never shift later pages. Filters on derived
//!   finality compare the block height to the watermarks in SQL, as [`TxRecord::finality`] does.
//! - A stored value that does not decode into the model (an unknown status, malformed failure
//!   JSON) is a [`StoreError::Query`] wrapping [`sqlx::Error::Decode`], never a panic.

use chainwatch_schema::{ChainId, Failure, Finality, ProviderHead, TxStatus};
use serde::Serialize;
use sqlx::{Row, postgres::PgRow, types::Json};

use crate::{Store, StoreError};

/// A transaction as the API shows it: the stored row with its derived finality. Serializes to
/// JSON with the field names below (for the CLI and logs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TxRecord {
    /// The chain.
    pub chain: ChainId,
    /// Transaction hash in the chain's text form.
    pub hash: String,
    /// Height of the including canonical block; `None` when reorged out.
    pub block_height: Option<u64>,
    /// Hash of the including block; `None` when reorged out.
    pub block_hash: Option<String>,
    /// Time of the including block, ms since the Unix epoch; `None` when reorged out.
    pub block_time_ms: Option<u64>,
    /// Position in the block; `None` when reorged out.
    pub index: Option<u32>,
    /// Signer or fee payer, if the chain names one.
    pub sender: Option<String>,
    /// Account or contract called (EVM `to`), if any.
    pub to: Option<String>,
    /// Sender nonce or sequence number, as a decimal string.
    pub nonce: Option<String>,
    /// Native value moved, smallest unit, as a decimal string.
    pub value: Option<String>,
    /// Fee paid, smallest unit, as a decimal string.
    pub fee: Option<String>,
    /// `SUCCEEDED` or `FAILED` for included transactions, `REORGED_OUT` for removed ones.
    pub status: TxStatus,
    /// Why it failed, when `status` is `FAILED`.
    pub failure: Option<Failure>,
    /// Chain-specific details; `Null` when there are none.
    pub extra: serde_json::Value,
    /// Derived finality; `None` when the transaction is in no canonical block (reorged out).
    pub finality: Option<Finality>,
    /// Confirmations: indexed head height − block height + 1 (1 in the head block); `None` when
    /// the transaction is in no canonical block.
    pub confirmations: Option<u64>,
}

/// One step of a transaction's lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// `INCLUDED`, `REORGED_OUT`, `REINCLUDED`, … as stored, or the derived `SAFE` / `FINALIZED`.
    pub kind: String,
    /// When it happened, ms since the Unix epoch: block time for inclusions, indexing time for
    /// reorgs, the time chainwatch saw the safe/finalized head for `SAFE` / `FINALIZED`.
    pub at_ms: u64,
    /// The block involved: the including or reorged-out block, or for `SAFE` / `FINALIZED` the
    /// safe/finalized head that first covered the transaction's block.
    pub block_height: Option<u64>,
    /// Hash of that block.
    pub block_hash: Option<String>,
    /// Extra facts of a stored event: for `REPLACED_BY`, `replaced_by` (the replacing
    /// transaction's hash) and `replacement` (`SPEED_UP`, `CANCEL`, `OTHER`); `None` otherwise.
    pub detail: Option<serde_json::Value>,
}

/// A chain's indexing progress, finality and provider health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainStatusRecord {
    /// The chain.
    pub chain: ChainId,
    /// Height of the indexed head; `None` before the first block.
    pub indexed_height: Option<u64>,
    /// Hash of the indexed head.
    pub indexed_hash: Option<String>,
    /// Block time of the indexed head, ms since the Unix epoch.
    pub indexed_block_time_ms: Option<u64>,
    /// Latest safe height the chain reported.
    pub safe_height: Option<u64>,
    /// Latest finalized height the chain reported.
    pub finalized_height: Option<u64>,
    /// Highest head any provider reported in the last heartbeat.
    pub best_head_height: Option<u64>,
    /// `max(best head − indexed height, 0)`; `None` until both are known.
    pub lag_blocks: Option<u64>,
    /// Seconds from the indexed head's block time to now (database clock); `None` before the first
    /// block. Negative only if the chain's clock runs ahead of the database's.
    pub lag_seconds: Option<f64>,
    /// Each provider's head as of the last heartbeat (empty before the first).
    pub providers: Vec<ProviderHead>,
    /// When the last heartbeat was read, ms since the Unix epoch.
    pub last_heartbeat_ms: Option<u64>,
}

impl ChainStatusRecord {
    /// The status of a chain that has no data yet (configured, nothing indexed).
    pub fn unindexed(chain: ChainId) -> Self {
        Self {
            chain,
            indexed_height: None,
            indexed_hash: None,
            indexed_block_time_ms: None,
            safe_height: None,
            finalized_height: None,
            best_head_height: None,
            lag_blocks: None,
            lag_seconds: None,
            providers: Vec::new(),
            last_heartbeat_ms: None,
        }
    }
}

/// Columns of a transaction row joined with its block and the chain's watermark (a macro so that
/// `concat!` keeps the SQL a `&'static str`, as sqlx requires).
macro_rules! tx_select {
    () => {
        concat!(tx_columns!(), " FROM transactions t", tx_joins!())
    };
}

/// The columns `tx_record` reads, from `transactions t`, `blocks b` and `watermarks w`.
macro_rules! tx_columns {
    () => {
        "
    SELECT t.chain_id, t.hash, t.block_height, t.block_hash,
           (extract(epoch FROM b.block_time) * 1000)::bigint AS block_time_ms,
           t.tx_index, t.sender, t.recipient, t.nonce::text AS nonce, t.value::text AS value,
           t.fee::text AS fee, t.status, t.failure, t.extra,
           w.safe_height, w.finalized_height, w.height AS head_height"
    };
}

/// The block and watermark joins of `tx_columns` for `transactions t`.
macro_rules! tx_joins {
    () => {
        "
    LEFT JOIN blocks b ON b.chain_id = t.chain_id AND b.height = t.block_height
    LEFT JOIN watermarks w ON w.chain_id = t.chain_id"
    };
}

/// A chain joined with its watermark and last heartbeat (a macro: see `tx_select`).
macro_rules! chain_select {
    () => {
        "
    SELECT c.chain_id, w.height, w.hash,
           (extract(epoch FROM w.block_time) * 1000)::bigint AS block_time_ms,
           w.safe_height, w.finalized_height, s.best_head_height, s.provider_heads,
           (extract(epoch FROM s.last_heartbeat_at) * 1000)::bigint AS heartbeat_ms,
           -- GREATEST ignores NULLs: keep the lag unknown until both heights are.
           CASE WHEN s.best_head_height IS NOT NULL AND w.height IS NOT NULL
                THEN GREATEST(s.best_head_height - w.height, 0) END AS lag_blocks,
           extract(epoch FROM (now() - w.block_time))::float8 AS lag_seconds
    FROM chains c
    LEFT JOIN watermarks w ON w.chain_id = c.chain_id
    LEFT JOIN chain_status s ON s.chain_id = c.chain_id"
    };
}

/// The index events of `transaction_events e`: not the watch list's (`SEEN_PENDING`,
/// `DROPPED`, `REPLACED_BY`). Whether a transaction is reorged out is read from the latest of
/// these (a macro: see `tx_select`).
macro_rules! index_event {
    () => {
        "e.kind NOT IN ('SEEN_PENDING', 'DROPPED', 'REPLACED_BY')"
    };
}

/// Chains (one row each) where the latest index event of `$1` (the watch list's events do not
/// count) is `REORGED_OUT` and no row remains.
/// The lateral subquery walks the `(chain_id, tx_hash, id)` index once per chain.
const REORGED_OUT_SELECT: &str = concat!(
    "
    SELECT c.chain_id
    FROM chains c
    CROSS JOIN LATERAL (
        SELECT e.kind FROM transaction_events e
        WHERE e.chain_id = c.chain_id AND e.tx_hash = $1 AND ",
    index_event!(),
    "
        ORDER BY e.id DESC LIMIT 1) last
    WHERE last.kind = 'REORGED_OUT'
      AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.chain_id = c.chain_id AND t.hash = $1)"
);

impl Store {
    /// Every indexed transaction with this exact `hash`, across all chains, ordered by chain id:
    /// canonical ones and those a reorg left out (see [`Store::transaction`]).
    pub async fn transactions_by_hash(&self, hash: &str) -> Result<Vec<TxRecord>, StoreError> {
        let rows = sqlx::query(concat!(tx_select!(), " WHERE t.hash = $1"))
            .bind(hash)
            .fetch_all(&self.pool)
            .await?;
        let mut out = rows.iter().map(tx_record).collect::<Result<Vec<_>, _>>()?;
        let gone: Vec<String> = sqlx::query_scalar(REORGED_OUT_SELECT)
            .bind(hash)
            .fetch_all(&self.pool)
            .await?;
        for chain in gone {
            out.push(reorged_out(chain_id(&chain)?, hash));
        }
        out.sort_by(|a, b| a.chain.cmp(&b.chain));
        Ok(out)
    }

    /// The lifecycle of `hash` on `chain`: stored events (earlier inclusions, `REORGED_OUT`, …)
    /// in the order they were written, then the current inclusion (`INCLUDED`, or `REINCLUDED`
    /// after a reorg; derived from the transaction's row, block time as its time), then the
    /// derived `SAFE` and `FINALIZED`
    /// moments of the current inclusion, if the transaction has reached them. Empty when the
    /// transaction is unknown.
    ///
    /// A derived moment is the first safe/finalized head (lowest height) at or above the
    /// transaction's block that chainwatch saw no earlier than the current inclusion's event time.
    pub async fn timeline(
        &self,
        chain: &ChainId,
        hash: &str,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, (extract(epoch FROM occurred_at) * 1000)::bigint AS at_ms,
                    block_height, block_hash, detail
             FROM transaction_events WHERE chain_id = $1 AND tx_hash = $2 ORDER BY id",
        )
        .bind(chain.as_str())
        .bind(hash)
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(timeline_entry)
            .collect::<Result<Vec<_>, _>>()?;
        // The current inclusion is not stored as an event: it is the transaction's row.
        let current = sqlx::query(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM transaction_events e
                                      WHERE e.chain_id = t.chain_id AND e.tx_hash = t.hash
                                        AND e.kind = 'REORGED_OUT')
                         THEN 'REINCLUDED' ELSE 'INCLUDED' END AS kind,
                    (extract(epoch FROM b.block_time) * 1000)::bigint AS at_ms,
                    t.block_height, t.block_hash, NULL::jsonb AS detail
             FROM transactions t
             JOIN blocks b ON b.chain_id = t.chain_id AND b.height = t.block_height
             WHERE t.chain_id = $1 AND t.hash = $2",
        )
        .bind(chain.as_str())
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = &current {
            out.push(timeline_entry(row)?);
        }
        let derived = sqlx::query(
            "WITH tx AS (
                 SELECT t.chain_id, t.block_height, w.safe_height, w.finalized_height
                 FROM transactions t JOIN watermarks w ON w.chain_id = t.chain_id
                 WHERE t.chain_id = $1 AND t.hash = $2)
             SELECT lv.level AS kind, (extract(epoch FROM fp.reached_at) * 1000)::bigint AS at_ms,
                    fp.height AS block_height, fp.hash AS block_hash, NULL::jsonb AS detail
             FROM tx
             CROSS JOIN (VALUES ('SAFE', 1), ('FINALIZED', 2)) AS lv(level, ord)
             CROSS JOIN LATERAL (
                 SELECT p.height, p.hash, p.reached_at FROM finality_progress p
                 WHERE p.chain_id = tx.chain_id AND p.level = lv.level
                   AND p.height >= tx.block_height
                 ORDER BY p.height LIMIT 1) fp
             WHERE tx.block_height <= CASE lv.level
                       WHEN 'SAFE' THEN GREATEST(tx.safe_height, tx.finalized_height)
                       ELSE tx.finalized_height END
             ORDER BY lv.ord",
        )
        .bind(chain.as_str())
        .bind(hash)
        .fetch_all(&self.pool)
        .await?;
        for row in &derived {
            out.push(timeline_entry(row)?);
        }
        Ok(out)
    }

    /// The status of every chain that has data, ordered by chain id.
    pub async fn chain_statuses(&self) -> Result<Vec<ChainStatusRecord>, StoreError> {
        let rows = sqlx::query(concat!(chain_select!(), " ORDER BY c.chain_id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(chain_status_record).collect()
    }

    /// The status of `chain`, or `None` if it has no data (see [`ChainStatusRecord::unindexed`]).
    pub async fn chain_status(
        &self,
        chain: &ChainId,
    ) -> Result<Option<ChainStatusRecord>, StoreError> {
        let row = sqlx::query(concat!(chain_select!(), " WHERE c.chain_id = $1"))
            .bind(chain.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(chain_status_record).transpose()
    }

    /// Whether chainwatch has written data for `chain` (a row in `chains`).
    pub async fn known_chain(&self, chain: &ChainId) -> Result<bool, StoreError> {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM chains WHERE chain_id = $1)")
                .bind(chain.as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(known)
    }

    /// Every chain that has data, ordered by id.
    pub async fn chain_ids(&self) -> Result<Vec<ChainId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT chain_id FROM chains ORDER BY chain_id")
            .fetch_all(&self.pool)
            .await?;
        ids.iter().map(|s| chain_id(s)).collect()
    }

    /// Readiness: `Ok` when the database answers a trivial query. Waits at most the pool's
    /// acquire timeout for a connection.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// A position in a newest-first transaction list: `(block_height, tx_index)`. Pages are keysets:
/// the page after a key holds the entries strictly below it, so blocks indexed between two
/// page reads (which sit above the first page) never shift later pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TxKey {
    /// Height of the including block.
    pub block_height: u64,
    /// Position in the block.
    pub tx_index: u32,
}

impl TxKey {
    /// The key of an included transaction (`None` for one in no block).
    pub fn of(tx: &TxRecord) -> Option<Self> {
        Some(Self {
            block_height: tx.block_height?,
            tx_index: tx.index?,
        })
    }
}

/// Filters of [`Store::address_transactions`]; the default keeps everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxFilter {
    /// Only transactions with this status (`SUCCEEDED` or `FAILED`: indexed rows have no other).
    pub status: Option<TxStatus>,
    /// Only transactions at least this final, derived in SQL from the chain's watermarks as in
    /// [`TxRecord::finality`]. `PENDING` and `INCLUDED` keep every indexed transaction.
    pub min_finality: Option<Finality>,
    /// Only transactions in blocks with a time at or after this, ms since the Unix epoch.
    pub since_ms: Option<u64>,
    /// Only transactions in blocks with a time before this, ms since the Unix epoch.
    pub until_ms: Option<u64>,
}

/// One page of a list, and whether entries follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The entries, at most the requested number.
    pub items: Vec<T>,
    /// Whether at least one more entry follows the last one.
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// Splits `rows`, fetched with a limit of `first + 1`, into a page of at most `first`.
    fn of(mut items: Vec<T>, first: usize) -> Self {
        let has_next_page = items.len() > first;
        items.truncate(first);
        Self {
            items,
            has_next_page,
        }
    }
}

/// A canonical block with its derived finality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockRecord {
    /// The chain.
    pub chain: ChainId,
    /// Chain height.
    pub height: u64,
    /// Block hash in the chain's text form.
    pub hash: String,
    /// Parent block hash.
    pub parent_hash: String,
    /// Block time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Number of transactions indexed for the block.
    pub tx_count: u32,
    /// Derived from the height and the chain's watermarks, as for transactions.
    pub finality: Finality,
}

/// One reorg chainwatch undid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReorgRecord {
    /// Insertion order: newer reorgs have larger ids.
    pub id: u64,
    /// The chain.
    pub chain: ChainId,
    /// Height of the last block both forks share (kept).
    pub fork_height: u64,
    /// Hash of that block.
    pub fork_hash: String,
    /// Blocks removed: old head height minus fork height.
    pub depth: u64,
    /// Head height before the reorg.
    pub old_head_height: u64,
    /// Head hash before the reorg.
    pub old_head_hash: String,
    /// Head height of the new fork when the reorg was seen.
    pub new_head_height: u64,
    /// Head hash of the new fork.
    pub new_head_hash: String,
    /// Transactions removed with the reverted blocks.
    pub reverted_tx_count: u32,
    /// When chainwatch applied the revert, ms since the Unix epoch.
    pub detected_at_ms: u64,
}

/// A block joined with its chain's watermark (a macro: see `tx_select`).
macro_rules! block_select {
    () => {
        "
    SELECT b.chain_id, b.height, b.hash, b.parent_hash,
           (extract(epoch FROM b.block_time) * 1000)::bigint AS time_ms, b.tx_count,
           w.safe_height, w.finalized_height
    FROM blocks b
    LEFT JOIN watermarks w ON w.chain_id = b.chain_id"
    };
}

/// A height or id as a BIGINT bind; values past `i64::MAX` (never stored) clamp to it.
fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Which filters an address page applies: each combination is its own statement.
///
/// One statement with every filter behind `$n IS NULL OR …` made Postgres plan it anew at every
/// execution (its generic plan cannot drop the unused filters, so the custom plan always looked
/// cheaper), and planning took as long as running it. A statement per shape keeps only the
/// filters in use, and its generic plan is cached per connection.
#[derive(Debug, Clone, Copy)]
struct PageShape {
    after: bool,
    status: bool,
    /// 0: no finality filter, 1: SAFE or better, 2: FINALIZED.
    min_level: i32,
    since: bool,
    until: bool,
}

impl PageShape {
    const COUNT: usize = 48;

    fn index(self) -> usize {
        let level = usize::try_from(self.min_level.clamp(0, 2)).unwrap_or(0);
        (usize::from(self.after)
            | usize::from(self.status) << 1
            | usize::from(self.since) << 2
            | usize::from(self.until) << 3)
            * 3
            + level
    }

    fn of_index(i: usize) -> Self {
        let bits = i / 3;
        Self {
            after: bits & 1 != 0,
            status: bits & 2 != 0,
            since: bits & 4 != 0,
            until: bits & 8 != 0,
            min_level: (i % 3) as i32,
        }
    }

    /// The statement: `$1` chain, `$2` address, `$3` the LIMIT, then in this order as present:
    /// the `after` key (height, index), status, since (ms), until (ms).
    fn sql(self) -> &'static str {
        static SQL: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
            (0..PageShape::COUNT)
                .map(|i| PageShape::of_index(i).build())
                .collect()
        });
        &SQL[self.index()]
    }

    fn build(self) -> String {
        let mut sql = concat!(
            tx_columns!(),
            "
    FROM address_transactions a
    JOIN transactions t ON t.chain_id = a.chain_id AND t.block_height = a.block_height
                       AND t.tx_index = a.tx_index",
            tx_joins!(),
            "
    WHERE a.chain_id = $1 AND a.address = $2"
        )
        .to_owned();
        let mut n = 3;
        let mut next = || {
            n += 1;
            n
        };
        if self.after {
            let (h, i) = (next(), next());
            sql += &format!("\n      AND (a.block_height, a.tx_index) < (${h}::bigint, ${i}::int)");
        }
        if self.status {
            sql += &format!("\n      AND t.status = ${}", next());
        }
        // As derive_finality: SAFE or better at or below either watermark, FINALIZED at or
        // below the finalized one. A NULL watermark covers nothing.
        if self.min_level >= 1 {
            sql += "\n      AND t.block_height <= GREATEST(w.safe_height, w.finalized_height)";
        }
        if self.min_level >= 2 {
            sql += "\n      AND t.block_height <= w.finalized_height";
        }
        if self.since {
            sql += &format!(
                "\n      AND b.block_time >= to_timestamp(${}::bigint / 1000.0)",
                next()
            );
        }
        if self.until {
            sql += &format!(
                "\n      AND b.block_time < to_timestamp(${}::bigint / 1000.0)",
                next()
            );
        }
        sql += "\n    ORDER BY a.block_height DESC, a.tx_index DESC\n    LIMIT $3";
        sql
    }
}

/// `first + 1` as a LIMIT: one extra row tells whether another page follows.
fn limit_plus_one(first: usize) -> i64 {
    i64::try_from(first).unwrap_or(i64::MAX - 1) + 1
}

impl Store {
    /// The transactions touching `address` (as sender or recipient) on `chain`, newest first
    /// (block height, then index, descending), that pass `filter`: at most `first` of those
    /// strictly below `after` (from the top when `None`).
    ///
    /// `address` is compared exactly: callers normalize it (EVM: lowercase). Walks the
    /// `address_transactions` primary key backwards and joins each entry to its transaction on
    /// `(chain_id, block_height, tx_index)`.
    pub async fn address_transactions(
        &self,
        chain: &ChainId,
        address: &str,
        filter: TxFilter,
        after: Option<TxKey>,
        first: usize,
    ) -> Result<Page<TxRecord>, StoreError> {
        // 0: no finality filter, 1: SAFE or better, 2: FINALIZED.
        let min_level: i32 = match filter.min_finality {
            Some(Finality::Finalized) => 2,
            Some(Finality::Safe) => 1,
            _ => 0,
        };
        let shape = PageShape {
            after: after.is_some(),
            status: filter.status.is_some(),
            min_level,
            since: filter.since_ms.is_some(),
            until: filter.until_ms.is_some(),
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(shape.sql()))
            .bind(chain.as_str())
            .bind(address)
            .bind(limit_plus_one(first));
        // In `PageShape::sql`'s parameter order.
        if let Some(k) = after {
            q = q
                .bind(clamp_i64(k.block_height))
                .bind(i32::try_from(k.tx_index).unwrap_or(i32::MAX));
        }
        if let Some(status) = filter.status {
            q = q.bind(status.as_str());
        }
        if let Some(ms) = filter.since_ms {
            q = q.bind(clamp_i64(ms));
        }
        if let Some(ms) = filter.until_ms {
            q = q.bind(clamp_i64(ms));
        }
        let rows = q.fetch_all(&self.pool).await?;
        let txs = rows.iter().map(tx_record).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::of(txs, first))
    }

    /// The canonical block at `height` on `chain`, if indexed.
    pub async fn block_by_height(
        &self,
        chain: &ChainId,
        height: u64,
    ) -> Result<Option<BlockRecord>, StoreError> {
        let Ok(height) = i64::try_from(height) else {
            return Ok(None);
        };
        let row = sqlx::query(concat!(
            block_select!(),
            " WHERE b.chain_id = $1 AND b.height = $2"
        ))
        .bind(chain.as_str())
        .bind(height)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(block_record).transpose()
    }

    /// The canonical block with this exact `hash` on `chain`, if indexed (callers normalize
    /// the hash).
    pub async fn block_by_hash(
        &self,
        chain: &ChainId,
        hash: &str,
    ) -> Result<Option<BlockRecord>, StoreError> {
        let row = sqlx::query(concat!(
            block_select!(),
            " WHERE b.chain_id = $1 AND b.hash = $2"
        ))
        .bind(chain.as_str())
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(block_record).transpose()
    }

    /// The transactions of the canonical block at `height` on `chain` in index order: at most
    /// `first` of those with an index above `after_index` (from the start when `None`).
    pub async fn block_transactions(
        &self,
        chain: &ChainId,
        height: u64,
        after_index: Option<u32>,
        first: usize,
    ) -> Result<Page<TxRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            tx_select!(),
            " WHERE t.chain_id = $1 AND t.block_height = $2 AND t.tx_index > $3
              ORDER BY t.tx_index LIMIT $4"
        ))
        .bind(chain.as_str())
        .bind(clamp_i64(height))
        .bind(after_index.map_or(-1, i64::from))
        .bind(limit_plus_one(first))
        .fetch_all(&self.pool)
        .await?;
        let txs = rows.iter().map(tx_record).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::of(txs, first))
    }

    /// The reorgs of `chain`, newest first: at most `first` of those with an id below
    /// `after_id` (from the newest when `None`).
    pub async fn reorgs(
        &self,
        chain: &ChainId,
        after_id: Option<u64>,
        first: usize,
    ) -> Result<Page<ReorgRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, chain_id, fork_height, fork_hash, depth, old_head_height, old_head_hash,
                    new_head_height, new_head_hash, reverted_tx_count,
                    (extract(epoch FROM detected_at) * 1000)::bigint AS detected_at_ms
             FROM reorgs
             WHERE chain_id = $1 AND ($2::bigint IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(chain.as_str())
        .bind(after_id.map(clamp_i64))
        .bind(limit_plus_one(first))
        .fetch_all(&self.pool)
        .await?;
        let reorgs = rows
            .iter()
            .map(reorg_record)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::of(reorgs, first))
    }
}

/// A NOT NULL, non-negative BIGINT column as `u64`.
fn req_u64(row: &PgRow, col: &str) -> Result<u64, StoreError> {
    opt_u64(row, col)?.ok_or_else(|| decode_error(format!("{col} is NULL")))
}

/// A non-negative INTEGER column as `u32`.
fn req_u32(row: &PgRow, col: &str) -> Result<u32, StoreError> {
    let v: i32 = row.try_get(col)?;
    u32::try_from(v).map_err(|_| decode_error(format!("{col} {v} is negative")))
}

fn block_record(row: &PgRow) -> Result<BlockRecord, StoreError> {
    let height = req_u64(row, "height")?;
    Ok(BlockRecord {
        chain: chain_id(row.try_get("chain_id")?)?,
        height,
        hash: row.try_get("hash")?,
        parent_hash: row.try_get("parent_hash")?,
        time_ms: req_u64(row, "time_ms")?,
        tx_count: req_u32(row, "tx_count")?,
        finality: derive_finality(
            height,
            opt_u64(row, "safe_height")?,
            opt_u64(row, "finalized_height")?,
        ),
    })
}

fn reorg_record(row: &PgRow) -> Result<ReorgRecord, StoreError> {
    Ok(ReorgRecord {
        id: req_u64(row, "id")?,
        chain: chain_id(row.try_get("chain_id")?)?,
        fork_height: req_u64(row, "fork_height")?,
        fork_hash: row.try_get("fork_hash")?,
        depth: req_u64(row, "depth")?,
        old_head_height: req_u64(row, "old_head_height")?,
        old_head_hash: row.try_get("old_head_hash")?,
        new_head_height: req_u64(row, "new_head_height")?,
        new_head_hash: row.try_get("new_head_hash")?,
        reverted_tx_count: req_u32(row, "reverted_tx_count")?,
        detected_at_ms: req_u64(row, "detected_at_ms")?,
    })
}

/// Finality of a transaction at `height` given the chain's watermarks.
fn derive_finality(height: u64, safe: Option<u64>, finalized: Option<u64>) -> Finality {
    if finalized.is_some_and(|f| height <= f) {
        Finality::Finalized
    } else if safe.is_some_and(|s| height <= s) {
        Finality::Safe
    } else {
        Finality::Included
    }
}

fn decode_error(msg: String) -> StoreError {
    StoreError::Query(sqlx::Error::Decode(msg.into()))
}

pub(crate) fn chain_id(s: &str) -> Result<ChainId, StoreError> {
    ChainId::new(s).map_err(|e| decode_error(format!("stored chain id: {e}")))
}

/// A non-negative BIGINT column as `u64`.
fn opt_u64(row: &PgRow, col: &str) -> Result<Option<u64>, StoreError> {
    let v: Option<i64> = row.try_get(col)?;
    v.map(|v| u64::try_from(v).map_err(|_| decode_error(format!("{col} {v} is negative"))))
        .transpose()
}

pub(crate) fn reorged_out(chain: ChainId, hash: &str) -> TxRecord {
    TxRecord {
        chain,
        hash: hash.to_owned(),
        block_height: None,
        block_hash: None,
        block_time_ms: None,
        index: None,
        sender: None,
        to: None,
        nonce: None,
        value: None,
        fee: None,
        status: TxStatus::ReorgedOut,
        failure: None,
        extra: serde_json::Value::Null,
        finality: None,
        confirmations: None,
    }
}

pub(crate) fn tx_record(row: &PgRow) -> Result<TxRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let status = TxStatus::parse(&status)
        .ok_or_else(|| decode_error(format!("unknown transaction status {status:?}")))?;
    let height = opt_u64(row, "block_height")?.unwrap_or_default();
    let index: i32 = row.try_get("tx_index")?;
    let failure: Option<Json<Failure>> = row.try_get("failure")?;
    let extra: Option<serde_json::Value> = row.try_get("extra")?;
    let confirmations =
        opt_u64(row, "head_height")?.map(|head| head.saturating_sub(height).saturating_add(1));
    Ok(TxRecord {
        chain: chain_id(row.try_get("chain_id")?)?,
        hash: row.try_get("hash")?,
        block_height: Some(height),
        block_hash: Some(row.try_get("block_hash")?),
        block_time_ms: opt_u64(row, "block_time_ms")?,
        index: u32::try_from(index).ok(),
        sender: row.try_get("sender")?,
        to: row.try_get("recipient")?,
        nonce: row.try_get("nonce")?,
        value: row.try_get("value")?,
        fee: row.try_get("fee")?,
        status,
        failure: failure.map(|Json(f)| f),
        extra: extra.unwrap_or_default(),
        finality: Some(derive_finality(
            height,
            opt_u64(row, "safe_height")?,
            opt_u64(row, "finalized_height")?,
        )),
        confirmations,
    })
}

fn timeline_entry(row: &PgRow) -> Result<TimelineEntry, StoreError> {
    let at_ms: i64 = row.try_get("at_ms")?;
    Ok(TimelineEntry {
        kind: row.try_get("kind")?,
        at_ms: u64::try_from(at_ms).unwrap_or_default(),
        block_height: opt_u64(row, "block_height")?,
        block_hash: row.try_get("block_hash")?,
        detail: row.try_get("detail")?,
    })
}

fn chain_status_record(row: &PgRow) -> Result<ChainStatusRecord, StoreError> {
    let providers: Option<Json<Vec<ProviderHead>>> = row.try_get("provider_heads")?;
    Ok(ChainStatusRecord {
        chain: chain_id(row.try_get("chain_id")?)?,
        indexed_height: opt_u64(row, "height")?,
        indexed_hash: row.try_get("hash")?,
        indexed_block_time_ms: opt_u64(row, "block_time_ms")?,
        safe_height: opt_u64(row, "safe_height")?,
        finalized_height: opt_u64(row, "finalized_height")?,
        best_head_height: opt_u64(row, "best_head_height")?,
        lag_blocks: opt_u64(row, "lag_blocks")?,
        lag_seconds: row.try_get("lag_seconds")?,
        providers: providers.map(|Json(p)| p).unwrap_or_default(),
        last_heartbeat_ms: opt_u64(row, "heartbeat_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_shape_has_its_statement() {
        for i in 0..PageShape::COUNT {
            let shape = PageShape::of_index(i);
            assert_eq!(shape.index(), i);
            let sql = shape.sql();
            // Parameters are numbered without gaps: Postgres must infer each one's type.
            let params = 3
                + 2 * usize::from(shape.after)
                + usize::from(shape.status)
                + usize::from(shape.since)
                + usize::from(shape.until);
            for p in 1..=params {
                assert!(sql.contains(&format!("${p}")), "{sql}");
            }
            assert!(!sql.contains(&format!("${}", params + 1)), "{sql}");
            assert_eq!(
                sql.contains("w.finalized_height\n"),
                shape.min_level >= 2,
                "{sql}"
            );
        }
    }

    #[test]
    fn finality_follows_watermarks() {
        assert_eq!(derive_finality(5, None, None), Finality::Included);
        assert_eq!(derive_finality(5, Some(4), Some(2)), Finality::Included);
        assert_eq!(derive_finality(5, Some(5), Some(2)), Finality::Safe);
        assert_eq!(derive_finality(5, Some(9), Some(5)), Finality::Finalized);
        // A chain with a finalized tag but no safe tag.
        assert_eq!(derive_finality(5, None, Some(7)), Finality::Finalized);
    }

    #[test]
    fn reorged_out_record_has_no_block() {
        let r = reorged_out("evm:1".parse().unwrap(), "0xab");
        assert_eq!(r.status, TxStatus::ReorgedOut);
        assert_eq!((r.block_height, r.finality), (None, None));
    }
}
