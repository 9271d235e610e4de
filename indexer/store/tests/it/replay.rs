//! Idempotence: replaying envelopes already applied changes nothing.

use sqlx::PgPool;

use crate::{Feed, chain_id, head, mined, snapshot, store};

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn replay_is_idempotent(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    let (sc, old) = mined(&chain, 5);
    let mut feed = Feed::new(&chain);
    let mut envs = feed.apply_all(&old);
    envs.push(feed.finality(&old[3], &old[1]));
    envs.push(feed.heartbeat(1_700_000_100_000, vec![head("alpha", Some(5), None, 1.0)]));
    sc.reorg(2, 2);
    let new = sc.canonical();
    envs.push(feed.revert(&old[3], &old[5], &new[5]));
    envs.extend(feed.apply_all(&new[4..]));
    envs.push(feed.finality(&new[4], &new[2]));

    let first = store.apply_batch(&chain, &envs).await.unwrap();
    assert_eq!((first.applied, first.skipped), (envs.len(), 0));
    let before = snapshot(&pool).await;

    let again = store.apply_batch(&chain, &envs).await.unwrap();
    assert_eq!((again.applied, again.skipped), (0, envs.len()));
    assert_eq!((again.blocks, again.txs, again.reverts), (0, 0, 0));
    assert_eq!(again.watermark, first.watermark);
    assert_eq!(snapshot(&pool).await, before);

    // Any prefix, too.
    let prefix = store.apply_batch(&chain, &envs[..4]).await.unwrap();
    assert_eq!((prefix.applied, prefix.skipped), (0, 4));
    assert_eq!(snapshot(&pool).await, before);
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn replay_in_smaller_batches_matches_one_batch(pool: PgPool) {
    // Applying the same stream one envelope at a time, with each envelope delivered twice, gives
    // the same rows as applying it in one batch (timestamps of indexing aside).
    let store = store(&pool);
    let (a, b) = (chain_id("evm:1"), chain_id("evm:2"));
    let streams = [&a, &b].map(|chain| {
        let (sc, old) = mined(chain, 4);
        let mut feed = Feed::new(chain);
        let mut envs = feed.apply_all(&old);
        sc.reorg(1, 2);
        let new = sc.canonical();
        envs.push(feed.revert(&old[3], &old[4], &new[5]));
        envs.extend(feed.apply_all(&new[4..]));
        envs
    });
    store.apply_batch(&a, &streams[0]).await.unwrap();
    for env in &streams[1] {
        store
            .apply_batch(&b, std::slice::from_ref(env))
            .await
            .unwrap();
        let dup = store
            .apply_batch(&b, std::slice::from_ref(env))
            .await
            .unwrap();
        assert_eq!((dup.applied, dup.skipped), (0, 1));
    }
    let count = |chain: &'static str, table: &'static str| {
        let pool = pool.clone();
        async move {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM {table} WHERE chain_id = $1"
            )))
            .bind(chain)
            .fetch_one(&pool)
            .await
            .unwrap();
            n
        }
    };
    for table in [
        "blocks",
        "transactions",
        "address_transactions",
        "transaction_events",
        "reorgs",
    ] {
        assert_eq!(
            count("evm:1", table).await,
            count("evm:2", table).await,
            "{table}"
        );
    }
    let wa = store.watermark(&a).await.unwrap().unwrap();
    let wb = store.watermark(&b).await.unwrap().unwrap();
    assert_eq!((wa.seq, wa.head), (wb.seq, wb.head));
}
