//! Stuck transactions end to end: a real anvil with mining paused, `chainwatch dev` (ingest,
//! consume, API and the watch-list poller) over a fresh database, and the `chainwatch trace`
//! binary. Each case (nonce gap, fee below the base fee, speed-up, cancel,
//! `anvil_dropTransaction`, and a traced transaction that gets mined) is explained by GraphQL
//! `traceTransaction` and by `chainwatch trace`, and its timeline is recorded in Postgres once.
//! In a Kafka deployment, `chainwatch ingest --watch-database-url` polls the watch list.

use std::time::{Duration, Instant};

use chainwatch_testkit::{Anvil, Tansu, evm};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::support::{Dev, bin, dev_args, sample, url_of};

const GWEI: u64 = 1_000_000_000;
const CHAIN: &str = "evm:31337";

/// `chainwatch trace CHAIN HASH --format json` against `anvil` and `db`; returns the document.
fn cli_trace(anvil: &Anvil, db: &str, hash: &str) -> Value {
    let out = bin()
        .args([
            "trace",
            CHAIN,
            hash,
            "--format",
            "json",
            "--database-url",
            db,
        ])
        .args(["--chain", &format!("{CHAIN}=anvil={}", anvil.url())])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chainwatch trace {hash} failed ({}): {}{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The human report of `chainwatch trace`.
fn cli_report(anvil: &Anvil, db: &str, hash: &str) -> String {
    let out = bin()
        .args(["trace", CHAIN, hash, "--database-url", db])
        .args(["--chain", &format!("{CHAIN}=anvil={}", anvil.url())])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// GraphQL `traceTransaction` on the running `dev`.
async fn gql_trace(dev: &Dev, hash: &str) -> Value {
    let q = format!(
        r#"{{ traceTransaction(chain: "{CHAIN}", hash: "{hash}") {{
            status reason message watched finality block {{ height }}
            facts {{ sender nonce accountNonce missingNonces baseFee maxFee replacedBy replacement }}
            transaction {{ status blockHeight finality timeline {{ kind }} }}
            timeline {{ kind replacedBy replacement }}
        }} }}"#
    );
    let resp = dev.graphql(&q).await;
    assert!(resp.get("errors").is_none(), "{resp:#}");
    resp["data"]["traceTransaction"].clone()
}

async fn send(anvil: &Anvil, from: &str, tx: Value) -> String {
    evm::send(anvil, from, tx).await
}

fn fee(max_gwei: u64, tip_gwei: u64) -> (String, String) {
    (
        format!("0x{:x}", max_gwei * GWEI),
        format!("0x{:x}", tip_gwei * GWEI),
    )
}

/// `(kind, detail)` of every stored timeline event of `hash`, in order.
async fn events(pool: &PgPool, hash: &str) -> Vec<(String, Option<Value>)> {
    sqlx::query_as("SELECT kind, detail FROM transaction_events WHERE tx_hash = $1 ORDER BY id")
        .bind(hash)
        .fetch_all(pool)
        .await
        .unwrap()
}

fn kinds(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrations = false)]
async fn stuck_transactions_are_explained_and_their_timelines_recorded(pool: PgPool) {
    let db = url_of(&pool).await;
    let anvil = Anvil::spawn(&["--no-mining"]).await;
    let acc = anvil.accounts().await;
    let mut dev = Dev::start(&dev_args(&anvil.url(), &db));
    dev.wait_ready().await;

    // Six senders, one case each.
    let (max2, tip1) = fee(2, 1);
    let two_gwei = json!({"maxFeePerGas": max2, "maxPriorityFeePerGas": tip1});
    let with = |mut tx: Value| {
        tx.as_object_mut()
            .unwrap()
            .extend(two_gwei.as_object().unwrap().clone());
        tx
    };
    let _gap1 = send(
        &anvil,
        &acc[0],
        with(json!({"to": acc[9], "value": "0x1", "nonce": "0x1"})),
    )
    .await;
    let gap3 = send(
        &anvil,
        &acc[0],
        with(json!({"to": acc[9], "value": "0x1", "nonce": "0x3"})),
    )
    .await;
    let mined = send(&anvil, &acc[1], with(json!({"to": acc[9], "value": "0x2"}))).await;
    let slow = send(
        &anvil,
        &acc[2],
        with(json!({"to": acc[9], "value": "0x5", "data": "0xabcd"})),
    )
    .await;
    let orig = send(&anvil, &acc[3], with(json!({"to": acc[9], "value": "0x7"}))).await;
    let dropped = send(&anvil, &acc[4], with(json!({"to": acc[9], "value": "0x8"}))).await;
    let low = send(&anvil, &acc[5], with(json!({"to": acc[9], "value": "0x9"}))).await;

    // Pending: the CLI and GraphQL agree, and both put the transaction on the watch list.
    let t = cli_trace(&anvil, &db, &gap3);
    assert_eq!(t["trace"]["status"], "PENDING", "{t:#}");
    assert_eq!(t["trace"]["reason"], "NONCE_GAP");
    assert_eq!(t["trace"]["facts"]["missing_nonces"], json!([0, 2]));
    assert_eq!(t["trace"]["facts"]["account_nonce"], 0);
    assert_eq!(t["watched"], true);
    let g = gql_trace(&dev, &gap3).await;
    assert_eq!(
        (&g["status"], &g["reason"]),
        (&json!("PENDING"), &json!("NONCE_GAP"))
    );
    assert_eq!(g["facts"]["missingNonces"], json!(["0", "2"]));
    assert_eq!(g["message"], t["trace"]["message"]);
    let report = cli_report(&anvil, &db, &gap3);
    assert!(report.contains("PENDING (NONCE_GAP)"), "{report}");
    assert!(report.contains("missing nonces  0, 2"), "{report}");

    for h in [&mined, &slow, &orig, &dropped, &low] {
        let t = cli_trace(&anvil, &db, h);
        assert_eq!(t["trace"]["status"], "PENDING", "{t:#}");
        assert_eq!(t["trace"]["reason"], "WAITING", "{t:#}");
        let g = gql_trace(&dev, h).await;
        assert_eq!(g["reason"], "WAITING", "{g:#}");
        assert_eq!(g["watched"], true);
    }

    // Fee below the base fee: anvil evicts such a transaction when it mines, so the base fee of
    // the next block rises while it is pending, unmined.
    anvil
        .rpc(
            "anvil_setNextBlockBaseFeePerGas",
            json!([format!("0x{:x}", 100 * GWEI)]),
        )
        .await;
    let t = cli_trace(&anvil, &db, &low);
    assert_eq!(t["trace"]["reason"], "FEE_TOO_LOW", "{t:#}");
    assert_eq!(t["trace"]["facts"]["base_fee"], "100000000000");
    assert_eq!(t["trace"]["facts"]["max_fee"], "2000000000");
    let g = gql_trace(&dev, &low).await;
    assert_eq!(
        (&g["status"], &g["reason"]),
        (&json!("PENDING"), &json!("FEE_TOO_LOW"))
    );
    assert_eq!(
        (&g["facts"]["baseFee"], &g["facts"]["maxFee"]),
        (&json!("100000000000"), &json!("2000000000"))
    );
    assert!(
        g["message"].as_str().unwrap().starts_with("fee too low:"),
        "{g:#}"
    );
    anvil
        .rpc(
            "anvil_setNextBlockBaseFeePerGas",
            json!([format!("0x{:x}", GWEI)]),
        )
        .await;

    // Speed-up, cancel, drop; then mine, with enough blocks on top to finalize.
    let (max3, tip2) = fee(3, 2);
    let fast = send(
        &anvil,
        &acc[2],
        json!({"to": acc[9], "value": "0x5", "data": "0xabcd", "nonce": "0x0", "maxFeePerGas": max3, "maxPriorityFeePerGas": tip2}),
    )
    .await;
    let (max4, tip3) = fee(4, 3);
    let cancel = send(
        &anvil,
        &acc[3],
        json!({"to": acc[3], "value": "0x0", "nonce": "0x0", "maxFeePerGas": max4, "maxPriorityFeePerGas": tip3}),
    )
    .await;
    anvil.rpc("anvil_dropTransaction", json!([dropped])).await;
    anvil.rpc("evm_mine", json!([])).await;
    assert_eq!(evm::receipt(&anvil, &mined).await["blockNumber"], "0x1");
    for _ in 0..6 {
        anvil.rpc("evm_mine", json!([])).await;
    }
    dev.wait_indexed(
        &chainwatch_store::Store::from_pool(pool.clone()),
        &crate::support::anvil_chain(),
        &anvil,
    )
    .await;

    // The poller closes every watch but the nonce gap, and the mined one reaches FINALIZED.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let open: Vec<String> = sqlx::query_scalar(
            "SELECT hash FROM watched_transactions WHERE NOT final ORDER BY hash",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let g = gql_trace(&dev, &mined).await;
        let done = open == vec![gap3.clone()]
            && kinds(&g["transaction"]["timeline"])
                .last()
                .map(String::as_str)
                == Some("FINALIZED");
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "watch list not settled: open {open:?}, mined {g:#}; logs:\n{}",
            dev.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Mined after being traced: INDEXED, and SEEN_PENDING → INCLUDED → SAFE → FINALIZED.
    let g = gql_trace(&dev, &mined).await;
    assert_eq!(g["status"], "INDEXED", "{g:#}");
    assert_eq!(g["transaction"]["status"], "SUCCEEDED");
    assert_eq!(g["transaction"]["blockHeight"], 1);
    let lifecycle = ["SEEN_PENDING", "INCLUDED", "SAFE", "FINALIZED"];
    assert_eq!(kinds(&g["transaction"]["timeline"]), lifecycle);
    assert_eq!(kinds(&g["timeline"]), lifecycle);
    let t = cli_trace(&anvil, &db, &mined);
    assert_eq!(t["trace"]["status"], "INDEXED");
    assert_eq!(t["transaction"]["status"], "SUCCEEDED");
    assert_eq!(kinds(&t["timeline"]), lifecycle);
    assert_eq!(t["watched"], false);
    // The fee-too-low one, once the base fee fell back, was mined in the same block.
    let g = gql_trace(&dev, &low).await;
    assert_eq!(g["status"], "INDEXED", "{g:#}");
    assert_eq!(kinds(&g["timeline"]), lifecycle);

    // Speed-up.
    let t = cli_trace(&anvil, &db, &slow);
    assert_eq!(t["trace"]["status"], "REPLACED", "{t:#}");
    assert_eq!(t["trace"]["facts"]["replaced_by"], fast);
    assert_eq!(t["trace"]["facts"]["replacement"], "SPEED_UP");
    let g = gql_trace(&dev, &slow).await;
    assert_eq!(g["status"], "REPLACED");
    assert_eq!(
        (&g["facts"]["replacedBy"], &g["facts"]["replacement"]),
        (&json!(fast), &json!("SPEED_UP"))
    );
    assert!(
        g["message"].as_str().unwrap().contains("a speed-up"),
        "{g:#}"
    );
    assert_eq!(kinds(&g["timeline"]), ["SEEN_PENDING", "REPLACED_BY"]);
    assert_eq!(g["timeline"][1]["replacedBy"], fast);
    assert_eq!(g["timeline"][1]["replacement"], "SPEED_UP");
    let report = cli_report(&anvil, &db, &slow);
    assert!(
        report.contains(&format!("replaced by     {fast} (SPEED_UP)")),
        "{report}"
    );
    assert!(report.contains(&format!("REPLACED_BY {fast}")), "{report}");

    // Cancel.
    let t = cli_trace(&anvil, &db, &orig);
    assert_eq!(t["trace"]["status"], "REPLACED", "{t:#}");
    assert_eq!(t["trace"]["facts"]["replaced_by"], cancel);
    assert_eq!(t["trace"]["facts"]["replacement"], "CANCEL");
    let g = gql_trace(&dev, &orig).await;
    assert_eq!(
        (&g["facts"]["replacedBy"], &g["facts"]["replacement"]),
        (&json!(cancel), &json!("CANCEL"))
    );

    // Dropped.
    let t = cli_trace(&anvil, &db, &dropped);
    assert_eq!(t["trace"]["status"], "DROPPED", "{t:#}");
    assert_eq!(t["trace"]["facts"]["account_nonce"], 0);
    let g = gql_trace(&dev, &dropped).await;
    assert_eq!(g["status"], "DROPPED");
    assert!(
        g["message"].as_str().unwrap().contains("still unused"),
        "{g:#}"
    );
    assert_eq!(kinds(&g["timeline"]), ["SEEN_PENDING", "DROPPED"]);

    // The poller's metrics: verdicts counted, the nonce gap still open.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = dev.get("/metrics").await;
        let open = sample(
            &m,
            "chainwatch_watch_open_transactions",
            &[("chain", CHAIN)],
        );
        let indexed = sample(
            &m,
            "chainwatch_watch_traces_total",
            &[("chain", CHAIN), ("status", "INDEXED")],
        );
        if open == Some(1.0) && indexed.is_some_and(|n| n >= 1.0) {
            break;
        }
        assert!(Instant::now() < deadline, "watch metrics: {m}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // The nonce gap is still explained, and still watched.
    let g = gql_trace(&dev, &gap3).await;
    assert_eq!(
        (&g["reason"], &g["watched"]),
        (&json!("NONCE_GAP"), &json!(true))
    );

    // In Postgres: each watch-list event once, however many traces and poller passes ran.
    let ev = events(&pool, &slow).await;
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0].0, "SEEN_PENDING");
    assert_eq!(ev[1].0, "REPLACED_BY");
    assert_eq!(
        ev[1].1,
        Some(json!({"replaced_by": fast, "replacement": "SPEED_UP"}))
    );
    let ev = events(&pool, &orig).await;
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["SEEN_PENDING", "REPLACED_BY"]
    );
    assert_eq!(ev[1].1.as_ref().unwrap()["replacement"], "CANCEL");
    let ev = events(&pool, &dropped).await;
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["SEEN_PENDING", "DROPPED"]
    );
    let ev = events(&pool, &mined).await;
    assert_eq!(
        ev.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["SEEN_PENDING"],
        "INCLUDED, SAFE and FINALIZED come from the index"
    );
    assert_eq!(events(&pool, &gap3).await.len(), 1);

    // Bad input: exit code 2 with the offending value named.
    let out = bin()
        .args(["trace", CHAIN, "0x1234", "--database-url", &db])
        .args(["--chain", &format!("{CHAIN}=anvil={}", anvil.url())])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid hash \"0x1234\": expected 0x followed by 64 hex digits"),
        "{err}"
    );
    let out = bin()
        .args(["trace", "evm:5", &gap3, "--database-url", &db])
        .env_remove("DATABASE_URL")
        .env_remove("CHAINWATCH_CHAINS")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chain evm:5 has no providers"),
        "{out:?}"
    );
    assert!(dev.stop().success());

    // `serve` with the chain's providers traces read-only: the verdict, but no watch-list write.
    let before: (String,) =
        sqlx::query_as("SELECT last_traced_at::text FROM watched_transactions WHERE hash = $1")
            .bind(&gap3)
            .fetch_one(&pool)
            .await
            .unwrap();
    let mut serve = Dev::start_cmd(
        "serve",
        &[
            "--database-url".into(),
            db.clone(),
            "--chain".into(),
            format!("{CHAIN}=anvil={}", anvil.url()),
        ],
        &[],
    );
    serve.wait_ready().await;
    let g = gql_trace(&serve, &gap3).await;
    assert_eq!(
        (&g["reason"], &g["watched"]),
        (&json!("NONCE_GAP"), &json!(true)),
        "{g:#}"
    );
    let g = gql_trace(&serve, &slow).await;
    assert_eq!(g["status"], "REPLACED", "{g:#}");
    let after: (String,) =
        sqlx::query_as("SELECT last_traced_at::text FROM watched_transactions WHERE hash = $1")
            .bind(&gap3)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(before, after, "serve must not write");
    assert!(serve.stop().success());

    let help = bin().args(["trace", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("2  bad input"),
        "{help}"
    );
}

#[sqlx::test(migrations = false)]
async fn ingest_polls_the_watch_list_when_given_a_database(pool: PgPool) {
    let db = url_of(&pool).await;
    assert!(
        bin()
            .args(["migrate", "--database-url", &db])
            .env_remove("DATABASE_URL")
            .status()
            .unwrap()
            .success()
    );
    let anvil = Anvil::spawn(&["--no-mining"]).await;
    let broker = Tansu::spawn().await;
    let acc = anvil.accounts().await;
    let tx = send(&anvil, &acc[0], json!({"to": acc[1], "value": "0x1"})).await;
    let t = cli_trace(&anvil, &db, &tx);
    assert_eq!(t["trace"]["status"], "PENDING", "{t:#}");
    assert_eq!(t["watched"], true);

    let args: Vec<String> = [
        "--chain",
        &format!("{CHAIN}=anvil={}", anvil.url()),
        "--brokers",
        &broker.brokers(),
        "--start-height",
        "0",
        "--watch-database-url",
        &db,
    ]
    .map(str::to_owned)
    .to_vec();
    let mut ingest = Dev::start_cmd("ingest", &args, &[]);
    anvil.rpc("anvil_dropTransaction", json!([tx])).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ev: Vec<String> = events(&pool, &tx).await.into_iter().map(|e| e.0).collect();
        if ev == ["SEEN_PENDING", "DROPPED"] {
            break;
        }
        assert!(ingest.running(), "ingest exited; logs:\n{}", ingest.logs());
        assert!(
            Instant::now() < deadline,
            "ingest did not record the drop: {ev:?}; logs:\n{}",
            ingest.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let last: (String, bool) =
        sqlx::query_as("SELECT last_status, final FROM watched_transactions WHERE hash = $1")
            .bind(&tx)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(last, ("DROPPED".to_owned(), true));
    assert!(ingest.logs().contains("watched transaction is final"));
    assert!(ingest.stop().success(), "{}", ingest.logs());
}
