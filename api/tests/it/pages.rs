//! Paginated queries: `transactions` of an address, `block`, `reorgs`, and `confirmations`.

use std::collections::HashSet;

use chainwatch_api::ApiConfig;
use chainwatch_schema::{Block, ChainId};
use chainwatch_store::Store;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{CHAIN, Feed, ScriptedChain, chain_id, errors, evm_hash, run, schema};

/// The address the tests page through: it signs indexes 0 and 10 of every block (index 10
/// fails). Stored lowercase; queried in mixed case.
const ADDR: &str = "0x00000000000000000000000000000000000aaa00";
const ADDR_MIXED: &str = "0x00000000000000000000000000000000000AaA00";

const PAGE_QUERY: &str = r#"
query ($chain: String!, $address: String!, $first: Int, $after: String, $status: TxStatus,
       $minFinality: Finality) {
  transactions(chain: $chain, address: $address, first: $first, after: $after, status: $status,
               minFinality: $minFinality) {
    edges { cursor node { hash blockHeight index status finality confirmations } }
    pageInfo { hasNextPage endCursor }
  }
}"#;

/// Scripted senders (`0xsenderNN`) and recipients as real EVM addresses.
fn evm_address(scripted: &str) -> String {
    let (kind, n) = scripted.split_at(scripted.len() - 2);
    let tag = if kind.ends_with("sender") {
        "aaa"
    } else {
        "bbb"
    };
    format!("0x{:0>40}", format!("{tag}{n}"))
}

/// The canonical blocks of `sc` from `from` on, with 64-digit block and transaction hashes and
/// real addresses.
fn evm_blocks(sc: &ScriptedChain, from: usize) -> Vec<Block> {
    let mut blocks = sc.canonical().split_off(from);
    for b in &mut blocks {
        b.block_ref.hash = evm_hash(&b.block_ref.hash);
        b.parent_hash = evm_hash(&b.parent_hash);
        for t in &mut b.txs {
            t.hash = evm_hash(&t.hash);
            t.sender = t.sender.as_deref().map(evm_address);
            t.to = t.to.as_deref().map(evm_address);
        }
    }
    blocks
}

/// `evm:31337` with blocks 0..=`n` of twelve transactions, applied.
async fn setup(store: &Store, n: u64) -> (ChainId, ScriptedChain, Feed, Vec<Block>) {
    let chain = chain_id(CHAIN);
    let sc = ScriptedChain::new(chain.clone(), 12);
    sc.mine(n);
    let blocks = evm_blocks(&sc, 0);
    let mut feed = Feed::new(&chain);
    store
        .apply_batch(&chain, &feed.apply_all(&blocks))
        .await
        .unwrap();
    (chain, sc, feed, blocks)
}

/// `(blockHeight, index)` of each edge.
fn keys(conn: &Value) -> Vec<(u64, u64)> {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["blockHeight"].as_u64().unwrap(),
                e["node"]["index"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The entries of `ADDR` on blocks `lo..=hi`, newest first.
fn expected(lo: u64, hi: u64) -> Vec<(u64, u64)> {
    (lo..=hi).rev().flat_map(|h| [(h, 10), (h, 0)]).collect()
}

/// The single error of `resp`: its `extensions`.
fn bad_request(resp: &Value) -> Value {
    let errs = errors(resp);
    assert_eq!(errs.len(), 1, "{resp:#}");
    errs[0]["extensions"].clone()
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn address_pages_walk_every_transaction_once_while_blocks_arrive(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (chain, sc, mut feed, blocks) = setup(&store, 6).await;
    let schema = schema(&pool, ApiConfig::default());
    let all: Vec<String> = expected(1, 6)
        .iter()
        .map(|&(h, i)| blocks[h as usize].txs[i as usize].hash.clone())
        .collect();

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let vars = json!({"chain": CHAIN, "address": ADDR_MIXED, "first": 3, "after": after});
        let resp = run(&schema, PAGE_QUERY, vars).await;
        assert!(errors(&resp).is_empty(), "{resp:#}");
        let conn = &resp["data"]["transactions"];
        let edges = conn["edges"].as_array().unwrap();
        assert!(edges.len() <= 3 && !edges.is_empty(), "{conn:#}");
        assert_eq!(
            conn["pageInfo"]["endCursor"],
            edges.last().unwrap()["cursor"]
        );
        seen.extend(
            edges
                .iter()
                .map(|e| e["node"]["hash"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        // A new block is indexed between every two page reads.
        sc.mine(1);
        let new = evm_blocks(&sc, 7 + pages - 1);
        store
            .apply_batch(&chain, &feed.apply_all(&new))
            .await
            .unwrap();
        if conn["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = Some(conn["pageInfo"]["endCursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(pages, 4);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        seen.len(),
        "repeats"
    );
    assert_eq!(seen, all, "every transaction once, newest first");

    // From the top, the four blocks indexed meanwhile come first.
    let resp = run(
        &schema,
        PAGE_QUERY,
        json!({"chain": CHAIN, "address": ADDR, "first": 100}),
    )
    .await;
    let conn = &resp["data"]["transactions"];
    assert_eq!(keys(conn), expected(1, 10), "{resp:#}");
    assert_eq!(conn["pageInfo"]["hasNextPage"], false);

    // Unknown address: an empty page.
    let nobody = format!("0x{}", "9".repeat(40));
    let resp = run(
        &schema,
        PAGE_QUERY,
        json!({"chain": CHAIN, "address": nobody}),
    )
    .await;
    assert_eq!(
        resp["data"]["transactions"],
        json!({"edges": [], "pageInfo": {"hasNextPage": false, "endCursor": null}}),
        "{resp:#}"
    );
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn bad_page_arguments_are_bad_requests(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    setup(&store, 2).await;
    let schema = schema(&pool, ApiConfig::default());
    for first in [0, -1, 1000, 101] {
        let vars = json!({"chain": CHAIN, "address": ADDR, "first": first});
        let resp = run(&schema, PAGE_QUERY, vars).await;
        assert_eq!(
            bad_request(&resp),
            json!({"code": "BAD_REQUEST", "argument": "first"}),
            "{resp:#}"
        );
        assert_eq!(
            errors(&resp)[0]["message"],
            format!("invalid first {first}: expected 1 to 100")
        );
        assert_eq!(errors(&resp)[0]["path"], json!(["transactions"]));
    }
    // The configured maximum is the bound.
    let small = schema_with_page_size(&pool, 5);
    let vars = json!({"chain": CHAIN, "address": ADDR, "first": 6});
    let resp = run(&small, PAGE_QUERY, vars).await;
    assert_eq!(bad_request(&resp)["argument"], "first");
    let vars = json!({"chain": CHAIN, "address": ADDR, "first": 5});
    assert!(errors(&run(&small, PAGE_QUERY, vars).await).is_empty());

    // A reorg cursor ("1") is not a transaction cursor.
    for after in ["garbage!!", "", "Zm9v", "MQ", "W10"] {
        let vars = json!({"chain": CHAIN, "address": ADDR, "after": after});
        let resp = run(&schema, PAGE_QUERY, vars).await;
        assert_eq!(
            bad_request(&resp),
            json!({"code": "BAD_REQUEST", "argument": "after"}),
            "{after}: {resp:#}"
        );
    }
    for address in ["0x12", "", "not an address", &ADDR[2..]] {
        let vars = json!({"chain": CHAIN, "address": address});
        let resp = run(&schema, PAGE_QUERY, vars).await;
        assert_eq!(bad_request(&resp)["argument"], "address", "{resp:#}");
    }
    let vars = json!({"chain": "evm:999", "address": ADDR});
    let resp = run(&schema, PAGE_QUERY, vars).await;
    assert_eq!(bad_request(&resp)["argument"], "chain", "{resp:#}");

    // reorgs checks first and after the same way; a transaction cursor is not a reorg cursor.
    let q = "query ($first: Int, $after: String) { reorgs(chain: \"evm:31337\", first: $first, after: $after) { edges { cursor } } }";
    for first in [0, -1, 1000] {
        let resp = run(&schema, q, json!({"first": first})).await;
        assert_eq!(bad_request(&resp)["argument"], "first", "{resp:#}");
    }
    let resp = run(
        &schema,
        PAGE_QUERY,
        json!({"chain": CHAIN, "address": ADDR, "first": 1}),
    )
    .await;
    let tx_cursor = resp["data"]["transactions"]["pageInfo"]["endCursor"].clone();
    for after in [json!("garbage"), tx_cursor] {
        let resp = run(&schema, q, json!({"after": after})).await;
        assert_eq!(bad_request(&resp)["argument"], "after", "{resp:#}");
    }
}

fn schema_with_page_size(pool: &PgPool, max_page_size: usize) -> chainwatch_api::ApiSchema {
    schema(
        pool,
        ApiConfig {
            max_page_size,
            ..ApiConfig::default()
        },
    )
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn address_filters_by_status_and_min_finality(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (chain, _sc, mut feed, blocks) = setup(&store, 6).await;
    store
        .apply_batch(&chain, &[feed.finality(&blocks[4], &blocks[2])])
        .await
        .unwrap();
    let schema = schema(&pool, ApiConfig::default());
    let page = |vars: Value| {
        let schema = schema.clone();
        async move {
            let mut v = json!({"chain": CHAIN, "address": ADDR, "first": 100});
            v.as_object_mut()
                .unwrap()
                .extend(vars.as_object().unwrap().clone());
            let resp = run(&schema, PAGE_QUERY, v).await;
            assert!(errors(&resp).is_empty(), "{resp:#}");
            resp["data"]["transactions"].clone()
        }
    };
    let failed = page(json!({"status": "FAILED"})).await;
    assert_eq!(
        keys(&failed),
        (1..=6).rev().map(|h| (h, 10)).collect::<Vec<_>>()
    );
    assert!(
        failed["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["node"]["status"] == "FAILED")
    );
    let ok = page(json!({"status": "SUCCEEDED"})).await;
    assert_eq!(keys(&ok), (1..=6).rev().map(|h| (h, 0)).collect::<Vec<_>>());
    let pending = page(json!({"status": "PENDING"})).await;
    assert_eq!(keys(&pending), []);

    let safe = page(json!({"minFinality": "SAFE"})).await;
    assert_eq!(keys(&safe), expected(1, 4));
    let finals: Vec<_> = safe["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["finality"].as_str().unwrap())
        .collect();
    assert_eq!(
        finals,
        [
            "SAFE",
            "SAFE",
            "SAFE",
            "SAFE",
            "FINALIZED",
            "FINALIZED",
            "FINALIZED",
            "FINALIZED"
        ]
    );
    let finalized = page(json!({"minFinality": "FINALIZED"})).await;
    assert_eq!(keys(&finalized), expected(1, 2));
    let included = page(json!({"minFinality": "INCLUDED"})).await;
    assert_eq!(keys(&included), expected(1, 6));
    let both = page(json!({"minFinality": "SAFE", "status": "FAILED", "first": 2})).await;
    assert_eq!(keys(&both), [(4, 10), (3, 10)]);
    assert_eq!(both["pageInfo"]["hasNextPage"], true);
    let rest = page(json!({"minFinality": "SAFE", "status": "FAILED",
                           "after": both["pageInfo"]["endCursor"]}))
    .await;
    assert_eq!(keys(&rest), [(2, 10), (1, 10)]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
}

const BLOCK_QUERY: &str = r#"
query ($chain: String!, $height: Int, $hash: String, $first: Int, $after: String) {
  block(chain: $chain, height: $height, hash: $hash) {
    chain height hash parentHash time txCount finality
    transactions(first: $first, after: $after) {
      edges { cursor node { hash index } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"#;

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn block_by_height_and_by_hash(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (chain, _sc, mut feed, blocks) = setup(&store, 5).await;
    store
        .apply_batch(&chain, &[feed.finality(&blocks[3], &blocks[1])])
        .await
        .unwrap();
    let schema = schema(&pool, ApiConfig::default());
    let b = &blocks[3];
    let resp = run(
        &schema,
        BLOCK_QUERY,
        json!({"chain": CHAIN, "height": 3, "first": 5}),
    )
    .await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    let got = &resp["data"]["block"];
    assert_eq!(got["chain"], CHAIN);
    assert_eq!(got["height"], 3);
    assert_eq!(got["hash"], b.block_ref.hash);
    assert_eq!(got["parentHash"], blocks[2].block_ref.hash);
    assert_eq!(got["time"], "2023-11-14T22:13:56.000Z");
    assert_eq!(got["txCount"], 12);
    assert_eq!(got["finality"], "SAFE");
    let idx: Vec<_> = got["transactions"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [0, 1, 2, 3, 4]);
    assert_eq!(
        got["transactions"]["edges"][0]["node"]["hash"],
        b.txs[0].hash
    );
    assert_eq!(got["transactions"]["pageInfo"]["hasNextPage"], true);

    // The next page of the block's transactions.
    let after = got["transactions"]["pageInfo"]["endCursor"].clone();
    let resp = run(
        &schema,
        BLOCK_QUERY,
        json!({"chain": CHAIN, "height": 3, "first": 100, "after": after}),
    )
    .await;
    let edges = resp["data"]["block"]["transactions"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 7, "{resp:#}");
    assert_eq!(edges[0]["node"]["index"], 5);

    // By hash (any case): the same block.
    let upper = format!("0X{}", b.block_ref.hash[2..].to_ascii_uppercase());
    let resp = run(
        &schema,
        BLOCK_QUERY,
        json!({"chain": CHAIN, "hash": upper, "first": 5}),
    )
    .await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    assert_eq!(resp["data"]["block"], *got);
    let resp = run(
        &schema,
        BLOCK_QUERY,
        json!({"chain": CHAIN, "hash": format!("0x{}", "ab".repeat(32))}),
    )
    .await;
    assert_eq!(resp["data"], json!({"block": null}));
    assert!(errors(&resp).is_empty(), "{resp:#}");
    let resp = run(
        &schema,
        BLOCK_QUERY,
        json!({"chain": CHAIN, "hash": "0x12"}),
    )
    .await;
    assert_eq!(bad_request(&resp)["argument"], "hash", "{resp:#}");

    // Absent: null without errors.
    let resp = run(&schema, BLOCK_QUERY, json!({"chain": CHAIN, "height": 99})).await;
    assert_eq!(resp["data"], json!({"block": null}));
    assert!(errors(&resp).is_empty(), "{resp:#}");

    // Both or neither: BAD_REQUEST, null block.
    for vars in [
        json!({"chain": CHAIN, "height": 3, "hash": format!("0x{}", "ab".repeat(32))}),
        json!({"chain": CHAIN}),
    ] {
        let resp = run(&schema, BLOCK_QUERY, vars).await;
        assert_eq!(resp["data"], json!({"block": null}), "{resp:#}");
        assert_eq!(bad_request(&resp)["code"], "BAD_REQUEST");
        assert_eq!(errors(&resp)[0]["path"], json!(["block"]));
    }
    // The block's transactions check first and after too.
    for (vars, argument) in [
        (json!({"chain": CHAIN, "height": 3, "first": 0}), "first"),
        (json!({"chain": CHAIN, "height": 3, "first": 1000}), "first"),
        (
            json!({"chain": CHAIN, "height": 3, "after": "nope"}),
            "after",
        ),
    ] {
        let resp = run(&schema, BLOCK_QUERY, vars).await;
        assert_eq!(bad_request(&resp)["argument"], argument, "{resp:#}");
    }

    // A cursor of another block's transactions is refused.
    let resp = run(
        &schema,
        BLOCK_QUERY,
        json!({"chain": CHAIN, "height": 2, "first": 1}),
    )
    .await;
    let other = resp["data"]["block"]["transactions"]["pageInfo"]["endCursor"].clone();
    let resp = run(
        &schema,
        BLOCK_QUERY,
        json!({"chain": CHAIN, "height": 3, "after": other}),
    )
    .await;
    assert_eq!(bad_request(&resp)["argument"], "after", "{resp:#}");
}

const REORGS_QUERY: &str = r#"
query ($first: Int, $after: String) {
  reorgs(chain: "evm:31337", first: $first, after: $after) {
    edges { cursor node {
      forkHeight forkHash depth oldHead { height hash } newHead { height hash }
      revertedTxCount detectedAt
    } }
    pageInfo { hasNextPage endCursor }
  }
}"#;

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn reorgs_after_revert_envelopes(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (chain, sc, mut feed, old) = setup(&store, 5).await;
    let schema = schema(&pool, ApiConfig::default());
    let resp = run(&schema, REORGS_QUERY, json!({})).await;
    assert_eq!(
        resp,
        json!({"data": {"reorgs": {"edges": [], "pageInfo": {"hasNextPage": false, "endCursor": null}}}})
    );

    // Fork at 3 (blocks 4 and 5 replaced by three new ones), then at 5 (block 6 replaced).
    sc.reorg(2, 3);
    let new = evm_blocks(&sc, 0);
    let mut envs = vec![feed.revert(&old[3], &old[5], &new[6])];
    envs.extend(feed.apply_all(&new[4..]));
    store.apply_batch(&chain, &envs).await.unwrap();
    sc.reorg(1, 1);
    let newer = evm_blocks(&sc, 0);
    let envs = vec![feed.revert(&new[5], &new[6], &newer[6])];
    store.apply_batch(&chain, &envs).await.unwrap();

    let resp = run(&schema, REORGS_QUERY, json!({"first": 1})).await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    let conn = &resp["data"]["reorgs"];
    let node = &conn["edges"][0]["node"];
    assert_eq!(
        *node,
        json!({
            "forkHeight": 5, "forkHash": new[5].block_ref.hash, "depth": 1,
            "oldHead": {"height": 6, "hash": new[6].block_ref.hash},
            "newHead": {"height": 6, "hash": newer[6].block_ref.hash},
            "revertedTxCount": 12, "detectedAt": node["detectedAt"].clone(),
        })
    );
    let at = node["detectedAt"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.len() == 24, "{at}");
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    assert_eq!(conn["pageInfo"]["endCursor"], conn["edges"][0]["cursor"]);

    let resp = run(
        &schema,
        REORGS_QUERY,
        json!({"first": 1, "after": conn["pageInfo"]["endCursor"]}),
    )
    .await;
    let conn = &resp["data"]["reorgs"];
    let node = &conn["edges"][0]["node"];
    assert_eq!(
        (&node["forkHeight"], &node["forkHash"], &node["depth"]),
        (&json!(3), &json!(old[3].block_ref.hash), &json!(2))
    );
    assert_eq!(
        (&node["oldHead"], &node["newHead"], &node["revertedTxCount"]),
        (
            &json!({"height": 5, "hash": old[5].block_ref.hash}),
            &json!({"height": 6, "hash": new[6].block_ref.hash}),
            &json!(24)
        )
    );
    assert_eq!(conn["pageInfo"]["hasNextPage"], false, "{resp:#}");
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn confirmations_count_from_the_indexed_head(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (chain, sc, mut feed, blocks) = setup(&store, 5).await;
    let schema = schema(&pool, ApiConfig::default());
    let q = "query ($h: String!) { transaction(chain: \"evm:31337\", hash: $h) { confirmations } }";
    let conf = |hash: String| {
        let schema = schema.clone();
        async move {
            let resp = run(&schema, q, json!({"h": hash})).await;
            assert!(errors(&resp).is_empty(), "{resp:#}");
            resp["data"]["transaction"]["confirmations"].clone()
        }
    };
    assert_eq!(conf(blocks[5].txs[0].hash.clone()).await, json!(1));
    assert_eq!(conf(blocks[2].txs[1].hash.clone()).await, json!(4));
    // A new block adds a confirmation.
    sc.mine(1);
    store
        .apply_batch(&chain, &feed.apply_all(&evm_blocks(&sc, 6)))
        .await
        .unwrap();
    assert_eq!(conf(blocks[2].txs[1].hash.clone()).await, json!(5));
    // Reorged out: null.
    let head = evm_blocks(&sc, 0);
    store
        .apply_batch(&chain, &[feed.revert(&head[4], &head[6], &head[6])])
        .await
        .unwrap();
    assert_eq!(conf(blocks[5].txs[0].hash.clone()).await, Value::Null);
    // The address list carries confirmations too.
    let resp = run(
        &schema,
        PAGE_QUERY,
        json!({"chain": CHAIN, "address": ADDR, "first": 1}),
    )
    .await;
    assert_eq!(
        resp["data"]["transactions"]["edges"][0]["node"]["confirmations"], 1,
        "{resp:#}"
    );
}
