//! The adapter against a real anvil node.

use chainwatch_chain_core::{ChainAdapter, ErrorChain, FetchError, FinalityModel};
use chainwatch_chain_evm::{EvmAdapter, EvmOptions};
use chainwatch_schema::{FailureKind, Finality, TxStatus};
use chainwatch_testkit::{Anvil, free_port};
use serde_json::json;

use crate::support::{ANVIL_CHAIN, adapter, connect, deploy_reverter, pool, qty, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_succeeds_with_its_fee() {
    let anvil = Anvil::spawn(&[]).await;
    let a = adapter(&anvil).await;
    let to = anvil.accounts().await.remove(1);
    let r = send(&anvil, json!({"to": to, "value": "0xde0b6b3a7640000"})).await;
    let height = u64::try_from(qty(&r["blockNumber"])).unwrap();

    let block = a.block(height).await.unwrap().expect("block exists");
    assert_eq!(block.block_ref.height, height);
    assert_eq!(block.block_ref.hash, r["blockHash"]);
    assert_eq!(block.chain.as_str(), ANVIL_CHAIN);
    let tx = &block.txs[0];
    assert_eq!(tx.hash, r["transactionHash"]);
    assert_eq!(tx.status, TxStatus::Succeeded);
    assert!(tx.failure.is_none());
    assert_eq!(tx.to.as_deref(), Some(to.as_str()));
    assert_eq!(
        tx.sender.as_ref(),
        r["from"].as_str().map(str::to_owned).as_ref()
    );
    assert_eq!(tx.value.as_deref(), Some("1000000000000000000"));
    let fee = qty(&r["gasUsed"]) * qty(&r["effectiveGasPrice"]);
    assert_eq!(tx.fee.as_deref(), Some(fee.to_string().as_str()));
    assert_eq!(tx.extra["gas_used"], 21_000);
    assert_eq!(tx.extra["type"], 2);
    assert_eq!(tx.extra["logs"], 0);

    // The parent links to the previous block's ref.
    let parent = a.block_ref(height - 1).await.unwrap().unwrap();
    assert_eq!(block.parent_hash, parent.hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverting_call_fails_and_deployment_is_recorded() {
    let anvil = Anvil::spawn(&[]).await;
    let a = adapter(&anvil).await;
    let deployed = deploy_reverter(&anvil).await;
    let contract = deployed["contractAddress"].as_str().unwrap().to_owned();
    // An explicit gas limit: estimation would fail on a call that always reverts.
    let r = send(&anvil, json!({"to": contract, "gas": "0x186a0"})).await;
    assert_eq!(r["status"], "0x0", "{r}");

    let height = u64::try_from(qty(&r["blockNumber"])).unwrap();
    let block = a.block(height).await.unwrap().unwrap();
    let tx = &block.txs[0];
    assert_eq!(tx.status, TxStatus::Failed);
    let f = tx.failure.as_ref().unwrap();
    // The payload has the Error(string) selector but no valid string after it.
    assert_eq!(f.kind, FailureKind::Reverted);
    assert_eq!(
        f.message,
        "reverted with malformed Error(string) data 0x08c379a0deadbeef"
    );
    let used = qty(&r["gasUsed"]);
    assert!(used < 100_000, "{used}");
    assert_eq!(f.location.as_deref(), Some(contract.as_str()));
    let raw: serde_json::Value = serde_json::from_str(&f.raw).unwrap();
    assert_eq!(
        raw,
        json!({"status": "0x0", "gasUsed": r["gasUsed"], "gas": "0x186a0", "source": "trace",
               "error": "execution reverted", "revertData": "0x08c379a0deadbeef",
               "callType": "CALL"})
    );
    // A failed transaction still pays for its gas.
    let fee = used * qty(&r["effectiveGasPrice"]);
    assert_eq!(tx.fee.as_deref(), Some(fee.to_string().as_str()));

    // The deployment: no `to`, the created address in `extra`.
    let height = u64::try_from(qty(&deployed["blockNumber"])).unwrap();
    let block = a.block(height).await.unwrap().unwrap();
    let tx = &block.txs[0];
    assert_eq!(tx.to, None);
    assert_eq!(tx.status, TxStatus::Succeeded);
    assert_eq!(tx.extra["contract_address"], contract.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_and_finalized_trail_latest() {
    let anvil = Anvil::spawn(&[]).await;
    let a = adapter(&anvil).await;
    // At genesis every tag is block 0.
    for at in [Finality::Included, Finality::Safe, Finality::Finalized] {
        assert_eq!(a.head(at).await.unwrap().unwrap().height, 0, "{at:?}");
    }
    anvil.mine(10).await;
    let latest = a.head(Finality::Included).await.unwrap().unwrap();
    assert_eq!(latest.height, 10);
    assert_eq!(
        a.head(Finality::Pending).await.unwrap(),
        Some(latest.clone())
    );
    // `--slots-in-an-epoch 2`: safe = latest − 2, finalized = latest − 4 (no epoch rounding).
    let safe = a.head(Finality::Safe).await.unwrap().unwrap();
    let finalized = a.head(Finality::Finalized).await.unwrap().unwrap();
    assert_eq!((safe.height, finalized.height), (8, 6));
    assert_eq!(Some(safe.clone()), a.block_ref(8).await.unwrap());
    assert_eq!(Some(finalized), a.block_ref(6).await.unwrap());
    anvil.mine(1).await;
    assert_eq!(a.head(Finality::Safe).await.unwrap().unwrap().height, 9);
    assert_eq!(
        a.head(Finality::Finalized).await.unwrap().unwrap().height,
        7
    );
    assert_eq!(
        a.finality_model(),
        FinalityModel::Probabilistic {
            max_reorg_depth: 64
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_beyond_the_head_are_none_and_empty_blocks_have_no_txs() {
    let anvil = Anvil::spawn(&[]).await;
    let a = adapter(&anvil).await;
    anvil.mine(3).await;
    assert!(a.block(4).await.unwrap().is_none());
    assert!(a.block(1_000_000).await.unwrap().is_none());
    assert!(a.block_ref(4).await.unwrap().is_none());
    let empty = a.block(3).await.unwrap().unwrap();
    assert!(empty.txs.is_empty());
    assert_eq!(
        Some(empty.block_ref),
        a.head(Finality::Included).await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_id_mismatch_names_the_label_not_the_url() {
    let anvil = Anvil::spawn(&[]).await;
    let e = connect("evm:1", &[("local", &anvil.url())])
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
    assert!(
        text.contains(
            "provider `local` reports chain id 31337 but the chain is configured as evm:1"
        ),
        "{text}"
    );
    assert!(
        !text.contains("127.0.0.1") && !text.contains(&anvil.port().to_string()),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_providers_are_tolerated_then_reported() {
    let anvil = Anvil::spawn(&[]).await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let a = connect(ANVIL_CHAIN, &[("dead", &dead), ("local", &anvil.url())])
        .await
        .unwrap();
    anvil.mine(2).await;
    let heads = a.provider_heads().await;
    assert_eq!(heads.len(), 2);
    assert_eq!(heads[0].provider, "dead");
    assert_eq!(heads[0].height, None);
    assert_eq!(heads[0].error.as_deref(), Some("connect"));
    assert_eq!(heads[1].provider, "local");
    assert_eq!(heads[1].height, Some(2));
    assert_eq!(heads[1].error, None);
    assert!((0.0..=1.0).contains(&heads[1].health) && heads[1].health > 0.0);
    assert!(heads[1].health > heads[0].health);
    // Requests fail over to the live provider.
    assert_eq!(a.block_ref(2).await.unwrap().unwrap().height, 2);

    // Two labels on the same dead URL: both tried, both named.
    let e = connect(ANVIL_CHAIN, &[("dead", &dead), ("gone", &dead)])
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
    let text = ErrorChain(&e).to_string();
    assert!(
        text.contains("`dead` (connect)") && text.contains("`gone` (connect)"),
        "{text}"
    );
    assert!(!text.contains("127.0.0.1"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_evm_chain_ids_are_invalid_config() {
    let anvil = Anvil::spawn(&[]).await;
    for chain in ["evm:mainnet", "evm:0x7a69"] {
        let e = EvmAdapter::connect(
            chain.parse().unwrap(),
            pool(chain, &[("local", &anvil.url())]),
            EvmOptions::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.reason(), "invalid_config", "{chain}");
        let text = ErrorChain(&e).to_string();
        assert!(
            text.contains(chain) && text.contains("evm:<decimal chain id>"),
            "{text}"
        );
    }
    // The pool must serve the chain the adapter follows.
    let e = EvmAdapter::connect(
        "evm:31337".parse().unwrap(),
        pool("evm:1", &[("local", &anvil.url())]),
        EvmOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.reason(), "invalid_config");
}

/// A chain configured for finality by depth reports SAFE/FINALIZED at `latest` minus the
/// configured confirmations, ignoring the node's tags; before the chain is that long, `None`.
#[tokio::test(flavor = "multi_thread")]
async fn finality_by_confirmations_depth() {
    use chainwatch_chain_evm::{EvmAdapter, EvmOptions, FinalitySource};
    let anvil = Anvil::spawn(&[]).await;
    let opts = EvmOptions {
        finality: FinalitySource::Depth,
        safe_depth: 3,
        finalized_depth: 7,
        ..EvmOptions::default()
    };
    let a = EvmAdapter::connect(
        ANVIL_CHAIN.parse().unwrap(),
        crate::support::pool(ANVIL_CHAIN, &[("local", &anvil.url())]),
        opts,
    )
    .await
    .unwrap();
    anvil.mine(5).await;
    assert_eq!(
        a.head(Finality::Safe).await.unwrap().map(|r| r.height),
        Some(2)
    );
    assert_eq!(
        a.head(Finality::Finalized).await.unwrap(),
        None,
        "chain shorter than the depth"
    );
    anvil.mine(15).await;
    // anvil's own tags would say 18 and 16 (`--slots-in-an-epoch 2`); the depth wins.
    let safe = a.head(Finality::Safe).await.unwrap().unwrap();
    let finalized = a.head(Finality::Finalized).await.unwrap().unwrap();
    assert_eq!((safe.height, finalized.height), (17, 13));
    assert_eq!(Some(finalized), a.block_ref(13).await.unwrap());
}

#[test]
fn polygon_defaults_cover_its_deepest_reorgs() {
    use chainwatch_chain_evm::EvmOptions;
    let p = EvmOptions::for_chain_id(137);
    assert!(
        p.finalized_depth > 157 && p.max_reorg_depth >= p.finalized_depth,
        "{p:?}"
    );
    assert_eq!(EvmOptions::for_chain_id(1), EvmOptions::default());
}
