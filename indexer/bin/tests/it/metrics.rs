//! `/metrics` of a running `chainwatch dev` indexing anvil: every documented metric is there
//! with sane values; killing anvil makes the figures alert rules watch move (provider down,
//! head age and lag in seconds growing, heartbeats still arriving).

use std::time::{Duration, Instant};

use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, evm::mixed_traffic};
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, sample, scratch, url_of};

/// Every metric the README documents, with one label set it must be exported with.
const DOCUMENTED: &[(&str, &[(&str, &str)])] = &[
    ("chainwatch_chain_lag_blocks", &[]),
    ("chainwatch_chain_lag_seconds", &[]),
    ("chainwatch_chain_indexed_height", &[]),
    ("chainwatch_chain_head_height", &[]),
    ("chainwatch_chain_safe_height", &[]),
    ("chainwatch_chain_finalized_height", &[]),
    ("chainwatch_chain_finality_lag_blocks", &[("level", "safe")]),
    (
        "chainwatch_chain_finality_lag_blocks",
        &[("level", "finalized")],
    ),
    ("chainwatch_chain_heartbeat_age_seconds", &[]),
    ("chainwatch_provider_head_height", &[("provider", "anvil")]),
    (
        "chainwatch_provider_head_age_seconds",
        &[("provider", "anvil")],
    ),
    ("chainwatch_provider_up", &[("provider", "anvil")]),
    ("chainwatch_provider_divergent", &[("provider", "anvil")]),
    ("chainwatch_provider_lagging", &[("provider", "anvil")]),
    (
        "chainwatch_rpc_request_duration_seconds_count",
        &[("provider", "anvil"), ("method", "eth_getBlockByNumber")],
    ),
    ("chainwatch_ingest_head_height", &[("finality", "latest")]),
    ("chainwatch_ingest_head_height", &[("finality", "safe")]),
    (
        "chainwatch_ingest_head_height",
        &[("finality", "finalized")],
    ),
    ("chainwatch_ingest_published_height", &[]),
    ("chainwatch_consume_watermark_height", &[]),
    ("chainwatch_consume_lag_seconds", &[]),
    (
        "chainwatch_consume_rows_written_total",
        &[("table", "transactions")],
    ),
];

/// Scrapes `/metrics` until `ready` holds for the body, or panics after `within`.
async fn scrape_until(
    dev: &mut Dev,
    what: &str,
    within: Duration,
    ready: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + within;
    loop {
        assert!(dev.running(), "chainwatch exited; logs:\n{}", dev.logs());
        let m = dev.get("/metrics").await;
        if ready(&m) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last scrape:\n{m}\nlogs:\n{}",
            dev.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn chain_gauge(m: &str, name: &str) -> Option<f64> {
    sample(m, name, &[("chain", "evm:31337")])
}

fn anvil_gauge(m: &str, name: &str) -> Option<f64> {
    sample(m, name, &[("chain", "evm:31337"), ("provider", "anvil")])
}

#[sqlx::test(migrations = false)]
async fn metrics_report_lag_and_providers_and_move_when_the_provider_dies(pool: PgPool) {
    let mut anvil = Anvil::spawn(&[]).await;
    mixed_traffic(&anvil, 2, 1).await;
    anvil.mine(5).await;
    let head = anvil.block_number().await;
    let url = url_of(&pool).await;
    let dir = scratch("metrics");
    let config = dir.join("chainwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[pool]
request_timeout_ms = 1000
breaker_cooldown_ms = 1000

[ingest]
poll_interval_ms = 500
heartbeat_interval_ms = 1000

[chains."evm:31337"]
start_height = 0
providers = [{{ label = "anvil", url = "{}" }}]
"#,
            anvil.url()
        ),
    )
    .unwrap();
    let mut dev = Dev::start(&[
        "--config".into(),
        config.display().to_string(),
        "--database-url".into(),
        url,
    ]);
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;

    // The lag gauges come from the database every 5 s: wait until they show anvil's head (and
    // its safe and finalized heads, 2 and 4 blocks behind).
    let h = head as f64;
    let (safe, finalized) = (head - 2, head - 4);
    let m = scrape_until(
        &mut dev,
        "lag gauges at anvil's head",
        Duration::from_secs(60),
        |m| {
            chain_gauge(m, "chainwatch_chain_indexed_height") == Some(h)
                && chain_gauge(m, "chainwatch_chain_head_height") == Some(h)
                && anvil_gauge(m, "chainwatch_provider_head_height") == Some(h)
                && chain_gauge(m, "chainwatch_chain_safe_height") == Some(safe as f64)
                && chain_gauge(m, "chainwatch_chain_finalized_height") == Some(finalized as f64)
        },
    )
    .await;
    assert!(m.starts_with("HTTP/1.1 200"), "{m}");
    for (name, labels) in DOCUMENTED {
        let mut all = vec![("chain", "evm:31337")];
        all.extend_from_slice(labels);
        assert!(
            sample(&m, name, &all).is_some(),
            "missing {name}{labels:?} in:\n{m}"
        );
        let family = name.trim_end_matches("_count");
        assert!(
            m.contains(&format!("# HELP {family} ")),
            "no HELP for {family}"
        );
    }
    assert_eq!(chain_gauge(&m, "chainwatch_chain_lag_blocks"), Some(0.0));
    let lag_s = chain_gauge(&m, "chainwatch_chain_lag_seconds").unwrap();
    assert!((0.0..600.0).contains(&lag_s), "lag seconds {lag_s}");
    let fin_lag = |level| {
        sample(
            &m,
            "chainwatch_chain_finality_lag_blocks",
            &[("chain", "evm:31337"), ("level", level)],
        )
    };
    assert_eq!(fin_lag("safe"), Some((head - safe) as f64));
    assert_eq!(fin_lag("finalized"), Some((head - finalized) as f64));
    assert_eq!(anvil_gauge(&m, "chainwatch_provider_up"), Some(1.0));
    let age0 = anvil_gauge(&m, "chainwatch_provider_head_age_seconds").unwrap();
    assert!(age0 >= 0.0, "head age {age0}");
    let beat = chain_gauge(&m, "chainwatch_chain_heartbeat_age_seconds").unwrap();
    assert!((0.0..30.0).contains(&beat), "heartbeat age {beat}");
    assert!(
        !m.contains(&anvil.url()),
        "a provider URL leaked into /metrics"
    );

    // The only provider dies: it is reported down by the heartbeats ingest keeps publishing,
    // and its head age and the lag in seconds grow while the last known head stays.
    anvil.kill();
    let m = scrape_until(&mut dev, "provider_up 0", Duration::from_secs(60), |m| {
        anvil_gauge(m, "chainwatch_provider_up") == Some(0.0)
    })
    .await;
    let age1 = anvil_gauge(&m, "chainwatch_provider_head_age_seconds").unwrap();
    let lag1 = chain_gauge(&m, "chainwatch_chain_lag_seconds").unwrap();
    assert!(age1 > age0, "head age {age0} -> {age1}");
    assert_eq!(anvil_gauge(&m, "chainwatch_provider_head_height"), Some(h));
    assert_eq!(chain_gauge(&m, "chainwatch_chain_head_height"), Some(h));
    let m = scrape_until(
        &mut dev,
        "head age and lag growing",
        Duration::from_secs(60),
        |m| {
            anvil_gauge(m, "chainwatch_provider_head_age_seconds").is_some_and(|a| a >= age1 + 5.0)
                && chain_gauge(m, "chainwatch_chain_lag_seconds").is_some_and(|l| l >= lag1 + 5.0)
        },
    )
    .await;
    assert_eq!(anvil_gauge(&m, "chainwatch_provider_up"), Some(0.0));
    // Ingest itself is alive: its heartbeats (carrying the provider's error) keep coming.
    let beat = chain_gauge(&m, "chainwatch_chain_heartbeat_age_seconds").unwrap();
    assert!(beat < 30.0, "heartbeat age {beat} with ingest running");
    assert!(dev.stop().success(), "{}", dev.logs());
    // Every consume batch logs inside a span naming the chain and heights.
    let logs = dev.logs();
    assert!(logs.contains("batch{chain=evm:31337"), "{logs}");
}
