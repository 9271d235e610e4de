//! Provider quorum and hedged reads with several real anvil providers: one on another fork (a
//! separate anvil with its own genesis), one lagging (an anvil forked from the main one at an
//! earlier block), one hanging.

use std::{sync::Arc, time::Duration};

use chainwatch_chain_core::{ChainAdapter, EndpointPool, PoolConfig, ProviderConfig, QuorumConfig};
use chainwatch_chain_evm::{EvmAdapter, EvmOptions};
use chainwatch_schema::{Finality, ProviderState};
use chainwatch_testkit::{Anvil, Fault, FaultProxy};
use serde_json::json;

use crate::{
    proxy::{Faults, Proxy},
    support::ANVIL_CHAIN,
};

async fn adapter_with(providers: &[(&str, String)], cfg: PoolConfig) -> EvmAdapter {
    let providers = providers
        .iter()
        .map(|(label, url)| ProviderConfig::new(*label, url.clone()))
        .collect();
    let pool = Arc::new(EndpointPool::new(ANVIL_CHAIN.parse().unwrap(), providers, cfg).unwrap());
    EvmAdapter::connect(ANVIL_CHAIN.parse().unwrap(), pool, EvmOptions::default())
        .await
        .unwrap()
}

async fn hash_at(anvil: &Anvil, height: u64) -> String {
    let b = anvil
        .rpc(
            "eth_getBlockByNumber",
            json!([format!("{height:#x}"), false]),
        )
        .await;
    b["hash"].as_str().unwrap().to_owned()
}

async fn states(a: &EvmAdapter) -> Vec<(String, ProviderState)> {
    a.provider_heads()
        .await
        .into_iter()
        .map(|h| (h.provider, h.state))
        .collect()
}

fn block_reads(p: &Proxy) -> usize {
    p.calls("eth_getBlockByNumber") + p.calls("eth_getBlockReceipts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_on_another_fork_is_divergent_and_not_followed() {
    let main = Anvil::spawn(&[]).await;
    // Same chain id, another genesis (another timestamp), and far ahead: following the highest
    // head would index the wrong chain.
    let other = Anvil::spawn(&["--timestamp", "1000"]).await;
    main.mine(5).await;
    other.mine(40).await;
    let (pa, pb, pfork) = (
        Proxy::start(main.url(), Faults::default()).await,
        Proxy::start(main.url(), Faults::default()).await,
        Proxy::start(other.url(), Faults::default()).await,
    );
    let a = adapter_with(
        &[
            ("a", pa.url.clone()),
            ("b", pb.url.clone()),
            ("fork", pfork.url.clone()),
        ],
        PoolConfig::default(),
    )
    .await;

    let head = a.head(Finality::Included).await.unwrap().unwrap();
    assert_eq!(head.height, 5);
    assert_eq!(head.hash, hash_at(&main, 5).await);
    assert_eq!(
        states(&a).await,
        [
            ("a".into(), ProviderState::Following),
            ("b".into(), ProviderState::Following),
            ("fork".into(), ProviderState::Divergent),
        ]
    );

    // Blocks come from the agreeing providers only.
    let before = block_reads(&pfork);
    for h in 0..=head.height {
        let block = a.block(h).await.unwrap().unwrap();
        assert_eq!(block.block_ref.hash, hash_at(&main, h).await, "block {h}");
        assert_eq!(a.block_ref(h).await.unwrap().unwrap(), block.block_ref);
    }
    assert_eq!(
        block_reads(&pfork),
        before,
        "the divergent provider was used"
    );

    // The chain moves on; the quorum follows it and keeps the fork aside.
    main.mine(3).await;
    let head = a.head(Finality::Included).await.unwrap().unwrap();
    assert_eq!(
        (head.height, head.hash.clone()),
        (8, hash_at(&main, 8).await)
    );
    assert_eq!(states(&a).await[2].1, ProviderState::Divergent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_provider_is_set_aside_and_divergent_once_it_forks() {
    let main = Anvil::spawn(&[]).await;
    main.mine(3).await;
    // An anvil forked from block 3 of the main one: the same chain, stuck at 3.
    let fork_url = main.url();
    let behind = Anvil::spawn(&["--fork-url", &fork_url, "--fork-block-number", "3"]).await;
    main.mine(20).await;
    let cfg = PoolConfig {
        quorum: QuorumConfig {
            quorum: Some(2),
            max_lag_blocks: 10,
        },
        ..PoolConfig::default()
    };
    let (pa, pbehind) = (
        Proxy::start(main.url(), Faults::default()).await,
        Proxy::start(behind.url(), Faults::default()).await,
    );
    let a = adapter_with(
        &[
            ("a", pa.url.clone()),
            ("b", main.url()),
            ("behind", pbehind.url.clone()),
        ],
        cfg,
    )
    .await;
    let head = a.head(Finality::Included).await.unwrap().unwrap();
    assert_eq!(
        (head.height, head.hash.clone()),
        (23, hash_at(&main, 23).await)
    );
    assert_eq!(states(&a).await[2].1, ProviderState::Lagging);
    let before = block_reads(&pbehind);
    a.block(23).await.unwrap().unwrap();
    assert_eq!(
        block_reads(&pbehind),
        before,
        "the lagging provider was used"
    );

    // It mines blocks of its own: now it is on another fork, at a height the others agree on.
    behind.mine(15).await;
    a.head(Finality::Included).await.unwrap().unwrap();
    assert_eq!(states(&a).await[2].1, ProviderState::Divergent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_there_is_no_head() {
    let main = Anvil::spawn(&[]).await;
    let other = Anvil::spawn(&["--timestamp", "1000"]).await;
    main.mine(2).await;
    other.mine(2).await;
    let a = adapter_with(
        &[("a", main.url()), ("b", other.url())],
        PoolConfig::default(),
    )
    .await;
    let e = a.head(Finality::Included).await.unwrap_err();
    assert_eq!(e.reason(), "no_quorum");
    assert!(e.is_retryable());
    let msg = chainwatch_chain_core::ErrorChain(&e).to_string();
    assert!(
        msg.contains("a report 0x") && msg.contains("b report 0x"),
        "{msg}"
    );
    assert!(!msg.contains("127.0.0.1"), "URL leaked: {msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_provider_is_hedged() {
    let main = Anvil::spawn(&[]).await;
    main.mine(2).await;
    let slow = FaultProxy::start(main.url()).await;
    let cfg = PoolConfig {
        // Without hedging the call would wait this long for the hanging provider.
        request_timeout: Duration::from_secs(120),
        hedge_after: Some(Duration::from_millis(200)),
        ..PoolConfig::default()
    };
    let mut providers = vec![
        ProviderConfig::new("slow", slow.url()),
        ProviderConfig::new("fast", main.url()),
    ];
    // Preferred by weight, so that it gets the first request.
    providers[0].weight = 100;
    let pool = Arc::new(EndpointPool::new(ANVIL_CHAIN.parse().unwrap(), providers, cfg).unwrap());
    let a = EvmAdapter::connect(
        ANVIL_CHAIN.parse().unwrap(),
        Arc::clone(&pool),
        EvmOptions::default(),
    )
    .await
    .unwrap();
    slow.set(Fault::Hang).await;
    let received = slow.received();
    let block = tokio::time::timeout(Duration::from_secs(30), a.block(2))
        .await
        .expect("the hedged request answered")
        .unwrap()
        .unwrap();
    assert_eq!(block.block_ref.hash, hash_at(&main, 2).await);
    assert!(
        slow.received() > received,
        "the slow provider was not tried first"
    );
    // The slow provider's recorded latency now ranks it below the fast one.
    let health = pool.health();
    assert!(health[0].latency_ms > health[1].latency_ms, "{health:?}");
}
