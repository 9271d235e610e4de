//! Backfill benchmark: a full backfill of an EVM node into Postgres (ingest → in-process bus →
//! consume, the `chainwatch dev` path) next to a bare fetch loop doing only the same RPC calls
//! (`eth_getBlockByNumber(h, true)` then `eth_getBlockReceipts(hash)`, same concurrency), in
//! the same run. The bare loop runs before and after the backfill; the ratio uses their mean.
//!
//! Run with `scripts/bench-backfill.sh`, which starts anvil and fills it with
//! `shared/bench/gen_chain.py`. Environment: `BENCH_RPC` (default `http://127.0.0.1:8545`),
//! `DATABASE_URL` (a server where the database `chainwatch_bench` may be re-created),
//! `BENCH_CONCURRENCY` (default 8), `BENCH_BUS_CAPACITY` (64, as `dev`), `BENCH_MAX_BATCH_TXS`
//! (the consumer's default).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chainwatch_bus::InProcessBus;
use chainwatch_chain_core::{ChainAdapter, EndpointPool, PoolConfig, ProviderConfig};
use chainwatch_chain_evm::{EvmAdapter, EvmOptions};
use chainwatch_consume::{ConsumeConfig, Consumer};
use chainwatch_ingest::{Ingest, IngestConfig};
use chainwatch_store::{Store, testing::TempDatabase};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[derive(Deserialize)]
struct Resp<T> {
    result: T,
}

#[derive(Deserialize)]
struct BlockHead {
    hash: String,
    transactions: Vec<serde::de::IgnoredAny>,
}

async fn post(client: &reqwest::Client, url: &str, body: serde_json::Value) -> bytes::Bytes {
    client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("rpc request")
        .bytes()
        .await
        .expect("rpc body")
}

/// The same RPC calls as the adapter, bodies read, nothing else. Returns (seconds, txs).
async fn bare_fetch(url: &str, head: u64, concurrency: usize) -> (f64, u64) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let txs: u64 = futures::stream::iter(0..=head)
        .map(|h| {
            let client = &client;
            async move {
                let body = post(client, url, json!({"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":[format!("0x{h:x}"), true]})).await;
                let b: Resp<BlockHead> = serde_json::from_slice(&body).expect("block");
                let _ = post(client, url, json!({"jsonrpc":"2.0","id":2,"method":"eth_getBlockReceipts","params":[b.result.hash]})).await;
                b.result.transactions.len() as u64
            }
        })
        .buffered(concurrency)
        .fold(0, |acc, n| async move { acc + n })
        .await;
    (started.elapsed().as_secs_f64(), txs)
}

/// CPU seconds (user + system) used so far by every process whose command name is `comm`.
fn cpu_seconds_of(comm: &str) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let mut total = 0.0;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        let Ok(name) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if name.trim() != comm {
            continue;
        }
        if let Ok(stat) = std::fs::read_to_string(path.join("stat"))
            && let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r)
        {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
                + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
            total += ticks / tick;
        }
    }
    total
}

/// CPU seconds of (this process, postgres, anvil).
fn cpu_split() -> [f64; 3] {
    let me = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<f64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            Some((f.get(10)? + f.get(11)?) / 100.0)
        })
        .unwrap_or(0.0);
    [me, cpu_seconds_of("postgres"), cpu_seconds_of("anvil")]
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// ingest → in-process bus → consume → Postgres. Returns (seconds, blocks, txs).
async fn full_backfill(url: &str, store: Store, head: u64, concurrency: usize) -> (f64, u64, u64) {
    let chain = "evm:31337".parse().unwrap();
    let pool = Arc::new(
        EndpointPool::new(
            chain,
            vec![ProviderConfig::new("bench", url)],
            PoolConfig::default(),
        )
        .unwrap(),
    );
    let adapter: Arc<dyn ChainAdapter> = Arc::new(
        EvmAdapter::connect("evm:31337".parse().unwrap(), pool, EvmOptions::default())
            .await
            .unwrap(),
    );
    let env_usize = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (publisher, subscriber) = InProcessBus::channel(env_usize("BENCH_BUS_CAPACITY", 64));
    let consume_cfg = ConsumeConfig {
        max_batch_txs: env_usize(
            "BENCH_MAX_BATCH_TXS",
            ConsumeConfig::default().max_batch_txs,
        ),
        ..ConsumeConfig::default()
    };
    let cfg = IngestConfig {
        start_height: Some(0),
        stop_at: Some(head),
        backfill_concurrency: concurrency,
        heartbeat_interval: Duration::from_secs(3600),
        progress_interval: Duration::from_secs(10),
        ..IngestConfig::default()
    };
    let started = Instant::now();
    let consumer =
        tokio::spawn(Consumer::new(store, subscriber, consume_cfg).run(CancellationToken::new()));
    let ingest = Ingest::new(adapter, Arc::new(publisher), cfg);
    ingest
        .run(None, CancellationToken::new())
        .await
        .expect("ingest");
    drop(ingest);
    let stats = consumer.await.unwrap().expect("consume");
    (started.elapsed().as_secs_f64(), stats.blocks, stats.txs)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = std::env::var("BENCH_RPC").unwrap_or_else(|_| "http://127.0.0.1:8545".into());
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let client = reqwest::Client::new();
    let head_body = post(
        &client,
        &url,
        json!({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}),
    )
    .await;
    let head: Resp<String> = serde_json::from_slice(&head_body).expect("eth_blockNumber");
    let head = u64::from_str_radix(head.result.trim_start_matches("0x"), 16).unwrap();
    eprintln!("bench: {url}, blocks 0..={head}, concurrency {concurrency}");

    let c0 = cpu_split();
    let (bare1, txs) = bare_fetch(&url, head, concurrency).await;
    let c1 = cpu_split();
    let rss_bare = peak_rss_mib();
    let db = TempDatabase::create("bench").await.expect("bench database");
    let c2 = cpu_split();
    let (full, blocks, full_txs) = full_backfill(&url, db.store.clone(), head, concurrency).await;
    let c3 = cpu_split();
    let rss_full = peak_rss_mib();
    let (bare2, _) = bare_fetch(&url, head, concurrency).await;

    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM transactions")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    db.drop_db().await;
    assert_eq!(blocks, head + 1, "every block must be written");
    assert_eq!(full_txs, txs, "every transaction must be written");
    assert_eq!(
        rows as u64, txs,
        "transactions table must hold every transaction"
    );

    let bare = (bare1 + bare2) / 2.0;
    let n = (head + 1) as f64;
    println!(
        "backfill benchmark ({} blocks, {} transactions, concurrency {concurrency})",
        head + 1,
        txs
    );
    println!(
        "  bare fetch      : {bare1:.2} s / {bare2:.2} s  -> {:.1} blocks/s, {:.0} tx/s (mean)",
        n / bare,
        txs as f64 / bare
    );
    println!(
        "  full backfill   : {full:.2} s  -> {:.1} blocks/s, {:.0} tx/s",
        n / full,
        txs as f64 / full
    );
    println!("  ratio full/bare : {:.2}", bare / full);
    let d = |a: [f64; 3], b: [f64; 3]| [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let (cb, cf) = (d(c0, c1), d(c2, c3));
    println!(
        "  CPU seconds     : bare: bench {:.1}, postgres {:.1}, anvil {:.1} | full: chainwatch {:.1}, postgres {:.1}, anvil {:.1}",
        cb[0], cb[1], cb[2], cf[0], cf[1], cf[2]
    );
    println!(
        "  peak RSS        : {rss_bare:.0} MiB after bare fetch, {rss_full:.0} MiB after full backfill"
    );
    println!(
        "{}",
        json!({"blocks": head + 1, "txs": txs, "bare_s": [bare1, bare2], "full_s": full,
               "blocks_per_s": n / full, "tx_per_s": txs as f64 / full, "ratio": bare / full,
               "peak_rss_mib": rss_full})
    );
}
