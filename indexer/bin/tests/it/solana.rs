//! `chainwatch dev --chain solana:mainnet=<mock>` end to end: the mock Solana node
//! (`chainwatch_testkit::solana`, recorded blocks on a scripted chain with skipped slots) into
//! Postgres, then the same GraphQL queries as for EVM: a failed and a succeeded transaction
//! with status, finality, failure and timeline, and `transactionsByHash` finding a signature.

use std::time::{Duration, Instant};

use chainwatch_schema::ChainId;
use chainwatch_store::Store;
use chainwatch_testkit::solana::{MockNode, standard_chain};
use sqlx::PgPool;

use crate::support::{Dev, url_of};

/// The first failed vote transaction of recorded slot 100000000 (slot 1000 on the mock chain).
pub(crate) const FAILED: &str =
    "xjUw3f94FvbbGkhkokevTUn6aY4bHPcbnkF7ybe3MnM6a9DEEbkrURT5DP4JtnFJtpE7nLeX4qF27inBxXxnqi6";
/// The v0 transaction of recorded slot 154808473 (slot 1002 on the mock chain).
const V0: &str =
    "5X7cr7bxjwoWvWFvSmVfmF3PhYcid4ojtNGYiDsRRP6P5cfzkahxbZfwH4YDdhy9RnSEyaT255aDw14vis5Qxvqh";

#[sqlx::test(migrations = false)]
async fn dev_indexes_a_solana_cluster_and_graphql_answers(pool: PgPool) {
    let node = MockNode::start(standard_chain()).await;
    let url = url_of(&pool).await;
    let mut dev = Dev::start(&[
        "--chain".into(),
        format!("solana:mainnet=mock={}", node.url()),
        "--database-url".into(),
        url,
        "--start-height".into(),
        "1000".into(),
    ]);
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    let chain: ChainId = "solana:mainnet".parse().unwrap();
    let head = node.with(|c| c.hash(1007));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(wm) = store.watermark(&chain).await.unwrap()
            && wm.head.as_ref().is_some_and(|h| h.hash == head)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slot 1007 not indexed in time; logs:\n{}",
            dev.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let q = |hash: &str| {
        format!(
            r#"{{ transaction(chain: "solana:mainnet", hash: "{hash}") {{
                chain hash status blockHeight blockHash index sender fee finality
                failure {{ kind code message location raw }}
                timeline {{ kind }} extra }} }}"#
        )
    };
    let v = dev.graphql(&q(FAILED)).await;
    let t = &v["data"]["transaction"];
    assert_eq!(t["status"], "FAILED", "{v}");
    assert_eq!(t["blockHeight"], 1000);
    assert_eq!(t["blockHash"], node.with(|c| c.hash(1000)));
    assert_eq!(t["sender"], "2ZjcDzwmkptGyD43siZDf4wCjM3NL7pQksmwbsKvYF1N");
    assert_eq!(t["fee"], "5000");
    // Finalized up to 1002 on the mock chain.
    assert_eq!(t["finality"], "FINALIZED", "{v}");
    let f = &t["failure"];
    assert_eq!(f["kind"], "PROGRAM_ERROR");
    assert_eq!(f["code"], "0");
    assert_eq!(f["location"], "Vote111111111111111111111111111111111111111");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("VoteTooOld: vote already recorded or not in slot hashes history"),
        "{v}"
    );
    let kinds: Vec<&str> = t["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"INCLUDED"), "{v}");
    assert!(kinds.contains(&"FINALIZED"), "{v}");

    let v = dev.graphql(&q(V0)).await;
    let t = &v["data"]["transaction"];
    assert_eq!(t["status"], "SUCCEEDED", "{v}");
    assert_eq!(t["blockHeight"], 1002);
    assert_eq!(t["extra"]["version"], 0);
    assert!(t["failure"].is_null());

    let v = dev
        .graphql(&format!(
            r#"{{ transactionsByHash(hash: "{FAILED}") {{ chain hash status }} }}"#
        ))
        .await;
    assert_eq!(
        v["data"]["transactionsByHash"],
        serde_json::json!([{"chain": "solana:mainnet", "hash": FAILED, "status": "FAILED"}]),
        "{v}"
    );
    // Skipped slots are not blocks.
    let v = dev
        .graphql(r#"{ a: block(chain: "solana:mainnet", height: 1001) { height } b: block(chain: "solana:mainnet", height: 1003) { height hash } }"#)
        .await;
    assert!(v["data"]["a"].is_null(), "{v}");
    assert_eq!(v["data"]["b"]["hash"], node.with(|c| c.hash(1003)), "{v}");
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM transactions WHERE chain_id = 'solana:mainnet'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(n, 12);
    assert!(dev.stop().success(), "{}", dev.logs());
}
