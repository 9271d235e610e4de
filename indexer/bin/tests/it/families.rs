//! Issues 8, 9 and 10, acceptance "the same GraphQL queries answer for Sui, Aptos, Solana and
//! EVM transactions": one `chainwatch dev` follows anvil, the mock Aptos node, the mock Sui
//! full node and the mock Solana node at once. The same query (same fields) answers a
//! transaction of each family, failed ones with their failure, and `transactionsByHash` finds
//! each hash; `chains` lists all four.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use chainwatch_chain_sui::testing::{MockNode as SuiNode, testnet_checkpoints};
use chainwatch_schema::ChainId;
use chainwatch_store::Store;
use chainwatch_testkit::{
    Anvil, AptosNode, aptos_chain,
    evm::mixed_traffic,
    solana::{MockNode as SolanaNode, standard_chain},
};
use serde_json::Value;
use sqlx::PgPool;

use crate::support::{Dev, scratch, url_of};

const FIELDS: &str = "chain hash status blockHeight blockHash index sender fee finality \
                      confirmations failure { kind code message location raw } timeline { kind }";

#[sqlx::test(migrations = false)]
async fn the_same_queries_answer_for_every_family(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    let traffic = mixed_traffic(&anvil, 1, 1).await;
    let aptos = AptosNode::start(aptos_chain(Path::new(crate::aptos::APTOS)), 10_004).await;
    let sui = SuiNode::start(
        "testnet",
        &testnet_checkpoints(&crate::sui::testdata())[..1],
        true,
    )
    .await;
    let solana = SolanaNode::start(standard_chain()).await;
    let config = scratch("families").join("chainwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[chains."evm:31337"]
start_height = 0
providers = [{{ label = "anvil", url = "{}" }}]

[chains."aptos:1"]
start_height = 10000
providers = [{{ label = "aptos-mock", url = "{}" }}]

[chains."sui:testnet"]
start_height = {}
providers = [{{ label = "sui-mock", url = "{}" }}]

[chains."solana:mainnet"]
start_height = 1000
providers = [{{ label = "solana-mock", url = "{}" }}]
"#,
            anvil.url(),
            aptos.url(),
            crate::sui::CP.0,
            sui.url(),
            solana.url()
        ),
    )
    .unwrap();
    let db = url_of(&pool).await;
    let mut dev = Dev::start(&[
        "--config".into(),
        config.display().to_string(),
        "--database-url".into(),
        db,
    ]);
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    let evm_head = anvil.block_number().await;
    let deadline = Instant::now() + Duration::from_secs(90);
    for (chain, height) in [
        ("evm:31337", evm_head),
        ("aptos:1", 10_004),
        ("sui:testnet", crate::sui::CP.0),
        ("solana:mainnet", 1007),
    ] {
        let chain: ChainId = chain.parse().unwrap();
        loop {
            if let Some(wm) = store.watermark(&chain).await.unwrap()
                && wm.head.is_some_and(|h| h.height >= height)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{chain} not indexed in time; logs:\n{}",
                dev.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // (chain, hash, failed?) — one query text for all of them.
    let cases = [
        ("evm:31337", traffic.failed[0].as_str(), true),
        ("evm:31337", traffic.succeeded[0].as_str(), false),
        ("aptos:1", crate::aptos::FAILED, true),
        ("sui:testnet", crate::sui::J2VK, false),
        ("solana:mainnet", crate::solana::FAILED, true),
    ];
    let mut query = String::from("query {");
    for (i, (chain, hash, _)) in cases.iter().enumerate() {
        query.push_str(&format!(
            r#" t{i}: transaction(chain: "{chain}", hash: "{hash}") {{ {FIELDS} }}
                h{i}: transactionsByHash(hash: "{hash}") {{ chain hash }}"#
        ));
    }
    query.push_str(" chains { id family indexedHeight finalizedHeight } }");
    let v = dev.graphql(&query).await;
    assert!(v["errors"].is_null(), "{v:#}");
    let d = &v["data"];
    for (i, (chain, hash, failed)) in cases.iter().enumerate() {
        let t = &d[format!("t{i}")];
        assert_eq!(t["chain"], *chain, "{t}");
        assert_eq!(t["hash"], *hash, "{t}");
        assert_eq!(
            t["status"],
            if *failed { "FAILED" } else { "SUCCEEDED" },
            "{t}"
        );
        assert!(
            t["blockHeight"].is_u64() && t["blockHash"].is_string(),
            "{t}"
        );
        assert!(t["fee"].is_string() && t["sender"].is_string(), "{t}");
        assert!(
            t["finality"].is_string() && t["confirmations"].is_u64(),
            "{t}"
        );
        let kinds: Vec<&str> = t["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds.first(), Some(&"INCLUDED"), "{t}");
        if *failed {
            let f = &t["failure"];
            assert!(
                f["kind"].is_string() && f["message"].is_string() && f["raw"].is_string(),
                "{t}"
            );
        } else {
            assert!(t["failure"].is_null(), "{t}");
        }
        assert_eq!(
            d[format!("h{i}")],
            serde_json::json!([{"chain": chain, "hash": hash}]),
            "{v:#}"
        );
    }
    // The failure kinds each family's classifier gives.
    let kind = |i: usize| d[format!("t{i}")]["failure"]["kind"].clone();
    assert_eq!(
        [kind(0), kind(2), kind(4)],
        [
            Value::from("REVERTED"),
            Value::from("MOVE_ABORT"),
            Value::from("PROGRAM_ERROR")
        ]
    );
    let families: Vec<&str> = d["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["family"].as_str().unwrap())
        .collect();
    assert_eq!(families, ["aptos", "evm", "solana", "sui"]);
    assert!(dev.stop().success());
}
