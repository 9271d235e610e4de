//! Decode-and-normalize benchmark of a large Solana block: `normalize_block` (the adapter's
//! code path: JSON bytes → the official `UiConfirmedBlock` types → the normalized `Block` with
//! failure classification) on a `getBlock` body of about 1.3 MB, next to a bare
//! `serde_json::Value` parse of the same bytes in the same run (absolute times on a shared
//! machine are noisy; the ratio is the figure to compare).
//!
//! The fixtures hold no recorded block of 1 MB (mainnet blocks are trimmed by their sources), so
//! the body is assembled from recorded ones: the header of mainnet slot 100000000 and every
//! `json`-encoded recorded transaction (legacy and v0 with loaded addresses, succeeded and
//! failed, with their metas and logs), repeated in order until the body passes
//! `BENCH_BLOCK_BYTES` (default 1,300,000). Signatures repeat; normalization does not mind.
//!
//! Prints blocks/s, MB/s, transactions/s, the ratio to the bare parse, and peak RSS (VmHWM).
//! Run: `cargo bench -p chainwatch-chain-solana --bench decode` (release). `BENCH_SECS`
//! (default 5) sets how long each loop runs.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use chainwatch_chain_solana::normalize_block;
use serde_json::{Value, json};

fn testdata(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    let v: Value = serde_json::from_slice(&std::fs::read(path).expect("read fixture"))
        .expect("fixture is JSON");
    v.get("result").cloned().unwrap_or(v)
}

/// Every recorded transaction in the `json` encoding (account keys as strings), with meta.
fn json_transactions() -> Vec<Value> {
    let mut out = Vec::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("testdata")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json") && !n.contains("sendTransaction"))
        .collect();
    names.sort();
    for name in names {
        let v = testdata(&name);
        let txs: Vec<Value> = match v.get("transactions").and_then(Value::as_array) {
            Some(txs) => txs.clone(),
            None if v.get("meta").is_some() => vec![json!({
                "transaction": v["transaction"],
                "meta": v["meta"],
                "version": v.get("version").cloned().unwrap_or(Value::Null),
            })],
            None => Vec::new(),
        };
        out.extend(
            txs.into_iter()
                .filter(|t| t["transaction"]["message"]["accountKeys"][0].is_string()),
        );
    }
    out
}

fn peak_rss_kb() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `f` repeatedly for `secs`; returns (iterations, elapsed).
fn run(secs: u64, mut f: impl FnMut()) -> (u64, Duration) {
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        f();
        n += 1;
    }
    (n, started.elapsed())
}

fn main() {
    let target: usize = std::env::var("BENCH_BLOCK_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_300_000);
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let recorded = json_transactions();
    assert!(
        !recorded.is_empty(),
        "no json-encoded recorded transactions"
    );
    let mut block = testdata("mainnet-getBlock-100000000-json-trimmed.json");
    let mut txs = Vec::new();
    let mut bytes = Vec::new();
    while bytes.len() < target {
        txs.extend(recorded.iter().cloned());
        block["transactions"] = Value::Array(txs.clone());
        bytes = serde_json::to_vec(&block).expect("serialize");
    }
    let chain = "solana:mainnet".parse().expect("chain id");
    let b = normalize_block(&chain, 100_000_000, &bytes).expect("the block normalizes");
    let ntx = b.txs.len();
    let failed = b.txs.iter().filter(|t| t.failure.is_some()).count();
    let rss_before = peak_rss_kb();

    let (n, t) = run(secs, || {
        black_box(normalize_block(&chain, 100_000_000, black_box(&bytes)).expect("normalizes"));
    });
    let (m, u) = run(secs, || {
        black_box(serde_json::from_slice::<Value>(black_box(&bytes)).expect("parses"));
    });
    let mb = bytes.len() as f64 / 1e6;
    let bps = n as f64 / t.as_secs_f64();
    let raw = m as f64 / u.as_secs_f64();
    println!(
        "block: {:.2} MB, {ntx} transactions ({failed} failed), from {} recorded json-encoded transactions",
        mb,
        recorded.len()
    );
    println!(
        "normalize_block: {bps:.1} blocks/s, {:.1} MB/s, {:.0} tx/s ({n} blocks in {:.1} s)",
        bps * mb,
        bps * ntx as f64,
        t.as_secs_f64()
    );
    println!(
        "bare serde_json::Value parse: {raw:.1} blocks/s, {:.1} MB/s; normalize/parse ratio {:.2}",
        raw * mb,
        bps / raw
    );
    println!(
        "peak RSS (VmHWM): {} kB (after building the body: {} kB)",
        peak_rss_kb().map_or("?".into(), |k| k.to_string()),
        rss_before.map_or("?".into(), |k| k.to_string())
    );
}
