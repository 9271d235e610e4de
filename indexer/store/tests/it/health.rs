//! `chain_health`: each provider's last known head and when it last changed survive heartbeats
//! in which it does not answer, and lag is measured against them.

use sqlx::PgPool;

use crate::{Feed, chain_id, head, mined, store};

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn provider_progress_tracks_when_each_head_last_moved(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    assert!(store.chain_health().await.unwrap().is_empty());
    let (_sc, blocks) = mined(&chain, 6);
    let mut feed = Feed::new(&chain);
    let mut envs = feed.apply_all(&blocks);
    envs.push(feed.finality(&blocks[4], &blocks[2]));
    store.apply_batch(&chain, &envs).await.unwrap();

    // Before any heartbeat: indexed and finality known, no head to measure lag against.
    let h = &store.chain_health().await.unwrap()[0];
    assert_eq!(
        (h.indexed_height, h.head_height(), h.lag_blocks()),
        (Some(6), None, None)
    );
    assert_eq!(
        (h.safe_lag_blocks(), h.finalized_lag_blocks()),
        (Some(2), Some(4))
    );
    assert!(h.lag_seconds().is_some() && h.heartbeat_age_seconds().is_none());

    let t0 = 1_700_000_000_000;
    let beats = [
        (
            t0,
            vec![head("a", Some(8), None, 1.0), head("b", Some(7), None, 1.0)],
        ),
        // a: same head (its change time stays), b: moved.
        (
            t0 + 1_000,
            vec![head("a", Some(8), None, 1.0), head("b", Some(9), None, 1.0)],
        ),
        // both down: the last known heads stay.
        (
            t0 + 2_000,
            vec![
                head("a", None, Some("connect"), 0.0),
                head("b", None, Some("timeout"), 0.0),
            ],
        ),
    ];
    for (at, heads) in &beats[..2] {
        store
            .apply_batch(&chain, &[feed.heartbeat(*at, heads.clone())])
            .await
            .unwrap();
    }
    let h = &store.chain_health().await.unwrap()[0];
    assert_eq!(h.last_heartbeat_ms, Some(t0 + 1_000));
    let (a, b) = (&h.providers[0], &h.providers[1]);
    assert_eq!(
        (a.provider.as_str(), a.up, a.head_changed_at_ms),
        ("a", true, Some(t0))
    );
    assert_eq!(
        (b.height, b.head_changed_at_ms),
        (Some(9), Some(t0 + 1_000))
    );
    assert_eq!((h.head_height(), h.lag_blocks()), (Some(9), Some(3)));
    assert!(h.head_age_seconds(a).unwrap() > h.head_age_seconds(b).unwrap());

    let (at, heads) = &beats[2];
    store
        .apply_batch(&chain, &[feed.heartbeat(*at, heads.clone())])
        .await
        .unwrap();
    let h = &store.chain_health().await.unwrap()[0];
    let (a, b) = (&h.providers[0], &h.providers[1]);
    assert!(!a.up && !b.up);
    assert_eq!(
        (a.height, a.last_known_height, a.error.as_deref()),
        (None, Some(8), Some("connect"))
    );
    assert_eq!(
        (b.last_known_height, b.head_changed_at_ms),
        (Some(9), Some(t0 + 1_000))
    );
    assert_eq!((h.head_height(), h.lag_blocks()), (Some(9), Some(3)));
}
