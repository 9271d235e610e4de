//! Live subscriptions (graphql-ws): `transactionStatus` and `chainStatus`.
//!
//! Consume sends a Postgres `NOTIFY` on [`chainwatch_store::CHANGES_CHANNEL`] after each
//! committed batch (payload: the chain id). Each API process keeps one listening connection
//! while it has subscribers and fans the notifications out to them; a subscriber re-reads its
//! transaction or chain and pushes an update when what it shows changed. This works with any
//! number of API replicas, each with its own listener. A subscriber also re-reads every
//! [`RECHECK`] and after the listener reconnects, so a lost notification delays an update, never
//! loses it.

use std::{sync::Mutex, time::Duration};

use async_graphql::{Context, Enum, SimpleObject, Subscription};
use chainwatch_schema::{ChainId, TxStatus as ModelStatus};
use chainwatch_store::{Store, read::TxRecord};
use futures::{Stream, stream};
use tokio::sync::broadcast;
use tracing::{debug, warn};

use crate::{
    TRACE_TARGET,
    error::{ApiError, GqlResult},
    graphql::{Chain, Transaction, api, known_chain},
    validate::normalize_hash,
};

/// Longest a subscriber waits for a notification before re-reading anyway.
const RECHECK: Duration = Duration::from_secs(10);

/// What a subscriber is told: a chain changed, or everything may have (listener reconnected).
#[derive(Debug, Clone)]
enum Change {
    Chain(String),
    All,
}

/// The process's one listener, started by the first subscriber and stopped when the last one
/// leaves.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    inner: Mutex<Option<(broadcast::Sender<Change>, tokio::task::JoinHandle<()>)>>,
}

impl Changes {
    fn subscribe(&self, store: &Store) -> broadcast::Receiver<Change> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((tx, task)) = inner.as_ref()
            && !task.is_finished()
        {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(1024);
        let task = tokio::spawn(listen(store.clone(), tx.clone()));
        *inner = Some((tx, task));
        rx
    }
}

/// Forwards notifications to `tx` until it has no receivers; reconnects on errors.
async fn listen(store: Store, tx: broadcast::Sender<Change>) {
    loop {
        if tx.receiver_count() == 0 {
            return;
        }
        let mut listener = match store.listen_changes().await {
            Ok(l) => l,
            Err(e) => {
                warn!(target: TRACE_TARGET, error = %e, "cannot listen for changes; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        debug!(target: TRACE_TARGET, "listening for changes");
        // Whatever happened before (or while reconnecting) is unknown: re-read everything.
        let _ = tx.send(Change::All);
        loop {
            if tx.receiver_count() == 0 {
                return;
            }
            match tokio::time::timeout(Duration::from_secs(1), listener.try_recv()).await {
                Err(_) => {}
                Ok(Ok(Some(n))) => {
                    let _ = tx.send(Change::Chain(n.payload().to_owned()));
                }
                Ok(Ok(None)) => {
                    warn!(target: TRACE_TARGET, "change listener lost its connection; reconnecting");
                    let _ = tx.send(Change::All);
                }
                Ok(Err(e)) => {
                    warn!(target: TRACE_TARGET, error = %e, "change listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

/// Waits until `chain` may have changed (or [`RECHECK`] passed).
async fn changed(rx: &mut broadcast::Receiver<Change>, chain: &ChainId) {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(Change::Chain(c)) if c == chain.as_str() => return,
                Ok(Change::Chain(_)) => {}
                // Missed some: re-read. Closed: the listener stopped; re-read on the timer.
                Ok(Change::All) | Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => {
                    std::future::pending::<()>().await;
                }
            }
        }
    };
    let _ = tokio::time::timeout(RECHECK, wait).await;
}

/// Where a watched transaction is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub(crate) enum Lifecycle {
    /// chainwatch has not indexed it (yet).
    NotIndexed,
    /// In a canonical block that may still be reorged out.
    Included,
    /// In a block at or below the chain's safe height.
    Safe,
    /// In a block at or below the chain's finalized height: final, the subscription completes.
    Finalized,
    /// A reorg removed its block and no later block included it (yet).
    ReorgedOut,
}

impl Lifecycle {
    /// Finality steps in order: a transaction in a block passes INCLUDED, SAFE, FINALIZED.
    const STEPS: [(Self, chainwatch_schema::Finality); 3] = [
        (Self::Included, chainwatch_schema::Finality::Included),
        (Self::Safe, chainwatch_schema::Finality::Safe),
        (Self::Finalized, chainwatch_schema::Finality::Finalized),
    ];

    /// Position among [`Self::STEPS`] (1 to 3); 0 when in no block.
    fn rank(self) -> usize {
        Self::STEPS
            .iter()
            .position(|(l, _)| *l == self)
            .map_or(0, |i| i + 1)
    }

    fn of(rec: Option<&TxRecord>) -> Self {
        use chainwatch_schema::Finality as F;
        match rec {
            None => Self::NotIndexed,
            Some(r) if r.status == ModelStatus::ReorgedOut => Self::ReorgedOut,
            Some(r) => match r.finality {
                Some(F::Finalized) => Self::Finalized,
                Some(F::Safe) => Self::Safe,
                _ => Self::Included,
            },
        }
    }
}

/// One lifecycle change of a transaction.
#[derive(Debug, SimpleObject)]
pub(crate) struct TransactionStatusUpdate {
    /// The chain.
    chain: String,
    /// The transaction hash, normalized.
    hash: String,
    /// Where the transaction is now.
    lifecycle: Lifecycle,
    /// Whether this is the last update: the transaction is FINALIZED and the subscription
    /// completes.
    is_final: bool,
    /// The indexed transaction (status, finality, failure, block, timeline); null while
    /// NOT_INDEXED.
    transaction: Option<Transaction>,
}

/// A subscriber to one transaction: what it last pushed.
struct TxWatch {
    store: Store,
    chain: ChainId,
    hash: String,
    rx: broadcast::Receiver<Change>,
    /// Lifecycle and block of the last update; `None` before the first.
    last: Option<(Lifecycle, Option<u64>, Option<String>)>,
    /// Updates to push before reading again (steps passed between two reads).
    queued: std::collections::VecDeque<TransactionStatusUpdate>,
    done: bool,
}

impl TxWatch {
    /// The next update: now for the first, then at the next change of lifecycle or block.
    async fn next(mut self) -> Option<(TransactionStatusUpdate, Self)> {
        if let Some(u) = self.queued.pop_front() {
            return Some((u, self));
        }
        if self.done {
            return None;
        }
        loop {
            if self.last.is_some() {
                changed(&mut self.rx, &self.chain).await;
            }
            let rec = match self.store.transaction(&self.chain, &self.hash).await {
                Ok(r) => r,
                Err(e) => {
                    warn!(target: TRACE_TARGET, chain = %self.chain, error = %e, "subscription read failed; retrying");
                    if self.last.is_none() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            };
            let lifecycle = Lifecycle::of(rec.as_ref());
            let key = (
                lifecycle,
                rec.as_ref().and_then(|r| r.block_height),
                rec.as_ref().and_then(|r| r.block_hash.clone()),
            );
            if self.last.as_ref() == Some(&key) {
                continue;
            }
            // Finality only moves forward within one inclusion: steps skipped between two reads
            // (several blocks indexed at once) were passed, and are pushed in order, each with the
            // finality of its step.
            let same_block = self
                .last
                .as_ref()
                .is_some_and(|(l, h, b)| l.rank() > 0 && (h, b) == (&key.1, &key.2));
            let from = if same_block {
                self.last.as_ref().map_or(0, |(l, _, _)| l.rank())
            } else {
                0
            };
            if let Some(r) = &rec {
                for (step, finality) in Lifecycle::STEPS
                    .iter()
                    .take(lifecycle.rank().saturating_sub(1))
                    .skip(from)
                {
                    let mut passed = r.clone();
                    passed.finality = Some(*finality);
                    self.queued.push_back(self.update(*step, Some(passed)));
                }
            }
            self.last = Some(key);
            self.done = lifecycle == Lifecycle::Finalized;
            let update = self.update(lifecycle, rec);
            self.queued.push_back(update);
            let first = self.queued.pop_front()?;
            return Some((first, self));
        }
    }
}

impl TxWatch {
    fn update(&self, lifecycle: Lifecycle, rec: Option<TxRecord>) -> TransactionStatusUpdate {
        TransactionStatusUpdate {
            chain: self.chain.to_string(),
            hash: self.hash.clone(),
            lifecycle,
            is_final: lifecycle == Lifecycle::Finalized,
            transaction: rec.map(Transaction),
        }
    }
}

/// A subscriber to one chain's status: what it last pushed.
struct ChainWatch {
    store: Store,
    chain: ChainId,
    rx: broadcast::Receiver<Change>,
    last: Option<chainwatch_store::read::ChainStatusRecord>,
}

impl ChainWatch {
    async fn next(mut self) -> Option<(Chain, Self)> {
        loop {
            if self.last.is_some() {
                changed(&mut self.rx, &self.chain).await;
            }
            let rec = match self.store.chain_status(&self.chain).await {
                Ok(r) => r.unwrap_or_else(|| {
                    chainwatch_store::read::ChainStatusRecord::unindexed(self.chain.clone())
                }),
                Err(e) => {
                    warn!(target: TRACE_TARGET, chain = %self.chain, error = %e, "subscription read failed; retrying");
                    if self.last.is_none() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            };
            // `lag_seconds` moves with the clock alone: not a change worth pushing.
            let same = self.last.as_ref().is_some_and(|l| {
                let mut l = l.clone();
                l.lag_seconds = rec.lag_seconds;
                l == rec
            });
            if same {
                continue;
            }
            self.last = Some(rec.clone());
            return Some((Chain(rec), self));
        }
    }
}

/// The root subscription.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subscription;

/// Live updates over graphql-ws (`/graphql/ws`; protocols `graphql-transport-ws` and the older
/// `graphql-ws`).
#[Subscription]
impl Subscription {
    /// Pushes the transaction's state now and at every lifecycle change (NOT_INDEXED, INCLUDED,
    /// SAFE, FINALIZED, REORGED_OUT, included again in another block), and completes after
    /// FINALIZED.
    async fn transaction_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Chain id, family:network (e.g. evm:1).")] chain: String,
        #[graphql(
            desc = "Transaction hash: 0x and 64 hex digits on EVM (any case), the chain's own form elsewhere."
        )]
        hash: String,
    ) -> async_graphql::Result<impl Stream<Item = TransactionStatusUpdate> + use<>> {
        let watch = async {
            let api = api(ctx)?;
            let chain = known_chain(api, "chain", &chain).await?;
            let hash = normalize_hash(Some(chain.family()), &hash)?;
            // Subscribe before the first read, so that no change falls between the two.
            let rx = api.changes.subscribe(&api.store);
            Ok::<_, ApiError>(TxWatch {
                store: api.store.clone(),
                chain,
                hash,
                rx,
                last: None,
                queued: Default::default(),
                done: false,
            })
        }
        .await
        .gql()?;
        Ok(stream::unfold(watch, TxWatch::next))
    }

    /// Pushes the chain's status now and whenever it changes (indexed head, safe and finalized
    /// heights, provider heads at each heartbeat). Never completes.
    async fn chain_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Chain id, family:network (e.g. evm:1).")] id: String,
    ) -> async_graphql::Result<impl Stream<Item = Chain> + use<>> {
        let watch = async {
            let api = api(ctx)?;
            let chain = known_chain(api, "id", &id).await?;
            let rx = api.changes.subscribe(&api.store);
            Ok::<_, ApiError>(ChainWatch {
                store: api.store.clone(),
                chain,
                rx,
                last: None,
            })
        }
        .await
        .gql()?;
        Ok(stream::unfold(watch, ChainWatch::next))
    }
}
