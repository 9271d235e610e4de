//! `AptosAdapter` against the scripted mock REST node ([`crate::node`]): backfill, live head,
//! truncated blocks, failover, chain-id checks and secrets.

use std::{sync::Arc, time::Duration};

use chainwatch_chain_aptos::{AptosAdapter, AptosOptions, decode_files};
use chainwatch_chain_core::{
    ChainAdapter, EndpointPool, ErrorChain, FetchError, FinalityModel, PoolConfig, ProviderConfig,
};
use chainwatch_schema::{ChainId, FailureKind, Finality, TxStatus};
use chainwatch_testkit::{AptosNode, Fault};

use crate::{
    golden::testdata,
    node::{self, USER_TXNS, made_up_hash},
};

const BLOCK_10000: &str = "0x7eee0512cef0754f58890802a6c3ba1e1032bb1820f45b825adbbee4f10d9d71";

fn aptos1() -> ChainId {
    "aptos:1".parse().unwrap()
}

pub(crate) fn fast_cfg() -> PoolConfig {
    PoolConfig {
        request_timeout: Duration::from_millis(500),
        max_attempts: 0,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_secs(1),
        breaker_max_cooldown: Duration::from_secs(2),
        ..PoolConfig::default()
    }
}

fn pool(providers: Vec<(&str, String, u32)>) -> Arc<EndpointPool> {
    let providers = providers
        .into_iter()
        .map(|(label, url, weight)| {
            let mut p = ProviderConfig::new(label, url);
            p.weight = weight;
            p
        })
        .collect();
    Arc::new(EndpointPool::new(aptos1(), providers, fast_cfg()).unwrap())
}

pub(crate) async fn adapter(node: &AptosNode) -> AptosAdapter {
    AptosAdapter::connect(
        aptos1(),
        pool(vec![("node", node.stub.url(), 1)]),
        AptosOptions::default(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn backfill_links_parents_and_normalizes_like_decode() {
    let node = node::start(10_004).await;
    let a = adapter(&node).await;
    assert_eq!(a.finality_model(), FinalityModel::Instant);

    let mut prev_hash = made_up_hash(9999);
    let mut blocks = Vec::new();
    for h in 10_000..=10_004 {
        let b = a.block(h).await.unwrap().unwrap();
        assert_eq!(b.block_ref.height, h);
        assert_eq!(b.parent_hash, prev_hash, "block {h}");
        prev_hash = b.block_ref.hash.clone();
        blocks.push(b);
    }
    assert_eq!(blocks[0].block_ref.hash, BLOCK_10000);
    // Block 10000's transactions are exactly what `decode` makes of the recorded file.
    let decoded = decode_files(
        &aptos1(),
        &[(
            "b".into(),
            std::fs::read(testdata("mainnet-block-10000-with-txns.json")).unwrap(),
        )],
    )
    .unwrap();
    let decoded_txs: Vec<_> = decoded.transactions.into_iter().map(|t| t.tx).collect();
    assert_eq!(blocks[0].txs, decoded_txs);
    // And each user transaction is what `decode` makes of it (index 0: first of its block).
    for (b, name) in blocks[1..].iter().zip(USER_TXNS) {
        let d = decode_files(
            &aptos1(),
            &[(name.into(), std::fs::read(testdata(name)).unwrap())],
        )
        .unwrap();
        assert_eq!(b.txs, vec![d.transactions[0].tx.clone()], "{name}");
    }
    let failed = &blocks[3].txs[0];
    assert_eq!(failed.status, TxStatus::Failed);
    let f = failed.failure.as_ref().unwrap();
    assert_eq!(
        (f.kind, f.code.as_deref()),
        (FailureKind::MoveAbort, Some("0x385"))
    );

    // Above the head: not produced yet.
    assert!(a.block(10_005).await.unwrap().is_none());
    assert!(a.block_ref(10_005).await.unwrap().is_none());
    // Block 10001's parent came from the remembered hash of 10000, not a second request.
    let asked_10000_header = node
        .stub
        .requests()
        .iter()
        .filter(|r| *r == "/blocks/by_height/10000?with_transactions=false")
        .count();
    assert_eq!(asked_10000_header, 0);
}

#[tokio::test]
async fn live_head_follows_the_ledger() {
    let node = node::start(10_001).await;
    let a = adapter(&node).await;
    for at in [Finality::Included, Finality::Safe, Finality::Finalized] {
        let head = a.head(at).await.unwrap().unwrap();
        assert_eq!(
            (head.height, head.hash.as_str()),
            (10_001, made_up_hash(10_001).as_str())
        );
    }
    assert!(a.block(10_002).await.unwrap().is_none());
    node.with(|s| s.head = 10_003);
    let head = a.head(Finality::Finalized).await.unwrap().unwrap();
    assert_eq!(head.height, 10_003);
    let b = a.block(10_003).await.unwrap().unwrap();
    assert_eq!(b.txs[0].status, TxStatus::Failed);
    let heads = a.provider_heads().await;
    assert_eq!(heads.len(), 1);
    assert_eq!(
        (heads[0].provider.as_str(), heads[0].height),
        ("node", Some(10_003))
    );
    assert!(
        node.stub.requests().iter().any(|r| r == "/"),
        "ledger info is GET /v1"
    );
    // The head's hash is not asked for again once known: one request (ledger info) per head.
    let before = node.stub.requests().len();
    a.head(Finality::Finalized).await.unwrap();
    assert_eq!(node.stub.requests()[before..], ["/"]);
}

#[tokio::test]
async fn truncated_block_is_completed_from_transactions_pages() {
    let node = node::start(10_004).await;
    let a = adapter(&node).await;
    let whole = a.block(10_000).await.unwrap().unwrap();

    let node = node::start(10_004).await;
    node.with(|s| s.page_limit = Some(1));
    let a = AptosAdapter::connect(
        aptos1(),
        pool(vec![("node", node.stub.url(), 1)]),
        AptosOptions { page_limit: 1 },
    )
    .await
    .unwrap();
    let b = a.block(10_000).await.unwrap().unwrap();
    assert_eq!(b, whole);
    assert!(
        node.stub
            .requests()
            .contains(&"/transactions?start=20084&limit=1".to_owned()),
        "{:?}",
        node.stub.requests()
    );
}

#[tokio::test]
async fn a_block_whose_versions_cannot_be_completed_is_transient() {
    let node = node::start(10_004).await;
    // Block 10000 claims three versions; the node has only two transactions.
    node.with(|s| s.blocks.get_mut(&10_000).unwrap().last_version = 20_085);
    let a = adapter(&node).await;
    let e = a.block(10_000).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(e.reason(), "incomplete_block");
    assert!(
        ErrorChain(&e)
            .to_string()
            .contains("no transactions from version 20085"),
        "{}",
        ErrorChain(&e)
    );
}

#[tokio::test]
async fn fails_over_on_429_5xx_and_garbage() {
    for fault in [Fault::Http429, Fault::Http500, Fault::Garbage] {
        let (bad, good) = (node::start(10_004).await, node::start(10_004).await);
        let pool = pool(vec![
            ("bad", bad.stub.url(), 2),
            ("good", good.stub.url(), 1),
        ]);
        let a = AptosAdapter::connect(aptos1(), pool.clone(), AptosOptions::default())
            .await
            .unwrap();
        bad.stub.set(fault);
        for h in 10_000..=10_004 {
            let b = a.block(h).await.unwrap().unwrap();
            assert_eq!(b.block_ref.height, h, "{fault:?}");
        }
        let health = pool.health();
        let bad_h = health.iter().find(|h| h.label == "bad").unwrap();
        assert!(bad_h.failures >= 1, "{fault:?}: {bad_h:?}");
        let heads = a.provider_heads().await;
        assert_eq!(heads[0].height, None, "{fault:?}");
        assert!(heads[0].error.is_some(), "{fault:?}");
        assert_eq!(heads[1].height, Some(10_004), "{fault:?}");
    }
}

#[tokio::test]
async fn chain_id_mismatch_names_the_provider_not_its_url() {
    let (right, wrong) = (node::start(10_004).await, node::start(10_004).await);
    wrong.with(|s| s.chain_id = 2);
    let url = wrong.stub.url_with_secret("SECRETKEY0123456789");
    let e = AptosAdapter::connect(
        aptos1(),
        pool(vec![
            ("right", right.stub.url(), 1),
            ("testnet-node", url, 1),
        ]),
        AptosOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::Permanent {
                reason: "chain_id_mismatch",
                ..
            }
        ),
        "{e:?}"
    );
    let text = ErrorChain(&e).to_string();
    assert_eq!(
        text,
        "permanent fetch error (chain_id_mismatch): provider `testnet-node` reports chain id 2 \
         but the chain is configured as aptos:1"
    );
    assert!(!format!("{e:?}").contains("SECRETKEY"));
}

#[tokio::test]
async fn bad_configuration_is_a_clear_error() {
    let node = node::start(10_004).await;
    for (chain, want) in [
        (
            "aptos:main",
            "chain aptos:main: the network must be the Aptos chain id (1 to 255, e.g. aptos:1 \
             for mainnet), `mainnet` or `testnet`, got `main`",
        ),
        ("aptos:0", "got `0`"),
        (
            "evm:1",
            "chain evm:1 is not an Aptos chain (expected aptos:<chain id>)",
        ),
    ] {
        let chain: ChainId = chain.parse().unwrap();
        let pool = Arc::new(
            EndpointPool::new(
                chain.clone(),
                vec![ProviderConfig::new("node", node.stub.url())],
                fast_cfg(),
            )
            .unwrap(),
        );
        let e = AptosAdapter::connect(chain, pool, AptosOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.reason(), "invalid_config");
        assert!(
            ErrorChain(&e).to_string().contains(want),
            "{}",
            ErrorChain(&e)
        );
    }
    // `aptos:mainnet` is chain id 1.
    let pool = Arc::new(
        EndpointPool::new(
            "aptos:mainnet".parse().unwrap(),
            vec![ProviderConfig::new("node", node.stub.url())],
            fast_cfg(),
        )
        .unwrap(),
    );
    let a = AptosAdapter::connect(
        "aptos:mainnet".parse().unwrap(),
        pool,
        AptosOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(a.aptos_chain_id(), 1);
}

#[tokio::test]
async fn unreachable_providers_are_transient() {
    let node = node::start(10_004).await;
    node.stub.set(Fault::Http500);
    let e = AptosAdapter::connect(
        aptos1(),
        pool(vec![("down", node.stub.url(), 1)]),
        AptosOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::Transient {
                reason: "unreachable",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        ErrorChain(&e).to_string(),
        "transient fetch error (unreachable): no provider of aptos:1 could be reached to verify \
         its chain id (tried `down` (http_5xx))"
    );
}
