//! The watch-list poller: every [`POLL_INTERVAL`], re-traces the open watch-list entries that
//! are due (all of them during their first 10 minutes, then once a minute; see
//! [`Store::open_watches`]) of the chains this process has adapters for, until each is final.
//!
//! It runs where the chains' adapters and a writable database meet: in `chainwatch dev` (every
//! configured chain), and in `chainwatch ingest` given `--watch-database-url` (its one chain),
//! so that a Kafka deployment needs no extra process. Each
//! pass traces through [`trace_transaction`], the same path as `chainwatch trace` and GraphQL,
//! so the verdicts and the timeline events (`SEEN_PENDING`, `DROPPED`, `REPLACED_BY`, written at
//! most once each) are the same whoever traced first. Once the transaction is indexed the trace
//! says `INDEXED` and the entry closes: `INCLUDED`, `SAFE` and `FINALIZED` then come from the
//! index. Several pollers over one database are harmless (the writes are idempotent).
//!
//! Metrics: `chainwatch_watch_traces_total{chain,status}` (each re-trace by its verdict, `ERROR`
//! when it failed) and `chainwatch_watch_open_transactions{chain}` (entries still open after the
//! last pass, at most one batch).

use std::{sync::Arc, time::Duration};

use chainwatch_api::trace::trace_transaction;
use chainwatch_chain_core::{ChainAdapter, ErrorChain};
use chainwatch_store::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

const TRACE_TARGET: &str = "chainwatch::bin::watch";

/// Time between two passes over the watch list.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Most entries of one chain re-traced per pass (least recently traced first).
const BATCH: u32 = 100;

/// Starts the poller; it stops when `cancel` fires.
pub(crate) fn spawn(
    store: Store,
    adapters: Vec<Arc<dyn ChainAdapter>>,
    interval: Duration,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            for adapter in &adapters {
                pass(&store, adapter.as_ref(), &cancel).await;
            }
        }
    })
}

/// One pass over `adapter`'s chain.
async fn pass(store: &Store, adapter: &dyn ChainAdapter, cancel: &CancellationToken) {
    let chain = adapter.chain();
    let hashes = match store.open_watches(chain, BATCH).await {
        Ok(h) => h,
        Err(e) => {
            warn!(target: TRACE_TARGET, chain = %chain, error = %ErrorChain(&e), "cannot read the watch list");
            return;
        }
    };
    let mut open = hashes.len();
    for hash in hashes {
        if cancel.is_cancelled() {
            return;
        }
        let result = trace_transaction(store, Some(store), adapter, &hash).await;
        metrics::counter!(
            "chainwatch_watch_traces_total",
            "chain" => chain.to_string(),
            "status" => result.as_ref().map_or("ERROR", |o| o.trace.status.as_str()),
        )
        .increment(1);
        match result {
            Ok(out) if out.watched => {
                debug!(target: TRACE_TARGET, chain = %chain, tx = %hash, status = out.trace.status.as_str(), "still watched");
            }
            Ok(out) => {
                open -= 1;
                info!(target: TRACE_TARGET, chain = %chain, tx = %hash, status = out.trace.status.as_str(),
                      message = %out.trace.message, "watched transaction is final");
            }
            Err(e) => {
                warn!(target: TRACE_TARGET, chain = %chain, tx = %hash, error = %ErrorChain(&e), "re-trace failed; retrying next pass");
            }
        }
    }
    metrics::gauge!("chainwatch_watch_open_transactions", "chain" => chain.to_string())
        .set(open as f64);
}
