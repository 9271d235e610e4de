//! Coalesced transaction lookups: [`Store::transaction`], the API's hottest read.
//!
//! At most [`Store::lookup_concurrency`] lookup statements run at once. A lookup that finds a slot free
//! runs at once, alone, on the caller's task: batching adds no latency when the store is not
//! busy. A lookup that arrives while every slot is busy waits in a queue, and the next statement
//! takes every waiting lookup (up to [`MAX_BATCH`]) in one round trip: under load that saves a
//! round trip, a statement's start-up in Postgres and the client's per-statement work for every
//! lookup it folds in.
//!
//! Contracts:
//! - Each lookup gets what it would have got alone: the row of its `(chain, hash)`, or the
//!   `REORGED_OUT` record, or nothing. A batch reads its rows in one statement (one snapshot),
//!   and the `REORGED_OUT` check for the hashes it did not find in a second one, as the
//!   unbatched read did.
//! - Batches of queued lookups run on their own task: a caller that goes away (a client
//!   disconnect, the API's query timeout) leaves its batch running, so it never fails other
//!   callers' lookups. A lookup running alone stops with its caller and hands its slot on.
//! - A failed statement fails every lookup of its batch with the same error
//!   ([`StoreError::Batched`]); nothing is retried here.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use chainwatch_schema::{ChainId, TxStatus};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::{
    Store, StoreError,
    read::{TxRecord, chain_id, reorged_out, tx_record},
};

/// Most lookups one statement answers.
pub const MAX_BATCH: usize = 64;

/// Lookup statements a store runs at once unless told otherwise
/// ([`Store::with_lookup_concurrency`]). Two kept a 2-core machine's Postgres busy while batching
/// the rest: one gave no overlap between round trips, four batched less and lowered throughput
/// (`cargo bench -p chainwatch --bench api`).
pub const DEFAULT_CONCURRENCY: usize = 2;

/// The statement for a batch of `n` distinct keys, `n` a power of two up to [`MAX_BATCH`]:
/// `(hash, chain_id) IN (($1, $2), ($3, $4), …)`, batches padded by repeating their last key.
///
/// Scalar parameters, not arrays: Postgres re-plans a statement over `unnest($1)` at every
/// execution (its custom plan, which sees the array's length, always looks cheaper than the
/// generic one), and planning that join took several times longer than running it. With one
/// statement per size the generic plan is cached per connection.
fn batch_select(n: usize) -> &'static str {
    static SQL: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        (0..=MAX_BATCH.trailing_zeros())
            .map(|p| {
                let pairs: Vec<String> = (0..1usize << p)
                    .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                    .collect();
                format!(
                    "{} WHERE (t.hash, t.chain_id) IN ({})",
                    tx_select!(),
                    pairs.join(", ")
                )
            })
            .collect()
    });
    &SQL[n.next_power_of_two().trailing_zeros() as usize]
}

/// Of the pairs `($1[i], $2[i])`, those whose latest index event is `REORGED_OUT` (the watch
/// list's events do not count). Only asked for pairs that have no row: rare enough that its
/// re-planning at each execution (see [`batch_select`]) does not matter.
const BATCH_REORGED_OUT: &str = concat!(
    "
    SELECT k.chain_id, k.hash
    FROM unnest($1::text[], $2::text[]) AS k(chain_id, hash)
    CROSS JOIN LATERAL (
        SELECT e.kind FROM transaction_events e
        WHERE e.chain_id = k.chain_id AND e.tx_hash = k.hash AND ",
    index_event!(),
    "
        ORDER BY e.id DESC LIMIT 1) last
    WHERE last.kind = $3"
);

type Answer = Result<Option<TxRecord>, Arc<StoreError>>;

struct Lookup {
    chain: ChainId,
    hash: String,
    reply: oneshot::Sender<Answer>,
}

/// The queue and the statement slots of one store (shared by its clones).
pub(crate) struct Lookups {
    queue: Mutex<VecDeque<Lookup>>,
    slots: Arc<Semaphore>,
    size: usize,
}

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookups")
            .field("slots", &self.size)
            .finish_non_exhaustive()
    }
}

impl Lookups {
    pub(crate) fn new(slots: usize) -> Arc<Self> {
        let size = slots.max(1);
        Arc::new(Self {
            queue: Mutex::new(VecDeque::new()),
            slots: Arc::new(Semaphore::new(size)),
            size,
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Lookup>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Up to [`MAX_BATCH`] waiting lookups, oldest first.
    fn take_batch(&self) -> Vec<Lookup> {
        let mut q = self.queue();
        let n = q.len().min(MAX_BATCH);
        q.drain(..n).collect()
    }
}

/// Holds a statement slot; on drop gives it back and starts a runner for queued lookups.
struct SlotGuard<'a> {
    store: &'a Store,
    slot: Option<OwnedSemaphorePermit>,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        drop(self.slot.take());
        self.store.kick_lookups();
    }
}

impl Store {
    /// The transaction `hash` on `chain`, with derived finality, or a `REORGED_OUT` record if a
    /// reorg removed it and it was not included again; `None` if chainwatch never indexed it.
    ///
    /// `hash` is compared exactly: callers normalize it (EVM: lowercase). Concurrent calls are
    /// answered in batches (see the [module docs](crate::lookup)).
    pub async fn transaction(
        &self,
        chain: &ChainId,
        hash: &str,
    ) -> Result<Option<TxRecord>, StoreError> {
        // Nothing queued and a free slot: this lookup runs here, alone. The guard gives the slot
        // back even if this future is dropped mid-query, and starts a runner for lookups queued
        // meanwhile. (With lookups queued, a newcomer queues behind them: a slot given back goes
        // to the queue, never to a newcomer that would jump it.)
        if self.lookups.queue().is_empty()
            && let Ok(slot) = self.lookups.slots.clone().try_acquire_owned()
        {
            let _slot = SlotGuard {
                store: self,
                slot: Some(slot),
            };
            return self.lookup_one(chain, hash).await;
        }
        // Every slot busy: queue, and a runner takes this lookup with others in one statement.
        let (reply, answer) = oneshot::channel();
        self.lookups.queue().push_back(Lookup {
            chain: chain.clone(),
            hash: hash.to_owned(),
            reply,
        });
        self.kick_lookups();
        match answer.await {
            Ok(Ok(tx)) => Ok(tx),
            Ok(Err(e)) => Err(StoreError::Batched(e)),
            // The runner died without answering (it panicked).
            Err(_) => Err(StoreError::Query(sqlx::Error::WorkerCrashed)),
        }
    }

    /// How many lookup statements [`Store::transaction`] runs at once at most.
    pub fn lookup_concurrency(&self) -> usize {
        self.lookups.size
    }

    /// Starts a runner if lookups are queued and a slot is free.
    ///
    /// Every path that gives a slot back calls this after, and every lookup that is queued calls
    /// it after queueing: so a queued lookup always has a runner that will take it.
    fn kick_lookups(&self) {
        if self.lookups.queue().is_empty() {
            return;
        }
        if let Ok(slot) = self.lookups.slots.clone().try_acquire_owned()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(self.clone().run_lookups(slot));
        }
    }

    /// Answers batches from the queue until it is empty, then gives `slot` back.
    async fn run_lookups(self, slot: OwnedSemaphorePermit) {
        let _slot = SlotGuard {
            store: &self,
            slot: Some(slot),
        };
        loop {
            let batch = self.lookups.take_batch();
            if batch.is_empty() {
                return;
            }
            self.answer(batch).await;
        }
    }

    /// One lookup, alone: the single-key statements, the cheapest for Postgres to run.
    async fn lookup_one(
        &self,
        chain: &ChainId,
        hash: &str,
    ) -> Result<Option<TxRecord>, StoreError> {
        let row = sqlx::query(concat!(
            tx_select!(),
            " WHERE t.chain_id = $1 AND t.hash = $2"
        ))
        .bind(chain.as_str())
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            return Ok(Some(tx_record(&row)?));
        }
        let last: Option<String> = sqlx::query_scalar(concat!(
            "SELECT e.kind FROM transaction_events e WHERE e.chain_id = $1 AND e.tx_hash = $2 AND ",
            index_event!(),
            " ORDER BY e.id DESC LIMIT 1"
        ))
        .bind(chain.as_str())
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok((last.as_deref() == Some(TxStatus::ReorgedOut.as_str()))
            .then(|| reorged_out(chain.clone(), hash)))
    }

    /// Runs one batch and replies to each of its lookups.
    async fn answer(&self, batch: Vec<Lookup>) {
        let keys: Vec<(&str, &str)> = batch
            .iter()
            .map(|l| (l.chain.as_str(), l.hash.as_str()))
            .collect();
        match self.lookup_batch(&keys).await {
            Ok(found) => {
                for (l, tx) in batch.into_iter().zip(found) {
                    let _ = l.reply.send(Ok(tx));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for l in batch {
                    let _ = l.reply.send(Err(e.clone()));
                }
            }
        }
    }

    /// What [`Store::transaction`] answers for each of `keys` (chain id, hash), in order.
    async fn lookup_batch(
        &self,
        keys: &[(&str, &str)],
    ) -> Result<Vec<Option<TxRecord>>, StoreError> {
        // `keys`' positions sorted by key: a key's positions are a run (a key asked for twice
        // in one batch gets the same answer twice), found by binary search.
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]));
        let at = |key: (&str, &str)| {
            let lo = order.partition_point(|&i| keys[i] < key);
            let hi = order.partition_point(|&i| keys[i] <= key);
            &order[lo..hi]
        };
        let mut out: Vec<Option<TxRecord>> = vec![None; keys.len()];
        let place = |tx: TxRecord, out: &mut Vec<Option<TxRecord>>| {
            if let Some((last, rest)) = at((tx.chain.as_str(), &tx.hash)).split_last() {
                for &i in rest {
                    out[i] = Some(tx.clone());
                }
                out[*last] = Some(tx);
            }
        };
        let mut distinct: Vec<(&str, &str)> = order.iter().map(|&i| keys[i]).collect();
        distinct.dedup();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(batch_select(distinct.len())));
        let last = distinct.last().copied().unwrap_or_default();
        for (chain, hash) in distinct
            .iter()
            .copied()
            .chain(std::iter::repeat(last))
            .take(distinct.len().next_power_of_two())
        {
            q = q.bind(hash).bind(chain);
        }
        let rows = q.fetch_all(&self.pool).await?;
        for row in &rows {
            place(tx_record(row)?, &mut out);
        }
        // Not found: reorged out, or never indexed.
        let (chains, hashes): (Vec<&str>, Vec<&str>) = distinct
            .iter()
            .filter(|k| at(**k).first().is_some_and(|&i| out[i].is_none()))
            .copied()
            .unzip();
        if chains.is_empty() {
            return Ok(out);
        }
        let gone: Vec<(String, String)> = sqlx::query_as(BATCH_REORGED_OUT)
            .bind(&chains)
            .bind(&hashes)
            .bind(TxStatus::ReorgedOut.as_str())
            .fetch_all(&self.pool)
            .await?;
        for (chain, hash) in gone {
            place(reorged_out(chain_id(&chain)?, &hash), &mut out);
        }
        Ok(out)
    }
}
