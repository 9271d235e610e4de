//! Live tracing of one transaction, shared by GraphQL `traceTransaction`, `chainwatch trace`
//! and the watch-list poller, so that all three answer the same way:
//!
//! 1. The hash is checked for the chain's family (EVM: `0x` and 64 hex digits, lowercased).
//! 2. The index first: an indexed transaction (not reorged out) is `INDEXED`, with the indexed
//!    record as the answer.
//! 3. Otherwise the chain's adapter ([`ChainAdapter::trace_with`]) with what the watch list
//!    remembers of the transaction, so that one no provider knows any more can still be told
//!    `REPLACED` or `DROPPED`.
//! 4. With a writable watch store, the verdict is recorded
//!    ([`Store::record_trace`](chainwatch_store::Store::record_trace)): a transaction that is
//!    not final goes on (or stays on) the watch list, and the list's timeline events are written.

use std::{collections::BTreeMap, fmt, sync::Arc};

use chainwatch_chain_core::{ChainAdapter, ErrorChain, FetchError};
use chainwatch_schema::{BlockRef, ChainId, TraceFacts, TraceStatus, TxStatus, TxTrace};
use chainwatch_store::{Store, StoreError, read::TxRecord, watch::closes_watch};

use crate::{error::ApiError, validate::normalize_hash};

/// The adapters traces are asked of, one per chain with providers, and the store the watch list
/// is written to (none: traces are not watched, as in the read-only `chainwatch serve`).
#[derive(Clone, Default)]
pub struct Tracers {
    adapters: BTreeMap<ChainId, Arc<dyn ChainAdapter>>,
    watch: Option<Store>,
}

impl fmt::Debug for Tracers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracers")
            .field("chains", &self.adapters.keys().collect::<Vec<_>>())
            .field("watching", &self.watch.is_some())
            .finish()
    }
}

impl Tracers {
    /// Adds `adapter` for its chain (replacing one for the same chain).
    pub fn with_adapter(mut self, adapter: Arc<dyn ChainAdapter>) -> Self {
        self.adapters.insert(adapter.chain().clone(), adapter);
        self
    }

    /// Puts traced transactions on the watch list in `store`, which must be writable.
    pub fn watching(mut self, store: Store) -> Self {
        self.watch = Some(store);
        self
    }

    /// The adapter of `chain`, if it has providers.
    pub fn get(&self, chain: &ChainId) -> Option<&Arc<dyn ChainAdapter>> {
        self.adapters.get(chain)
    }

    /// The chains that can be traced, ordered by id.
    pub fn chains(&self) -> impl Iterator<Item = &ChainId> {
        self.adapters.keys()
    }

    /// The watch-list store, if traces are watched.
    pub fn watch_store(&self) -> Option<&Store> {
        self.watch.as_ref()
    }
}

/// The answer to one trace.
#[derive(Debug, Clone)]
pub struct TraceOutcome {
    /// The chain.
    pub chain: ChainId,
    /// The hash as stored (EVM: lowercase).
    pub hash: String,
    /// The verdict; `INDEXED` when the index holds the transaction.
    pub trace: TxTrace,
    /// The indexed transaction, when `INDEXED`.
    pub indexed: Option<TxRecord>,
    /// Whether the transaction is on the watch list and still polled.
    pub watched: bool,
}

/// Why a trace could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The hash is malformed for the chain's family; the message names it and the expected form.
    #[error("{0}")]
    BadHash(String),
    /// The chain's providers could not answer (or the family cannot trace); the message names
    /// providers by label only.
    #[error("chain {chain}: {message}")]
    Chain {
        /// The chain.
        chain: ChainId,
        /// The adapter's error reason label (`unsupported`, `unreachable`, `timeout`, …).
        reason: &'static str,
        /// What happened, one line.
        message: String,
    },
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

impl TraceError {
    fn chain(chain: &ChainId, e: &FetchError) -> Self {
        Self::Chain {
            chain: chain.clone(),
            reason: e.reason(),
            message: ErrorChain(e).to_string(),
        }
    }
}

/// The `INDEXED` answer for an indexed transaction.
fn indexed_trace(r: &TxRecord) -> TxTrace {
    let place = match (r.block_height, &r.block_hash) {
        (Some(h), Some(hash)) => {
            let fin = r.finality.map_or("unknown", |f| f.as_str());
            let conf = r.confirmations.unwrap_or(1);
            format!(
                " in block {h} ({hash}), finality {fin}, {conf} confirmation{}",
                if conf == 1 { "" } else { "s" }
            )
        }
        _ => String::new(),
    };
    let why = match (&r.failure, r.status) {
        (Some(f), TxStatus::Failed) => format!(": {}", f.message),
        _ => String::new(),
    };
    let mut t = TxTrace::new(
        TraceStatus::Indexed,
        format!("indexed: {}{place}{why}", r.status.as_str()),
    );
    t.block = r
        .block_height
        .zip(r.block_hash.clone())
        .map(|(h, hash)| BlockRef::new(h, hash));
    t.finality = r.finality;
    t.failure = r.failure.clone();
    t.facts = TraceFacts {
        sender: r.sender.clone(),
        nonce: r.nonce.as_deref().and_then(|n| n.parse().ok()),
        to: r.to.clone(),
        value: r.value.clone(),
        ..TraceFacts::default()
    };
    t
}

/// Traces `hash` on `adapter`'s chain (see the module docs): reads `store`, writes the watch
/// list to `watch` when given.
pub async fn trace_transaction(
    store: &Store,
    watch: Option<&Store>,
    adapter: &dyn ChainAdapter,
    hash: &str,
) -> Result<TraceOutcome, TraceError> {
    let chain = adapter.chain().clone();
    let hash = normalize_hash(Some(chain.family()), hash).map_err(|e| match e {
        ApiError::BadRequest { message, .. } => TraceError::BadHash(message),
        other => TraceError::BadHash(format!("{other:?}")),
    })?;
    let indexed = store
        .transaction(&chain, &hash)
        .await?
        .filter(|r| r.status != TxStatus::ReorgedOut);
    let (trace, entry) = match &indexed {
        Some(r) => (indexed_trace(r), None),
        None => {
            let entry = store.watched(&chain, &hash).await?;
            let seen = entry.as_ref().and_then(|e| e.seen.as_ref());
            let trace = adapter
                .trace_with(&hash, seen)
                .await
                .map_err(|e| TraceError::chain(&chain, &e))?;
            (trace, entry)
        }
    };
    let listed = match watch {
        Some(w) => w.record_trace(&chain, &hash, &trace).await?,
        None => entry.as_ref().is_some_and(|e| !e.is_final),
    };
    let watched = listed && !closes_watch(trace.status);
    Ok(TraceOutcome {
        chain,
        hash,
        trace,
        indexed,
        watched,
    })
}
