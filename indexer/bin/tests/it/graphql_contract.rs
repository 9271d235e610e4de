//! Issue 6, acceptance 1: every GraphQL query answered over HTTP by `chainwatch dev` with data
//! indexed from anvil, including a reverted transaction and one a reorg removed, each answer
//! checked against anvil's own view. (Subscriptions: `subscriptions.rs`; `traceTransaction` of
//! transactions not indexed: `stuck.rs`.)

use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, evm::mixed_traffic};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, dev_args, url_of};

const TX: &str = "chain hash status blockHeight blockHash blockTime index sender to nonce value fee \
                  finality confirmations failure { kind code message location } timeline { kind blockHeight }";

fn data(v: &Value) -> &Value {
    assert!(v["errors"].is_null(), "{v:#}");
    &v["data"]
}

#[sqlx::test(migrations = false)]
async fn every_query_answers_from_data_indexed_from_anvil(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    let accts = anvil.accounts().await;
    let traffic = mixed_traffic(&anvil, 3, 2).await;
    // The last block's transaction is removed by a reorg once indexed.
    let doomed = traffic.failed.last().unwrap().clone();
    let url = url_of(&pool).await;
    let mut dev = Dev::start(&dev_args(&anvil.url(), &url));
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;
    anvil.rpc("anvil_reorg", json!([1, []])).await;
    anvil.mine(3).await;
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;
    let head = anvil.block_number().await;

    // transaction: a reverted one, with its failure and lifecycle, as anvil has it.
    let reverted = &traffic.failed[0];
    let receipt = anvil
        .rpc("eth_getTransactionReceipt", json!([reverted]))
        .await;
    let v = dev
        .graphql(&format!(
            r#"{{ transaction(chain: "evm:31337", hash: "{reverted}") {{ {TX} }} }}"#
        ))
        .await;
    let t = &data(&v)["transaction"];
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["failure"]["kind"], "REVERTED");
    assert_eq!(t["failure"]["message"], "chainwatch test: always reverts");
    assert_eq!(t["failure"]["location"], receipt["to"]);
    assert_eq!(
        t["blockHeight"],
        u64::from_str_radix(
            receipt["blockNumber"]
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
            16
        )
        .unwrap()
    );
    assert_eq!(t["blockHash"], receipt["blockHash"]);
    assert_eq!(t["sender"], accts[2]);
    assert_eq!(t["timeline"][0]["kind"], "INCLUDED");
    assert!(t["confirmations"].as_u64().unwrap() >= 1);

    // transaction: the reorged-out one.
    let v = dev
        .graphql(&format!(
            r#"{{ transaction(chain: "evm:31337", hash: "{doomed}") {{ status blockHeight finality timeline {{ kind }} }} }}"#
        ))
        .await;
    let t = &data(&v)["transaction"];
    assert_eq!(t["status"], "REORGED_OUT", "{t}");
    assert!(t["blockHeight"].is_null());
    let kinds: Vec<&str> = t["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.last(), Some(&"REORGED_OUT"), "{t}");

    // transactionsByHash finds it across chains (one here), upper-case input included.
    let v = dev
        .graphql(&format!(
            r#"{{ transactionsByHash(hash: "{}") {{ chain status }} }}"#,
            reverted.to_uppercase().replacen("0X", "0x", 1)
        ))
        .await;
    assert_eq!(
        data(&v)["transactionsByHash"],
        json!([{"chain": "evm:31337", "status": "FAILED"}])
    );

    // transactions(address): the reverter caller's transactions, newest first, every page, and a
    // time window that holds only the first one.
    let q = |extra: &str| {
        format!(
            r#"{{ transactions(chain: "evm:31337", address: "{}"{extra}) {{ edges {{ cursor node {{ hash status blockTime }} }} pageInfo {{ hasNextPage endCursor }} }} }}"#,
            accts[2]
        )
    };
    let v = dev.graphql(&q(", first: 1")).await;
    let page = &data(&v)["transactions"];
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let newest = page["edges"][0]["node"].clone();
    let v = dev
        .graphql(&q(&format!(
            r#", first: 5, after: "{}""#,
            page["pageInfo"]["endCursor"].as_str().unwrap()
        )))
        .await;
    let rest: Vec<Value> = data(&v)["transactions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    let mut all: Vec<String> = std::iter::once(&newest)
        .chain(&rest)
        .map(|n| n["hash"].as_str().unwrap().to_owned())
        .collect();
    all.reverse();
    // Exactly the canonical transactions from or to the address, oldest first, as anvil has
    // them: the reorged-out one is gone.
    let who = accts[2].to_lowercase();
    let mut canonical = Vec::new();
    for h in 1..=head {
        let b = anvil
            .rpc("eth_getBlockByNumber", json!([format!("{h:#x}"), true]))
            .await;
        for t in b["transactions"].as_array().unwrap() {
            let touches = |k: &str| t[k].as_str().is_some_and(|a| a.to_lowercase() == who);
            if touches("from") || touches("to") {
                canonical.push(t["hash"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(!canonical.contains(&doomed));
    assert_eq!(all, canonical);
    // since / until split the list at the newest transaction's block time (blocks of the same
    // second share it): [since, …) and […, until) partition it.
    let nodes: Vec<&Value> = std::iter::once(&newest).chain(&rest).collect();
    let cut = newest["blockTime"].as_str().unwrap();
    let count = |extra: String| {
        let q = q(&extra);
        let dev = &dev;
        async move {
            let v = dev.graphql(&q).await;
            data(&v)["transactions"]["edges"].as_array().unwrap().len()
        }
    };
    let at_or_after = count(format!(r#", since: "{cut}""#)).await;
    let before = count(format!(r#", until: "{cut}""#)).await;
    let want_after = nodes
        .iter()
        .filter(|n| n["blockTime"].as_str().unwrap() >= cut)
        .count();
    assert_eq!(
        (at_or_after, before),
        (want_after, nodes.len() - want_after)
    );
    assert!(at_or_after >= 1);

    // block by height and by hash, with its transactions.
    let b = anvil
        .rpc("eth_getBlockByNumber", json!(["0x1", false]))
        .await;
    for arg in [
        "height: 1".to_owned(),
        format!(r#"hash: "{}""#, b["hash"].as_str().unwrap()),
    ] {
        let v = dev
            .graphql(&format!(
                r#"{{ block(chain: "evm:31337", {arg}) {{ height hash parentHash txCount transactions {{ edges {{ node {{ hash }} }} }} }} }}"#
            ))
            .await;
        let blk = &data(&v)["block"];
        assert_eq!(blk["hash"], b["hash"], "{v}");
        assert_eq!(blk["parentHash"], b["parentHash"]);
        assert_eq!(
            blk["transactions"]["edges"][0]["node"]["hash"],
            b["transactions"][0]
        );
    }

    // chains and chain: heads, finality, providers; reorgs: the one above.
    let v = dev
        .graphql(r#"{ chains { id indexedHeight headHeight safeHeight finalizedHeight providers { label state } } chain(id: "evm:31337") { indexedHeight } reorgs(chain: "evm:31337", first: 5) { edges { node { depth revertedTxCount forkHeight } } } }"#)
        .await;
    let d = data(&v);
    assert_eq!(d["chains"][0]["indexedHeight"], head);
    assert_eq!(d["chain"]["indexedHeight"], head);
    assert_eq!(
        d["chains"][0]["providers"],
        json!([{"label": "anvil", "state": "FOLLOWING"}])
    );
    let r = &d["reorgs"]["edges"][0]["node"];
    assert_eq!(
        (r["depth"].as_u64(), r["revertedTxCount"].as_u64()),
        (Some(1), Some(1)),
        "{d}"
    );

    // traceTransaction of an indexed transaction answers INDEXED with it.
    let v = dev
        .graphql(&format!(r#"{{ traceTransaction(chain: "evm:31337", hash: "{reverted}") {{ status transaction {{ status failure {{ kind }} }} }} }}"#))
        .await;
    let tr = &data(&v)["traceTransaction"];
    assert_eq!(tr["status"], "INDEXED");
    assert_eq!(tr["transaction"]["failure"]["kind"], "REVERTED");
    assert!(dev.stop().success());
}
