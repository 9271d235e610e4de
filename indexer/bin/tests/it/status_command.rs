//! `chainwatch status`: the table and JSON for a healthy chain (exit 0) and for lagging ones
//! (exit 3), the SLO from flags and the config file, and JSON logs when stderr is not a
//! terminal.

use std::{
    process::Output,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use chainwatch_schema::{ChainEvent, Envelope, ProviderHead};
use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, evm::mixed_traffic};
use serde_json::Value;
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, bin, dev_args, scratch, url_of};

/// Runs `chainwatch status` with `args` against `db_url`.
fn status(db_url: &str, args: &[&str]) -> Output {
    bin()
        .arg("status")
        .args(["--database-url", db_url])
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("CHAINWATCH_CONFIG")
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("status --format json: {e}: {:?}", text(o)))
}

/// Waits until a heartbeat in the database reports `height` for the provider `anvil`, and the
/// safe and finalized heights are anvil's for that head (2 and 4 blocks behind).
async fn wait_heartbeat(dev: &mut Dev, store: &Store, height: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(dev.running(), "chainwatch exited; logs:\n{}", dev.logs());
        let health = store.chain_health().await.unwrap();
        if health.first().is_some_and(|h| {
            h.safe_height == Some(height - 2)
                && h.finalized_height == Some(height - 4)
                && h.providers
                    .first()
                    .is_some_and(|p| p.provider == "anvil" && p.height == Some(height))
        }) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no heartbeat at {height}; logs:\n{}",
            dev.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[sqlx::test(migrations = false)]
async fn status_of_a_healthy_chain_exits_0_with_its_table(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    mixed_traffic(&anvil, 2, 1).await;
    anvil.mine(5).await;
    let head = anvil.block_number().await;
    let url = url_of(&pool).await;
    let mut dev = Dev::start(&dev_args(&anvil.url(), &url));
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;
    wait_heartbeat(&mut dev, &store, head).await;

    let out = status(&url, &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("chain evm:31337  OK"), "{stdout}");
    let row = |k: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(k))
            .unwrap_or_else(|| panic!("no `{k}` row in:\n{stdout}"))
            .to_owned()
    };
    assert!(row("indexed").ends_with(&format!(" {head}")), "{stdout}");
    assert!(row("head").ends_with(&format!(" {head}")), "{stdout}");
    assert!(row("lag").contains("0 blocks"), "{stdout}");
    assert!(row("lag").contains("(max 50 blocks, 300 s)"), "{stdout}");
    assert!(row("safe").contains(&format!("{}", head - 2)), "{stdout}");
    assert!(
        row("finalized").contains(&format!("{}", head - 4)),
        "{stdout}"
    );
    assert!(row("last reorg").ends_with("none"), "{stdout}");
    let provider = row("anvil");
    assert!(
        provider.contains(&head.to_string()) && provider.contains(" up "),
        "{stdout}"
    );
    assert!(!stdout.contains(&anvil.url()), "a provider URL leaked");

    let out = status(&url, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v = json(&out);
    assert_eq!(v["ok"], true, "{v}");
    let c = &v["chains"][0];
    assert_eq!(c["chain"], "evm:31337", "{v}");
    assert_eq!(c["indexed_height"].as_u64(), Some(head), "{v}");
    assert_eq!(c["head_height"].as_u64(), Some(head), "{v}");
    assert_eq!(c["lag_blocks"].as_u64(), Some(0), "{v}");
    assert!(c["lag_seconds"].as_f64().is_some_and(|s| s >= 0.0), "{v}");
    assert_eq!(c["safe_height"].as_u64(), Some(head - 2), "{v}");
    assert_eq!(c["finalized_height"].as_u64(), Some(head - 4), "{v}");
    assert_eq!(c["providers"][0]["label"], "anvil", "{v}");
    assert_eq!(c["providers"][0]["up"], true, "{v}");
    assert_eq!(c["providers"][0]["height"].as_u64(), Some(head), "{v}");
    assert!(c["last_reorg"].is_null(), "{v}");
    assert_eq!(c["slo"]["max_lag_blocks"], 50, "{v}");
    assert!(dev.stop().success(), "{}", dev.logs());

    // The exit codes are documented; a bad flag is a configuration problem.
    let help = bin().args(["status", "--help"]).output().unwrap();
    let (help, _) = text(&help);
    assert!(
        help.contains("3  at least one chain breaks its lag SLO"),
        "{help}"
    );
    let bad = status(&url, &["--chain", "nonsense"]);
    assert_eq!(bad.status.code(), Some(2), "{:?}", text(&bad));
}

#[sqlx::test(migrations = false)]
async fn status_of_a_lagging_chain_exits_3(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    mixed_traffic(&anvil, 2, 1).await;
    let url = url_of(&pool).await;
    let mut dev = Dev::start(&dev_args(&anvil.url(), &url));
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;
    let indexed = anvil.block_number().await;
    // Ingest stops; the chain goes on without it.
    assert!(dev.stop().success(), "{}", dev.logs());
    anvil.mine(120).await;
    let head = anvil.block_number().await;

    // In seconds: the indexed block gets older than the chain's configured SLO.
    let dir = scratch("status");
    let config = dir.join("chainwatch.toml");
    std::fs::write(
        &config,
        "[status]\nmax_lag_seconds = 3600\n\n[chains.\"evm:31337\"]\nmax_lag_seconds = 2\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = loop {
        let out = status(&url, &["--config", &config]);
        if out.status.code() != Some(0) || Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("chain evm:31337  SLO BROKEN: lag "),
        "{stdout}"
    );
    assert!(stdout.contains("s > max 2 s"), "{stdout}");
    assert!(
        stderr.contains("lag SLO broken: evm:31337 (lag "),
        "{stderr}"
    );
    // The flag overrides the config file.
    let out = status(&url, &["--config", &config, "--max-lag-seconds", "3600"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));

    // In blocks: the heartbeat ingest would publish now, with anvil's real head, lands in the
    // database through the store, as the consumer writes it.
    let chain = anvil_chain();
    let wm = store.watermark(&chain).await.unwrap().unwrap();
    let at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let beat = Envelope::new(
        chain.clone(),
        wm.seq + 1,
        ChainEvent::Heartbeat {
            at_ms,
            heads: vec![ProviderHead {
                provider: "anvil".into(),
                height: Some(head),
                error: None,
                health: 1.0,
                state: Default::default(),
            }],
        },
    );
    store.apply_batch(&chain, &[beat]).await.unwrap();
    let out = status(&url, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(3), "{:?}", text(&out));
    let v = json(&out);
    let c = &v["chains"][0];
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(c["indexed_height"].as_u64(), Some(indexed), "{v}");
    assert_eq!(c["head_height"].as_u64(), Some(head), "{v}");
    assert_eq!(c["lag_blocks"].as_u64(), Some(head - indexed), "{v}");
    assert_eq!(
        c["breaches"][0],
        format!("lag {} blocks > max 50", head - indexed),
        "{v}"
    );
    let out = status(&url, &["--max-lag-blocks", "1000"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));

    // A chain with nothing indexed breaks its SLO too.
    let out = status(&url, &["--chain", "evm:999"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("nothing indexed yet"), "{stdout}");
}

#[sqlx::test(migrations = false)]
async fn logs_are_json_when_stderr_is_not_a_terminal(pool: PgPool) {
    let url = url_of(&pool).await;
    let out = bin()
        .args(["migrate", "--database-url", &url])
        .env("RUST_LOG", "info")
        .env_remove("CHAINWATCH_LOG_FORMAT")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("database schema is up to date"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["level"], "INFO", "{v}");
    assert_eq!(v["target"], "chainwatch::bin", "{v}");
}
