//! `SuiAdapter::trace` against the mock node: checkpointed, executed but not checkpointed,
//! failed, not found, malformed digest.

use std::{path::PathBuf, sync::Arc, time::Duration};

use chainwatch_chain_core::{ChainAdapter, EndpointPool, FetchError, PoolConfig, ProviderConfig};
use chainwatch_chain_sui::{
    SuiAdapter, jsonrpc_to_grpc_json,
    testing::{MockNode, testnet_checkpoints},
};
use chainwatch_schema::{BlockRef, ChainId, FailureKind, Finality, TraceStatus};
use serde_json::Value;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

async fn adapter(network: &str, node: &MockNode) -> SuiAdapter {
    let chain: ChainId = format!("sui:{network}").parse().unwrap();
    let cfg = PoolConfig {
        request_timeout: Duration::from_millis(500),
        ..PoolConfig::default()
    };
    let pool = EndpointPool::new(
        chain.clone(),
        vec![ProviderConfig::new("mock", node.url())],
        cfg,
    )
    .unwrap();
    SuiAdapter::connect(chain, Arc::new(pool)).await.unwrap()
}

/// A recorded mainnet transaction (JSON-RPC) converted into gRPC JSON, after `edit`.
fn mainnet_tx(file: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(testdata().join(file)).unwrap()).unwrap();
    edit(&mut v["result"]);
    jsonrpc_to_grpc_json(&serde_json::to_vec(&v).unwrap()).unwrap()
}

#[tokio::test]
async fn checkpointed_transaction_is_final_in_its_checkpoint() {
    let node = MockNode::start("testnet", &testnet_checkpoints(&testdata()), true).await;
    let a = adapter("testnet", &node).await;
    let t = a
        .trace("J2Vkui75vgoLvCmNiREVKwpeTVPCq5EQ71i2ETahP6R9")
        .await
        .unwrap();
    assert_eq!(t.status, TraceStatus::Included);
    assert_eq!(t.finality, Some(Finality::Finalized));
    assert_eq!(
        t.block,
        Some(BlockRef::new(
            1_953_362,
            "BHeEq9rUuc2kdh1k7vk4oN22oK7TtpTpVuaM32fs6UrB"
        ))
    );
    assert_eq!(t.message, "succeeded in checkpoint 1953362 (final)");
    assert_eq!(
        t.facts.sender.as_deref(),
        Some("0x7d20dcdb2bca4f508ea9613994683eb4e76e9c4ed371169677c1be02aaf0b58e")
    );
    assert!(t.failure.is_none());
}

/// The recorded CJ16… transfer, served as executed but not (yet) checkpointed: the test clears
/// its checkpoint (it is in checkpoint 123444604 on mainnet).
#[tokio::test]
async fn executed_not_checkpointed_is_included_only() {
    let node = MockNode::start("mainnet", &[], true).await;
    node.add_executed(&mainnet_tx(
        "mainnet-tx-CJ16PEqq49KFp758iEVwxEkd3CwP7zDfqGYLuLuu9Z63-transfer-sui.json",
        |_| {},
    ));
    let a = adapter("mainnet", &node).await;
    let t = a
        .trace("CJ16PEqq49KFp758iEVwxEkd3CwP7zDfqGYLuLuu9Z63")
        .await
        .unwrap();
    assert_eq!(t.status, TraceStatus::Included);
    assert_eq!(t.finality, Some(Finality::Included));
    assert_eq!(t.block, None);
    assert_eq!(t.message, "succeeded executed, not yet in a checkpoint");
}

/// No recorded Sui transaction failed: the test takes the recorded 38Fs… swap and replaces its
/// `effects.status` with the documented JSON-RPC failure shape of a Move abort.
#[tokio::test]
async fn failed_transaction_has_its_reason() {
    const ABORT: &str = "MoveAbort(MoveLocation { module: ModuleId { address: 91bfbc386a41afcfd9b2533058d7e915a1d3829089cc268ff4333d54d6339ca1, name: Identifier(\"pool\") }, function: 12, instruction: 34, function_name: Some(\"swap\") }, 1) in command 2";
    let node = MockNode::start("mainnet", &[], true).await;
    node.add_executed(&mainnet_tx(
        "mainnet-tx-38FsSDjA7PGrmFFhNWSH8kFXoTmLvsGukDFoe3S7AUvp-swap.json",
        |r| {
            r["effects"]["status"] = serde_json::json!({"status": "failure", "error": ABORT});
            r["events"] = serde_json::json!([]);
        },
    ));
    let a = adapter("mainnet", &node).await;
    let t = a
        .trace("38FsSDjA7PGrmFFhNWSH8kFXoTmLvsGukDFoe3S7AUvp")
        .await
        .unwrap();
    assert_eq!(t.status, TraceStatus::Failed);
    let f = t.failure.unwrap();
    assert_eq!(f.kind, FailureKind::MoveAbort);
    assert_eq!(f.code.as_deref(), Some("1"));
    assert_eq!(f.location.as_deref(), Some("command 2"));
    assert_eq!(f.raw, ABORT);
    assert!(
        t.message.starts_with(
            "failed executed, not yet in a checkpoint: Move abort with code 1 in 0x91bf"
        ),
        "{}",
        t.message
    );
    assert_eq!(t.facts.extra["abort"]["module"], "pool");
    assert_eq!(t.facts.extra["abort"]["function"], "swap");
}

#[tokio::test]
async fn unknown_digest_is_not_found() {
    let node = MockNode::start("testnet", &testnet_checkpoints(&testdata()), true).await;
    let a = adapter("testnet", &node).await;
    // The digest of the recorded "not found" JSON-RPC error.
    let t = a
        .trace("7xZ5AAjrybwwPjXh7ojKert5v7eSYgzWEREtKrhSGQ7d")
        .await
        .unwrap();
    assert_eq!(t.status, TraceStatus::NotFound);
    assert!(
        t.message
            .contains("7xZ5AAjrybwwPjXh7ojKert5v7eSYgzWEREtKrhSGQ7d")
    );
    assert_eq!(t.block, None);
}

#[tokio::test]
async fn malformed_digest_is_a_permanent_error_naming_it() {
    let node = MockNode::start("testnet", &testnet_checkpoints(&testdata()), true).await;
    let a = adapter("testnet", &node).await;
    for bad in ["0x1234", "J2Vk", "not a digest"] {
        let err = a.trace(bad).await.unwrap_err();
        assert!(matches!(
            err,
            FetchError::Permanent {
                reason: "invalid_argument",
                ..
            }
        ));
        let text = chainwatch_chain_core::ErrorChain(&err).to_string();
        assert!(text.contains(&format!("{bad:?}")), "{text}");
        assert!(text.contains("expected base58 of 32 bytes"), "{text}");
    }
}
