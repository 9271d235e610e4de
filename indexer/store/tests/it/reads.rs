//! The API's reads over data written by `apply_batch`.

use std::time::{SystemTime, UNIX_EPOCH};

use chainwatch_schema::{FailureKind, Finality, TxStatus};
use sqlx::PgPool;

use crate::{Feed, chain_id, head, mined, store};

const BLOCK_TIME_0: u64 = 1_700_000_000_000;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn transaction_fields_and_derived_finality(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    let (_sc, blocks) = mined(&chain, 6);
    let mut feed = Feed::new(&chain);
    let mut envs = feed.apply_all(&blocks);
    envs.push(feed.finality(&blocks[4], &blocks[2]));
    store.apply_batch(&chain, &envs).await.unwrap();

    let t = &blocks[1].txs[0];
    let r = store.transaction(&chain, &t.hash).await.unwrap().unwrap();
    assert_eq!(r.chain, chain);
    assert_eq!(r.hash, t.hash);
    assert_eq!(r.block_height, Some(1));
    assert_eq!(
        r.block_hash.as_deref(),
        Some(blocks[1].block_ref.hash.as_str())
    );
    assert_eq!(r.block_time_ms, Some(BLOCK_TIME_0 + 12_000));
    assert_eq!(r.index, Some(0));
    assert_eq!(r.sender.as_deref(), Some("0xsender00"));
    assert_eq!(r.to.as_deref(), Some("0xrecipient03"));
    assert_eq!(r.nonce.as_deref(), Some("1"));
    assert_eq!(r.value.as_deref(), Some("0"));
    assert_eq!(r.fee.as_deref(), Some("21000"));
    assert_eq!(r.status, TxStatus::Succeeded);
    assert_eq!(r.failure, None);
    assert_eq!(r.extra, serde_json::Value::Null);
    assert_eq!(r.finality, Some(Finality::Finalized));

    // At the finalized height exactly: still finalized.
    let r = store
        .transaction(&chain, &blocks[2].txs[1].hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.value.as_deref(), r.finality),
        (Some("1000"), Some(Finality::Finalized))
    );

    let failed = &blocks[3].txs[3];
    let r = store
        .transaction(&chain, &failed.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, TxStatus::Failed);
    assert_eq!(r.finality, Some(Finality::Safe));
    let f = r.failure.unwrap();
    assert_eq!(
        (f.kind, f.message.as_str(), f.raw.as_str()),
        (FailureKind::Reverted, "scripted revert", "{}")
    );
    assert_eq!(Some(f), failed.failure);

    let r = store
        .transaction(&chain, &blocks[4].txs[2].hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.finality, Some(Finality::Safe));
    let r = store
        .transaction(&chain, &blocks[5].txs[2].hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.finality, Some(Finality::Included));
    assert_eq!(r.block_time_ms, Some(BLOCK_TIME_0 + 5 * 12_000));

    // Absent: unknown hash, or a known hash on another chain.
    assert_eq!(store.transaction(&chain, "0xdead").await.unwrap(), None);
    assert_eq!(
        store
            .transaction(&chain_id("evm:1"), &t.hash)
            .await
            .unwrap(),
        None
    );
    assert!(store.timeline(&chain, "0xdead").await.unwrap().is_empty());
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn timeline_derives_safe_and_finalized(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    let (_sc, blocks) = mined(&chain, 6);
    let mut feed = Feed::new(&chain);
    let mut envs = feed.apply_all(&blocks);
    envs.push(feed.finality(&blocks[4], &blocks[2]));
    let before = now_ms();
    store.apply_batch(&chain, &envs).await.unwrap();
    store
        .apply_batch(&chain, &[feed.finality(&blocks[6], &blocks[4])])
        .await
        .unwrap();
    let after = now_ms();

    let kinds = |t: &[chainwatch_store::read::TimelineEntry]| {
        t.iter()
            .map(|e| (e.kind.clone(), e.block_height))
            .collect::<Vec<_>>()
    };
    // Block 1: safe at the first safe head covering it (4), finalized at the first finalized (2).
    let t = store
        .timeline(&chain, &blocks[1].txs[0].hash)
        .await
        .unwrap();
    assert_eq!(
        kinds(&t),
        [
            ("INCLUDED".into(), Some(1)),
            ("SAFE".into(), Some(4)),
            ("FINALIZED".into(), Some(2))
        ]
    );
    assert_eq!(t[0].at_ms, BLOCK_TIME_0 + 12_000);
    assert_eq!(
        t[0].block_hash.as_deref(),
        Some(blocks[1].block_ref.hash.as_str())
    );
    assert_eq!(
        t[1].block_hash.as_deref(),
        Some(blocks[4].block_ref.hash.as_str())
    );
    for e in &t[1..] {
        assert!(
            (before.saturating_sub(1_000)..=after + 1_000).contains(&e.at_ms),
            "{e:?} not between {before} and {after}"
        );
    }
    // Block 3: finalized only by the second finality event (height 4).
    let t = store
        .timeline(&chain, &blocks[3].txs[0].hash)
        .await
        .unwrap();
    assert_eq!(
        kinds(&t),
        [
            ("INCLUDED".into(), Some(3)),
            ("SAFE".into(), Some(4)),
            ("FINALIZED".into(), Some(4))
        ]
    );
    // Block 5: safe (head 6), not finalized.
    let t = store
        .timeline(&chain, &blocks[5].txs[0].hash)
        .await
        .unwrap();
    assert_eq!(
        kinds(&t),
        [("INCLUDED".into(), Some(5)), ("SAFE".into(), Some(6))]
    );
    let r = store
        .transaction(&chain, &blocks[5].txs[0].hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.finality, Some(Finality::Safe));
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn revert_reorgs_out_then_reincludes(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    let (sc, old) = mined(&chain, 5);
    let mut feed = Feed::new(&chain);
    let mut envs = feed.apply_all(&old);
    // Safe at 4 (will be reorged away), finalized at 1.
    envs.push(feed.finality(&old[4], &old[1]));
    store.apply_batch(&chain, &envs).await.unwrap();
    assert_eq!(
        store
            .transaction(&chain, &old[4].txs[0].hash)
            .await
            .unwrap()
            .unwrap()
            .finality,
        Some(Finality::Safe)
    );

    // Fork at 3: blocks 4 and 5 replaced by 4', 5', 6'. Block 4' carries old block 4's first
    // transaction again (scripted hashes include the fork generation, so build it by hand).
    sc.reorg(2, 3);
    let mut new = sc.canonical();
    let mut moved = old[4].txs[0].clone();
    moved.index = new[4].txs.len() as u32;
    new[4].txs.push(moved.clone());
    let envs = vec![feed.revert(&old[3], &old[5], &new[6])];
    let out = store.apply_batch(&chain, &envs).await.unwrap();
    assert_eq!((out.reverts, out.reverted_txs), (1, 8));

    // Between the revert and the new blocks: reorged out, no block, no finality.
    let r = store
        .transaction(&chain, &moved.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, TxStatus::ReorgedOut);
    assert_eq!(
        (r.block_height, r.block_hash.clone(), r.finality),
        (None, None, None)
    );

    let mut envs = feed.apply_all(&new[4..]);
    envs.push(feed.finality(&new[5], &old[1]));
    store.apply_batch(&chain, &envs).await.unwrap();

    // The moved transaction is back, in block 4', safe at 5' (the reorged-away safe row at old 4
    // is not used).
    let r = store
        .transaction(&chain, &moved.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, TxStatus::Succeeded);
    assert_eq!(r.block_height, Some(4));
    assert_eq!(
        r.block_hash.as_deref(),
        Some(new[4].block_ref.hash.as_str())
    );
    assert_eq!(r.index, Some(4));
    assert_eq!(r.finality, Some(Finality::Safe));
    let t = store.timeline(&chain, &moved.hash).await.unwrap();
    let kinds: Vec<_> = t.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["INCLUDED", "REORGED_OUT", "REINCLUDED", "SAFE"]);
    assert_eq!(
        t[1].block_hash.as_deref(),
        Some(old[4].block_ref.hash.as_str())
    );
    assert_eq!(
        t[2].block_hash.as_deref(),
        Some(new[4].block_ref.hash.as_str())
    );
    assert_eq!(
        t[3].block_hash.as_deref(),
        Some(new[5].block_ref.hash.as_str())
    );

    // A transaction only the old fork had stays reorged out.
    let gone = &old[5].txs[1].hash;
    let r = store.transaction(&chain, gone).await.unwrap().unwrap();
    assert_eq!((r.status, r.finality), (TxStatus::ReorgedOut, None));
    let t = store.timeline(&chain, gone).await.unwrap();
    let kinds: Vec<_> = t
        .iter()
        .map(|e| (e.kind.as_str(), e.block_height))
        .collect();
    assert_eq!(kinds, [("INCLUDED", Some(5)), ("REORGED_OUT", Some(5))]);
    let all = store.transactions_by_hash(gone).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, TxStatus::ReorgedOut);

    // Below the fork nothing moved.
    let r = store
        .transaction(&chain, &old[3].txs[0].hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.status, r.finality),
        (TxStatus::Succeeded, Some(Finality::Safe))
    );
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn transactions_by_hash_spans_chains(pool: PgPool) {
    let store = store(&pool);
    // Scripted hashes do not include the chain: both chains have the same transactions.
    let (a, b) = (chain_id("evm:10"), chain_id("evm:1"));
    let (_sa, ba) = mined(&a, 2);
    let (_sb, bb) = mined(&b, 2);
    let mut fa = Feed::new(&a);
    let mut fb = Feed::new(&b);
    store.apply_batch(&a, &fa.apply_all(&ba)).await.unwrap();
    store.apply_batch(&b, &fb.apply_all(&bb)).await.unwrap();

    let hash = &ba[2].txs[0].hash;
    let all = store.transactions_by_hash(hash).await.unwrap();
    let chains: Vec<_> = all.iter().map(|r| r.chain.as_str()).collect();
    assert_eq!(chains, ["evm:1", "evm:10"]);
    assert!(
        all.iter()
            .all(|r| r.status == TxStatus::Succeeded && r.block_height == Some(2))
    );

    // Reorged out on evm:10 only.
    store
        .apply_batch(&a, &[fa.revert(&ba[1], &ba[2], &ba[2])])
        .await
        .unwrap();
    let all = store.transactions_by_hash(hash).await.unwrap();
    let got: Vec<_> = all.iter().map(|r| (r.chain.as_str(), r.status)).collect();
    assert_eq!(
        got,
        [
            ("evm:1", TxStatus::Succeeded),
            ("evm:10", TxStatus::ReorgedOut)
        ]
    );
    assert!(
        store
            .transactions_by_hash("0xdead")
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn chain_status_reports_lag_and_providers(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    assert!(!store.known_chain(&chain).await.unwrap());
    assert_eq!(store.chain_status(&chain).await.unwrap(), None);
    assert!(store.chain_statuses().await.unwrap().is_empty());
    store.ping().await.unwrap();

    let (_sc, blocks) = mined(&chain, 6);
    let mut feed = Feed::new(&chain);
    let mut envs = feed.apply_all(&blocks);
    envs.push(feed.finality(&blocks[4], &blocks[2]));
    store.apply_batch(&chain, &envs).await.unwrap();

    // Blocks but no heartbeat yet: no head to measure lag in blocks against.
    let s = store.chain_status(&chain).await.unwrap().unwrap();
    assert_eq!(
        (s.indexed_height, s.best_head_height, s.lag_blocks),
        (Some(6), None, None)
    );
    assert!(s.providers.is_empty() && s.last_heartbeat_ms.is_none());

    let heads = vec![
        head("alpha", Some(10), None, 0.9),
        head("beta", None, Some("timeout"), 0.0),
    ];
    let at_ms = BLOCK_TIME_0 + 500_000;
    store
        .apply_batch(&chain, &[feed.heartbeat(at_ms, heads.clone())])
        .await
        .unwrap();
    let s = store.chain_status(&chain).await.unwrap().unwrap();
    assert_eq!(s.chain, chain);
    assert_eq!(s.indexed_height, Some(6));
    assert_eq!(
        s.indexed_hash.as_deref(),
        Some(blocks[6].block_ref.hash.as_str())
    );
    assert_eq!(s.indexed_block_time_ms, Some(BLOCK_TIME_0 + 6 * 12_000));
    assert_eq!((s.safe_height, s.finalized_height), (Some(4), Some(2)));
    assert_eq!((s.best_head_height, s.lag_blocks), (Some(10), Some(4)));
    assert_eq!(s.providers, heads);
    assert_eq!(s.last_heartbeat_ms, Some(at_ms));
    let expected = (now_ms() - (BLOCK_TIME_0 + 6 * 12_000)) as f64 / 1000.0;
    let lag = s.lag_seconds.unwrap();
    assert!(
        (lag - expected).abs() < 60.0,
        "lag {lag} s, expected about {expected} s"
    );

    // Providers behind the indexed head: lag is zero, not negative.
    store
        .apply_batch(
            &chain,
            &[feed.heartbeat(at_ms + 1, vec![head("alpha", Some(3), None, 1.0)])],
        )
        .await
        .unwrap();
    let s = store.chain_status(&chain).await.unwrap().unwrap();
    assert_eq!((s.best_head_height, s.lag_blocks), (Some(3), Some(0)));

    assert!(store.known_chain(&chain).await.unwrap());
    assert!(!store.known_chain(&chain_id("evm:1")).await.unwrap());
    assert_eq!(
        store.chain_ids().await.unwrap(),
        std::slice::from_ref(&chain)
    );
    // The same record through the list (lag in seconds moves with the clock).
    let mut all = store.chain_statuses().await.unwrap();
    assert_eq!(all.len(), 1);
    all[0].lag_seconds = s.lag_seconds;
    assert_eq!(all, [s]);
}
