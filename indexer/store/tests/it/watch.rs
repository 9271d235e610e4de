//! The watch list: remembered facts, open entries, and timeline events written once.

use chainwatch_schema::{PendingReason, ReplacementKind, TraceFacts, TraceStatus, TxTrace};
use sqlx::PgPool;

use crate::{Feed, chain_id, mined, store};

const HASH: &str = "0x00000000000000000000000000000000000000000000000000000000000000aa";
const SPEEDUP: &str = "0x00000000000000000000000000000000000000000000000000000000000000bb";

fn pending() -> TxTrace {
    let mut t = TxTrace::new(TraceStatus::Pending, "waiting: pending with nonce 4");
    t.reason = Some(PendingReason::Waiting);
    t.facts = TraceFacts {
        sender: Some("0x00000000000000000000000000000000000000a1".into()),
        nonce: Some(4),
        to: Some("0x00000000000000000000000000000000000000b2".into()),
        value: Some("1000000000000000000000".into()),
        input_hash: Some("0xc5d2".into()),
        max_fee: Some("2000000000".into()),
        head_height: Some(17),
        ..TraceFacts::default()
    };
    t
}

fn replaced() -> TxTrace {
    let mut t = TxTrace::new(TraceStatus::Replaced, "replaced: nonce 4 was used by 0xbb");
    t.facts = TraceFacts {
        sender: Some("0x00000000000000000000000000000000000000a1".into()),
        nonce: Some(4),
        replaced_by: Some(SPEEDUP.into()),
        replacement: Some(ReplacementKind::SpeedUp),
        extra: serde_json::json!({"replaced_in_block": {"height": 19, "hash": "0x19"}}),
        ..TraceFacts::default()
    };
    t
}

async fn events(pool: &PgPool) -> Vec<(String, Option<i64>, Option<serde_json::Value>, i64)> {
    sqlx::query_as("SELECT kind, block_height, detail, seq FROM transaction_events ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn pending_then_replaced_is_recorded_once(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    assert_eq!(store.watched(&chain, HASH).await.unwrap(), None);

    for _ in 0..3 {
        assert!(store.record_trace(&chain, HASH, &pending()).await.unwrap());
    }
    let w = store.watched(&chain, HASH).await.unwrap().unwrap();
    let seen = w.seen.clone().unwrap();
    assert_eq!((seen.nonce, seen.seen_height), (4, Some(17)));
    assert_eq!(seen.value.as_deref(), Some("1000000000000000000000"));
    assert_eq!((w.last_status.as_str(), w.is_final), ("PENDING", false));
    assert_eq!(store.open_watches(&chain, 10).await.unwrap(), vec![HASH]);

    for _ in 0..2 {
        store.record_trace(&chain, HASH, &replaced()).await.unwrap();
    }
    let w = store.watched(&chain, HASH).await.unwrap().unwrap();
    assert_eq!((w.last_status.as_str(), w.is_final), ("REPLACED", true));
    // A verdict from memory does not erase what the provider said.
    assert_eq!(w.seen, Some(seen));
    assert!(store.open_watches(&chain, 10).await.unwrap().is_empty());

    let ev = events(&pool).await;
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(
        (ev[0].0.as_str(), ev[0].1, ev[0].3),
        ("SEEN_PENDING", None, 0)
    );
    assert_eq!((ev[1].0.as_str(), ev[1].1), ("REPLACED_BY", Some(19)));
    assert_eq!(
        ev[1].2,
        Some(serde_json::json!({"replaced_by": SPEEDUP, "replacement": "SPEED_UP"}))
    );
    let timeline = store.timeline(&chain, HASH).await.unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["SEEN_PENDING", "REPLACED_BY"]);
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn unknown_and_indexed_traces_are_not_watched(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    let nf = TxTrace::new(TraceStatus::NotFound, "nobody knows it");
    assert!(!store.record_trace(&chain, HASH, &nf).await.unwrap());
    let ix = TxTrace::new(TraceStatus::Indexed, "indexed");
    assert!(!store.record_trace(&chain, HASH, &ix).await.unwrap());
    assert_eq!(store.watched(&chain, HASH).await.unwrap(), None);
    // Once watched, INDEXED closes the entry, and the index owns the rest of the timeline.
    let (_sc, blocks) = mined(&chain, 2);
    let mut feed = Feed::new(&chain);
    store
        .apply_batch(&chain, &feed.apply_all(&blocks))
        .await
        .unwrap();
    let hash = blocks[1].txs[0].hash.clone();
    store.record_trace(&chain, &hash, &pending()).await.unwrap();
    store.record_trace(&chain, &hash, &ix).await.unwrap();
    let w = store.watched(&chain, &hash).await.unwrap().unwrap();
    assert_eq!((w.last_status.as_str(), w.is_final), ("INDEXED", true));
    let kinds: Vec<String> = store
        .timeline(&chain, &hash)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["SEEN_PENDING", "INCLUDED"]);
    // Dropped, on another transaction.
    let other = "0x00000000000000000000000000000000000000000000000000000000000000cc";
    store.record_trace(&chain, other, &pending()).await.unwrap();
    let dropped = TxTrace::new(TraceStatus::Dropped, "dropped");
    store.record_trace(&chain, other, &dropped).await.unwrap();
    store.record_trace(&chain, other, &dropped).await.unwrap();
    let kinds: Vec<String> = store
        .timeline(&chain, other)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["SEEN_PENDING", "DROPPED"]);
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn every_watch_column_is_commented_and_readable(pool: PgPool) {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT a.attname::text FROM pg_attribute a
         WHERE a.attrelid = 'watched_transactions'::regclass AND a.attnum > 0
           AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(missing.is_empty(), "uncommented columns: {missing:?}");
    let readable: bool = sqlx::query_scalar(
        "SELECT has_table_privilege('chainwatch_reader', 'watched_transactions', 'SELECT')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(readable);
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn a_traced_reorged_out_transaction_is_still_reorged_out(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    let (sc, old) = mined(&chain, 4);
    let mut feed = Feed::new(&chain);
    store
        .apply_batch(&chain, &feed.apply_all(&old))
        .await
        .unwrap();
    sc.reorg(1, 3);
    let new = sc.canonical();
    store
        .apply_batch(&chain, &[feed.revert(&old[3], &old[4], &new[4])])
        .await
        .unwrap();
    let gone = &old[4].txs[0].hash;
    // Back in a mempool and traced: the watch list's SEEN_PENDING comes after REORGED_OUT.
    store.record_trace(&chain, gone, &pending()).await.unwrap();
    let r = store.transaction(&chain, gone).await.unwrap().unwrap();
    assert_eq!(r.status, chainwatch_schema::TxStatus::ReorgedOut);
    let all = store.transactions_by_hash(gone).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, chainwatch_schema::TxStatus::ReorgedOut);
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn old_entries_are_retraced_once_a_minute(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    store.record_trace(&chain, HASH, &pending()).await.unwrap();
    assert_eq!(store.open_watches(&chain, 10).await.unwrap(), vec![HASH]);
    // Stuck for an hour and traced just now: not due.
    sqlx::query("UPDATE watched_transactions SET first_seen_at = now() - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(store.open_watches(&chain, 10).await.unwrap().is_empty());
    // Traced a minute ago: due again.
    sqlx::query("UPDATE watched_transactions SET last_traced_at = now() - interval '61 seconds'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(store.open_watches(&chain, 10).await.unwrap(), vec![HASH]);
}
