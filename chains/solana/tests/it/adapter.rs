//! `SolanaAdapter` against the mock node: backfill across skipped slots through ingest, a fork
//! at `processed` reverted by ingest, failover from providers answering 429, -32005 or garbage,
//! and the cluster check.

use std::{sync::Arc, time::Duration};

use chainwatch_bus::{InProcessBus, InProcessSubscriber, Subscriber};
use chainwatch_chain_core::{ChainAdapter, EndpointPool, FetchError, PoolConfig, ProviderConfig};
use chainwatch_chain_solana::{Commitment, SolanaAdapter, SolanaOptions};
use chainwatch_ingest::{Ingest, IngestConfig, IngestError};
use chainwatch_schema::{BlockRef, ChainEvent, Envelope, Finality, TxStatus};
use chainwatch_testkit::{Fault, FaultProxy, RpcStub};
use tokio_util::sync::CancellationToken;

use chainwatch_testkit::solana::{BODIES, Chain, MockNode, standard_chain};

fn pool_cfg() -> PoolConfig {
    PoolConfig {
        request_timeout: Duration::from_millis(500),
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        breaker_cooldown: Duration::from_secs(1),
        ..PoolConfig::default()
    }
}

fn provider(label: &str, url: String, weight: u32) -> ProviderConfig {
    let mut p = ProviderConfig::new(label, url);
    p.weight = weight;
    p
}

async fn adapter(
    chain: &str,
    providers: Vec<ProviderConfig>,
    opts: SolanaOptions,
) -> Result<SolanaAdapter, FetchError> {
    let id = chain.parse().unwrap();
    let pool = Arc::new(EndpointPool::new(Clone::clone(&id), providers, pool_cfg()).unwrap());
    SolanaAdapter::connect(id, pool, opts).await
}

async fn one(node: &MockNode, opts: SolanaOptions) -> Arc<SolanaAdapter> {
    Arc::new(
        adapter(
            "solana:mainnet",
            vec![provider("mock", node.url(), 1)],
            opts,
        )
        .await
        .unwrap(),
    )
}

fn ingest_cfg(start: u64) -> IngestConfig {
    IngestConfig {
        start_height: Some(start),
        backfill_concurrency: 4,
        batch_blocks: 16,
        poll_interval: Duration::from_millis(10),
        heartbeat_interval: Duration::from_secs(3600),
        retry_base: Duration::from_millis(1),
        retry_max: Duration::from_millis(5),
        ..IngestConfig::default()
    }
}

fn start(
    adapter: Arc<SolanaAdapter>,
    cfg: IngestConfig,
) -> (
    InProcessSubscriber,
    CancellationToken,
    tokio::task::JoinHandle<Result<(), IngestError>>,
) {
    let (publisher, sub) = InProcessBus::channel(64);
    let cancel = CancellationToken::new();
    let ingest = Ingest::new(adapter, Arc::new(publisher), cfg);
    let c = cancel.clone();
    let task = tokio::spawn(async move { ingest.run(None, c).await });
    (sub, cancel, task)
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

/// The canonical chain a consumer would build: applies, undone by reverts; each apply must
/// extend the previous block.
fn applied(seen: &[Envelope]) -> Vec<BlockRef> {
    let mut chain: Vec<BlockRef> = Vec::new();
    for e in seen {
        match &e.event {
            ChainEvent::Apply { block } => {
                if let Some(prev) = chain.last() {
                    assert_eq!(block.parent_hash, prev.hash, "apply must extend its parent");
                }
                chain.push(block.block_ref.clone());
            }
            ChainEvent::Revert { to, .. } => chain.retain(|b| b.height <= to.height),
            _ => {}
        }
    }
    chain
}

fn heights(refs: &[BlockRef]) -> Vec<u64> {
    refs.iter().map(|b| b.height).collect()
}

#[tokio::test]
async fn heads_blocks_and_skipped_slots() {
    let node = MockNode::start(standard_chain()).await;
    let a = one(&node, SolanaOptions::default()).await;
    assert!(a.has_gaps());
    let included = a.head(Finality::Included).await.unwrap().unwrap();
    assert_eq!(included, BlockRef::new(1007, node.with(|c| c.hash(1007))));
    let finalized = a.head(Finality::Finalized).await.unwrap().unwrap();
    assert_eq!(finalized.height, 1002);

    let b = a.block(1000).await.unwrap().unwrap();
    assert_eq!(b.txs.len(), 10);
    assert_eq!(b.parent_hash, "MockGenesisParentHash");
    assert_eq!(
        b.txs
            .iter()
            .filter(|t| t.status == TxStatus::Failed)
            .count(),
        2
    );
    let v0 = a.block(1002).await.unwrap().unwrap();
    assert_eq!(v0.parent_hash, b.block_ref.hash);
    assert_eq!(v0.txs[0].extra["version"], 0);
    // 1001 is skipped: known from getBlocks, so getBlock is never asked for it.
    assert_eq!(a.block(1001).await.unwrap(), None);
    assert_eq!(a.block_ref(1004).await.unwrap(), None);
    assert_eq!(
        a.block_ref(1003).await.unwrap(),
        Some(BlockRef::new(1003, node.with(|c| c.hash(1003))))
    );
    let asked = node.with(|c| c.get_block_calls());
    assert!(
        !asked.contains(&1001) && !asked.contains(&1004),
        "{asked:?}"
    );
    let ranges = node.with(|c| c.calls.iter().filter(|(m, _)| m == "getBlocks").count());
    assert_eq!(ranges, 1, "one getBlocks range serves every slot in it");
    // Beyond the tip: not there yet, which ingest retries at a constant interval.
    assert!(matches!(a.block(5000).await, Err(FetchError::NotFound)));

    let heads = a.provider_heads().await;
    assert_eq!(
        (heads[0].provider.as_str(), heads[0].height),
        ("mock", Some(1007))
    );
}

/// Ingest from slot 1000 over skipped slots 1001, 1004 and 1005: every produced slot is applied
/// in order, each extending its parent, with no `getBlock` for a skipped slot and no error.
#[tokio::test]
async fn backfill_across_skipped_slots() {
    let node = MockNode::start(standard_chain()).await;
    let a = one(&node, SolanaOptions::default()).await;
    let mut cfg = ingest_cfg(1000);
    cfg.stop_at = Some(1007);
    let (mut sub, _cancel, task) = start(a, cfg);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("ingest did not stop at 1007")
        .unwrap()
        .unwrap();
    let mut seen = Vec::new();
    collect_until(&mut sub, &mut seen, |s| {
        applied(s).last().is_some_and(|b| b.height == 1007)
    })
    .await;
    assert_eq!(heights(&applied(&seen)), [1000, 1002, 1003, 1006, 1007]);
    let txs: usize = seen
        .iter()
        .map(|e| match &e.event {
            ChainEvent::Apply { block } => block.txs.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(txs, 12);
    let mut asked = node.with(|c| c.get_block_calls());
    asked.sort_unstable();
    asked.dedup();
    assert_eq!(asked, [1000, 1002, 1003, 1006, 1007]);
    let finality = seen.iter().find_map(|e| match &e.event {
        ChainEvent::Finality { safe, finalized } => Some((safe.clone(), finalized.clone())),
        _ => None,
    });
    let (safe, finalized) = finality.expect("a finality event");
    assert_eq!(safe.map(|s| s.height), Some(1007));
    assert_eq!(finalized.map(|f| f.height), Some(1002));
}

/// Following `processed`: slots up to 1007 are applied, then everything above 1002 is
/// abandoned for a fork whose next block (1008) has 1005 as parent, itself a child of 1002.
/// Ingest walks back (1007, 1006 and 1003 are now skipped slots), reverts to 1002 and applies
/// the new fork; the transaction of the abandoned slot 1003 lands again in 1008.
#[tokio::test]
async fn fork_at_processed_is_reverted() {
    let mut c = standard_chain();
    c.confirmed = 1002;
    c.finalized = 1000;
    let node = MockNode::start(c).await;
    let opts = SolanaOptions {
        follow: Commitment::Processed,
        ..SolanaOptions::default()
    };
    let a = one(&node, opts).await;
    let (mut sub, cancel, task) = start(a, ingest_cfg(1000));
    let mut seen = Vec::new();
    collect_until(&mut sub, &mut seen, |s| {
        applied(s).last().is_some_and(|b| b.height == 1007)
    })
    .await;
    let old_1003 = applied(&seen)[2].clone();
    node.with(|c| {
        c.abandon_above(1002);
        c.produce(1005, BODIES[3]);
        c.produce(1008, BODIES[2]);
    });
    let new_head = BlockRef::new(1008, node.with(|c| c.hash(1008)));
    collect_until(&mut sub, &mut seen, |s| {
        applied(s).last() == Some(&new_head)
    })
    .await;
    cancel.cancel();
    task.await.unwrap().unwrap();

    let reverts: Vec<(u64, u64)> = seen
        .iter()
        .filter_map(|e| match &e.event {
            ChainEvent::Revert { to, from, .. } => Some((to.height, from.height)),
            _ => None,
        })
        .collect();
    assert_eq!(reverts, [(1002, 1007)]);
    let canonical = applied(&seen);
    assert_eq!(heights(&canonical), [1000, 1002, 1005, 1008]);
    let sig_1003 = seen.iter().find_map(|e| match &e.event {
        ChainEvent::Apply { block } if block.block_ref == old_1003 => {
            Some(block.txs[0].hash.clone())
        }
        _ => None,
    });
    let in_1008 = seen.iter().rev().find_map(|e| match &e.event {
        ChainEvent::Apply { block } if block.block_ref.height == 1008 => {
            Some(block.txs[0].hash.clone())
        }
        _ => None,
    });
    assert!(sig_1003.is_some());
    assert_eq!(sig_1003, in_1008);
}

/// Two providers; the preferred one (weight 2) answers 429, -32005 "node is behind" or a body
/// that is not JSON. Every read still succeeds through the healthy one, and the failures are
/// recorded against the bad provider under the right reason.
#[tokio::test]
async fn failover_from_429_node_behind_and_garbage() {
    let node = MockNode::start(standard_chain()).await;
    let behind =
        RpcStub::start(|_, _| Err((-32005, "Node is behind by 150 slots".to_owned()))).await;
    let proxy = FaultProxy::start(node.url()).await;
    for (bad_url, fault, reason) in [
        (proxy.url(), Some(Fault::Http429), "rate_limited"),
        (proxy.url(), Some(Fault::Garbage), "decode"),
        (behind.url(), None, "node_behind"),
    ] {
        proxy.set(fault.unwrap_or(Fault::None)).await;
        let a = adapter(
            "solana:mainnet",
            vec![provider("bad", bad_url, 2), provider("good", node.url(), 1)],
            SolanaOptions::default(),
        )
        .await
        .unwrap();
        let head = a.head(Finality::Included).await.unwrap().unwrap();
        assert_eq!(head.height, 1007, "{reason}");
        let b = a.block(1003).await.unwrap().unwrap();
        assert_eq!(b.block_ref.hash, node.with(|c| c.hash(1003)), "{reason}");
        let health = a_health(&a, "bad");
        assert!(health.failures >= 1, "{reason}: {health:?}");
        let heads = a.provider_heads().await;
        assert_eq!(heads[0].error.as_deref(), Some(reason));
        assert_eq!(heads[1].height, Some(1007));
    }
}

fn a_health(a: &SolanaAdapter, label: &str) -> chainwatch_chain_core::ProviderHealth {
    a.pool()
        .health()
        .into_iter()
        .find(|h| h.label == label)
        .unwrap()
}

/// The cluster is checked by genesis hash; the error names the provider, never its URL.
#[tokio::test]
async fn wrong_cluster_is_refused() {
    let node = MockNode::start(Chain::default()).await;
    let e = adapter(
        "solana:devnet",
        vec![provider(
            "mock",
            format!("{}/secret-key-123", node.url()),
            1,
        )],
        SolanaOptions::default(),
    )
    .await
    .unwrap_err();
    let text = chainwatch_chain_core::ErrorChain(&e).to_string();
    assert_eq!(e.reason(), "chain_id_mismatch");
    assert!(
        text.contains("provider `mock` reports genesis hash 5eykt4"),
        "{text}"
    );
    assert!(
        !text.contains("secret-key-123") && !text.contains("127.0.0.1"),
        "{text}"
    );
    let e = adapter(
        "evm:1",
        vec![provider("mock", node.url(), 1)],
        SolanaOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.reason(), "invalid_config");
}

/// Following `processed` against a node that, like a real one, serves a block only once it is
/// confirmed: ingest waits at the first unconfirmed slot (NotFound, retried) without marking the
/// provider down, and goes on once the slots are confirmed. At the tip no `getBlocks` is asked
/// per new slot.
#[tokio::test]
async fn processed_head_waits_for_confirmed_blocks_without_penalty() {
    let mut c = standard_chain();
    c.serve_unconfirmed = false;
    c.confirmed = 1003;
    c.finalized = 1000;
    let node = MockNode::start(c).await;
    let opts = SolanaOptions {
        follow: Commitment::Processed,
        ..SolanaOptions::default()
    };
    let a = one(&node, opts).await;
    let (mut sub, cancel, task) = start(a.clone(), ingest_cfg(1000));
    let mut seen = Vec::new();
    collect_until(&mut sub, &mut seen, |s| {
        applied(s).last().is_some_and(|b| b.height == 1003)
    })
    .await;
    // Slot 1006 is asked for, again and again, and answered "not available".
    tokio::time::timeout(Duration::from_secs(5), async {
        while node.with(|c| c.get_block_calls().iter().filter(|s| **s == 1006).count()) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("ingest did not retry slot 1006");
    assert_eq!(heights(&applied(&seen)), [1000, 1002, 1003]);
    let h = a.pool().health().remove(0);
    assert_eq!((h.failures, h.circuit_open), (0, false), "{h:?}");
    let ranges_before = node.with(|c| c.calls.iter().filter(|(m, _)| m == "getBlocks").count());
    node.with(|c| c.confirmed = 1007);
    collect_until(&mut sub, &mut seen, |s| {
        applied(s).last().is_some_and(|b| b.height == 1007)
    })
    .await;
    cancel.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(heights(&applied(&seen)), [1000, 1002, 1003, 1006, 1007]);
    let ranges = node.with(|c| c.calls.iter().filter(|(m, _)| m == "getBlocks").count());
    assert_eq!(ranges, ranges_before, "no getBlocks per slot at the tip");
}

/// Three providers, one on another fork (same slots, other block hashes): the head is the one
/// the two others agree on, the third is set aside as DIVERGENT and receives no block request.
#[tokio::test]
async fn quorum_sets_a_forked_provider_aside() {
    let a_node = MockNode::start(standard_chain()).await;
    let b_node = MockNode::start(standard_chain()).await;
    let mut forked = Chain {
        fork: 7,
        ..Chain::default()
    };
    for (slot, body) in [1000, 1002, 1003, 1006, 1007].into_iter().zip(BODIES) {
        forked.produce(slot, body);
    }
    forked.confirmed = 1007;
    forked.finalized = 1002;
    forked.serve_unconfirmed = true;
    let c_node = MockNode::start(forked).await;
    let a = adapter(
        "solana:mainnet",
        vec![
            provider("forked", c_node.url(), 3),
            provider("a", a_node.url(), 1),
            provider("b", b_node.url(), 1),
        ],
        SolanaOptions::default(),
    )
    .await
    .unwrap();
    let head = a.head(Finality::Included).await.unwrap().unwrap();
    assert_eq!(head, BlockRef::new(1007, a_node.with(|c| c.hash(1007))));
    assert_ne!(head.hash, c_node.with(|c| c.hash(1007)));
    let states: Vec<&str> = a.pool().states().iter().map(|s| s.as_str()).collect();
    assert_eq!(states, ["DIVERGENT", "FOLLOWING", "FOLLOWING"]);
    let before = c_node.with(|c| c.get_block_calls().len());
    let b = a.block(1003).await.unwrap().unwrap();
    assert_eq!(b.block_ref.hash, a_node.with(|c| c.hash(1003)));
    assert_eq!(c_node.with(|c| c.get_block_calls().len()), before);
}

/// The adapter reads a block whose transaction carries an error variant newer than its types
/// (no retry storm on an "undecodable" answer, no stopped chain).
#[tokio::test]
async fn block_with_an_unknown_error_variant() {
    let mut c = standard_chain();
    let err = serde_json::json!("SomeFutureError");
    let meta = &mut c.blocks.get_mut(&1000).unwrap()["transactions"][0]["meta"];
    meta["err"] = err.clone();
    meta["status"] = serde_json::json!({ "Err": err });
    let node = MockNode::start(c).await;
    let a = one(&node, SolanaOptions::default()).await;
    let b = a.block(1000).await.unwrap().unwrap();
    let f = b.txs[0].failure.as_ref().unwrap();
    assert_eq!(f.code.as_deref(), Some("SomeFutureError"));
    assert_eq!(node.with(|c| c.get_block_calls()), [1000]);
}
