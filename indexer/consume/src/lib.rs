//! Consume: takes batches of envelopes from the bus and applies them to Postgres.
//!
//! Contracts:
//! - A batch is grouped by chain, keeping each chain's order; each chain's part is applied in one
//!   DB transaction together with its watermark ([`chainwatch_store::Store::apply_batch`]).
//! - The bus is told the batch is done ([`Subscriber::commit`]) only after every DB commit, so a
//!   crash anywhere re-delivers at most what was not committed, and the watermark makes the
//!   re-delivery a no-op: nothing lost, nothing duplicated.
//! - A store error (a revert below finality, a gap in the stream, a lost database) stops the
//!   consumer with [`ConsumeError`]; it never skips data.
//! - Shutdown: the consumer runs until the bus is closed and drained, so `dev` stops ingest first
//!   and everything already published is written before exit.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use std::{collections::HashMap, time::Duration};

use chainwatch_bus::{BusError, Delivery, Subscriber};
use chainwatch_schema::{ChainEvent, ChainId, Envelope};
use chainwatch_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, info_span};

const TRACE_TARGET: &str = "chainwatch::consume";

/// Batching settings.
#[derive(Debug, Clone)]
pub struct ConsumeConfig {
    /// Most envelopes per batch.
    pub max_batch: usize,
    /// Most transactions per batch; a batch closes once it holds this many.
    pub max_batch_txs: usize,
    /// How long to wait for more envelopes after the first of a batch.
    pub linger: Duration,
}

impl Default for ConsumeConfig {
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_batch_txs: 20_000,
            linger: Duration::from_millis(50),
        }
    }
}

/// Why the consumer stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumeError {
    /// Writing a chain's batch failed.
    #[error("chain {chain}: applying events failed")]
    Store {
        /// The chain.
        chain: ChainId,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The bus failed.
    #[error("bus error")]
    Bus(#[from] BusError),
}

/// Counters of a consumer's work so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumeStats {
    /// Envelopes applied.
    pub applied: u64,
    /// Envelopes skipped as already applied.
    pub skipped: u64,
    /// Blocks written.
    pub blocks: u64,
    /// Transactions written.
    pub txs: u64,
    /// Reverts applied.
    pub reverts: u64,
}

/// Applies the bus to the store.
#[derive(Debug)]
pub struct Consumer<S> {
    store: Store,
    subscriber: S,
    cfg: ConsumeConfig,
    stats: ConsumeStats,
}

impl<S: Subscriber> Consumer<S> {
    /// A consumer of `subscriber` into `store`.
    pub fn new(store: Store, subscriber: S, cfg: ConsumeConfig) -> Self {
        Self {
            store,
            subscriber,
            cfg,
            stats: ConsumeStats::default(),
        }
    }

    /// Work done so far.
    pub fn stats(&self) -> &ConsumeStats {
        &self.stats
    }

    /// Runs until the bus closes (returns the stats), `cancel` fires between batches, or an error.
    pub async fn run(mut self, cancel: CancellationToken) -> Result<ConsumeStats, ConsumeError> {
        loop {
            let batch = tokio::select! {
                biased;
                b = self.subscriber.next_batch(self.cfg.max_batch, self.cfg.linger) => b,
                _ = cancel.cancelled() => break,
            };
            let batch = match batch {
                Ok(b) => b,
                Err(BusError::Closed) => break,
                Err(e) => return Err(e.into()),
            };
            self.apply(&batch).await?;
            self.subscriber.commit(&batch).await?;
        }
        info!(target: TRACE_TARGET, applied = self.stats.applied, blocks = self.stats.blocks,
              txs = self.stats.txs, reverts = self.stats.reverts, "consumer stopped");
        Ok(self.stats)
    }

    /// Applies one batch: per chain, in order, each chain in its own DB transaction.
    async fn apply(&mut self, batch: &[Delivery]) -> Result<(), ConsumeError> {
        let mut by_chain: HashMap<&ChainId, Vec<&Envelope>> = HashMap::new();
        for d in batch {
            by_chain
                .entry(&d.envelope.chain)
                .or_default()
                .push(&d.envelope);
        }
        for (chain, envs) in by_chain {
            // Split very large batches by transaction count to bound memory and statement size.
            let mut start = 0;
            while start < envs.len() {
                let mut end = start;
                let mut txs = 0;
                while end < envs.len() && (end == start || txs < self.cfg.max_batch_txs) {
                    if let ChainEvent::Apply { block } = &envs[end].event {
                        txs += block.txs.len();
                    }
                    end += 1;
                }
                let part = &envs[start..end];
                let heights = part.iter().filter_map(|e| match &e.event {
                    ChainEvent::Apply { block } => Some(block.block_ref.height),
                    _ => None,
                });
                // Every log line of this write carries the chain, the heights and the seqs.
                let span = info_span!(
                    "batch",
                    chain = %chain,
                    height = heights.clone().max(),
                    from_height = heights.min(),
                    seq = part.last().map(|e| e.seq),
                    envelopes = part.len(),
                );
                let out = self
                    .store
                    .apply_batch(chain, part)
                    .instrument(span)
                    .await
                    .map_err(|source| ConsumeError::Store {
                        chain: chain.clone(),
                        source,
                    })?;
                self.record(chain, &out);
                start = end;
            }
        }
        Ok(())
    }

    fn record(&mut self, chain: &ChainId, out: &chainwatch_store::BatchOutcome) {
        self.stats.applied += out.applied as u64;
        self.stats.skipped += out.skipped as u64;
        self.stats.blocks += out.blocks as u64;
        self.stats.txs += out.txs as u64;
        self.stats.reverts += out.reverts as u64;
        let c = chain.to_string();
        for (table, n) in [
            ("blocks", out.blocks),
            ("transactions", out.txs),
            ("address_transactions", out.addresses),
        ] {
            metrics::counter!("chainwatch_consume_rows_written_total", "chain" => c.clone(), "table" => table)
                .increment(n as u64);
        }
        if let Some(head) = &out.watermark.head {
            metrics::gauge!("chainwatch_consume_watermark_height", "chain" => c.clone())
                .set(head.height as f64);
        }
        if let Some(t) = out.watermark.head_time_ms {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            metrics::gauge!("chainwatch_consume_lag_seconds", "chain" => c)
                .set(now.saturating_sub(t) as f64 / 1000.0);
        }
        debug!(target: TRACE_TARGET, chain = %chain, applied = out.applied, skipped = out.skipped,
               blocks = out.blocks, txs = out.txs, "batch applied");
    }
}
