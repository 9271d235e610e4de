//! Sui end to end: `chainwatch decode --chain sui:<net>` on the recorded files, and
//! `chainwatch dev` following a mock Sui gRPC node (the recorded testnet checkpoint 1953362)
//! into Postgres, answered over GraphQL.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use chainwatch_chain_sui::testing::{MockNode, testnet_checkpoints};
use chainwatch_schema::ChainId;
use sqlx::PgPool;

use crate::support::{Dev, bin, url_of};

pub(crate) fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../chains/sui/testdata")
}

pub(crate) const J2VK: &str = "J2Vkui75vgoLvCmNiREVKwpeTVPCq5EQ71i2ETahP6R9";
const UNKNOWN: &str = "7xZ5AAjrybwwPjXh7ojKert5v7eSYgzWEREtKrhSGQ7d";
pub(crate) const CP: (u64, &str) = (1_953_362, "BHeEq9rUuc2kdh1k7vk4oN22oK7TtpTpVuaM32fs6UrB");

#[test]
fn decode_jsonrpc_and_grpc_files_print_the_golden() {
    let want =
        std::fs::read_to_string(testdata().join("golden/decode/testnet-checkpoint-1953362.json"))
            .unwrap();
    for dir in ["", "grpc/"] {
        let out = bin()
            .args(["decode", "--chain", "sui:testnet"])
            .arg(testdata().join(format!("{dir}testnet-tx-{J2VK}.json")))
            .arg(testdata().join(format!("{dir}testnet-checkpoint-1953362.json")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{dir}");
    }
}

#[test]
fn decode_not_found_error_file_is_named() {
    let out = bin()
        .args(["decode", "--chain", "sui:testnet"])
        .arg(testdata().join("testnet-getTransactionBlock-not-found-error.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("testnet-getTransactionBlock-not-found-error.json: the file is a JSON-RPC error, not a transaction: transaction 7xZ5AAjrybwwPjXh7ojKert5v7eSYgzWEREtKrhSGQ7d was not found"),
        "{err}"
    );
}

#[sqlx::test(migrations = false)]
async fn dev_indexes_a_sui_checkpoint_and_answers_graphql(pool: PgPool) {
    let db = url_of(&pool).await;
    let node = MockNode::start("testnet", &testnet_checkpoints(&testdata())[..1], true).await;
    let mut dev = Dev::start(&[
        "--chain".into(),
        format!("sui:testnet=mock={}", node.url()),
        "--database-url".into(),
        db.clone(),
        "--start-height".into(),
        CP.0.to_string(),
    ]);
    dev.wait_ready().await;
    let store = chainwatch_store::Store::connect(&db, 2).await.unwrap();
    let chain: ChainId = "sui:testnet".parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(wm) = store.watermark(&chain).await.unwrap()
            && wm.head.is_some_and(|h| h.height == CP.0 && h.hash == CP.1)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "checkpoint not indexed in time; logs:\n{}",
            dev.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let v = dev
        .graphql(&format!(
            r#"{{ transaction(chain: "sui:testnet", hash: "{J2VK}") {{ chain hash status blockHeight blockHash index sender fee finality failure {{ kind }} extra }}
                 transactionsByHash(hash: "{J2VK}") {{ chain hash status finality }} }}"#
        ))
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let t = &v["data"]["transaction"];
    assert_eq!(t["chain"], "sui:testnet", "{v}");
    assert_eq!(t["hash"], J2VK);
    assert_eq!(t["status"], "SUCCEEDED");
    assert_eq!(t["blockHeight"], CP.0);
    assert_eq!(t["blockHash"], CP.1);
    assert_eq!(t["index"], 8);
    assert_eq!(
        t["sender"],
        "0x7d20dcdb2bca4f508ea9613994683eb4e76e9c4ed371169677c1be02aaf0b58e"
    );
    assert_eq!(t["fee"], "1997880");
    // A transaction in a checkpoint is final.
    assert_eq!(t["finality"], "FINALIZED");
    assert!(t["failure"].is_null());
    assert_eq!(t["extra"]["gas"]["storage_rebate"], 978_120);
    let all = v["data"]["transactionsByHash"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{v}");
    assert_eq!(all[0]["chain"], "sui:testnet");
    assert_eq!(all[0]["finality"], "FINALIZED");

    // traceTransaction: the indexed digest is INDEXED; the digest of the recorded "not found"
    // error is NOT_FOUND (the mock node does not know it either).
    let v = dev
        .graphql(&format!(
            r#"{{ a: traceTransaction(chain: "sui:testnet", hash: "{J2VK}") {{ status finality block {{ height }} }}
                 b: traceTransaction(chain: "sui:testnet", hash: "{UNKNOWN}") {{ status message }} }}"#
        ))
        .await;
    assert!(v["errors"].is_null(), "{v}");
    assert_eq!(v["data"]["a"]["status"], "INDEXED", "{v}");
    assert_eq!(v["data"]["a"]["block"]["height"], CP.0, "{v}");
    assert_eq!(v["data"]["b"]["status"], "NOT_FOUND", "{v}");

    // A malformed digest is a field error, not a 500.
    let v = dev
        .graphql(r#"{ transaction(chain: "sui:testnet", hash: "not a digest!") { hash } }"#)
        .await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{v}");
    assert!(dev.stop().success());
}

/// `chainwatch trace sui:testnet DIGEST` over an empty index asks the (mock) node: a
/// checkpointed transaction is INCLUDED and FINALIZED in its checkpoint; an unknown digest is
/// NOT_FOUND; a malformed one exits 2 naming it.
#[sqlx::test(migrations = false)]
async fn cli_trace_asks_the_node(pool: PgPool) {
    let db = url_of(&pool).await;
    assert!(
        bin()
            .args(["migrate", "--database-url", &db])
            .status()
            .unwrap()
            .success()
    );
    let node = MockNode::start("testnet", &testnet_checkpoints(&testdata()), true).await;
    // The mock node runs on this test's runtime: the binary is awaited, not waited for.
    let trace = async |hash: &str| {
        let mut cmd = tokio::process::Command::from(bin());
        cmd.args([
            "trace",
            "sui:testnet",
            hash,
            "--format",
            "json",
            "--database-url",
            &db,
        ])
        .args(["--chain", &format!("sui:testnet=mock={}", node.url())])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
        cmd.output().await.unwrap()
    };
    let out = trace(J2VK).await;
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trace"]["status"], "INCLUDED", "{v:#}");
    assert_eq!(v["trace"]["finality"], "FINALIZED", "{v:#}");
    assert_eq!(v["trace"]["block"]["height"], CP.0, "{v:#}");
    assert_eq!(v["trace"]["block"]["hash"], CP.1, "{v:#}");

    let out = trace(UNKNOWN).await;
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trace"]["status"], "NOT_FOUND", "{v:#}");

    let out = trace("J2Vk").await;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"J2Vk\""), "{err}");
}

/// One `dev` following an Aptos node and a Sui node: the same GraphQL selection answers for a
/// transaction of each family, and `transactionsByHash` finds each by its own hash form.
#[cfg(feature = "aptos")]
#[sqlx::test(migrations = false)]
async fn same_queries_answer_for_sui_and_aptos(pool: PgPool) {
    use chainwatch_testkit::{AptosNode, aptos_chain};

    const APTOS_TX: &str = "0x6a43e0034486583a30cff449c03c4d882c641b351e392096272496168240de8e";
    let db = url_of(&pool).await;
    let aptos = AptosNode::start(aptos_chain(Path::new(crate::aptos::APTOS)), 10_002).await;
    aptos.with(|s| s.page_limit = Some(1));
    let sui = MockNode::start("testnet", &testnet_checkpoints(&testdata())[..1], true).await;
    let mut dev = Dev::start(&[
        "--config".into(),
        {
            let dir = crate::support::scratch("sui-aptos");
            let path = dir.join("chainwatch.toml");
            std::fs::write(
                &path,
                format!(
                    "[chains.\"aptos:1\"]\nstart_height = 10000\nproviders = [{{ label = \"aptos-mock\", url = \"{}\" }}]\n\n\
                     [chains.\"sui:testnet\"]\nstart_height = {}\nproviders = [{{ label = \"sui-mock\", url = \"{}\" }}]\n",
                    aptos.url(),
                    CP.0,
                    sui.url()
                ),
            )
            .unwrap();
            path.display().to_string()
        },
        "--database-url".into(),
        db.clone(),
    ]);
    dev.wait_ready().await;
    let store = chainwatch_store::Store::connect(&db, 2).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    for (chain, height) in [("aptos:1", 10_002), ("sui:testnet", CP.0)] {
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
    const FIELDS: &str = "chain hash status blockHeight blockHash index sender fee finality failure { kind code message location raw } extra";
    let v = dev
        .graphql(&format!(
            r#"{{ a: transaction(chain: "aptos:1", hash: "{APTOS_TX}") {{ {FIELDS} }}
                 s: transaction(chain: "sui:testnet", hash: "{J2VK}") {{ {FIELDS} }}
                 ah: transactionsByHash(hash: "{APTOS_TX}") {{ chain hash }}
                 sh: transactionsByHash(hash: "{J2VK}") {{ chain hash }} }}"#
        ))
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let d = &v["data"];
    assert_eq!(
        (&d["a"]["chain"], &d["a"]["status"]),
        (&"aptos:1".into(), &"SUCCEEDED".into()),
        "{v}"
    );
    assert_eq!(
        (&d["s"]["chain"], &d["s"]["status"]),
        (&"sui:testnet".into(), &"SUCCEEDED".into()),
        "{v}"
    );
    for t in ["a", "s"] {
        assert_eq!(d[t]["finality"], "FINALIZED", "{v}");
        assert!(
            d[t]["blockHeight"].is_u64() && d[t]["sender"].is_string(),
            "{v}"
        );
    }
    assert_eq!(
        d["ah"],
        serde_json::json!([{"chain": "aptos:1", "hash": APTOS_TX}]),
        "{v}"
    );
    assert_eq!(
        d["sh"],
        serde_json::json!([{"chain": "sui:testnet", "hash": J2VK}]),
        "{v}"
    );
    assert!(dev.stop().success());
}
