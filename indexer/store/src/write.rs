//! The consumer's writes: envelopes applied atomically with the chain's watermark.

use std::borrow::Borrow;

use chainwatch_schema::{
    Block, BlockRef, ChainEvent, ChainId, Envelope, ProviderHead, ProviderState,
};
use sqlx::{Postgres, Row, Transaction as DbTx};
use tracing::{debug, info};

use crate::{
    Store, StoreError, TRACE_TARGET,
    health::{ProgressMap, merge_progress},
};

/// A chain's progress as stored: the last applied event and the indexed head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watermark {
    /// Highest applied envelope `seq` (0 before the first).
    pub seq: u64,
    /// The indexed head, if any block was applied.
    pub head: Option<BlockRef>,
    /// Block time of the head, milliseconds since the Unix epoch.
    pub head_time_ms: Option<u64>,
    /// Latest safe height the chain reported.
    pub safe_height: Option<u64>,
    /// Latest finalized height the chain reported.
    pub finalized_height: Option<u64>,
}

/// What one [`Store::apply_batch`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Envelopes applied.
    pub applied: usize,
    /// Envelopes skipped because their `seq` was at or below the watermark.
    pub skipped: usize,
    /// Blocks written.
    pub blocks: usize,
    /// Transactions written.
    pub txs: usize,
    /// Address rows written.
    pub addresses: usize,
    /// Transactions removed by reverts.
    pub reverted_txs: usize,
    /// Reverts applied.
    pub reverts: usize,
    /// The watermark after the batch.
    pub watermark: Watermark,
}

fn i64_of(v: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::OutOfRange(format!("{what} {v} exceeds i64")))
}

/// Rows of applied blocks waiting to be written in one statement per table.
/// Strings are borrowed from the envelopes being applied: a batch of 200,000 transactions
/// allocates no per-row copies.
#[derive(Default)]
struct Pending<'a> {
    heights: Vec<i64>,
    hashes: Vec<&'a str>,
    parents: Vec<&'a str>,
    times_ms: Vec<i64>,
    tx_counts: Vec<i32>,
    tx: TxRows<'a>,
    addr_addresses: Vec<&'a str>,
    addr_heights: Vec<i64>,
    addr_indexes: Vec<i32>,
    finality: Vec<(&'static str, BlockRef)>,
}

#[derive(Default)]
struct TxRows<'a> {
    hash: Vec<&'a str>,
    height: Vec<i64>,
    block_hash: Vec<&'a str>,
    index: Vec<i32>,
    sender: Vec<Option<&'a str>>,
    recipient: Vec<Option<&'a str>>,
    nonce: Vec<Option<String>>,
    value: Vec<Option<&'a str>>,
    fee: Vec<Option<&'a str>>,
    status: Vec<&'static str>,
    failure: Vec<Option<String>>,
    extra: Vec<Option<String>>,
}

impl<'a> Pending<'a> {
    fn push_block(&mut self, b: &'a Block) -> Result<(), StoreError> {
        let height = i64_of(b.block_ref.height, "height")?;
        let time_ms = i64_of(b.timestamp_ms, "timestamp")?;
        self.heights.push(height);
        self.hashes.push(&b.block_ref.hash);
        self.parents.push(&b.parent_hash);
        self.times_ms.push(time_ms);
        self.tx_counts.push(b.txs.len() as i32);
        for t in &b.txs {
            let r = &mut self.tx;
            r.hash.push(&t.hash);
            r.height.push(height);
            r.block_hash.push(&b.block_ref.hash);
            r.index.push(t.index as i32);
            r.sender.push(t.sender.as_deref());
            r.recipient.push(t.to.as_deref());
            r.nonce.push(t.nonce.map(|n| n.to_string()));
            r.value.push(t.value.as_deref());
            r.fee.push(t.fee.as_deref());
            r.status.push(t.status.as_str());
            r.failure.push(
                t.failure
                    .as_ref()
                    .and_then(|f| serde_json::to_string(f).ok()),
            );
            r.extra
                .push((!t.extra.is_null()).then(|| t.extra.to_string()));
            let mut push_addr = |a: &'a str| {
                self.addr_addresses.push(a);
                self.addr_heights.push(height);
                self.addr_indexes.push(t.index as i32);
            };
            if let Some(s) = &t.sender {
                push_addr(s);
            }
            if let Some(to) = &t.to
                && t.sender.as_deref() != Some(to.as_str())
            {
                push_addr(to);
            }
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.heights.is_empty() && self.finality.is_empty()
    }

    /// Writes everything pending and clears it. Returns (blocks, txs, address rows).
    async fn flush(
        &mut self,
        db: &mut DbTx<'static, Postgres>,
        chain: &str,
    ) -> Result<(usize, usize, usize), StoreError> {
        if self.is_empty() {
            return Ok((0, 0, 0));
        }
        let counts = (
            self.heights.len(),
            self.tx.hash.len(),
            self.addr_heights.len(),
        );
        if !self.heights.is_empty() {
            sqlx::query(
                "INSERT INTO blocks (chain_id, height, hash, parent_hash, block_time, tx_count)
                 SELECT $1, h, hash, parent, to_timestamp(ms / 1000.0), n
                 FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::int[])
                      AS t(h, hash, parent, ms, n)",
            )
            .bind(chain)
            .bind(&self.heights)
            .bind(&self.hashes)
            .bind(&self.parents)
            .bind(&self.times_ms)
            .bind(&self.tx_counts)
            .execute(&mut **db)
            .await?;
        }
        if !self.tx.hash.is_empty() {
            let r = &self.tx;
            // A hash seen again replaces the old row: only the canonical inclusion is kept.
            sqlx::query(
                "INSERT INTO transactions (chain_id, hash, block_height, block_hash, tx_index, sender,
                     recipient, nonce, value, fee, status, failure, extra)
                 SELECT $1, hash, h, bh, i, s, r, n::numeric, v::numeric, f::numeric, st, fl::jsonb, ex::jsonb
                 FROM UNNEST($2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[], $7::text[],
                             $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
                      AS t(hash, h, bh, i, s, r, n, v, f, st, fl, ex)
                 ON CONFLICT (hash, chain_id) DO UPDATE SET
                     block_height = EXCLUDED.block_height, block_hash = EXCLUDED.block_hash,
                     tx_index = EXCLUDED.tx_index, sender = EXCLUDED.sender,
                     recipient = EXCLUDED.recipient, nonce = EXCLUDED.nonce, value = EXCLUDED.value,
                     fee = EXCLUDED.fee, status = EXCLUDED.status, failure = EXCLUDED.failure,
                     extra = EXCLUDED.extra",
            )
            .bind(chain)
            .bind(&r.hash)
            .bind(&r.height)
            .bind(&r.block_hash)
            .bind(&r.index)
            .bind(&r.sender)
            .bind(&r.recipient)
            .bind(&r.nonce)
            .bind(&r.value)
            .bind(&r.fee)
            .bind(&r.status)
            .bind(&r.failure)
            .bind(&r.extra)
            .execute(&mut **db)
            .await?;
        }
        if !self.addr_heights.is_empty() {
            // In key order: the primary key's B-tree is then filled page by page instead of at
            // random places (addresses are random), several times faster on large batches.
            let mut order: Vec<usize> = (0..self.addr_heights.len()).collect();
            order.sort_unstable_by_key(|&i| {
                (
                    self.addr_addresses[i],
                    self.addr_heights[i],
                    self.addr_indexes[i],
                )
            });
            self.addr_addresses = order.iter().map(|&i| self.addr_addresses[i]).collect();
            self.addr_heights = order.iter().map(|&i| self.addr_heights[i]).collect();
            self.addr_indexes = order.iter().map(|&i| self.addr_indexes[i]).collect();
            sqlx::query(
                "INSERT INTO address_transactions (chain_id, address, block_height, tx_index)
                 SELECT $1, a, h, i FROM UNNEST($2::text[], $3::bigint[], $4::int[]) AS t(a, h, i)
                 ON CONFLICT DO NOTHING",
            )
            .bind(chain)
            .bind(&self.addr_addresses)
            .bind(&self.addr_heights)
            .bind(&self.addr_indexes)
            .execute(&mut **db)
            .await?;
        }
        for (level, r) in self.finality.drain(..) {
            sqlx::query(
                "INSERT INTO finality_progress (chain_id, level, height, hash) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(chain)
            .bind(level)
            .bind(i64_of(r.height, "height")?)
            .bind(&r.hash)
            .execute(&mut **db)
            .await?;
        }
        *self = Self::default();
        Ok(counts)
    }
}

impl Store {
    /// The stored watermark of `chain`, if it has one.
    pub async fn watermark(&self, chain: &ChainId) -> Result<Option<Watermark>, StoreError> {
        let row = sqlx::query(
            "SELECT seq, height, hash, (extract(epoch FROM block_time) * 1000)::bigint AS time_ms,
                    safe_height, finalized_height
             FROM watermarks WHERE chain_id = $1",
        )
        .bind(chain.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| watermark_of(&r)))
    }

    /// Applies `envelopes` of one chain, in order, in one DB transaction with the watermark.
    /// Envelopes at or below the watermark's `seq` are skipped. On error nothing is written.
    /// A batch that applied something sends `NOTIFY` on [`crate::CHANGES_CHANNEL`] with the
    /// chain id as payload, delivered when it commits.
    pub async fn apply_batch<E: Borrow<Envelope>>(
        &self,
        chain: &ChainId,
        envelopes: &[E],
    ) -> Result<BatchOutcome, StoreError> {
        let cid = chain.as_str();
        let mut db = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO chains (chain_id, family, network) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(cid)
        .bind(chain.family())
        .bind(chain.network())
        .execute(&mut *db)
        .await?;
        let row = sqlx::query(
            "SELECT seq, height, hash, (extract(epoch FROM block_time) * 1000)::bigint AS time_ms,
                    safe_height, finalized_height
             FROM watermarks WHERE chain_id = $1 FOR UPDATE",
        )
        .bind(cid)
        .fetch_optional(&mut *db)
        .await?;
        let mut wm = row.map(|r| watermark_of(&r)).unwrap_or_default();
        let mut out = BatchOutcome::default();
        let mut pending = Pending::default();

        for env in envelopes {
            let env: &Envelope = env.borrow();
            if env.seq <= wm.seq {
                out.skipped += 1;
                continue;
            }
            match &env.event {
                ChainEvent::Apply { block } => {
                    if let Some(head) = &wm.head
                        && (block.parent_hash != head.hash || block.block_ref.height <= head.height)
                    {
                        return Err(StoreError::Discontinuity {
                            chain: chain.clone(),
                            block: block.block_ref.clone(),
                            parent: block.parent_hash.clone(),
                            head: head.clone(),
                        });
                    }
                    pending.push_block(block)?;
                    wm.head = Some(block.block_ref.clone());
                    wm.head_time_ms = Some(block.timestamp_ms);
                }
                ChainEvent::Revert { to, from, new_head } => {
                    let (b, t, a) = pending.flush(&mut db, cid).await?;
                    out.blocks += b;
                    out.txs += t;
                    out.addresses += a;
                    if let Some(fin) = wm.finalized_height
                        && to.height < fin
                    {
                        return Err(StoreError::RevertBelowFinalized {
                            chain: chain.clone(),
                            to: to.clone(),
                            finalized: fin,
                        });
                    }
                    let reverted = revert(&mut db, chain, env.seq, to, from, new_head).await?;
                    out.reverted_txs += reverted;
                    out.reverts += 1;
                    let time: Option<i64> = sqlx::query_scalar(
                        "SELECT (extract(epoch FROM block_time) * 1000)::bigint FROM blocks
                         WHERE chain_id = $1 AND height = $2",
                    )
                    .bind(cid)
                    .bind(i64_of(to.height, "height")?)
                    .fetch_optional(&mut *db)
                    .await?;
                    wm.head = Some(to.clone());
                    wm.head_time_ms = time.map(|t| t as u64);
                    if wm.safe_height.is_some_and(|s| s > to.height) {
                        wm.safe_height = Some(to.height);
                    }
                }
                ChainEvent::Finality { safe, finalized } => {
                    if let Some(s) = safe {
                        wm.safe_height = Some(s.height);
                        pending.finality.push(("SAFE", s.clone()));
                    }
                    if let Some(f) = finalized {
                        // Finality never moves back.
                        if wm.finalized_height.is_none_or(|cur| f.height >= cur) {
                            wm.finalized_height = Some(f.height);
                            pending.finality.push(("FINALIZED", f.clone()));
                        }
                    }
                }
                ChainEvent::Heartbeat { at_ms, heads } => {
                    heartbeat(&mut db, cid, *at_ms, heads).await?;
                }
                other => {
                    return Err(StoreError::UnsupportedEvent {
                        chain: chain.clone(),
                        seq: env.seq,
                        kind: other.kind(),
                    });
                }
            }
            wm.seq = env.seq;
            out.applied += 1;
        }
        let (b, t, a) = pending.flush(&mut db, cid).await?;
        out.blocks += b;
        out.txs += t;
        out.addresses += a;
        if out.applied > 0 {
            let opt_i64 = |v: Option<u64>| v.map(|x| x as i64);
            sqlx::query(
                "INSERT INTO watermarks (chain_id, seq, height, hash, block_time, safe_height, finalized_height, updated_at)
                 VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0), $6, $7, now())
                 ON CONFLICT (chain_id) DO UPDATE SET seq = EXCLUDED.seq, height = EXCLUDED.height,
                     hash = EXCLUDED.hash, block_time = EXCLUDED.block_time,
                     safe_height = EXCLUDED.safe_height, finalized_height = EXCLUDED.finalized_height,
                     updated_at = now()",
            )
            .bind(cid)
            .bind(i64_of(wm.seq, "seq")?)
            .bind(opt_i64(wm.head.as_ref().map(|h| h.height)))
            .bind(wm.head.as_ref().map(|h| h.hash.clone()))
            .bind(opt_i64(wm.head_time_ms))
            .bind(opt_i64(wm.safe_height))
            .bind(opt_i64(wm.finalized_height))
            .execute(&mut *db)
            .await?;
            // Delivered at commit, to every API process listening: live subscriptions re-read
            // what changed. Nothing is sent for a batch that rolls back.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::CHANGES_CHANNEL)
                .bind(cid)
                .execute(&mut *db)
                .await?;
        }
        db.commit().await?;
        debug!(target: TRACE_TARGET, chain = %chain, applied = out.applied, skipped = out.skipped,
               blocks = out.blocks, txs = out.txs, seq = wm.seq, "batch committed");
        out.watermark = wm;
        Ok(out)
    }
}

fn watermark_of(r: &sqlx::postgres::PgRow) -> Watermark {
    let height: Option<i64> = r.get("height");
    let hash: Option<String> = r.get("hash");
    Watermark {
        seq: r.get::<i64, _>("seq") as u64,
        head: height
            .zip(hash)
            .map(|(h, hash)| BlockRef::new(h as u64, hash)),
        head_time_ms: r.get::<Option<i64>, _>("time_ms").map(|t| t as u64),
        safe_height: r.get::<Option<i64>, _>("safe_height").map(|v| v as u64),
        finalized_height: r
            .get::<Option<i64>, _>("finalized_height")
            .map(|v| v as u64),
    }
}

async fn revert(
    db: &mut DbTx<'static, Postgres>,
    chain: &ChainId,
    seq: u64,
    to: &BlockRef,
    from: &BlockRef,
    new_head: &BlockRef,
) -> Result<usize, StoreError> {
    let cid = chain.as_str();
    let to_h = i64_of(to.height, "height")?;
    let seq = i64_of(seq, "seq")?;
    // The fork point must be the block we hold at that height (if we hold one).
    let stored: Option<String> =
        sqlx::query_scalar("SELECT hash FROM blocks WHERE chain_id = $1 AND height = $2")
            .bind(cid)
            .bind(to_h)
            .fetch_optional(&mut **db)
            .await?;
    if let Some(stored) = stored
        && stored != to.hash
    {
        return Err(StoreError::Discontinuity {
            chain: chain.clone(),
            block: to.clone(),
            parent: to.hash.clone(),
            head: BlockRef::new(to.height, stored),
        });
    }
    sqlx::query(
        "DELETE FROM address_transactions a USING transactions t
         WHERE t.chain_id = $1 AND t.block_height > $2
           AND a.chain_id = $1 AND a.address IN (t.sender, t.recipient)
           AND a.block_height = t.block_height AND a.tx_index = t.tx_index",
    )
    .bind(cid)
    .bind(to_h)
    .execute(&mut **db)
    .await?;
    // The inclusions about to be removed become history: the current inclusion of a
    // transaction is never stored as an event (it is derived from its row, see `read`), so it
    // is written here, before the REORGED_OUT event that ends it.
    sqlx::query(
        "INSERT INTO transaction_events (chain_id, tx_hash, kind, block_height, block_hash, seq, occurred_at)
         SELECT $1, t.hash,
                CASE WHEN EXISTS (SELECT 1 FROM transaction_events e
                                  WHERE e.chain_id = $1 AND e.tx_hash = t.hash AND e.kind = 'REORGED_OUT')
                     THEN 'REINCLUDED' ELSE 'INCLUDED' END,
                t.block_height, t.block_hash, $3, b.block_time
         FROM transactions t JOIN blocks b ON b.chain_id = t.chain_id AND b.height = t.block_height
         WHERE t.chain_id = $1 AND t.block_height > $2
         ORDER BY t.block_height, t.tx_index",
    )
    .bind(cid)
    .bind(to_h)
    .bind(seq)
    .execute(&mut **db)
    .await?;
    let removed = sqlx::query(
        "WITH gone AS (
             DELETE FROM transactions WHERE chain_id = $1 AND block_height > $2
             RETURNING hash, block_height, block_hash)
         INSERT INTO transaction_events (chain_id, tx_hash, kind, block_height, block_hash, seq, occurred_at)
         SELECT $1, hash, 'REORGED_OUT', block_height, block_hash, $3, now() FROM gone",
    )
    .bind(cid)
    .bind(to_h)
    .bind(seq)
    .execute(&mut **db)
    .await?
    .rows_affected() as usize;
    sqlx::query("DELETE FROM blocks WHERE chain_id = $1 AND height > $2")
        .bind(cid)
        .bind(to_h)
        .execute(&mut **db)
        .await?;
    sqlx::query(
        "DELETE FROM finality_progress WHERE chain_id = $1 AND level = 'SAFE' AND height > $2",
    )
    .bind(cid)
    .bind(to_h)
    .execute(&mut **db)
    .await?;
    sqlx::query(
        "INSERT INTO reorgs (chain_id, fork_height, fork_hash, depth, old_head_height, old_head_hash,
             new_head_height, new_head_hash, reverted_tx_count, seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(cid)
    .bind(to_h)
    .bind(&to.hash)
    .bind(i64_of(from.height.saturating_sub(to.height), "depth")?)
    .bind(i64_of(from.height, "height")?)
    .bind(&from.hash)
    .bind(i64_of(new_head.height, "height")?)
    .bind(&new_head.hash)
    .bind(removed as i32)
    .bind(seq)
    .execute(&mut **db)
    .await?;
    info!(target: TRACE_TARGET, chain = %chain, fork = %to, old_head = %from,
          depth = from.height.saturating_sub(to.height), reverted_txs = removed, "reorg applied");
    Ok(removed)
}

async fn heartbeat(
    db: &mut DbTx<'static, Postgres>,
    cid: &str,
    at_ms: u64,
    heads: &[ProviderHead],
) -> Result<(), StoreError> {
    // A divergent provider's head is on another chain: it is not the chain's head.
    let best = heads
        .iter()
        .filter(|h| h.state != ProviderState::Divergent)
        .filter_map(|h| h.height)
        .max()
        .map(|h| h as i64);
    let json = serde_json::to_string(heads).unwrap_or_else(|_| "[]".into());
    // The caller holds the watermark row lock: no other writer updates this chain meanwhile.
    let old: Option<sqlx::types::Json<ProgressMap>> =
        sqlx::query_scalar("SELECT provider_progress FROM chain_status WHERE chain_id = $1")
            .bind(cid)
            .fetch_optional(&mut **db)
            .await?;
    let progress = merge_progress(&old.map(|j| j.0).unwrap_or_default(), heads, at_ms);
    let progress = serde_json::to_string(&progress).unwrap_or_else(|_| "{}".into());
    sqlx::query(
        "INSERT INTO chain_status (chain_id, provider_heads, best_head_height, last_heartbeat_at,
             provider_progress)
         VALUES ($1, $2::jsonb, $3, to_timestamp($4 / 1000.0), $5::jsonb)
         ON CONFLICT (chain_id) DO UPDATE SET provider_heads = EXCLUDED.provider_heads,
             best_head_height = EXCLUDED.best_head_height,
             last_heartbeat_at = EXCLUDED.last_heartbeat_at,
             provider_progress = EXCLUDED.provider_progress",
    )
    .bind(cid)
    .bind(json)
    .bind(best)
    .bind(i64_of(at_ms, "timestamp")?)
    .bind(progress)
    .execute(&mut **db)
    .await?;
    Ok(())
}

impl Store {
    /// Where ingest should resume `chain` when the database is its only memory (`dev`): the
    /// watermark's seq and up to `depth` most recent canonical block refs, oldest first.
    /// `None` when nothing was indexed yet.
    pub async fn resume_point(
        &self,
        chain: &ChainId,
        depth: u64,
    ) -> Result<Option<(u64, Vec<BlockRef>)>, StoreError> {
        let Some(wm) = self.watermark(chain).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT height, hash FROM blocks WHERE chain_id = $1 ORDER BY height DESC LIMIT $2",
        )
        .bind(chain.as_str())
        .bind(i64_of(depth.max(1), "depth")?)
        .fetch_all(&self.pool)
        .await?;
        let mut refs: Vec<BlockRef> = rows
            .iter()
            .map(|r| BlockRef::new(r.get::<i64, _>("height") as u64, r.get::<String, _>("hash")))
            .collect();
        refs.reverse();
        Ok(Some((wm.seq, refs)))
    }
}
