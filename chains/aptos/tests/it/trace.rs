//! `AptosAdapter::trace` against the scripted node: committed, failed, pending (waiting, nonce
//! gap), pending → committed, replaced, expired, not found and a malformed hash.
//!
//! Pending transactions are made from recorded ones: the node answers `/transactions/by_hash`
//! with the `pending_transaction` form (the request fields of the recorded transaction, which
//! is what a node returns for a mempool transaction) until the block holding it is at or below
//! its head.

use chainwatch_chain_core::{ChainAdapter, FetchError};
use chainwatch_schema::{FailureKind, Finality, PendingReason, TraceStatus};
use serde_json::{Value, json};

use crate::{
    adapter::adapter,
    golden::testdata,
    node::{self, made_up_hash},
};

const TRANSFER: &str = "0x6a43e0034486583a30cff449c03c4d882c641b351e392096272496168240de8e";
const TRANSFER_SENDER: &str = "0xd1a1c1804e91ba85a569c7f018bb7502d2f13d4742d2611953c9c14681af6446";
const FAILED: &str = "0x4c3248d4c2f3a5ca1617e43e69332c66586478871ee44634cdb4554fe537dff6";

/// The `pending_transaction` form of a recorded transaction, with `hash` and `sequence_number`
/// optionally replaced.
fn pending_form(name: &str, hash: Option<&str>, seq: Option<u64>) -> Value {
    let t: Value = serde_json::from_slice(&std::fs::read(testdata(name)).unwrap()).unwrap();
    let mut p = json!({"type": "pending_transaction"});
    for k in [
        "hash",
        "sender",
        "sequence_number",
        "max_gas_amount",
        "gas_unit_price",
        "expiration_timestamp_secs",
        "payload",
        "signature",
    ] {
        p[k] = t[k].clone();
    }
    if let Some(h) = hash {
        p["hash"] = json!(h);
    }
    if let Some(s) = seq {
        p["sequence_number"] = json!(s.to_string());
    }
    p
}

#[tokio::test]
async fn committed_and_failed_transactions() {
    let node = node::start(10_004).await;
    let a = adapter(&node).await;
    let t = a.trace(TRANSFER).await.unwrap();
    assert_eq!(t.status, TraceStatus::Included);
    assert_eq!(t.finality, Some(Finality::Finalized));
    let b = t.block.unwrap();
    assert_eq!((b.height, b.hash), (10_002, made_up_hash(10_002)));
    assert_eq!(t.facts.nonce, Some(102));
    assert_eq!(t.facts.extra["version"], 3_521_662_834u64);

    // Upper-case hex is accepted and normalized.
    let t = a
        .trace(&FAILED.to_ascii_uppercase().replace("0X", "0x"))
        .await
        .unwrap();
    assert_eq!(t.status, TraceStatus::Failed);
    let f = t.failure.unwrap();
    assert_eq!(
        (f.kind, f.code.as_deref()),
        (FailureKind::MoveAbort, Some("0x385"))
    );
    assert!(
        t.message
            .starts_with("committed in block 10003 (version 3556737308) and failed: E_NO_PROFIT"),
        "{}",
        t.message
    );
}

#[tokio::test]
async fn pending_then_committed() {
    // Head 10001: the transfer's block (10002) is not committed yet; the mempool has it.
    let node = node::start(10_001).await;
    node.with(|s| {
        s.pending.insert(
            TRANSFER.into(),
            pending_form("mainnet-txn-3521662834.json", None, None),
        );
        s.accounts.insert(TRANSFER_SENDER.into(), 102);
    });
    let a = adapter(&node).await;
    let t = a.trace(TRANSFER).await.unwrap();
    assert_eq!(t.status, TraceStatus::Pending);
    assert_eq!(t.reason, Some(PendingReason::Waiting));
    assert_eq!(t.facts.nonce, Some(102));
    assert_eq!(t.facts.account_nonce, Some(102));
    assert_eq!(t.facts.expires_at_ms, Some(1_759_854_861_000));
    assert_eq!(t.facts.sender.as_deref(), Some(TRANSFER_SENDER));

    node.with(|s| {
        s.head = 10_002;
        s.accounts.insert(TRANSFER_SENDER.into(), 103);
    });
    let t = a.trace(TRANSFER).await.unwrap();
    assert_eq!(t.status, TraceStatus::Included);
    assert_eq!(t.block.unwrap().height, 10_002);
}

#[tokio::test]
async fn nonce_gap_lists_the_missing_sequence_numbers() {
    let node = node::start(10_001).await;
    node.with(|s| {
        s.pending.insert(
            TRANSFER.into(),
            pending_form("mainnet-txn-3521662834.json", None, None),
        );
        s.accounts.insert(TRANSFER_SENDER.into(), 100);
    });
    let a = adapter(&node).await;
    let t = a.trace(TRANSFER).await.unwrap();
    assert_eq!(
        (t.status, t.reason),
        (TraceStatus::Pending, Some(PendingReason::NonceGap))
    );
    assert_eq!(t.facts.missing_nonces, [100, 101]);
    assert_eq!(
        t.message,
        format!(
            "sequence number 102 is waiting for sequence numbers 100 to 101: the account {TRANSFER_SENDER} is at 100"
        )
    );
    // An account that does not exist yet is at sequence number 0.
    node.with(|s| s.accounts.clear());
    let t = a.trace(TRANSFER).await.unwrap();
    assert_eq!(t.facts.account_nonce, Some(0));
    assert_eq!(t.facts.missing_nonces.len(), 100, "capped");
}

#[tokio::test]
async fn replaced_names_the_transaction_that_used_the_sequence_number() {
    // A competing transaction with sequence number 102 sits in the mempool while the recorded
    // transfer (also 102) is committed.
    let other = format!("0x{}", "ab".repeat(32));
    let node = node::start(10_004).await;
    node.with(|s| {
        s.pending.insert(
            other.clone(),
            pending_form("mainnet-txn-3521662834.json", Some(&other), None),
        );
        s.accounts.insert(TRANSFER_SENDER.into(), 103);
    });
    let a = adapter(&node).await;
    let t = a.trace(&other).await.unwrap();
    assert_eq!(t.status, TraceStatus::Replaced);
    assert_eq!(t.facts.replaced_by.as_deref(), Some(TRANSFER));
    assert!(t.status.is_final());
}

#[tokio::test]
async fn expired_when_the_chain_clock_passed_its_expiration() {
    let node = node::start(10_001).await;
    node.with(|s| {
        s.pending.insert(
            TRANSFER.into(),
            pending_form("mainnet-txn-3521662834.json", None, None),
        );
        s.accounts.insert(TRANSFER_SENDER.into(), 100);
        // expiration_timestamp_secs is 1759854861.
        s.clock_us = Some(1_759_854_861_000_001);
    });
    let a = adapter(&node).await;
    let t = a.trace(TRANSFER).await.unwrap();
    assert_eq!(t.status, TraceStatus::Expired);
    assert_eq!(t.facts.expires_at_ms, Some(1_759_854_861_000));
    // One second earlier it is still pending.
    node.with(|s| s.clock_us = Some(1_759_854_860_000_000));
    assert_eq!(
        a.trace(TRANSFER).await.unwrap().status,
        TraceStatus::Pending
    );
}

#[tokio::test]
async fn unknown_and_malformed_hashes() {
    let node = node::start(10_004).await;
    let a = adapter(&node).await;
    let t = a.trace(&format!("0x{}", "cd".repeat(32))).await.unwrap();
    assert_eq!(t.status, TraceStatus::NotFound);
    for bad in ["0x12", "hello", &format!("0x{}", "zz".repeat(32))] {
        let e = a.trace(bad).await.unwrap_err();
        assert!(
            matches!(
                e,
                FetchError::Permanent {
                    reason: "invalid_hash",
                    ..
                }
            ),
            "{bad}: {e:?}"
        );
        let msg = chainwatch_chain_core::ErrorChain(&e).to_string();
        assert!(msg.contains("is not 0x followed by 64 hex digits"), "{msg}");
    }
}
