//! Following the head: backfill, reorg detection, finality and heartbeats.

use std::{
    collections::VecDeque,
    future::Future,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use chainwatch_bus::{BusError, Publisher};
use chainwatch_chain_core::{Backoff, ErrorChain, FetchError};
use chainwatch_schema::{Block, BlockRef, ChainEvent, ChainId, Envelope, Finality, ProviderHead};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, info_span, warn};

use crate::{ChainAdapter, TRACE_TARGET, progress::Progress};

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads every provider's head every `every` and shares the latest answer.
async fn poll_provider_heads(
    adapter: Arc<dyn ChainAdapter>,
    tx: tokio::sync::watch::Sender<Option<(u64, Vec<ProviderHead>)>>,
    every: Duration,
) {
    loop {
        let heads = adapter.provider_heads().await;
        if tx.send(Some((now_ms(), heads))).is_err() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}

/// Shortest time between two heartbeats.
const HEARTBEAT_MIN_SPACING: Duration = Duration::from_secs(1);

/// How ingest follows a chain.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// First height to index when there is no resume point; `None` starts at the current head.
    pub start_height: Option<u64>,
    /// Blocks fetched concurrently during backfill.
    pub backfill_concurrency: usize,
    /// Blocks fetched per round before finality and heartbeat are checked again.
    pub batch_blocks: u64,
    /// Sleep between head polls once caught up.
    pub poll_interval: Duration,
    /// How often provider heads are published at the least (also sooner, at most once a
    /// second, whenever the head moved past the last published one).
    pub heartbeat_interval: Duration,
    /// First retry delay after a transient error.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// How often backfill progress is logged.
    pub progress_interval: Duration,
    /// Stop (successfully) once this height is published. For bounded backfills and benchmarks.
    pub stop_at: Option<u64>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            start_height: None,
            backfill_concurrency: 8,
            batch_blocks: 256,
            poll_interval: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(5),
            retry_base: Duration::from_millis(200),
            retry_max: Duration::from_secs(10),
            progress_interval: Duration::from_secs(5),
            stop_at: None,
        }
    }
}

/// Where to pick up a chain's stream: the last published `seq` and the most recent block refs
/// (ascending; the last one is the head). Enough refs to cover the deepest expected reorg.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    /// Last published sequence number.
    pub seq: u64,
    /// Recent published block refs, oldest first.
    pub recent: Vec<BlockRef>,
}

/// Why a chain's ingest stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The adapter returned a permanent error.
    #[error("chain {chain}: fetch failed permanently")]
    Fetch {
        /// The chain.
        chain: ChainId,
        /// The adapter's error.
        #[source]
        source: FetchError,
    },
    /// The bus refused an event.
    #[error("chain {chain}: publishing to the bus failed")]
    Bus {
        /// The chain.
        chain: ChainId,
        /// The bus error.
        #[source]
        source: BusError,
    },
    /// The chain reorganized deeper than the blocks ingest remembers.
    #[error(
        "chain {chain}: reorg deeper than {window} blocks below head {head}; cannot find the fork point"
    )]
    DeepReorg {
        /// The chain.
        chain: ChainId,
        /// Blocks remembered.
        window: usize,
        /// The abandoned head.
        head: BlockRef,
    },
    /// The chain replaced blocks at or below its finalized height.
    #[error(
        "chain {chain}: CRITICAL: reorg below the finalized height {finalized} (fork point {fork}); refusing to undo final blocks"
    )]
    ReorgBelowFinality {
        /// The chain.
        chain: ChainId,
        /// The fork point found.
        fork: BlockRef,
        /// The finalized block ingest had published.
        finalized: BlockRef,
    },
    /// Cancelled while waiting.
    #[error("cancelled")]
    Cancelled,
}

/// Follows one chain and publishes its events.
#[derive(Debug)]
pub struct Ingest {
    adapter: Arc<dyn ChainAdapter>,
    publisher: Arc<dyn Publisher>,
    cfg: IngestConfig,
}

struct State {
    seq: u64,
    recent: VecDeque<BlockRef>,
    window: usize,
    next: u64,
    safe: Option<BlockRef>,
    finalized: Option<BlockRef>,
    last_heartbeat: Option<Instant>,
    /// `at_ms` of the last published heartbeat.
    last_heartbeat_at_ms: u64,
    /// The latest provider heads, read by a background poller (`at_ms`, heads).
    heads: tokio::sync::watch::Receiver<Option<(u64, Vec<ProviderHead>)>>,
    /// Best provider head in the last heartbeat.
    heartbeat_head: Option<u64>,
    /// Latest head seen by polling.
    latest_seen: Option<u64>,
}

impl State {
    fn push(&mut self, r: BlockRef) {
        self.recent.push_back(r);
        while self.recent.len() > self.window {
            self.recent.pop_front();
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Ingest {
    /// Ingest of `adapter`'s chain into `publisher`.
    pub fn new(
        adapter: Arc<dyn ChainAdapter>,
        publisher: Arc<dyn Publisher>,
        cfg: IngestConfig,
    ) -> Self {
        Self {
            adapter,
            publisher,
            cfg,
        }
    }

    fn chain(&self) -> &ChainId {
        self.adapter.chain()
    }

    /// Runs until cancelled (returns `Ok`), until `stop_at` is published, or until a fatal error.
    pub async fn run(
        &self,
        resume: Option<Resume>,
        cancel: CancellationToken,
    ) -> Result<(), IngestError> {
        let outcome = match self.run_inner(resume, &cancel).await {
            Err(IngestError::Cancelled) => Ok(()),
            other => other,
        };
        // Whatever happened, wait for the bus to acknowledge what was published: a clean stop
        // must not leave events in a client buffer, and a failed delivery must be reported.
        let flushed = self
            .publisher
            .flush()
            .await
            .map_err(|source| IngestError::Bus {
                chain: self.chain().clone(),
                source,
            });
        outcome.and(flushed)
    }

    async fn run_inner(
        &self,
        resume: Option<Resume>,
        cancel: &CancellationToken,
    ) -> Result<(), IngestError> {
        let window = self.adapter.finality_model().window().max(1) as usize;
        // Provider heads are read in the background: a hanging provider must not stall ingest
        // for its request timeout at every heartbeat.
        let (heads_tx, heads) = tokio::sync::watch::channel(None);
        let poll_every = self.cfg.poll_interval.clamp(
            HEARTBEAT_MIN_SPACING,
            self.cfg.heartbeat_interval.max(HEARTBEAT_MIN_SPACING),
        );
        let _poller = AbortOnDrop(tokio::spawn(poll_provider_heads(
            self.adapter.clone(),
            heads_tx,
            poll_every,
        )));
        let mut st = State {
            seq: 0,
            recent: VecDeque::new(),
            window,
            next: 0,
            safe: None,
            finalized: None,
            last_heartbeat: None,
            last_heartbeat_at_ms: 0,
            heads,
            heartbeat_head: None,
            latest_seen: None,
        };
        match resume {
            Some(r) if !r.recent.is_empty() => {
                st.seq = r.seq;
                for b in r.recent {
                    st.push(b);
                }
                st.next = st.recent.back().map_or(0, |h| h.height + 1);
                info!(target: TRACE_TARGET, chain = %self.chain(), seq = st.seq, next = st.next, "resuming");
            }
            r => {
                st.seq = r.map_or(0, |r| r.seq);
                st.next = match self.cfg.start_height {
                    Some(h) => h,
                    None => loop {
                        let head = self
                            .retry("head", cancel, || self.adapter.head(Finality::Included))
                            .await?;
                        if let Some(h) = head {
                            break h.height;
                        }
                        self.sleep(self.cfg.poll_interval, cancel).await?;
                    },
                };
                info!(target: TRACE_TARGET, chain = %self.chain(), start_height = st.next, "starting");
            }
        }
        let mut progress: Option<Progress> = None;

        loop {
            if cancel.is_cancelled() {
                return Err(IngestError::Cancelled);
            }
            // While every provider is down this keeps publishing heartbeats (with their errors):
            // operators see the providers down rather than a silent ingest.
            let Some(latest) = self
                .retry_beating(&mut st, "head", cancel, || {
                    self.adapter.head(Finality::Included)
                })
                .await?
            else {
                self.sleep(self.cfg.poll_interval, cancel).await?;
                continue;
            };
            metrics::gauge!("chainwatch_ingest_head_height", "chain" => self.chain().to_string(), "finality" => "latest")
                .set(latest.height as f64);
            st.latest_seen = Some(latest.height);

            // Caught up (or the chain shrank): check our head is still canonical.
            if let Some(ours) = st.recent.back().cloned()
                && latest.height <= ours.height
            {
                let canonical = if latest.height == ours.height {
                    Some(latest.clone())
                } else {
                    self.retry_beating(&mut st, "block_ref", cancel, || {
                        self.adapter.block_ref(ours.height)
                    })
                    .await?
                };
                if canonical.as_ref().map(|c| &c.hash) != Some(&ours.hash) {
                    self.handle_reorg(&mut st, &latest, cancel).await?;
                    continue;
                }
                self.side_events(&mut st, cancel).await?;
                self.sleep(self.cfg.poll_interval, cancel).await?;
                continue;
            }
            if latest.height < st.next {
                self.side_events(&mut st, cancel).await?;
                self.sleep(self.cfg.poll_interval, cancel).await?;
                continue;
            }

            let end = latest
                .height
                .min(st.next + self.cfg.batch_blocks.max(1) - 1);
            let backfilling = latest.height.saturating_sub(st.next) > 1;
            if backfilling && progress.is_none() {
                info!(target: TRACE_TARGET, chain = %self.chain(), from = st.next, to = latest.height, "backfill");
                progress = Some(Progress::new(st.next, self.cfg.progress_interval));
            }
            let mut reorg = false;
            let mut stalled = false;
            {
                let chain = self.chain();
                let mut blocks = futures::stream::iter(st.next..=end)
                    .map(|h| {
                        // Every log line of this fetch (retries, failovers with the provider
                        // label) carries the chain and height.
                        let span = info_span!("block", chain = %chain, height = h);
                        async move {
                            (
                                h,
                                self.retry("block", cancel, || self.adapter.block(h)).await,
                            )
                        }
                        .instrument(span)
                    })
                    .buffered(self.cfg.backfill_concurrency.max(1));
                // Heartbeats go on between blocks, and while a fetch is being retried.
                let mut beat = tokio::time::interval(HEARTBEAT_MIN_SPACING);
                beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    let next = tokio::select! {
                        biased;
                        n = blocks.next() => n,
                        _ = beat.tick() => {
                            self.maybe_heartbeat(&mut st).await?;
                            continue;
                        }
                    };
                    let Some((h, res)) = next else { break };
                    let Some(block) = res? else {
                        if self.adapter.has_gaps() {
                            st.next = h + 1;
                            continue;
                        }
                        // A provider behind the head it reported: try again next round.
                        debug!(target: TRACE_TARGET, chain = %self.chain(), height = h, "block not available yet");
                        stalled = true;
                        break;
                    };
                    if let Some(prev) = st.recent.back()
                        && block.parent_hash != prev.hash
                    {
                        reorg = true;
                        break;
                    }
                    self.publish_block(&mut st, block, progress.as_mut(), latest.height)
                        .await?;
                    if self.cfg.stop_at.is_some_and(|s| h >= s) {
                        self.side_events(&mut st, cancel).await?;
                        return Ok(());
                    }
                }
            }
            if reorg {
                self.handle_reorg(&mut st, &latest, cancel).await?;
            }
            if st.next > latest.height {
                progress = None;
            }
            self.side_events(&mut st, cancel).await?;
            if stalled {
                self.sleep(self.cfg.poll_interval / 4, cancel).await?;
            }
        }
    }

    async fn publish(&self, st: &mut State, event: ChainEvent) -> Result<(), IngestError> {
        let env = Envelope::new(self.chain().clone(), st.seq + 1, event);
        self.publisher
            .publish(env)
            .await
            .map_err(|source| IngestError::Bus {
                chain: self.chain().clone(),
                source,
            })?;
        st.seq += 1;
        Ok(())
    }

    async fn publish_block(
        &self,
        st: &mut State,
        block: Block,
        progress: Option<&mut Progress>,
        target: u64,
    ) -> Result<(), IngestError> {
        let r = block.block_ref.clone();
        let txs = block.txs.len();
        self.publish(st, ChainEvent::Apply { block }).await?;
        metrics::gauge!("chainwatch_ingest_published_height", "chain" => self.chain().to_string())
            .set(r.height as f64);
        if let Some(p) = progress {
            p.block(self.chain().as_str(), r.height, txs, target);
        }
        st.next = r.height + 1;
        st.push(r);
        Ok(())
    }

    /// Walks back to the fork point, publishes the revert and rewinds.
    async fn handle_reorg(
        &self,
        st: &mut State,
        latest: &BlockRef,
        cancel: &CancellationToken,
    ) -> Result<(), IngestError> {
        let Some(old_head) = st.recent.back().cloned() else {
            return Ok(());
        };
        let fork = loop {
            let Some(candidate) = st.recent.back().cloned() else {
                return Err(IngestError::DeepReorg {
                    chain: self.chain().clone(),
                    window: st.window,
                    head: old_head,
                });
            };
            let canonical = self
                .retry("block_ref", cancel, || {
                    self.adapter.block_ref(candidate.height)
                })
                .await?;
            if canonical.is_some_and(|c| c.hash == candidate.hash) {
                break candidate;
            }
            st.recent.pop_back();
        };
        let depth = old_head.height - fork.height;
        if let Some(fin) = &st.finalized
            && fork.height < fin.height
        {
            // The chain replaced a block it had called final: nothing indexed can be trusted to
            // stay, and undoing it silently would hide a consensus failure or a lying provider.
            metrics::counter!("chainwatch_ingest_reorg_below_finality_total", "chain" => self.chain().to_string())
                .increment(1);
            tracing::error!(target: TRACE_TARGET, chain = %self.chain(), fork_height = fork.height,
                            finalized_height = fin.height, old_head = %old_head, new_head = %latest,
                            "CRITICAL: reorg below the finalized height; stopping this chain");
            return Err(IngestError::ReorgBelowFinality {
                chain: self.chain().clone(),
                fork,
                finalized: fin.clone(),
            });
        }
        warn!(
            target: TRACE_TARGET,
            chain = %self.chain(),
            fork_height = fork.height,
            fork_hash = %fork.hash,
            old_head = %old_head,
            new_head = %latest,
            depth,
            "reorg detected; reverting to the fork point"
        );
        metrics::counter!("chainwatch_ingest_reorgs_total", "chain" => self.chain().to_string())
            .increment(1);
        metrics::histogram!("chainwatch_ingest_reorg_depth", "chain" => self.chain().to_string())
            .record(depth as f64);
        st.next = fork.height + 1;
        self.publish(
            st,
            ChainEvent::Revert {
                to: fork,
                from: old_head,
                new_head: latest.clone(),
            },
        )
        .await
    }

    /// Publishes finality changes and, when due, a heartbeat.
    async fn side_events(
        &self,
        st: &mut State,
        cancel: &CancellationToken,
    ) -> Result<(), IngestError> {
        let safe = self
            .retry_beating(st, "head", cancel, || self.adapter.head(Finality::Safe))
            .await?;
        let finalized = self
            .retry_beating(st, "head", cancel, || {
                self.adapter.head(Finality::Finalized)
            })
            .await?;
        if safe != st.safe || finalized != st.finalized {
            for (label, r) in [("safe", &safe), ("finalized", &finalized)] {
                if let Some(r) = r {
                    metrics::gauge!("chainwatch_ingest_head_height", "chain" => self.chain().to_string(), "finality" => label)
                        .set(r.height as f64);
                }
            }
            self.publish(
                st,
                ChainEvent::Finality {
                    safe: safe.clone(),
                    finalized: finalized.clone(),
                },
            )
            .await?;
            st.safe = safe;
            st.finalized = finalized;
        }
        self.maybe_heartbeat(st).await
    }

    /// Publishes a heartbeat when one is due and the background poller has new provider heads.
    async fn maybe_heartbeat(&self, st: &mut State) -> Result<(), IngestError> {
        // A heartbeat is due every interval, and sooner (at most once a second) when the head
        // moved past the last heartbeat's: lag is measured against it and must not look small
        // just because the heartbeat is old.
        let head_moved = st.latest_seen > st.heartbeat_head;
        let due = match st.last_heartbeat {
            None => true,
            Some(t) => {
                t.elapsed() >= self.cfg.heartbeat_interval
                    || (head_moved && t.elapsed() >= HEARTBEAT_MIN_SPACING)
            }
        };
        let snapshot = st.heads.borrow().clone();
        if due
            && let Some((at_ms, heads)) = snapshot
            && at_ms > st.last_heartbeat_at_ms
        {
            st.last_heartbeat = Some(Instant::now());
            st.last_heartbeat_at_ms = at_ms;
            st.heartbeat_head = heads
                .iter()
                .filter_map(|h| h.height)
                .max()
                .or(st.latest_seen);
            self.publish(st, ChainEvent::Heartbeat { at_ms, heads })
                .await?;
        }
        Ok(())
    }

    /// Sleeps `d`, publishing heartbeats when due meanwhile.
    async fn sleep_beating(
        &self,
        st: &mut State,
        d: Duration,
        cancel: &CancellationToken,
    ) -> Result<(), IngestError> {
        let until = tokio::time::Instant::now() + d;
        loop {
            self.maybe_heartbeat(st).await?;
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            self.sleep(left.min(HEARTBEAT_MIN_SPACING), cancel).await?;
        }
    }

    async fn sleep(&self, d: Duration, cancel: &CancellationToken) -> Result<(), IngestError> {
        tokio::select! {
            _ = cancel.cancelled() => Err(IngestError::Cancelled),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    /// Retries `f` until it succeeds, fails permanently, or ingest is cancelled.
    async fn retry<T, F, Fut>(
        &self,
        what: &'static str,
        cancel: &CancellationToken,
        f: F,
    ) -> Result<T, IngestError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, FetchError>>,
    {
        self.retry_inner(None, what, cancel, f).await
    }

    /// Like [`Self::retry`], publishing heartbeats while waiting to retry.
    async fn retry_beating<T, F, Fut>(
        &self,
        st: &mut State,
        what: &'static str,
        cancel: &CancellationToken,
        f: F,
    ) -> Result<T, IngestError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, FetchError>>,
    {
        self.retry_inner(Some(st), what, cancel, f).await
    }

    async fn retry_inner<T, F, Fut>(
        &self,
        mut st: Option<&mut State>,
        what: &'static str,
        cancel: &CancellationToken,
        mut f: F,
    ) -> Result<T, IngestError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, FetchError>>,
    {
        let mut backoff = Backoff::new(self.cfg.retry_base, self.cfg.retry_max);
        loop {
            let res = tokio::select! {
                _ = cancel.cancelled() => return Err(IngestError::Cancelled),
                r = f() => r,
            };
            let delay = match res {
                Ok(v) => return Ok(v),
                Err(e @ FetchError::Permanent { .. }) => {
                    return Err(IngestError::Fetch {
                        chain: self.chain().clone(),
                        source: e,
                    });
                }
                Err(FetchError::NotFound) => self.cfg.poll_interval,
                Err(e) => {
                    let d = backoff.next_delay();
                    warn!(
                        target: TRACE_TARGET,
                        chain = %self.chain(),
                        call = what,
                        reason = e.reason(),
                        error = %ErrorChain(&e),
                        attempt = backoff.attempts(),
                        retry_in_ms = d.as_millis() as u64,
                        "fetch failed; retrying"
                    );
                    d
                }
            };
            match st.as_deref_mut() {
                Some(st) => self.sleep_beating(st, delay, cancel).await?,
                None => self.sleep(delay, cancel).await?,
            }
        }
    }
}
