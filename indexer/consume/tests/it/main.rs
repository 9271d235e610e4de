//! Ingest → in-process bus → consume → Postgres, against the scripted chain. Reorgs must leave
//! the database equal to a clean index of the final chain, and replays must change nothing.

use std::{sync::Arc, time::Duration};

use chainwatch_bus::InProcessBus;
use chainwatch_chain_core::test_utils::{Feed, ScriptedChain};
use chainwatch_consume::{ConsumeConfig, Consumer};
use chainwatch_ingest::{Ingest, IngestConfig};
use chainwatch_schema::{ChainEvent, ChainId, Envelope};
use chainwatch_store::{MIGRATOR, Store, testing::TempDatabase};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

fn ingest_cfg() -> IngestConfig {
    IngestConfig {
        start_height: Some(1),
        poll_interval: Duration::from_millis(10),
        heartbeat_interval: Duration::from_millis(50),
        retry_base: Duration::from_millis(1),
        retry_max: Duration::from_millis(5),
        ..IngestConfig::default()
    }
}

/// Runs ingest + consume over `chain` until the store's head equals the chain's head.
async fn index_until_head(
    chain: Arc<ScriptedChain>,
    store: Store,
    reorg_after: Option<(u64, u64)>,
) {
    let (publisher, sub) = InProcessBus::channel(32);
    let cancel = CancellationToken::new();
    let ingest = Ingest::new(chain.clone(), Arc::new(publisher), ingest_cfg());
    let c = cancel.clone();
    let ingest_task = tokio::spawn(async move { ingest.run(None, c).await });
    let consumer = Consumer::new(
        store.clone(),
        sub,
        ConsumeConfig {
            linger: Duration::from_millis(5),
            ..Default::default()
        },
    );
    let consume_task = tokio::spawn(consumer.run(CancellationToken::new()));
    let id = chain.chain().clone();
    let mut consume_task = consume_task;
    // Index to the head; then, if asked, reorg the chain and index to the new head.
    for reorg in [None, reorg_after] {
        if let Some((depth, len)) = reorg {
            chain.reorg(depth, len);
        }
        let target = chain.head_ref();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(wm) = store.watermark(&id).await.unwrap()
                && wm.head.as_ref() == Some(&target)
            {
                break;
            }
            if consume_task.is_finished() {
                panic!("consumer stopped early: {:?}", (&mut consume_task).await);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "store did not reach the chain head {target}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    cancel.cancel();
    ingest_task.await.unwrap().unwrap();
    // Ingest dropped its publisher: the consumer drains and stops.
    consume_task.await.unwrap().unwrap();
}

use chainwatch_chain_core::ChainAdapter as _;

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Applies the chain's canonical blocks from scratch: the reference a live index must equal.
async fn clean_index(chain: &ScriptedChain, store: &Store) {
    let id = chain.chain().clone();
    let envs = Feed::new(&id).apply_all(&chain.canonical()[1..]);
    store.apply_batch(&id, &envs).await.unwrap();
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reorged_index_equals_clean_index(pool: PgPool) {
    let id: ChainId = "evm:1".parse().unwrap();
    let live = Arc::new(ScriptedChain::new(id.clone(), 4));
    // Finality trails far enough behind that a depth-5 reorg is legal.
    live.set_finality_lags(8, 12);
    live.mine(30);
    let store = Store::from_pool(pool.clone());
    index_until_head(live.clone(), store.clone(), Some((5, 6))).await;

    let clean = TempDatabase::create("consume_reorg").await.unwrap();
    clean_index(&live, &clean.store).await;
    let (a, b) = (
        store.snapshot(&id).await.unwrap(),
        clean.store.snapshot(&id).await.unwrap(),
    );
    clean.drop_db().await;
    assert!(!a.is_empty());
    assert_eq!(
        a, b,
        "live index after the reorg differs from a clean index"
    );

    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM reorgs WHERE depth = 5 AND fork_height = 25"
        )
        .await,
        1
    );
    // 5 blocks × 4 txs were reverted, each with a REORGED_OUT event.
    assert_eq!(
        count(&pool, "SELECT reverted_tx_count::bigint FROM reorgs").await,
        20
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM transaction_events WHERE kind = 'REORGED_OUT'"
        )
        .await,
        20
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM transactions t JOIN transaction_events e ON e.tx_hash = t.hash AND e.kind = 'REORGED_OUT'").await,
        0,
        "reorged-out transactions must not remain canonical"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_gap_in_the_stream_is_refused_without_partial_writes(pool: PgPool) {
    let id: ChainId = "evm:6".parse().unwrap();
    let chain = ScriptedChain::new(id.clone(), 2);
    chain.mine(5);
    let store = Store::from_pool(pool.clone());
    let blocks = chain.canonical();
    let env = |seq: u64, h: usize| {
        Envelope::new(
            id.clone(),
            seq,
            ChainEvent::Apply {
                block: blocks[h].clone(),
            },
        )
    };
    store
        .apply_batch(&id, &[env(1, 1), env(2, 2)])
        .await
        .unwrap();
    // Block 4 does not extend block 2: the whole batch (including block 3's valid twin) is refused.
    let err = store
        .apply_batch(&id, &[env(3, 3), env(4, 5)])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not extend"), "{err}");
    assert_eq!(count(&pool, "SELECT count(*) FROM blocks").await, 2);
    assert_eq!(store.watermark(&id).await.unwrap().unwrap().seq, 2);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn revert_below_finalized_is_refused(pool: PgPool) {
    let id: ChainId = "evm:7".parse().unwrap();
    let chain = ScriptedChain::new(id.clone(), 1);
    chain.mine(6);
    let store = Store::from_pool(pool.clone());
    let b = chain.canonical();
    let mut envs: Vec<Envelope> = (1..=6)
        .map(|h| {
            Envelope::new(
                id.clone(),
                h as u64,
                ChainEvent::Apply {
                    block: b[h].clone(),
                },
            )
        })
        .collect();
    envs.push(Envelope::new(
        id.clone(),
        7,
        ChainEvent::Finality {
            safe: Some(b[5].block_ref.clone()),
            finalized: Some(b[4].block_ref.clone()),
        },
    ));
    store.apply_batch(&id, &envs).await.unwrap();
    let revert = Envelope::new(
        id.clone(),
        8,
        ChainEvent::Revert {
            to: b[2].block_ref.clone(),
            from: b[6].block_ref.clone(),
            new_head: b[6].block_ref.clone(),
        },
    );
    let err = store.apply_batch(&id, &[revert]).await.unwrap_err();
    assert!(err.to_string().contains("finalized"), "{err}");
    assert_eq!(count(&pool, "SELECT count(*) FROM blocks").await, 6);
}
