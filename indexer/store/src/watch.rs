//! The watch list: traced transactions polled until final, and their timeline events.
//!
//! Contracts:
//! - [`Store::record_trace`] is the one writer. It upserts the `(chain, hash)` row and writes the
//!   watch list's timeline events in one DB transaction: `SEEN_PENDING` when the trace says
//!   `PENDING`, `DROPPED`, and `REPLACED_BY` (with `detail.replaced_by`, the replacing hash, and
//!   `detail.replacement`, `SPEED_UP` / `CANCEL` / `OTHER`). Each kind is written at most once
//!   per transaction (a unique index), so recording the same verdict again never duplicates a
//!   row. Watch-list events carry `seq` 0: no bus event caused them.
//! - What a provider said about the transaction (sender, nonce, call, fee cap, the head height)
//!   is kept from the last trace that had it: a later `REPLACED` or `DROPPED` trace does not
//!   erase it.
//! - A row is *final* once its verdict cannot change: `INDEXED` (from then on the index tracks
//!   it: `INCLUDED`, `SAFE`, `FINALIZED` come from the transaction's row and the chain's
//!   finality progress), `REPLACED`, `DROPPED` or `EXPIRED`. `PENDING`, `INCLUDED` and `FAILED`
//!   (in a block, not indexed yet) stay open. A `NOT_FOUND` or `INDEXED` trace of a transaction
//!   that is not on the list does not add it: there is nothing to watch.
//! - Reads ([`Store::watched`], [`Store::open_watches`]) work on a read-only connection.

use chainwatch_schema::{ChainId, SeenTx, TraceStatus, TxTrace};
use serde_json::json;
use sqlx::Row;

use crate::{Store, StoreError};

/// For how long after it was first traced an open entry is re-traced on every poll; after that,
/// once a minute.
pub const WATCH_EAGER_MINUTES: i32 = 10;

/// A watch-list row, as the trace needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEntry {
    /// What a provider said about the transaction, if one ever knew it.
    pub seen: Option<SeenTx>,
    /// Verdict of the last trace (`PENDING`, `REPLACED`, …).
    pub last_status: String,
    /// Whether polling has stopped.
    pub is_final: bool,
}

/// Whether a trace's verdict closes the watch.
pub fn closes_watch(status: TraceStatus) -> bool {
    !matches!(
        status,
        TraceStatus::Pending | TraceStatus::Included | TraceStatus::Failed
    )
}

fn numeric(v: Option<String>, col: &str) -> Result<Option<u64>, StoreError> {
    v.map(|s| {
        s.parse::<u64>().map_err(|_| {
            StoreError::Query(sqlx::Error::Decode(
                format!("watched_transactions.{col} {s:?} is not a u64").into(),
            ))
        })
    })
    .transpose()
}

impl Store {
    /// The watch-list entry of `hash` on `chain`, if it is on the list.
    pub async fn watched(
        &self,
        chain: &ChainId,
        hash: &str,
    ) -> Result<Option<WatchEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT sender, nonce::text AS nonce, recipient, value::text AS value, input_hash,
                    max_fee::text AS max_fee, seen_height, last_status, final
             FROM watched_transactions WHERE chain_id = $1 AND hash = $2",
        )
        .bind(chain.as_str())
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let sender: Option<String> = row.try_get("sender")?;
        let nonce = numeric(row.try_get("nonce")?, "nonce")?;
        let seen_height: Option<i64> = row.try_get("seen_height")?;
        let seen = match (sender, nonce) {
            (Some(sender), Some(nonce)) => Some(SeenTx {
                sender,
                nonce,
                to: row.try_get("recipient")?,
                value: row.try_get("value")?,
                input_hash: row.try_get("input_hash")?,
                max_fee: row.try_get("max_fee")?,
                seen_height: seen_height.and_then(|h| u64::try_from(h).ok()),
            }),
            _ => None,
        };
        Ok(Some(WatchEntry {
            seen,
            last_status: row.try_get("last_status")?,
            is_final: row.try_get("final")?,
        }))
    }

    /// Hashes of `chain`'s open watch-list entries that are due for a re-trace, least recently
    /// traced first, at most `limit`. An entry is due on every call during its first
    /// [`WATCH_EAGER_MINUTES`] minutes, then once a minute: a transaction stuck for hours (a
    /// nonce gap nobody fills) costs its providers one trace a minute, not one per poll.
    pub async fn open_watches(
        &self,
        chain: &ChainId,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let hashes = sqlx::query_scalar(
            "SELECT hash FROM watched_transactions
             WHERE chain_id = $1 AND NOT final
               AND (first_seen_at > now() - make_interval(mins => $3)
                    OR last_traced_at <= now() - interval '1 minute')
             ORDER BY last_traced_at, hash LIMIT $2",
        )
        .bind(chain.as_str())
        .bind(i64::from(limit))
        .bind(WATCH_EAGER_MINUTES)
        .fetch_all(&self.pool)
        .await?;
        Ok(hashes)
    }

    /// Records a trace of `hash` on `chain` (see the module docs). Returns whether the
    /// transaction is on the watch list afterwards.
    pub async fn record_trace(
        &self,
        chain: &ChainId,
        hash: &str,
        trace: &TxTrace,
    ) -> Result<bool, StoreError> {
        let cid = chain.as_str();
        let mut db = self.pool.begin().await?;
        let listed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM watched_transactions WHERE chain_id = $1 AND hash = $2)",
        )
        .bind(cid)
        .bind(hash)
        .fetch_one(&mut *db)
        .await?;
        if !listed && matches!(trace.status, TraceStatus::NotFound | TraceStatus::Indexed) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO chains (chain_id, family, network) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(cid)
        .bind(chain.family())
        .bind(chain.network())
        .execute(&mut *db)
        .await?;
        // Only a provider that knows the transaction says what it is.
        let knows = matches!(
            trace.status,
            TraceStatus::Pending | TraceStatus::Included | TraceStatus::Failed
        );
        let seen = knows.then(|| SeenTx::from_facts(&trace.facts)).flatten();
        let seen_height = seen
            .as_ref()
            .and_then(|s| s.seen_height)
            .and_then(|h| i64::try_from(h).ok());
        sqlx::query(
            "INSERT INTO watched_transactions AS w (chain_id, hash, sender, nonce, recipient, value,
                 input_hash, max_fee, seen_height, last_seen_at, last_status, last_reason,
                 last_message, final)
             VALUES ($1, $2, $3, $4::numeric, $5, $6::numeric, $7, $8::numeric, $9,
                     CASE WHEN $10 THEN now() END, $11, $12, $13, $14)
             ON CONFLICT (chain_id, hash) DO UPDATE SET
                 sender = CASE WHEN $10 THEN EXCLUDED.sender ELSE w.sender END,
                 nonce = CASE WHEN $10 THEN EXCLUDED.nonce ELSE w.nonce END,
                 recipient = CASE WHEN $10 THEN EXCLUDED.recipient ELSE w.recipient END,
                 value = CASE WHEN $10 THEN EXCLUDED.value ELSE w.value END,
                 input_hash = CASE WHEN $10 THEN EXCLUDED.input_hash ELSE w.input_hash END,
                 max_fee = CASE WHEN $10 THEN EXCLUDED.max_fee ELSE w.max_fee END,
                 seen_height = CASE WHEN $10 THEN EXCLUDED.seen_height ELSE w.seen_height END,
                 last_seen_at = CASE WHEN $10 THEN now() ELSE w.last_seen_at END,
                 last_traced_at = now(),
                 last_status = EXCLUDED.last_status,
                 last_reason = EXCLUDED.last_reason,
                 last_message = EXCLUDED.last_message,
                 final = EXCLUDED.final",
        )
        .bind(cid)
        .bind(hash)
        .bind(seen.as_ref().map(|s| s.sender.as_str()))
        .bind(seen.as_ref().map(|s| s.nonce.to_string()))
        .bind(seen.as_ref().and_then(|s| s.to.as_deref()))
        .bind(seen.as_ref().and_then(|s| s.value.as_deref()))
        .bind(seen.as_ref().and_then(|s| s.input_hash.as_deref()))
        .bind(seen.as_ref().and_then(|s| s.max_fee.as_deref()))
        .bind(seen_height)
        .bind(seen.is_some())
        .bind(trace.status.as_str())
        .bind(trace.reason.map(|r| r.as_str()))
        .bind(&trace.message)
        .bind(closes_watch(trace.status))
        .execute(&mut *db)
        .await?;
        let event = match trace.status {
            TraceStatus::Pending => Some(("SEEN_PENDING", None, None)),
            TraceStatus::Dropped => Some(("DROPPED", None, None)),
            TraceStatus::Replaced => {
                let block = &trace.facts.extra["replaced_in_block"];
                let detail = json!({
                    "replaced_by": trace.facts.replaced_by,
                    "replacement": trace.facts.replacement,
                });
                Some((
                    "REPLACED_BY",
                    Some(detail),
                    block["height"].as_i64().zip(block["hash"].as_str()),
                ))
            }
            _ => None,
        };
        if let Some((kind, detail, block)) = event {
            sqlx::query(
                "INSERT INTO transaction_events
                     (chain_id, tx_hash, kind, block_height, block_hash, seq, occurred_at, detail)
                 VALUES ($1, $2, $3, $4, $5, 0, now(), $6)
                 ON CONFLICT (chain_id, tx_hash, kind)
                     WHERE kind IN ('SEEN_PENDING', 'DROPPED', 'REPLACED_BY') DO NOTHING",
            )
            .bind(cid)
            .bind(hash)
            .bind(kind)
            .bind(block.map(|(h, _)| h))
            .bind(block.map(|(_, b)| b.to_owned()))
            .bind(detail.map(sqlx::types::Json))
            .execute(&mut *db)
            .await?;
        }
        db.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_settled_verdicts_close_the_watch() {
        assert!(!closes_watch(TraceStatus::Pending));
        assert!(!closes_watch(TraceStatus::Included));
        assert!(!closes_watch(TraceStatus::Failed));
        for s in [
            TraceStatus::Indexed,
            TraceStatus::Replaced,
            TraceStatus::Dropped,
            TraceStatus::Expired,
            TraceStatus::NotFound,
        ] {
            assert!(closes_watch(s), "{s:?}");
        }
    }
}
