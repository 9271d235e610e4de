//! Issue 5, acceptance 4: three providers, one of them on another fork (a separate anvil with
//! the same chain id, further ahead): `chainwatch dev` marks it divergent in `chains`, the
//! status table and the metrics, never follows it, and indexes the same rows as a clean index of
//! the real chain.

use std::time::{Duration, Instant};

use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, evm::mixed_traffic};
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, clean_snapshot, sample, scratch, url_of};

#[sqlx::test(migrations = false)]
async fn a_provider_on_another_fork_is_divergent_and_indexing_stays_correct(pool: PgPool) {
    let main = Anvil::spawn(&[]).await;
    let other = Anvil::spawn(&["--timestamp", "1000"]).await;
    mixed_traffic(&main, 4, 2).await;
    mixed_traffic(&other, 4, 2).await;
    other.mine(50).await;
    let dir = scratch("quorum");
    let config = dir.join("chainwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[ingest]
poll_interval_ms = 300
heartbeat_interval_ms = 500

[chains."evm:31337"]
start_height = 0
providers = [
  {{ label = "fork", url = "{}", weight = 10 }},
  {{ label = "a", url = "{}" }},
  {{ label = "b", url = "{}" }},
]
"#,
            other.url(),
            main.url(),
            main.url()
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
    dev.wait_indexed(&store, &anvil_chain(), &main).await;
    // More traffic while it runs: it keeps following the real chain.
    mixed_traffic(&main, 3, 1).await;
    other.mine(5).await;
    dev.wait_indexed(&store, &anvil_chain(), &main).await;

    // `chains` shows the verdict once a heartbeat carried it; the fork's higher head is not the
    // chain's head, so the lag is measured against the real chain.
    let main_head = main.block_number().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let chain = loop {
        let r = dev
            .graphql(
                r#"{ chain(id: "evm:31337") { headHeight lagBlocks
                     providers { label height state } } }"#,
            )
            .await;
        let c = r["data"]["chain"].clone();
        if c["headHeight"] == main_head && c["providers"][0]["state"] == "DIVERGENT" {
            break c;
        }
        assert!(Instant::now() < deadline, "no divergent verdict: {r}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(chain["lagBlocks"], 0, "{chain}");
    let states: Vec<(&str, &str)> = chain["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["label"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("fork", "DIVERGENT"),
            ("a", "FOLLOWING"),
            ("b", "FOLLOWING")
        ]
    );
    assert!(chain["providers"][0]["height"].as_u64().unwrap() > main_head);

    // The metric alert rules watch (recomputed from the database every 5 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = dev.get("/metrics").await;
        let g = |p: &str| {
            sample(
                &m,
                "chainwatch_provider_divergent",
                &[("chain", "evm:31337"), ("provider", p)],
            )
        };
        if g("fork") == Some(1.0) {
            assert_eq!((g("a"), g("b")), (Some(0.0), Some(0.0)), "{m}");
            break;
        }
        assert!(Instant::now() < deadline, "no divergent gauge:\n{m}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        dev.logs().contains("not following it"),
        "the verdict is not logged:\n{}",
        dev.logs()
    );
    assert!(dev.stop().success());

    // Every row equals a clean index of the real chain (one provider, no fork around).
    let got = store.snapshot(&anvil_chain()).await.unwrap();
    assert_eq!(got, clean_snapshot(&main, "quorum_clean").await);
}
