//! `anvil_reorg` at depth 1 and 5 with transactions in the replaced blocks: afterwards the
//! database equals a clean index of the new chain, `reorgs` has the row, and every reverted
//! transaction has a REORGED_OUT event (and GraphQL says so).

use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, evm::mixed_traffic};
use serde_json::json;
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, clean_snapshot, dev_args, url_of};

async fn tx_hashes_in(anvil: &Anvil, from: u64, to: u64) -> Vec<String> {
    let mut out = Vec::new();
    for h in from..=to {
        let b = anvil
            .rpc("eth_getBlockByNumber", json!([format!("0x{h:x}"), false]))
            .await;
        out.extend(
            b["transactions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned()),
        );
    }
    out
}

async fn reorg_case(pool: PgPool, depth: u64) {
    // Finality trails by 8/16 blocks so that a depth-5 reorg stays above finalized.
    let anvil = Anvil::spawn(&["--slots-in-an-epoch", "8"]).await;
    mixed_traffic(&anvil, 6, 3).await;
    let head = anvil.block_number().await;
    let reverted = tx_hashes_in(&anvil, head - depth + 1, head).await;
    assert_eq!(
        reverted.len() as u64,
        depth,
        "one transaction per replaced block"
    );

    let url = url_of(&pool).await;
    let mut dev = Dev::start(&dev_args(&anvil.url(), &url));
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;

    // Replace the last `depth` blocks; the new blocks carry other transactions.
    let accts = anvil.accounts().await;
    let pairs: Vec<_> = (0..depth)
        .map(|i| json!([{"from": accts[3], "to": accts[4], "value": format!("0x{:x}", 0x77 + i)}, i]))
        .collect();
    anvil.rpc("anvil_reorg", json!([depth, pairs])).await;
    let new_txs = tx_hashes_in(&anvil, head - depth + 1, head).await;
    assert!(new_txs.iter().all(|h| !reverted.contains(h)));
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;

    for h in &reverted {
        let v = dev
            .graphql(&format!(r#"{{ transaction(chain: "evm:31337", hash: "{h}") {{ status timeline {{ kind }} }} }}"#))
            .await;
        assert_eq!(v["data"]["transaction"]["status"], "REORGED_OUT", "{v}");
    }
    assert!(dev.stop().success(), "{}", dev.logs());

    let live = store.snapshot(&anvil_chain()).await.unwrap();
    let clean = clean_snapshot(&anvil, &format!("reorg{depth}")).await;
    assert_eq!(
        live, clean,
        "the index after the reorg differs from a clean index of the new chain"
    );

    let rows: Vec<(i64, i64, i32)> = sqlx::query_as(
        "SELECT depth, fork_height, reverted_tx_count FROM reorgs WHERE chain_id = 'evm:31337'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows, [(depth as i64, (head - depth) as i64, depth as i32)]);
    for h in &reverted {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM transaction_events WHERE tx_hash = $1 AND kind = 'REORGED_OUT'",
        )
        .bind(h)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(n, 1, "{h} needs one REORGED_OUT event");
    }
}

#[sqlx::test(migrations = false)]
async fn anvil_reorg_depth_1(pool: PgPool) {
    reorg_case(pool, 1).await;
}

#[sqlx::test(migrations = false)]
async fn anvil_reorg_depth_5(pool: PgPool) {
    reorg_case(pool, 5).await;
}
