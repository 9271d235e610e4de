//! Ingest against the scripted chain: ordered backfill, reorg walk-back, retries, finality.

use std::{sync::Arc, time::Duration};

use chainwatch_bus::{InProcessBus, InProcessSubscriber, Subscriber};
use chainwatch_chain_core::{ChainAdapter, test_utils::ScriptedChain};
use chainwatch_ingest::{Ingest, IngestConfig, IngestError, Resume};
use chainwatch_schema::{BlockRef, ChainEvent, Envelope};
use tokio_util::sync::CancellationToken;

fn cfg() -> IngestConfig {
    IngestConfig {
        start_height: Some(1),
        backfill_concurrency: 4,
        batch_blocks: 16,
        poll_interval: Duration::from_millis(10),
        heartbeat_interval: Duration::from_secs(3600),
        retry_base: Duration::from_millis(1),
        retry_max: Duration::from_millis(5),
        ..IngestConfig::default()
    }
}

/// Collects envelopes until `done` says so (or panics after 10 s).
async fn collect_until(
    sub: &mut InProcessSubscriber,
    seen: &mut Vec<Envelope>,
    done: impl Fn(&[Envelope]) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !done(seen) {
            let batch = sub.next_batch(100, Duration::from_millis(5)).await.unwrap();
            seen.extend(batch.into_iter().map(|d| d.envelope));
        }
    })
    .await
    .expect("ingest did not produce the expected events in time");
}

fn applied(seen: &[Envelope]) -> Vec<BlockRef> {
    // The canonical view a consumer would build: applies, undone by reverts.
    let mut chain: Vec<BlockRef> = Vec::new();
    for e in seen {
        match &e.event {
            ChainEvent::Apply { block } => {
                if let Some(prev) = chain.last() {
                    assert_eq!(
                        block.parent_hash, prev.hash,
                        "apply must extend the previous block"
                    );
                }
                chain.push(block.block_ref.clone());
            }
            ChainEvent::Revert { to, .. } => chain.retain(|b| b.height <= to.height),
            _ => {}
        }
    }
    chain
}

fn start(
    chain: Arc<ScriptedChain>,
    cfg: IngestConfig,
    resume: Option<Resume>,
) -> (
    InProcessSubscriber,
    CancellationToken,
    tokio::task::JoinHandle<Result<(), IngestError>>,
) {
    let (publisher, sub) = InProcessBus::channel(64);
    let cancel = CancellationToken::new();
    let ingest = Ingest::new(chain, Arc::new(publisher), cfg);
    let c = cancel.clone();
    let task = tokio::spawn(async move { ingest.run(resume, c).await });
    (sub, cancel, task)
}

#[tokio::test]
async fn backfill_is_ordered_with_consecutive_seq() {
    let chain = Arc::new(ScriptedChain::new("evm:1".parse().unwrap(), 3));
    chain.mine(100);
    let (mut sub, cancel, task) = start(chain.clone(), cfg(), None);
    let mut seen = Vec::new();
    collect_until(&mut sub, &mut seen, |s| {
        applied(s).last().is_some_and(|b| b.height == 100)
    })
    .await;
    cancel.cancel();
    task.await.unwrap().unwrap();
    for (i, e) in seen.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "seq must increase by one");
    }
    let heights: Vec<u64> = applied(&seen).iter().map(|b| b.height).collect();
    assert_eq!(heights, (1..=100).collect::<Vec<_>>());
    assert!(
        seen.iter()
            .any(|e| matches!(e.event, ChainEvent::Finality { .. }))
    );
}

#[tokio::test]
async fn reorg_at_same_height_reverts_to_fork_point() {
    let chain = Arc::new(ScriptedChain::new("evm:1".parse().unwrap(), 2));
    chain.mine(20);
    // Finality well below the fork point: a reorg below it would stop the chain.
    chain.set_finality_lags(8, 10);
    let (mut sub, cancel, task) = start(chain.clone(), cfg(), None);
    let mut seen = Vec::new();
    collect_until(&mut sub, &mut seen, |s| {
        applied(s).last().is_some_and(|b| b.height == 20)
    })
    .await;
    // Replace the last 5 blocks with 5 others: the head height does not change.
    chain.reorg(5, 5);
    let new_head = chain.head_ref();
    collect_until(&mut sub, &mut seen, |s| {
        applied(s).last() == Some(&new_head)
    })
    .await;
    cancel.cancel();
    task.await.unwrap().unwrap();
    let reverts: Vec<_> = seen
        .iter()
        .filter_map(|e| match &e.event {
            ChainEvent::Revert { to, from, .. } => Some((to.height, from.height)),
            _ => None,
        })
        .collect();
    assert_eq!(reverts, [(15, 20)]);
    let canonical: Vec<BlockRef> = chain.canonical()[1..]
        .iter()
        .map(|b| b.block_ref.clone())
        .collect();
    assert_eq!(applied(&seen), canonical);
}

#[tokio::test]
async fn reorg_to_a_longer_fork_is_found_by_parent_hash() {
    let chain = Arc::new(ScriptedChain::new("evm:1".parse().unwrap(), 1));
    chain.mine(10);
    let (mut sub, cancel, task) = start(chain.clone(), cfg(), None);
    let mut seen = Vec::new();
    collect_until(&mut sub, &mut seen, |s| applied(s).len() == 10).await;
    chain.reorg(1, 3);
    let new_head = chain.head_ref();
    collect_until(&mut sub, &mut seen, |s| {
        applied(s).last() == Some(&new_head)
    })
    .await;
    cancel.cancel();
    task.await.unwrap().unwrap();
    let canonical: Vec<BlockRef> = chain.canonical()[1..]
        .iter()
        .map(|b| b.block_ref.clone())
        .collect();
    assert_eq!(applied(&seen), canonical);
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e.event, ChainEvent::Revert { .. }))
            .count(),
        1
    );
}

#[tokio::test]
async fn transient_errors_are_retried() {
    let chain = Arc::new(ScriptedChain::new("evm:1".parse().unwrap(), 1));
    chain.mine(30);
    chain.fail_next(7);
    let (mut sub, cancel, task) = start(chain.clone(), cfg(), None);
    let mut seen = Vec::new();
    collect_until(&mut sub, &mut seen, |s| applied(s).len() == 30).await;
    cancel.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn resume_continues_seq_and_detects_reorg_while_down() {
    let chain = Arc::new(ScriptedChain::new("evm:1".parse().unwrap(), 1));
    chain.mine(12);
    let recent: Vec<BlockRef> = chain.canonical()[1..]
        .iter()
        .map(|b| b.block_ref.clone())
        .collect();
    // While "down", the last 2 blocks were replaced.
    chain.reorg(2, 3);
    let resume = Resume { seq: 40, recent };
    let (mut sub, cancel, task) = start(chain.clone(), cfg(), Some(resume));
    let mut seen = Vec::new();
    let new_head = chain.head_ref();
    collect_until(&mut sub, &mut seen, |s| {
        s.iter()
            .any(|e| matches!(&e.event, ChainEvent::Apply { block } if block.block_ref == new_head))
    })
    .await;
    cancel.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(seen[0].seq, 41);
    match &seen[0].event {
        ChainEvent::Revert { to, from, .. } => assert_eq!((to.height, from.height), (10, 12)),
        other => panic!("expected a revert first, got {other:?}"),
    }
}

#[tokio::test]
async fn reorg_deeper_than_window_is_fatal() {
    let chain = Arc::new(ScriptedChain::new("evm:1".parse().unwrap(), 1));
    chain.mine(5);
    let recent: Vec<BlockRef> = chain.canonical()[4..]
        .iter()
        .map(|b| b.block_ref.clone())
        .collect();
    chain.reorg(4, 4);
    let (_sub, _cancel, task) = start(chain.clone(), cfg(), Some(Resume { seq: 5, recent }));
    let err = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, IngestError::DeepReorg { .. }), "{err}");
}

#[tokio::test]
async fn stop_at_ends_a_bounded_backfill() {
    let chain = Arc::new(ScriptedChain::new("evm:1".parse().unwrap(), 1));
    chain.mine(50);
    let cfg = IngestConfig {
        stop_at: Some(25),
        ..cfg()
    };
    let (mut sub, _cancel, task) = start(chain.clone(), cfg, None);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let mut seen = Vec::new();
    while let Ok(Ok(b)) = tokio::time::timeout(
        Duration::from_millis(50),
        sub.next_batch(100, Duration::ZERO),
    )
    .await
    {
        seen.extend(b.into_iter().map(|d| d.envelope));
    }
    assert_eq!(applied(&seen).last().map(|b| b.height), Some(25));
}

/// A chain whose providers never answer a head request.
#[derive(Debug)]
struct HangingHeads(ScriptedChain);

#[async_trait::async_trait]
impl ChainAdapter for HangingHeads {
    fn chain(&self) -> &chainwatch_schema::ChainId {
        self.0.chain()
    }
    fn finality_model(&self) -> chainwatch_chain_core::FinalityModel {
        self.0.finality_model()
    }
    async fn head(
        &self,
        at: chainwatch_schema::Finality,
    ) -> Result<Option<BlockRef>, chainwatch_chain_core::FetchError> {
        self.0.head(at).await
    }
    async fn block(
        &self,
        height: u64,
    ) -> Result<Option<chainwatch_schema::Block>, chainwatch_chain_core::FetchError> {
        self.0.block(height).await
    }
    async fn block_ref(
        &self,
        height: u64,
    ) -> Result<Option<BlockRef>, chainwatch_chain_core::FetchError> {
        self.0.block_ref(height).await
    }
    async fn provider_heads(&self) -> Vec<chainwatch_schema::ProviderHead> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn hanging_provider_heads_do_not_stall_ingest() {
    let inner = ScriptedChain::new("evm:1".parse().unwrap(), 1);
    inner.mine(30);
    let chain = Arc::new(HangingHeads(inner));
    let cfg = IngestConfig {
        heartbeat_interval: Duration::from_millis(1),
        ..cfg()
    };
    let (publisher, mut sub) = InProcessBus::channel(64);
    let cancel = CancellationToken::new();
    let ingest = Ingest::new(chain, Arc::new(publisher), cfg);
    let c = cancel.clone();
    let task = tokio::spawn(async move { ingest.run(None, c).await });
    let mut seen = Vec::new();
    collect_until(&mut sub, &mut seen, |s| applied(s).len() == 30).await;
    cancel.cancel();
    task.await.unwrap().unwrap();
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e.event, ChainEvent::Heartbeat { .. }))
    );
}

#[tokio::test]
async fn reorg_below_the_finalized_height_stops_the_chain() {
    let chain = Arc::new(ScriptedChain::new("evm:1".parse().unwrap(), 1));
    chain.mine(20);
    chain.set_finality_lags(2, 4);
    let (mut sub, _cancel, task) = start(chain.clone(), cfg(), None);
    let mut seen = Vec::new();
    // Wait until ingest published finality at height 16 (head 20 - 4).
    collect_until(&mut sub, &mut seen, |s| {
        s.iter().any(|e| {
            matches!(&e.event, ChainEvent::Finality { finalized: Some(f), .. } if f.height == 16)
        })
    })
    .await;
    // Replace 8 blocks: the fork point (12) is below the finalized height (16).
    chain.reorg(8, 9);
    let drain = tokio::spawn(async move {
        while sub.next_batch(100, Duration::from_millis(5)).await.is_ok() {}
    });
    let err = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    drain.abort();
    let IngestError::ReorgBelowFinality {
        fork, finalized, ..
    } = &err
    else {
        panic!("expected ReorgBelowFinality, got {err}");
    };
    assert_eq!((fork.height, finalized.height), (12, 16));
    assert!(err.to_string().contains("CRITICAL"), "{err}");
}
