//! Coalesced `Store::transaction` lookups: batched answers equal the unbatched ones.

use std::time::Duration;

use chainwatch_schema::TxStatus;
use futures::future::join_all;
use sqlx::PgPool;

use crate::{Feed, chain_id, mined, store};

/// Two chains with the same scripted hashes; on `evm:10` block 2 is reorged out.
#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn batched_lookups_answer_like_single_ones(pool: PgPool) {
    let (a, b) = (chain_id("evm:10"), chain_id("evm:1"));
    let (_sa, ba) = mined(&a, 4);
    let (_sb, bb) = mined(&b, 4);
    let (mut fa, mut fb) = (Feed::new(&a), Feed::new(&b));
    let writer = store(&pool);
    writer.apply_batch(&a, &fa.apply_all(&ba)).await.unwrap();
    writer.apply_batch(&b, &fb.apply_all(&bb)).await.unwrap();
    writer
        .apply_batch(&a, &[fa.revert(&ba[1], &ba[2], &ba[2])])
        .await
        .unwrap();

    // Every transaction on both chains, unknown hashes, and each key several times.
    let mut keys = Vec::new();
    for blk in ba.iter().chain(&bb) {
        for tx in &blk.txs {
            keys.push((a.clone(), tx.hash.clone()));
            keys.push((b.clone(), tx.hash.clone()));
        }
    }
    keys.push((a.clone(), "0xunknown".to_owned()));
    keys.push((chain_id("evm:5"), ba[1].txs[0].hash.clone()));
    let keys: Vec<_> = keys.iter().cycle().take(keys.len() * 3).cloned().collect();

    // The answers one at a time (one statement slot, nothing concurrent: never batched).
    let single = store(&pool).with_lookup_concurrency(1);
    let mut expected = Vec::new();
    for (chain, hash) in &keys {
        expected.push(single.transaction(chain, hash).await.unwrap());
    }
    let reorged = expected
        .iter()
        .flatten()
        .filter(|t| t.status == TxStatus::ReorgedOut)
        .count();
    assert!(reorged > 0, "the revert left REORGED_OUT records");
    assert!(
        expected.iter().any(Option::is_none),
        "unknown keys answer None"
    );

    // All at once through one slot: all but the first are queued and answered in batches.
    let batched = store(&pool).with_lookup_concurrency(1);
    let got = join_all(keys.iter().map(|(c, h)| batched.transaction(c, h))).await;
    let got: Vec<_> = got.into_iter().map(Result::unwrap).collect();
    assert_eq!(got, expected);
}

/// Callers that go away (dropped futures) neither fail nor strand the lookups queued behind
/// them.
#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn dropped_callers_do_not_strand_queued_lookups(pool: PgPool) {
    let chain = chain_id("evm:31337");
    let (_s, blocks) = mined(&chain, 3);
    let mut feed = Feed::new(&chain);
    let s = store(&pool).with_lookup_concurrency(1);
    s.apply_batch(&chain, &feed.apply_all(&blocks))
        .await
        .unwrap();
    let hashes: Vec<String> = blocks
        .iter()
        .flat_map(|b| b.txs.iter().map(|t| t.hash.clone()))
        .collect();
    for round in 0..20 {
        // Half the callers give up at once (their futures are dropped after one poll).
        let mut keep = Vec::new();
        for (i, h) in hashes.iter().enumerate() {
            let fut = Box::pin(s.transaction(&chain, h));
            if (i + round) % 2 == 0 {
                let mut fut = fut;
                let _ = futures::poll!(&mut fut);
                drop(fut);
            } else {
                keep.push(fut);
            }
        }
        let got = tokio::time::timeout(Duration::from_secs(20), join_all(keep))
            .await
            .expect("queued lookups were answered");
        for r in got {
            assert!(
                r.unwrap().is_some(),
                "every scripted transaction is indexed"
            );
        }
    }
}
