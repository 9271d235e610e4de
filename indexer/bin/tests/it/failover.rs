//! Two providers, one of which fails in every way (500, garbage JSON, hangs, then is killed)
//! during a backfill of 240 blocks: no block is lost or duplicated, the failover is logged by
//! label, and the provider's URL (with a fake API key) never appears in the logs.

use std::time::{Duration, Instant};

use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, Fault, FaultProxy, evm};
use serde_json::json;
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, clean_snapshot, scratch, url_of};

const BLOCKS: usize = 240;
const FAKE_KEY: &str = "FAKEKEY_0123456789abcdef";

#[sqlx::test(migrations = false)]
async fn failing_provider_mid_backfill_loses_and_duplicates_nothing(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    let accts = anvil.accounts().await;
    let mut last = String::new();
    for i in 0..BLOCKS {
        last = evm::send(
            &anvil,
            &accts[i % 5],
            json!({"to": accts[5 + i % 5], "value": "0x1"}),
        )
        .await;
    }
    evm::receipt(&anvil, &last).await;
    // Automine may put several of those in one block: top up to at least BLOCKS blocks.
    let mined = anvil.block_number().await;
    if (mined as usize) < BLOCKS {
        anvil.mine(BLOCKS as u64 - mined).await;
    }
    let head = anvil.block_number().await;
    assert!(head as usize >= BLOCKS);

    let flaky = FaultProxy::start(anvil.url()).await;
    let steady = FaultProxy::start(anvil.url()).await;
    let flaky_url = flaky.url_with_path(&format!("/v2/{FAKE_KEY}"));
    let dir = scratch("failover");
    let config = dir.join("chainwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[pool]
request_timeout_ms = 800
breaker_cooldown_ms = 1000

[ingest]
backfill_concurrency = 2

[chains."evm:31337"]
start_height = 0
providers = [
  {{ label = "flaky", url = "{flaky_url}", weight = 10, max_rps = 30 }},
  {{ label = "steady", url = "{}", max_rps = 30 }},
]
"#,
            steady.url()
        ),
    )
    .unwrap();
    let url = url_of(&pool).await;
    let mut dev = Dev::start(&[
        "--config".into(),
        config.display().to_string(),
        "--database-url".into(),
        url,
    ]);
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());

    let height = || async {
        store
            .watermark(&anvil_chain())
            .await
            .ok()
            .flatten()
            .and_then(|w| w.head)
            .map_or(0, |h| h.height)
    };
    let wait = |what: &'static str, cond: Box<dyn Fn() -> bool + Send>| {
        let logs = dev.logs();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !cond() {
                assert!(
                    Instant::now() < deadline,
                    "timed out waiting for {what}; logs:\n{logs}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    // Let the backfill get going, then walk the flaky provider through each failure: the fault
    // must be hit, then the provider recovers (its circuit closes and it serves again).
    while height().await < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let flaky = std::sync::Arc::new(flaky);
    for fault in [Fault::Http500, Fault::Garbage, Fault::Hang] {
        let received = flaky.received();
        flaky.set(fault).await;
        let f = flaky.clone();
        wait(
            "the fault to be hit",
            Box::new(move || f.received() >= received + 3),
        )
        .await;
        let forwarded = flaky.requests();
        flaky.set(Fault::None).await;
        let f = flaky.clone();
        wait(
            "the provider to serve again",
            Box::new(move || f.requests() > forwarded),
        )
        .await;
    }
    // Kill it for good, mid-backfill.
    let h = height().await;
    assert!(
        h < head,
        "backfill finished (height {h}) before the provider was killed; slow it down"
    );
    flaky.set(Fault::Down).await;
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;
    assert!(dev.stop().success(), "{}", dev.logs());

    let (blocks, distinct, max): (i64, i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT height), max(height) FROM blocks")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (blocks, distinct, max),
        (head as i64 + 1, head as i64 + 1, head as i64)
    );
    let (txs, distinct_txs): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT hash) FROM transactions")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((txs, distinct_txs), (BLOCKS as i64, BLOCKS as i64));
    let live = store.snapshot(&anvil_chain()).await.unwrap();
    assert_eq!(live, clean_snapshot(&anvil, "failover").await);

    let logs = dev.logs();
    assert!(
        logs.contains("failing over") && logs.contains("flaky"),
        "failover not logged:\n{logs}"
    );
    assert!(
        !logs.contains(FAKE_KEY),
        "the provider's API key leaked into the logs"
    );
    let authority = format!("127.0.0.1:{}", flaky.port());
    assert!(
        !logs.contains(&authority),
        "the provider's address leaked into the logs"
    );
    for reason in ["http_5xx", "decode", "timeout", "connect"] {
        assert!(
            logs.contains(reason),
            "no `{reason}` failure logged:\n{logs}"
        );
    }
}
