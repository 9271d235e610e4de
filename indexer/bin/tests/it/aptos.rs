//! `chainwatch dev --chain aptos:1=…` against the scripted Aptos REST node of the testkit
//! (recorded mainnet transactions, see `testkit/src/aptos.rs`): backfill and live follow into
//! Postgres, then the same GraphQL queries as for EVM, and REST metrics by route name.

use std::time::{Duration, Instant};

use chainwatch_schema::ChainId;
use chainwatch_store::Store;
use chainwatch_testkit::{AptosNode, aptos_chain, aptos_made_up_hash};
use sqlx::PgPool;

use crate::support::{Dev, sample, url_of};

pub(crate) const APTOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../chains/aptos/testdata");
pub(crate) const FAILED: &str =
    "0x4c3248d4c2f3a5ca1617e43e69332c66586478871ee44634cdb4554fe537dff6";
const FAILED_SENDER: &str = "0x95a0fd88b11286d4790c253b39c6678b798c54b54b63bfd2bfe042411ee2e3e8";
const TRANSFER: &str = "0x6a43e0034486583a30cff449c03c4d882c641b351e392096272496168240de8e";
const BLOCK_10000: &str = "0x7eee0512cef0754f58890802a6c3ba1e1032bb1820f45b825adbbee4f10d9d71";

async fn wait_height(dev: &mut Dev, store: &Store, chain: &ChainId, height: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(dev.running(), "chainwatch exited; logs:\n{}", dev.logs());
        if let Some(wm) = store.watermark(chain).await.unwrap()
            && wm.head.as_ref().is_some_and(|h| h.height >= height)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "height {height} not indexed in time; logs:\n{}",
            dev.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test(migrations = false)]
async fn dev_indexes_aptos_and_answers_graphql(pool: PgPool) {
    let node = AptosNode::start(aptos_chain(std::path::Path::new(APTOS)), 10_002).await;
    // Block lists are cut to one transaction: block 10000 needs a /v1/transactions page.
    node.with(|s| s.page_limit = Some(1));
    let url = url_of(&pool).await;
    let chain: ChainId = "aptos:1".parse().unwrap();
    let mut dev = Dev::start(&[
        "--chain".into(),
        format!("aptos:1=mock-node={}", node.url()),
        "--database-url".into(),
        url,
        "--start-height".into(),
        "10000".into(),
    ]);
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    wait_height(&mut dev, &store, &chain, 10_002).await;
    // Live follow: the node commits two more blocks.
    node.with(|s| s.head = 10_004);
    wait_height(&mut dev, &store, &chain, 10_004).await;
    let wm = store.watermark(&chain).await.unwrap().unwrap();
    assert_eq!(
        wm.head.unwrap().hash,
        aptos_made_up_hash(10_004),
        "the indexed head is the node's"
    );
    assert!(
        node.stub
            .requests()
            .contains(&"/transactions?start=20084&limit=1".to_owned()),
        "the truncated block was completed"
    );

    let q = |hash: &str| {
        format!(
            r#"{{ transaction(chain: "aptos:1", hash: "{hash}") {{ chain hash status blockHeight blockHash index sender to nonce fee finality failure {{ kind code message location raw }} extra }} }}"#
        )
    };
    let v = dev.graphql(&q(FAILED)).await;
    let t = &v["data"]["transaction"];
    assert_eq!(t["status"], "FAILED", "{v}");
    assert_eq!(t["blockHeight"], 10_003, "{v}");
    assert_eq!(t["finality"], "FINALIZED", "{v}");
    assert_eq!(t["sender"], FAILED_SENDER, "{v}");
    assert_eq!(t["nonce"], "1679", "{v}");
    assert_eq!(t["fee"], "19500", "{v}");
    let f = &t["failure"];
    assert_eq!(f["kind"], "MOVE_ABORT", "{v}");
    assert_eq!(f["code"], "0x385", "{v}");
    assert_eq!(
        f["location"], "0x31deb490728ae8e1a89675ee4c1877af8e5849c526d2c9a64238c49d8ece08a0::fa",
        "{v}"
    );
    assert!(
        f["message"].as_str().unwrap().starts_with("E_NO_PROFIT "),
        "{v}"
    );
    assert!(
        f["raw"].as_str().unwrap().contains("E_NO_PROFIT(0x385)"),
        "{v}"
    );

    // Upper-case hex finds it too; a malformed Aptos hash is a field error, not a 500.
    let v = dev
        .graphql(&q(&TRANSFER.to_ascii_uppercase().replace("0X", "0x")))
        .await;
    assert_eq!(v["data"]["transaction"]["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["data"]["transaction"]["blockHeight"], 10_002, "{v}");
    let v = dev.graphql(&q("0x12")).await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{v}");

    let v = dev
        .graphql(&format!(
            r#"{{ transactionsByHash(hash: "{FAILED}") {{ chain hash status }} }}"#
        ))
        .await;
    let list = v["data"]["transactionsByHash"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(list[0]["chain"], "aptos:1", "{v}");

    // Address queries: the sender finds its transaction; system transactions are not there.
    let by_address = |a: &str| {
        format!(
            r#"{{ transactions(chain: "aptos:1", address: "{a}") {{ edges {{ node {{ hash }} }} }} }}"#
        )
    };
    let v = dev.graphql(&by_address(FAILED_SENDER)).await;
    let edges = v["data"]["transactions"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "{v}");
    assert_eq!(edges[0]["node"]["hash"], FAILED, "{v}");
    // Block 10000's proposer (printed with 63 digits by the node) has no address rows.
    let v = dev
        .graphql(&by_address(
            "0x324df1e27c4129a58d73851ae0e9366064dc666a73e747051e203694a4cb257",
        ))
        .await;
    assert_eq!(
        v["data"]["transactions"]["edges"],
        serde_json::json!([]),
        "{v}"
    );

    let v = dev
        .graphql(r#"{ block(chain: "aptos:1", height: 10000) { hash } }"#)
        .await;
    assert_eq!(v["data"]["block"]["hash"], BLOCK_10000, "{v}");

    // Instant finality: the indexed head is finalized; the provider is listed by label.
    let v = dev
        .graphql(r#"{ chain(id: "aptos:1") { indexedHeight headHeight lagBlocks finalizedHeight providers { label height } } }"#)
        .await;
    let c = &v["data"]["chain"];
    assert_eq!(c["indexedHeight"], 10_004, "{v}");
    assert_eq!(c["finalizedHeight"], 10_004, "{v}");
    assert_eq!(c["lagBlocks"], 0, "{v}");
    assert_eq!(c["providers"][0]["label"], "mock-node", "{v}");

    // REST requests are timed by route name, never by path with values.
    let metrics = dev.get("/metrics").await;
    assert!(
        sample(
            &metrics,
            "chainwatch_rpc_request_duration_seconds_count",
            &[
                ("chain", "aptos:1"),
                ("provider", "mock-node"),
                ("method", "GET /v1/blocks/by_height")
            ],
        )
        .is_some_and(|n| n >= 5.0),
        "{metrics}"
    );
    assert!(
        !metrics.contains("by_height/1000"),
        "a path with values in metrics"
    );
    assert!(!metrics.contains("127.0.0.1"), "a provider URL in metrics");
    assert!(dev.stop().success());
}
