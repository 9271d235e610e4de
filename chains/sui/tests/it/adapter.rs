//! `SuiAdapter` against the mock gRPC node: chain check, backfill, live follow (subscription and
//! polling), provider failover.

use std::{sync::Arc, time::Duration};

use chainwatch_chain_core::{
    ChainAdapter, EndpointPool, ErrorChain, FetchError, FinalityModel, PoolConfig, ProviderConfig,
};
use chainwatch_chain_sui::testing::{MockFault, MockNode, testnet_checkpoints};
use chainwatch_chain_sui::{SuiAdapter, decode_files};
use chainwatch_schema::{BlockRef, ChainId, Finality};
use serde_json::Value;

/// The recorded testnet checkpoints, as the mock node serves them.
fn data() -> [Value; 2] {
    testnet_checkpoints(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata"))
}

fn testnet() -> ChainId {
    "sui:testnet".parse().unwrap()
}

fn cfg() -> PoolConfig {
    PoolConfig {
        request_timeout: Duration::from_millis(500),
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        breaker_cooldown: Duration::from_secs(1),
        ..PoolConfig::default()
    }
}

fn provider(label: &str, url: String, weight: u32) -> ProviderConfig {
    let mut p = ProviderConfig::new(label, url);
    p.weight = weight;
    p
}

async fn adapter(chain: ChainId, providers: Vec<ProviderConfig>) -> Result<SuiAdapter, FetchError> {
    let pool = Arc::new(EndpointPool::new(chain.clone(), providers, cfg()).unwrap());
    SuiAdapter::connect(chain, pool).await
}

/// Polls `f` until it returns true, for at most 5 s.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

const CP1: (u64, &str) = (1_953_362, "BHeEq9rUuc2kdh1k7vk4oN22oK7TtpTpVuaM32fs6UrB");
const CP2: (u64, &str) = (1_969_067, "Cji8yjGsk9Yg5sxUB4iWCQSiEjWHvVTzKMqBChvzNHjV");

#[tokio::test]
async fn chain_is_checked_against_config() {
    let node = MockNode::start("testnet", &data()[..1], true).await;
    let err = adapter(
        "sui:mainnet".parse().unwrap(),
        vec![provider("mock-a", node.url(), 1)],
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        FetchError::Permanent {
            reason: "chain_id_mismatch",
            ..
        }
    ));
    let text = ErrorChain(&err).to_string();
    assert!(
        text.contains("provider `mock-a` reports chain id `testnet`"),
        "{text}"
    );
    assert!(text.contains("configured as sui:mainnet"), "{text}");
    assert!(!text.contains("127.0.0.1"), "{text}");
}

/// Backfill: every recorded checkpoint, normalized as `chainwatch decode` normalizes the
/// JSON-RPC recordings; a checkpoint the node does not have is `None`.
#[tokio::test]
async fn backfill_matches_decode_of_the_recordings() {
    let node = MockNode::start("testnet", &data(), true).await;
    let a = adapter(testnet(), vec![provider("mock", node.url(), 1)])
        .await
        .unwrap();
    assert_eq!(a.finality_model(), FinalityModel::Instant);

    let decoded = {
        let files: Vec<(String, Vec<u8>)> = [
            "testnet-checkpoint-1953362.json",
            "testnet-tx-J2Vkui75vgoLvCmNiREVKwpeTVPCq5EQ71i2ETahP6R9.json",
        ]
        .iter()
        .map(|f| {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(f);
            (f.to_string(), std::fs::read(p).unwrap())
        })
        .collect();
        decode_files(&testnet(), &files).unwrap()
    };

    let b = a.block(CP1.0).await.unwrap().expect("checkpoint 1953362");
    assert_eq!(b.block_ref, BlockRef::new(CP1.0, CP1.1));
    assert_eq!(b.parent_hash, decoded.blocks[0].parent_hash);
    assert_eq!(b.timestamp_ms, decoded.blocks[0].timestamp_ms);
    assert_eq!(b.txs.len(), 1);
    assert_eq!(b.txs[0], decoded.transactions[0].tx);
    // Only the fields used were requested.
    let mask = node.last_mask();
    assert!(
        mask.iter().any(|p| p == "transactions.effects.status"),
        "{mask:?}"
    );
    assert!(
        !mask
            .iter()
            .any(|p| p.contains("bcs") || p.contains("signature") || p.contains("objects")),
        "{mask:?}"
    );

    let b = a.block(CP2.0).await.unwrap().expect("checkpoint 1969067");
    assert_eq!(b.block_ref, BlockRef::new(CP2.0, CP2.1));
    assert_eq!(b.parent_hash, "wG1Garuf7TkmtjdER4GFkiK9Q2id7ddnk4nAEXu7aDQ");
    assert!(b.txs.is_empty());

    assert_eq!(a.block(CP1.0 + 1).await.unwrap(), None);
    assert_eq!(
        a.block_ref(CP1.0).await.unwrap(),
        Some(BlockRef::new(CP1.0, CP1.1))
    );
    assert_eq!(a.block_ref(CP2.0 + 1).await.unwrap(), None);
    for at in [Finality::Included, Finality::Safe, Finality::Finalized] {
        assert_eq!(a.head(at).await.unwrap(), Some(BlockRef::new(CP2.0, CP2.1)));
    }
    let heads = a.provider_heads().await;
    assert_eq!(heads.len(), 1);
    assert_eq!(
        (heads[0].provider.as_str(), heads[0].height),
        ("mock", Some(CP2.0))
    );
}

/// Live follow through `SubscribeCheckpoints`: a published checkpoint becomes the head without
/// `GetCheckpoint` polling.
#[tokio::test]
async fn live_follow_by_subscription() {
    let node = MockNode::start("testnet", &data()[..1], true).await;
    let a = adapter(testnet(), vec![provider("mock", node.url(), 1)])
        .await
        .unwrap();
    eventually("the subscription's first frame", || async {
        node.frames_sent() >= 1
    })
    .await;
    assert_eq!(
        a.head(Finality::Finalized).await.unwrap(),
        Some(BlockRef::new(CP1.0, CP1.1))
    );
    let polls = node.checkpoint_calls();
    node.publish(&data()[1]);
    eventually("head 1969067", || async {
        a.head(Finality::Finalized).await.unwrap() == Some(BlockRef::new(CP2.0, CP2.1))
    })
    .await;
    // The head came from the stream: no `GetCheckpoint` since it delivered.
    assert_eq!(node.checkpoint_calls(), polls);
    assert_eq!(node.frames_sent(), 2);
}

/// Live follow by polling, with a node that does not implement the subscription.
#[tokio::test]
async fn live_follow_by_polling_without_subscription() {
    let node = MockNode::start("testnet", &data()[..1], false).await;
    let a = adapter(testnet(), vec![provider("mock", node.url(), 1)])
        .await
        .unwrap();
    assert_eq!(
        a.head(Finality::Included).await.unwrap(),
        Some(BlockRef::new(CP1.0, CP1.1))
    );
    node.publish(&data()[1]);
    assert_eq!(
        a.head(Finality::Included).await.unwrap(),
        Some(BlockRef::new(CP2.0, CP2.1))
    );
    assert!(node.checkpoint_calls() >= 2);
}

/// Three providers: one killed, one answering errors, one healthy. Every call succeeds through
/// the healthy one; the other two are booked as failing and reported in `provider_heads`.
#[tokio::test]
async fn failover_from_killed_and_erroring_providers() {
    let killed = MockNode::start("testnet", &data(), true).await;
    let erroring = MockNode::start("testnet", &data(), true).await;
    let healthy = MockNode::start("testnet", &data(), true).await;
    let a = adapter(
        testnet(),
        vec![
            provider("killed", killed.url(), 3),
            provider("erroring", erroring.url(), 2),
            provider("healthy", healthy.url(), 1),
        ],
    )
    .await
    .unwrap();
    killed.kill();
    erroring.fail_with(Some(MockFault::Internal));

    for _ in 0..3 {
        let b = a.block(CP1.0).await.unwrap().expect("checkpoint");
        assert_eq!(b.block_ref, BlockRef::new(CP1.0, CP1.1));
        assert_eq!(b.txs.len(), 1);
    }
    assert_eq!(
        a.block_ref(CP2.0).await.unwrap(),
        Some(BlockRef::new(CP2.0, CP2.1))
    );
    eventually("head from the healthy provider", || async {
        a.head(Finality::Finalized).await.ok().flatten() == Some(BlockRef::new(CP2.0, CP2.1))
    })
    .await;

    let heads = a.provider_heads().await;
    let by = |l: &str| heads.iter().find(|h| h.provider == l).unwrap().clone();
    assert_eq!(by("healthy").height, Some(CP2.0));
    assert_eq!(by("healthy").error, None);
    assert_eq!(by("erroring").error.as_deref(), Some("grpc_error"));
    assert!(by("killed").error.is_some(), "{:?}", by("killed"));
    assert!(by("killed").health < by("healthy").health, "{heads:?}");
    assert!(by("erroring").health < by("healthy").health, "{heads:?}");

    // The erroring provider recovers and the healthy one fails: calls move over.
    erroring.fail_with(None);
    healthy.fail_with(Some(MockFault::Unavailable));
    eventually("a block through the recovered provider", || async {
        a.block(CP2.0).await.ok().flatten().is_some()
    })
    .await;
}

/// Three providers, one on another chain: the test gives the "forked" node the recorded
/// checkpoints with their digests replaced. The quorum sets it aside (`DIVERGENT`): no call goes
/// to it afterwards, although it has the highest weight.
#[tokio::test]
async fn quorum_sets_aside_a_provider_on_another_chain() {
    let forked_data: Vec<Value> = data()
        .into_iter()
        .map(|mut c| {
            let fake = format!("fork{}", c["digest"].as_str().unwrap());
            c["digest"] = Value::String(fake.clone());
            c["summary"]["digest"] = Value::String(fake);
            c
        })
        .collect();
    let forked = MockNode::start("testnet", &forked_data, true).await;
    let a1 = MockNode::start("testnet", &data(), true).await;
    let a2 = MockNode::start("testnet", &data(), true).await;
    let a = adapter(
        testnet(),
        vec![
            provider("forked", forked.url(), 5),
            provider("a1", a1.url(), 1),
            provider("a2", a2.url(), 1),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        a.head(Finality::Finalized).await.unwrap(),
        Some(BlockRef::new(CP2.0, CP2.1))
    );
    let heads = a.provider_heads().await;
    let state = |l: &str| heads.iter().find(|h| h.provider == l).unwrap().state;
    assert_eq!(state("forked"), chainwatch_schema::ProviderState::Divergent);
    assert_eq!(state("a1"), chainwatch_schema::ProviderState::Following);
    assert_eq!(state("a2"), chainwatch_schema::ProviderState::Following);
    let before = forked.checkpoint_calls();
    for _ in 0..3 {
        let b = a.block(CP1.0).await.unwrap().unwrap();
        assert_eq!(b.block_ref, BlockRef::new(CP1.0, CP1.1));
    }
    assert_eq!(forked.checkpoint_calls(), before);
}

/// Live follow survives the death of the provider it streams from: the head moves on through
/// the other provider (polling, then its own subscription).
#[tokio::test]
async fn live_follow_moves_to_another_provider_when_the_streaming_one_dies() {
    let first = MockNode::start("testnet", &data()[..1], true).await;
    let second = MockNode::start("testnet", &data()[..1], true).await;
    let a = adapter(
        testnet(),
        vec![
            provider("first", first.url(), 2),
            provider("second", second.url(), 1),
        ],
    )
    .await
    .unwrap();
    eventually("a subscription", || async {
        first.frames_sent() + second.frames_sent() >= 1
    })
    .await;
    assert_eq!(
        a.head(Finality::Finalized).await.unwrap(),
        Some(BlockRef::new(CP1.0, CP1.1))
    );
    first.kill();
    second.publish(&data()[1]);
    eventually("head 1969067 through the second provider", || async {
        a.head(Finality::Finalized).await.ok().flatten() == Some(BlockRef::new(CP2.0, CP2.1))
    })
    .await;
    eventually("a subscription on the second provider", || async {
        second.frames_sent() >= 1
    })
    .await;
}
