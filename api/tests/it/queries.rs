//! Queries executed directly on the schema.

use chainwatch_api::ApiConfig;
use chainwatch_schema::ChainEvent;
use chainwatch_store::Store;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{
    CHAIN, Feed, HEARTBEAT_MS, blocks, broken_store, chain_id, errors, populate, run, schema,
};

const TX_QUERY: &str = r#"
query ($chain: String!, $hash: String!) {
  transaction(chain: $chain, hash: $hash) {
    chain hash status blockHeight blockHash blockTime index sender to nonce value fee finality
    failure { kind code message location raw }
    timeline { kind at blockHeight blockHash }
    extra
  }
}"#;

/// The single error of `resp`, asserting there is exactly one and that `data.<field>` is null.
fn only_error(resp: &Value, field: &str) -> Value {
    let errs = errors(resp);
    assert_eq!(errs.len(), 1, "{resp:#}");
    assert_eq!(resp["data"][field], Value::Null, "{resp:#}");
    errs[0].clone()
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn succeeded_transaction_with_block_finality_and_timeline(pool: PgPool) {
    let blocks = populate(&Store::from_pool(pool.clone())).await;
    let schema = schema(&pool, ApiConfig::default());
    let t = &blocks[1].txs[0];
    let resp = run(&schema, TX_QUERY, json!({"chain": CHAIN, "hash": t.hash})).await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    let tx = &resp["data"]["transaction"];
    assert_eq!(
        tx,
        &json!({
            "chain": CHAIN,
            "hash": t.hash,
            "status": "SUCCEEDED",
            "blockHeight": 1,
            "blockHash": blocks[1].block_ref.hash,
            "blockTime": "2023-11-14T22:13:32.000Z",
            "index": 0,
            "sender": "0xsender00",
            "to": "0xrecipient03",
            "nonce": "1",
            "value": "0",
            "fee": "21000",
            "finality": "FINALIZED",
            "failure": null,
            "timeline": tx["timeline"].clone(),
            "extra": {"gas_used": 21000, "type": 2},
        })
    );
    let kinds: Vec<_> = tx["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["blockHeight"].as_u64()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("INCLUDED", Some(1)),
            ("SAFE", Some(4)),
            ("FINALIZED", Some(2))
        ]
    );
    assert_eq!(tx["timeline"][0]["at"], "2023-11-14T22:13:32.000Z");
    assert_eq!(tx["timeline"][0]["blockHash"], blocks[1].block_ref.hash);

    // Safe but not finalized; included only.
    let resp = run(
        &schema,
        TX_QUERY,
        json!({"chain": CHAIN, "hash": blocks[4].txs[0].hash}),
    )
    .await;
    assert_eq!(resp["data"]["transaction"]["finality"], "SAFE", "{resp:#}");
    assert_eq!(resp["data"]["transaction"]["extra"], Value::Null);
    let resp = run(
        &schema,
        TX_QUERY,
        json!({"chain": CHAIN, "hash": blocks[5].txs[0].hash}),
    )
    .await;
    assert_eq!(
        resp["data"]["transaction"]["finality"], "INCLUDED",
        "{resp:#}"
    );
    assert_eq!(
        resp["data"]["transaction"]["timeline"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn failed_transaction_has_its_failure(pool: PgPool) {
    let blocks = populate(&Store::from_pool(pool.clone())).await;
    let schema = schema(&pool, ApiConfig::default());
    let t = &blocks[3].txs[3];
    let resp = run(&schema, TX_QUERY, json!({"chain": CHAIN, "hash": t.hash})).await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    let tx = &resp["data"]["transaction"];
    assert_eq!(tx["status"], "FAILED");
    assert_eq!(
        (&tx["blockHeight"], &tx["blockHash"]),
        (&json!(3), &json!(blocks[3].block_ref.hash))
    );
    assert_eq!(tx["finality"], "SAFE");
    assert_eq!(
        tx["failure"],
        json!({"kind": "REVERTED", "code": null, "message": "scripted revert", "location": null, "raw": "{}"})
    );
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn uppercase_evm_hash_is_normalized(pool: PgPool) {
    let blocks = populate(&Store::from_pool(pool.clone())).await;
    let schema = schema(&pool, ApiConfig::default());
    let hash = &blocks[2].txs[1].hash;
    let upper = format!("0X{}", hash[2..].to_ascii_uppercase());
    let resp = run(&schema, TX_QUERY, json!({"chain": CHAIN, "hash": upper})).await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    assert_eq!(resp["data"]["transaction"]["hash"], json!(hash));
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn missing_transaction_is_null_without_errors(pool: PgPool) {
    populate(&Store::from_pool(pool.clone())).await;
    let schema = schema(&pool, ApiConfig::default());
    let hash = format!("0x{}", "ab".repeat(32));
    let resp = run(&schema, TX_QUERY, json!({"chain": CHAIN, "hash": hash})).await;
    assert_eq!(resp["data"], json!({"transaction": null}));
    assert!(errors(&resp).is_empty(), "{resp:#}");
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn malformed_hash_is_a_bad_request_at_the_field(pool: PgPool) {
    populate(&Store::from_pool(pool.clone())).await;
    let schema = schema(&pool, ApiConfig::default());
    let resp = run(&schema, TX_QUERY, json!({"chain": CHAIN, "hash": "0x12"})).await;
    assert_eq!(resp["data"], json!({"transaction": null}), "{resp:#}");
    let err = only_error(&resp, "transaction");
    assert_eq!(err["path"], json!(["transaction"]));
    assert_eq!(
        err["extensions"],
        json!({"code": "BAD_REQUEST", "argument": "hash"})
    );
    assert_eq!(
        err["message"],
        r#"invalid hash "0x12": expected 0x followed by 64 hex digits"#
    );
    assert_eq!(err["locations"], json!([{"line": 3, "column": 3}]));

    // The bad field is null; its siblings still resolve.
    let q = format!(
        "{{ chains {{ id }} bad: transaction(chain: \"{CHAIN}\", hash: \"0x12\") {{ hash }} }}"
    );
    let resp = run(&schema, &q, json!({})).await;
    assert_eq!(
        resp["data"],
        json!({"chains": [{"id": CHAIN}], "bad": null}),
        "{resp:#}"
    );
    assert_eq!(only_error(&resp, "bad")["path"], json!(["bad"]));

    // transactionsByHash checks hashes too.
    let resp = run(
        &schema,
        "{ transactionsByHash(hash: \"0xzz\") { hash } }",
        json!({}),
    )
    .await;
    let err = only_error(&resp, "transactionsByHash");
    assert_eq!(err["path"], json!(["transactionsByHash"]));
    assert_eq!(err["extensions"]["argument"], "hash");
    let resp = run(
        &schema,
        "{ transactionsByHash(hash: \"not base58!\") { hash } }",
        json!({}),
    )
    .await;
    let err = only_error(&resp, "transactionsByHash");
    assert_eq!(err["extensions"]["code"], "BAD_REQUEST");
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn unknown_and_unparsable_chains_are_bad_requests(pool: PgPool) {
    populate(&Store::from_pool(pool.clone())).await;
    let hash = format!("0x{}", "ab".repeat(32));
    let schema = schema(&pool, ApiConfig::default());

    let resp = run(&schema, TX_QUERY, json!({"chain": "evm:999", "hash": hash})).await;
    let err = only_error(&resp, "transaction");
    assert_eq!(err["path"], json!(["transaction"]));
    assert_eq!(
        err["extensions"],
        json!({"code": "BAD_REQUEST", "argument": "chain"})
    );
    assert_eq!(
        err["message"],
        r#"unknown chain "evm:999"; known chains: evm:31337"#
    );

    let resp = run(&schema, TX_QUERY, json!({"chain": "nope", "hash": hash})).await;
    let err = only_error(&resp, "transaction");
    assert_eq!(
        err["extensions"],
        json!({"code": "BAD_REQUEST", "argument": "chain"})
    );
    assert_eq!(
        err["message"],
        r#"invalid chain "nope": expected family:network, e.g. evm:1 or solana:mainnet"#
    );

    // A configured chain is valid before any data arrives, and listed among the known ones.
    let cfg = ApiConfig {
        known_chains: vec![chain_id("evm:1")],
        ..ApiConfig::default()
    };
    let schema = crate::schema(&pool, cfg);
    let resp = run(&schema, TX_QUERY, json!({"chain": "evm:1", "hash": hash})).await;
    assert_eq!(resp, json!({"data": {"transaction": null}}));
    let resp = run(&schema, TX_QUERY, json!({"chain": "evm:999", "hash": hash})).await;
    let err = only_error(&resp, "transaction");
    assert_eq!(
        err["message"],
        r#"unknown chain "evm:999"; known chains: evm:1, evm:31337"#
    );

    // The chain's family decides the hash format: base58 is fine on solana, not on evm.
    let cfg = ApiConfig {
        known_chains: vec![chain_id("solana:mainnet")],
        ..ApiConfig::default()
    };
    let schema = crate::schema(&pool, cfg);
    let sig =
        "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";
    let resp = run(
        &schema,
        TX_QUERY,
        json!({"chain": "solana:mainnet", "hash": sig}),
    )
    .await;
    assert_eq!(resp, json!({"data": {"transaction": null}}));
    let resp = run(&schema, TX_QUERY, json!({"chain": CHAIN, "hash": sig})).await;
    assert_eq!(
        only_error(&resp, "transaction")["extensions"]["argument"],
        "hash"
    );
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn transactions_by_hash_spans_chains_and_reorgs(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (a, b) = (chain_id("evm:10"), chain_id("evm:1"));
    let (ba, bb) = (blocks(&a, 2), blocks(&b, 2));
    let mut fa = Feed::new(&a);
    store.apply_batch(&a, &fa.apply_all(&ba)).await.unwrap();
    store
        .apply_batch(&b, &Feed::new(&b).apply_all(&bb))
        .await
        .unwrap();
    let revert = fa.env(ChainEvent::Revert {
        to: ba[1].block_ref.clone(),
        from: ba[2].block_ref.clone(),
        new_head: ba[2].block_ref.clone(),
    });
    store.apply_batch(&a, &[revert]).await.unwrap();

    let schema = schema(&pool, ApiConfig::default());
    let q = "query ($h: String!) { transactionsByHash(hash: $h) { chain status blockHeight finality timeline { kind } } }";
    let resp = run(&schema, q, json!({"h": ba[2].txs[0].hash})).await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    assert_eq!(
        resp["data"]["transactionsByHash"],
        json!([
            {"chain": "evm:1", "status": "SUCCEEDED", "blockHeight": 2, "finality": "INCLUDED",
             "timeline": [{"kind": "INCLUDED"}]},
            {"chain": "evm:10", "status": "REORGED_OUT", "blockHeight": null, "finality": null,
             "timeline": [{"kind": "INCLUDED"}, {"kind": "REORGED_OUT"}]},
        ])
    );
    let resp = run(&schema, q, json!({"h": format!("0x{}", "cd".repeat(32))})).await;
    assert_eq!(resp, json!({"data": {"transactionsByHash": []}}));
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn chains_show_lag_and_provider_heads(pool: PgPool) {
    populate(&Store::from_pool(pool.clone())).await;
    let cfg = ApiConfig {
        known_chains: vec![chain_id("evm:1"), chain_id(CHAIN)],
        ..ApiConfig::default()
    };
    let schema = schema(&pool, cfg);
    let fields = "id family network indexedHeight indexedHash headHeight lagBlocks lagSeconds \
                  safeHeight finalizedHeight lastHeartbeatAt providers { label height error health healthy state }";
    let resp = run(&schema, &format!("{{ chains {{ {fields} }} }}"), json!({})).await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    let chains = resp["data"]["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 2);
    // Configured, no data yet.
    assert_eq!(
        chains[0],
        json!({"id": "evm:1", "family": "evm", "network": "1", "indexedHeight": null,
               "indexedHash": null, "headHeight": null, "lagBlocks": null, "lagSeconds": null,
               "safeHeight": null, "finalizedHeight": null, "lastHeartbeatAt": null, "providers": []})
    );
    let c = &chains[1];
    assert_eq!(
        (&c["id"], &c["family"], &c["network"]),
        (&json!(CHAIN), &json!("evm"), &json!("31337"))
    );
    assert_eq!(
        (&c["indexedHeight"], &c["headHeight"], &c["lagBlocks"]),
        (&json!(6), &json!(10), &json!(4))
    );
    assert_eq!(
        (&c["safeHeight"], &c["finalizedHeight"]),
        (&json!(4), &json!(2))
    );
    // HEARTBEAT_MS is 500 s after 2023-11-14T22:13:20Z.
    assert_eq!(HEARTBEAT_MS, 1_700_000_500_000);
    assert_eq!(c["lastHeartbeatAt"], "2023-11-14T22:21:40.000Z");
    // The indexed block is from 2023: lag in seconds is large and positive.
    assert!(
        c["lagSeconds"].as_f64().unwrap() > 60.0 * 60.0 * 24.0 * 365.0,
        "{c}"
    );
    assert_eq!(
        c["providers"],
        json!([
            {"label": "alpha", "height": 10, "error": null, "health": 0.9, "healthy": true,
             "state": "FOLLOWING"},
            {"label": "beta", "height": null, "error": "timeout", "health": 0.0, "healthy": false,
             "state": "FOLLOWING"},
            // On another fork: shown, but its head (99) is not the chain's head (10).
            {"label": "gamma", "height": 99, "error": null, "health": 0.8, "healthy": true,
             "state": "DIVERGENT"},
        ])
    );

    let resp = run(
        &schema,
        &format!("{{ chain(id: \"{CHAIN}\") {{ {fields} }} }}"),
        json!({}),
    )
    .await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    let mut one = resp["data"]["chain"].clone();
    let mut listed = c.clone();
    one["lagSeconds"] = Value::Null;
    listed["lagSeconds"] = Value::Null;
    assert_eq!(one, listed);

    let resp = run(
        &schema,
        "{ chain(id: \"evm:1\") { id indexedHeight } }",
        json!({}),
    )
    .await;
    assert_eq!(
        resp,
        json!({"data": {"chain": {"id": "evm:1", "indexedHeight": null}}})
    );
    for (id, msg) in [
        (
            "evm:7",
            r#"unknown chain "evm:7"; known chains: evm:1, evm:31337"#,
        ),
        (
            "EVM",
            r#"invalid chain "EVM": expected family:network, e.g. evm:1 or solana:mainnet"#,
        ),
    ] {
        let resp = run(
            &schema,
            &format!("{{ chain(id: \"{id}\") {{ id }} }}"),
            json!({}),
        )
        .await;
        let err = only_error(&resp, "chain");
        assert_eq!(err["path"], json!(["chain"]));
        assert_eq!(
            err["extensions"],
            json!({"code": "BAD_REQUEST", "argument": "id"})
        );
        assert_eq!(err["message"], msg);
    }
}

#[tokio::test]
async fn database_failures_are_internal_and_hide_the_cause() {
    let schema = chainwatch_api::build_schema(broken_store(), ApiConfig::default());
    let hash = format!("0x{}", "ab".repeat(32));
    for (query, field) in [
        (
            format!("{{ transaction(chain: \"{CHAIN}\", hash: \"{hash}\") {{ hash }} }}"),
            "transaction",
        ),
        ("{ chains { id } }".to_owned(), "chains"),
    ] {
        let resp = run(&schema, &query, json!({})).await;
        let errs = errors(&resp);
        assert_eq!(errs.len(), 1, "{resp:#}");
        assert_eq!(errs[0]["message"], "internal error");
        assert_eq!(errs[0]["extensions"], json!({"code": "INTERNAL"}));
        assert_eq!(errs[0]["path"], json!([field]));
        let text = resp.to_string();
        for secret in ["secret-password", "127.0.0.1", "nowhere", "SELECT"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn configured_chain_without_data_answers_queries(pool: PgPool) {
    let cfg = ApiConfig {
        known_chains: vec![chain_id(CHAIN)],
        ..ApiConfig::default()
    };
    let schema = schema(&pool, cfg);
    let resp = run(
        &schema,
        "{ chains { id lagBlocks providers { label } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        resp,
        json!({"data": {"chains": [{"id": CHAIN, "lagBlocks": null, "providers": []}]}})
    );
}
