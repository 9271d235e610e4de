//! The quickstart's promise: GraphQL tells SUCCEEDED and FAILED with block and finality, and
//! `chains` shows the devnet with its lag.

use chainwatch_testkit::{Anvil, evm::mixed_traffic};
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, dev_args, url_of};

#[sqlx::test(migrations = false)]
async fn graphql_reports_status_block_and_finality(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    let traffic = mixed_traffic(&anvil, 3, 2).await;
    anvil.mine(5).await; // so that safe/finalized pass the traffic
    let url = url_of(&pool).await;
    let mut dev = Dev::start(&dev_args(&anvil.url(), &url));
    dev.wait_ready().await;
    let store = chainwatch_store::Store::from_pool(pool.clone());
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;
    // The finalized watermark follows the head in its own step: wait for it to pass the
    // traffic (on a loaded machine it can trail the head check above).
    let mut last_block = 0;
    for h in traffic.succeeded.iter().chain(&traffic.failed) {
        let r = anvil
            .rpc("eth_getTransactionReceipt", serde_json::json!([h]))
            .await;
        let n = r["blockNumber"].as_str().unwrap().trim_start_matches("0x");
        last_block = last_block.max(u64::from_str_radix(n, 16).unwrap());
    }
    dev.wait_finalized(&store, &anvil_chain(), last_block).await;

    let q = |hash: &str| {
        format!(
            r#"{{ transaction(chain: "evm:31337", hash: "{hash}") {{ hash status blockHeight blockHash finality failure {{ kind message raw }} }} }}"#
        )
    };
    for h in &traffic.succeeded {
        let v = dev.graphql(&q(h)).await;
        let t = &v["data"]["transaction"];
        assert_eq!(t["status"], "SUCCEEDED", "{v}");
        assert!(t["failure"].is_null(), "{v}");
        let receipt = anvil
            .rpc("eth_getTransactionReceipt", serde_json::json!([h]))
            .await;
        assert_eq!(t["blockHash"], receipt["blockHash"], "{v}");
        assert_eq!(
            t["blockHeight"].as_u64().unwrap(),
            u64::from_str_radix(
                receipt["blockNumber"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("0x"),
                16
            )
            .unwrap()
        );
        assert_eq!(t["finality"], "FINALIZED", "{v}");
    }
    for h in &traffic.failed {
        let v = dev.graphql(&q(h)).await;
        let t = &v["data"]["transaction"];
        assert_eq!(t["status"], "FAILED", "{v}");
        assert!(
            t["failure"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    let v = dev
        .graphql(r#"{ chains { id indexedHeight headHeight lagBlocks lagSeconds safeHeight finalizedHeight providers { label height healthy } } }"#)
        .await;
    let c = &v["data"]["chains"][0];
    assert_eq!(c["id"], "evm:31337", "{v}");
    let head = anvil.block_number().await;
    assert_eq!(c["indexedHeight"].as_u64(), Some(head), "{v}");
    assert_eq!(c["lagBlocks"].as_u64(), Some(0), "{v}");
    assert!(c["lagSeconds"].as_f64().is_some(), "{v}");
    assert_eq!(c["safeHeight"].as_u64(), Some(head - 2), "{v}");
    assert_eq!(c["finalizedHeight"].as_u64(), Some(head - 4), "{v}");
    assert_eq!(c["providers"][0]["label"], "anvil", "{v}");

    // Prometheus metrics: RPC timings by provider label, rows written, heads; never a URL.
    let metrics = dev.get("/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    for needle in [
        "# HELP chainwatch_rpc_request_duration_seconds",
        r#"chainwatch_rpc_request_duration_seconds_bucket{chain="evm:31337",provider="anvil",method="eth_getBlockByNumber""#,
        r#"chainwatch_consume_rows_written_total{chain="evm:31337",table="transactions"}"#,
        r#"chainwatch_ingest_head_height{chain="evm:31337",finality="finalized"}"#,
        "chainwatch_consume_lag_seconds",
        r#"chainwatch_api_request_duration_seconds_bucket{operation="transaction""#,
        r#"chainwatch_api_request_duration_seconds_bucket{operation="chains""#,
    ] {
        assert!(metrics.contains(needle), "missing {needle} in:\n{metrics}");
    }
    assert!(
        !metrics.contains(&anvil.url()),
        "a provider URL leaked into /metrics"
    );
    assert!(dev.stop().success(), "{}", dev.logs());
}
