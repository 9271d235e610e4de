//! Paginated reads: an address's transactions by keyset, blocks and their transactions, reorgs.

use chainwatch_schema::{Finality, TxStatus};
use chainwatch_store::read::{TxFilter, TxKey};
use sqlx::PgPool;

use crate::{Feed, chain_id, mined, store};

/// `0xsender00` signs indexes 0 and 10 of every block of twelve; index 10 fails.
const ADDR: &str = "0xsender00";

fn keys(txs: &[chainwatch_store::read::TxRecord]) -> Vec<(u64, u32)> {
    txs.iter()
        .map(|t| (t.block_height.unwrap(), t.index.unwrap()))
        .collect()
}

/// The entries of `ADDR` on blocks `lo..=hi`, newest first.
fn expected(lo: u64, hi: u64) -> Vec<(u64, u32)> {
    (lo..=hi).rev().flat_map(|h| [(h, 10), (h, 0)]).collect()
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn address_keyset_pages_are_stable_while_blocks_arrive(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    let sc = chainwatch_chain_core::test_utils::ScriptedChain::new(chain.clone(), 12);
    sc.mine(6);
    let blocks = sc.canonical();
    let mut feed = Feed::new(&chain);
    store
        .apply_batch(&chain, &feed.apply_all(&blocks))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut after: Option<TxKey> = None;
    let mut pages = 0;
    loop {
        let page = store
            .address_transactions(&chain, ADDR, TxFilter::default(), after, 5)
            .await
            .unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(keys(&page.items));
        pages += 1;
        if pages == 1 {
            // Two new blocks arrive after the first page: they sit above it.
            sc.mine(2);
            let new = sc.canonical();
            store
                .apply_batch(&chain, &feed.apply_all(&new[7..]))
                .await
                .unwrap();
        }
        if !page.has_next_page {
            break;
        }
        after = page.items.last().and_then(TxKey::of);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected(1, 6));

    // From the top again, the new blocks come first.
    let page = store
        .address_transactions(&chain, ADDR, TxFilter::default(), None, 100)
        .await
        .unwrap();
    assert!(!page.has_next_page);
    assert_eq!(keys(&page.items), expected(1, 8));
    // Exactly `first` left: no next page.
    let page = store
        .address_transactions(
            &chain,
            ADDR,
            TxFilter::default(),
            Some(TxKey {
                block_height: 2,
                tx_index: 10,
            }),
            3,
        )
        .await
        .unwrap();
    assert_eq!(keys(&page.items), [(2, 0), (1, 10), (1, 0)]);
    assert!(!page.has_next_page);
    // Unknown address: empty.
    let page = store
        .address_transactions(&chain, "0xnobody", TxFilter::default(), None, 10)
        .await
        .unwrap();
    assert!(page.items.is_empty() && !page.has_next_page);
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn address_filters_by_status_and_derived_finality(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    let sc = chainwatch_chain_core::test_utils::ScriptedChain::new(chain.clone(), 12);
    sc.mine(6);
    let blocks = sc.canonical();
    let mut feed = Feed::new(&chain);
    let mut envs = feed.apply_all(&blocks);
    envs.push(feed.finality(&blocks[4], &blocks[2]));
    store.apply_batch(&chain, &envs).await.unwrap();

    let get = |filter: TxFilter| {
        let store = store.clone();
        let chain = chain.clone();
        async move {
            store
                .address_transactions(&chain, ADDR, filter, None, 100)
                .await
                .unwrap()
                .items
        }
    };
    let failed = get(TxFilter {
        status: Some(TxStatus::Failed),
        min_finality: None,
        ..TxFilter::default()
    })
    .await;
    assert_eq!(
        keys(&failed),
        (1..=6).rev().map(|h| (h, 10)).collect::<Vec<_>>()
    );
    assert!(failed.iter().all(|t| t.status == TxStatus::Failed));
    let ok = get(TxFilter {
        status: Some(TxStatus::Succeeded),
        min_finality: None,
        ..TxFilter::default()
    })
    .await;
    assert_eq!(keys(&ok), (1..=6).rev().map(|h| (h, 0)).collect::<Vec<_>>());

    let safe = get(TxFilter {
        status: None,
        min_finality: Some(Finality::Safe),
        ..TxFilter::default()
    })
    .await;
    assert_eq!(keys(&safe), expected(1, 4));
    let finalized = get(TxFilter {
        status: None,
        min_finality: Some(Finality::Finalized),
        ..TxFilter::default()
    })
    .await;
    assert_eq!(keys(&finalized), expected(1, 2));
    assert!(
        finalized
            .iter()
            .all(|t| t.finality == Some(Finality::Finalized))
    );
    let included = get(TxFilter {
        status: None,
        min_finality: Some(Finality::Included),
        ..TxFilter::default()
    })
    .await;
    assert_eq!(keys(&included), expected(1, 6));
    let both = get(TxFilter {
        status: Some(TxStatus::Failed),
        min_finality: Some(Finality::Safe),
        ..TxFilter::default()
    })
    .await;
    assert_eq!(keys(&both), [(4, 10), (3, 10), (2, 10), (1, 10)]);

    // By block time: blocks 2, 3 and 4 (since is inclusive, until exclusive).
    let time_of = |h: u64| {
        let store = &store;
        let chain = chain.clone();
        async move {
            store
                .block_by_height(&chain, h)
                .await
                .unwrap()
                .unwrap()
                .time_ms
        }
    };
    let window = get(TxFilter {
        since_ms: Some(time_of(2).await),
        until_ms: Some(time_of(5).await),
        ..TxFilter::default()
    })
    .await;
    assert_eq!(keys(&window), expected(2, 4));
    let none = get(TxFilter {
        since_ms: Some(time_of(6).await + 1),
        ..TxFilter::default()
    })
    .await;
    assert!(none.is_empty());
    // Confirmations count from the indexed head (6).
    assert_eq!(safe[0].confirmations, Some(3));
    assert_eq!(included[0].confirmations, Some(1));
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn blocks_their_transactions_and_reorgs(pool: PgPool) {
    let store = store(&pool);
    let chain = chain_id("evm:31337");
    let (sc, old) = mined(&chain, 5);
    let mut feed = Feed::new(&chain);
    let mut envs = feed.apply_all(&old);
    envs.push(feed.finality(&old[3], &old[1]));
    store.apply_batch(&chain, &envs).await.unwrap();

    let b = store.block_by_height(&chain, 3).await.unwrap().unwrap();
    assert_eq!(
        (b.height, b.hash.as_str()),
        (3, old[3].block_ref.hash.as_str())
    );
    assert_eq!(b.parent_hash, old[2].block_ref.hash);
    assert_eq!(b.time_ms, old[3].timestamp_ms);
    assert_eq!((b.tx_count, b.finality), (4, Finality::Safe));
    let by_hash = store
        .block_by_hash(&chain, &old[3].block_ref.hash)
        .await
        .unwrap();
    assert_eq!(by_hash, Some(b));
    assert_eq!(store.block_by_height(&chain, 99).await.unwrap(), None);
    assert_eq!(store.block_by_height(&chain, u64::MAX).await.unwrap(), None);
    assert_eq!(store.block_by_hash(&chain, "0xnope").await.unwrap(), None);

    let p = store.block_transactions(&chain, 3, None, 3).await.unwrap();
    assert_eq!(keys(&p.items), [(3, 0), (3, 1), (3, 2)]);
    assert!(p.has_next_page);
    let p = store
        .block_transactions(&chain, 3, Some(2), 3)
        .await
        .unwrap();
    assert_eq!(keys(&p.items), [(3, 3)]);
    assert!(!p.has_next_page);

    // No reorgs yet; then two, newest first.
    assert!(
        store
            .reorgs(&chain, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    sc.reorg(2, 3);
    let new = sc.canonical();
    let mut envs = vec![feed.revert(&old[3], &old[5], &new[6])];
    envs.extend(feed.apply_all(&new[4..]));
    store.apply_batch(&chain, &envs).await.unwrap();
    sc.reorg(1, 1);
    let newer = sc.canonical();
    let envs = vec![feed.revert(&new[5], &new[6], &newer[6])];
    store.apply_batch(&chain, &envs).await.unwrap();

    let page = store.reorgs(&chain, None, 1).await.unwrap();
    assert!(page.has_next_page);
    let r = &page.items[0];
    assert_eq!((r.fork_height, r.depth, r.reverted_tx_count), (5, 1, 4));
    assert_eq!(r.old_head_hash, new[6].block_ref.hash);
    let page = store.reorgs(&chain, Some(r.id), 1).await.unwrap();
    assert!(!page.has_next_page);
    let r = &page.items[0];
    assert_eq!(
        (r.fork_height, r.fork_hash.as_str(), r.depth),
        (3, old[3].block_ref.hash.as_str(), 2)
    );
    assert_eq!(
        (r.old_head_height, r.new_head_height, r.reverted_tx_count),
        (5, 6, 8)
    );
    assert_eq!(r.new_head_hash, new[6].block_ref.hash);
    assert!(r.detected_at_ms > 1_700_000_000_000);
}
