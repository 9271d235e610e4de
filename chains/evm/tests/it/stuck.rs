//! Live traces of stuck transactions on a real anvil node with mining paused (`--no-mining`):
//! nonce gaps, a fee below the base fee, waiting, speed-up and cancel replacements (pending and
//! mined), `anvil_dropTransaction`, inclusion and failure.

use chainwatch_chain_core::ChainAdapter;
use chainwatch_chain_evm::EvmAdapter;
use chainwatch_schema::{
    FailureKind, Finality, PendingReason, ReplacementKind, SeenTx, TraceStatus, TxTrace,
};
use chainwatch_testkit::{Anvil, evm};
use serde_json::{Value, json};

use crate::support::adapter;

const GWEI: u64 = 1_000_000_000;

/// Anvil with mining paused, an adapter over it and its dev accounts.
async fn paused() -> (Anvil, EvmAdapter, Vec<String>) {
    let anvil = Anvil::spawn(&["--no-mining"]).await;
    let a = adapter(&anvil).await;
    let accounts = anvil.accounts().await;
    (anvil, a, accounts)
}

/// Sends `tx` from `from` with 21,000 gas unless `tx` sets `gas`.
async fn send(anvil: &Anvil, from: &str, mut tx: Value) -> String {
    if tx.get("gas").is_none() {
        tx["gas"] = json!("0x30d40");
    }
    evm::send(anvil, from, tx).await
}

fn fee(max_gwei: u64, tip_gwei: u64) -> (String, String) {
    (
        format!("0x{:x}", max_gwei * GWEI),
        format!("0x{:x}", tip_gwei * GWEI),
    )
}

/// What the watch list would remember of a pending trace.
fn remember(t: &TxTrace) -> SeenTx {
    assert_eq!(t.status, TraceStatus::Pending, "{t:?}");
    SeenTx::from_facts(&t.facts).expect("a pending trace names sender and nonce")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_hashes() {
    let (_anvil, a, _) = paused().await;
    let e = a.trace("0x1234").await.unwrap_err();
    assert_eq!(e.reason(), "invalid_hash");
    let msg = std::error::Error::source(&e).unwrap().to_string();
    assert_eq!(
        msg,
        "invalid transaction hash \"0x1234\": expected 0x followed by 64 hex digits"
    );
    let unknown = format!("0x{}", "ab".repeat(32));
    let t = a.trace(&unknown).await.unwrap();
    assert_eq!(t.status, TraceStatus::NotFound);
    assert!(t.message.contains(&unknown), "{}", t.message);
    assert_eq!(t.facts.head_height, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_gap_lists_the_missing_nonces() {
    let (anvil, a, acc) = paused().await;
    let (from, to) = (&acc[0], &acc[1]);
    // Nonce 1 is in the mempool; 0 and 2 are not: nonce 3 waits for 0 and 2.
    let _one = send(
        &anvil,
        from,
        json!({"to": to, "value": "0x1", "nonce": "0x1"}),
    )
    .await;
    let three = send(
        &anvil,
        from,
        json!({"to": to, "value": "0x1", "nonce": "0x3"}),
    )
    .await;

    let t = a.trace(&three).await.unwrap();
    assert_eq!(t.status, TraceStatus::Pending, "{t:?}");
    assert_eq!(t.reason, Some(PendingReason::NonceGap));
    assert_eq!(t.facts.nonce, Some(3));
    assert_eq!(t.facts.account_nonce, Some(0));
    assert_eq!(t.facts.missing_nonces, vec![0, 2]);
    assert_eq!(t.facts.sender.as_deref(), Some(from.as_str()));
    assert!(
        t.message.contains("nonce 3") && t.message.contains("nonces 0 and 2"),
        "{}",
        t.message
    );
    assert!(
        t.message.contains("next nonce on chain is 0"),
        "{}",
        t.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fee_below_the_base_fee_and_waiting() {
    let (anvil, a, acc) = paused().await;
    let (max, tip) = fee(2, 1);
    let low = send(
        &anvil,
        &acc[0],
        json!({"to": acc[1], "value": "0x1", "maxFeePerGas": max, "maxPriorityFeePerGas": tip}),
    )
    .await;
    // Anvil refuses a transaction below the current base fee and evicts one when mining a
    // block it cannot pay for, so the base fee rises after it entered the mempool, unmined.
    let t = a.trace(&low).await.unwrap();
    assert_eq!(
        (t.status, t.reason),
        (TraceStatus::Pending, Some(PendingReason::Waiting)),
        "{t:?}"
    );
    assert_eq!(t.facts.base_fee.as_deref(), Some("1000000000"));
    assert!(t.message.starts_with("waiting:"), "{}", t.message);

    anvil
        .rpc(
            "anvil_setNextBlockBaseFeePerGas",
            json!([format!("0x{:x}", 100 * GWEI)]),
        )
        .await;
    let t = a.trace(&low).await.unwrap();
    assert_eq!(t.status, TraceStatus::Pending, "{t:?}");
    assert_eq!(t.reason, Some(PendingReason::FeeTooLow));
    assert_eq!(t.facts.max_fee.as_deref(), Some("2000000000"));
    assert_eq!(t.facts.base_fee.as_deref(), Some("100000000000"));
    assert!(
        t.message
            .contains("2000000000 wei (2 gwei), is below the next block's base fee, 100000000000 wei (100 gwei)"),
        "{}",
        t.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speed_up_replacement_pending_then_mined() {
    let (anvil, a, acc) = paused().await;
    let (from, to) = (&acc[2], &acc[3]);
    let (max, tip) = fee(2, 1);
    let slow = send(
        &anvil,
        from,
        json!({"to": to, "value": "0x5", "data": "0xabcd", "maxFeePerGas": max, "maxPriorityFeePerGas": tip}),
    )
    .await;
    let seen = remember(&a.trace(&slow).await.unwrap());
    assert_eq!(seen.nonce, 0);
    assert_eq!(seen.seen_height, Some(0));

    let (max, tip) = fee(3, 2);
    let fast = send(
        &anvil,
        from,
        json!({"to": to, "value": "0x5", "data": "0xabcd", "nonce": "0x0", "maxFeePerGas": max, "maxPriorityFeePerGas": tip}),
    )
    .await;
    // Anvil swaps them in its mempool at once.
    let t = a.trace_with(&slow, Some(&seen)).await.unwrap();
    assert_eq!(t.status, TraceStatus::Replaced, "{t:?}");
    assert_eq!(t.facts.replaced_by.as_deref(), Some(fast.as_str()));
    assert_eq!(t.facts.replacement, Some(ReplacementKind::SpeedUp));
    assert!(
        t.message.contains("pending in the mempool"),
        "{}",
        t.message
    );

    // Mined: found through the sender's nonce history.
    anvil.rpc("evm_mine", json!([])).await;
    anvil.rpc("evm_mine", json!([])).await;
    let t = a.trace_with(&slow, Some(&seen)).await.unwrap();
    assert_eq!(t.status, TraceStatus::Replaced, "{t:?}");
    assert_eq!(t.facts.replaced_by.as_deref(), Some(fast.as_str()));
    assert_eq!(t.facts.replacement, Some(ReplacementKind::SpeedUp));
    assert_eq!(t.facts.account_nonce, Some(1));
    assert_eq!(t.facts.extra["replaced_in_block"]["height"], 1);
    assert!(
        t.message.contains("a speed-up")
            && t.message
                .contains("3000000000 wei (3 gwei) instead of 2000000000 wei (2 gwei)")
            && t.message.contains("mined in block 1"),
        "{}",
        t.message
    );
    // Without what was seen, the adapter alone cannot tell.
    assert_eq!(a.trace(&slow).await.unwrap().status, TraceStatus::NotFound);
    // The replacement itself is included.
    let t = a.trace(&fast).await.unwrap();
    assert_eq!(t.status, TraceStatus::Included, "{t:?}");
    assert_eq!(t.block.as_ref().map(|b| b.height), Some(1));
    assert_eq!(t.finality, Some(Finality::Included));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_replacement_is_recognized() {
    let (anvil, a, acc) = paused().await;
    let (from, to) = (&acc[4], &acc[5]);
    let (max, tip) = fee(2, 1);
    let orig = send(
        &anvil,
        from,
        json!({"to": to, "value": "0x7", "maxFeePerGas": max, "maxPriorityFeePerGas": tip}),
    )
    .await;
    let seen = remember(&a.trace(&orig).await.unwrap());
    let (max, tip) = fee(4, 3);
    let cancel = send(
        &anvil,
        from,
        json!({"to": from, "value": "0x0", "nonce": "0x0", "maxFeePerGas": max, "maxPriorityFeePerGas": tip}),
    )
    .await;
    anvil.rpc("evm_mine", json!([])).await;
    let t = a.trace_with(&orig, Some(&seen)).await.unwrap();
    assert_eq!(t.status, TraceStatus::Replaced, "{t:?}");
    assert_eq!(t.facts.replaced_by.as_deref(), Some(cancel.as_str()));
    assert_eq!(t.facts.replacement, Some(ReplacementKind::Cancel));
    assert!(t.message.contains("a cancel"), "{}", t.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_transaction_keeps_its_nonce_unused() {
    let (anvil, a, acc) = paused().await;
    let from = &acc[6];
    let tx = send(&anvil, from, json!({"to": acc[7], "value": "0x1"})).await;
    let seen = remember(&a.trace(&tx).await.unwrap());
    anvil.rpc("anvil_dropTransaction", json!([tx])).await;
    anvil.rpc("evm_mine", json!([])).await;
    let t = a.trace_with(&tx, Some(&seen)).await.unwrap();
    assert_eq!(t.status, TraceStatus::Dropped, "{t:?}");
    assert_eq!(t.facts.account_nonce, Some(0));
    assert_eq!(t.facts.replaced_by, None);
    assert!(
        t.message.contains("nonce 0 of") && t.message.contains("still unused"),
        "{}",
        t.message
    );
    assert_eq!(a.trace(&tx).await.unwrap().status, TraceStatus::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn included_and_failed_transactions() {
    let (anvil, a, acc) = paused().await;
    let runtime = evm::reverting_runtime(&evm::error_string("stuck test: no"));
    let deploy = send(
        &anvil,
        &acc[0],
        json!({"data": evm::init_returning(&runtime)}),
    )
    .await;
    anvil.rpc("evm_mine", json!([])).await;
    let r = evm::receipt(&anvil, &deploy).await;
    let contract = r["contractAddress"].as_str().unwrap().to_owned();
    let fails = send(&anvil, &acc[1], json!({"to": contract, "gas": "0x186a0"})).await;
    let ok = send(&anvil, &acc[2], json!({"to": acc[3], "value": "0x1"})).await;
    for _ in 0..6 {
        anvil.rpc("evm_mine", json!([])).await;
    }
    let t = a.trace(&fails).await.unwrap();
    assert_eq!(t.status, TraceStatus::Failed, "{t:?}");
    let f = t.failure.as_ref().unwrap();
    assert_eq!(f.kind, FailureKind::Reverted);
    assert_eq!(f.message, "stuck test: no");
    assert_eq!(t.block.as_ref().map(|b| b.height), Some(2));
    // Head 7 (6 confirmations); anvil's safe and finalized trail by 2 and 4 blocks.
    assert_eq!(t.finality, Some(Finality::Finalized));
    assert!(t.message.contains("6 confirmations"), "{}", t.message);
    let t = a.trace(&ok).await.unwrap();
    assert_eq!(t.status, TraceStatus::Included);
    assert!(
        t.message.starts_with("included in block 2"),
        "{}",
        t.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_providers_are_named_by_label_never_url() {
    let anvil = Anvil::spawn(&["--no-mining"]).await;
    let proxy = chainwatch_testkit::FaultProxy::start(anvil.url()).await;
    let url = proxy.url_with_path("/v2/SECRETKEY0123456789");
    let a = crate::support::connect(crate::support::ANVIL_CHAIN, &[("paid", &url)])
        .await
        .unwrap();
    let acc = anvil.accounts().await;
    let tx = send(&anvil, &acc[0], json!({"to": acc[1], "value": "0x1"})).await;
    assert_eq!(a.trace(&tx).await.unwrap().status, TraceStatus::Pending);

    for fault in [
        chainwatch_testkit::Fault::Down,
        chainwatch_testkit::Fault::Http500,
    ] {
        proxy.set(fault).await;
        let e = a.trace(&tx).await.unwrap_err();
        assert!(e.is_retryable(), "{fault:?}: {e:?}");
        let text = chainwatch_chain_core::ErrorChain(&e).to_string();
        assert!(text.contains("`paid`"), "{fault:?}: {text}");
        for secret in ["SECRETKEY", &proxy.port().to_string(), "127.0.0.1"] {
            assert!(!text.contains(secret), "{fault:?} leaks {secret}: {text}");
        }
    }
}
