//! Kafka pipeline benchmark: produce → Kafka (tansu) → the real `chainwatch consume` process →
//! Postgres, for a generated chain, next to a raw `COPY` of the same rows into the same tables
//! (same schema and indexes, fresh database) in the same run. The ratio of transaction rows per
//! second is the figure (target ≥ 0.5).
//!
//! The producer is this process: it generates blocks on the fly (deterministic, nothing kept in
//! memory) and publishes them with the Kafka bus's publisher, as `chainwatch ingest` does. While
//! it runs, the end-to-end lag (now − publish time of the envelope the database holds last) is
//! sampled every second; the consume process's Kafka lag metric is scraped too. Then a steady
//! load (a second chain published at a fixed rate, by default half the measured throughput,
//! `BENCH_STEADY_RATE` blocks/s for `BENCH_STEADY_SECS`) measures the lag below capacity. Peak RSS
//! (VmHWM) of the producer, the consume process and the broker are reported.
//!
//! Run with `scripts/bench-pipeline.sh` (release mode). Environment: `BENCH_BLOCKS` (5000),
//! `BENCH_TXS` (200 per block), `DATABASE_URL`, `TANSU` (the broker binary).

use std::{
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chainwatch_bus::{
    Publisher,
    kafka::{KafkaBus, KafkaConfig},
};
use chainwatch_schema::{
    Block, BlockRef, ChainEvent, ChainId, Envelope, Failure, FailureKind, Transaction, TxStatus,
};
use chainwatch_store::testing::TempDatabase;
use chainwatch_testkit::{Tansu, free_port};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn hash(kind: u8, a: u64, b: u64) -> String {
    format!("0x{kind:02x}{a:030x}{b:032x}")
}

/// splitmix64: spreads sequential numbers over the whole range, like real hashes.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A transaction hash that looks random (real hashes are), so that index inserts cost what they
/// cost on a real chain.
fn tx_hash(n: u64) -> String {
    format!(
        "0x{:016x}{:016x}{:016x}{:016x}",
        mix(n),
        mix(n ^ 0x1111),
        mix(n ^ 0x2222),
        mix(n ^ 0x3333)
    )
}

fn address(n: u64) -> String {
    format!("0x{:040x}", 0xa11ce000_u64 + n)
}

/// Block `h` of the generated chain: `txs` transfers among 10,000 addresses, every 7th failed.
fn block(chain: &ChainId, h: u64, txs: u64) -> Block {
    let parent = if h == 0 {
        hash(0xbb, 0, 0)
    } else {
        hash(0xbb, h - 1, 0)
    };
    Block {
        chain: chain.clone(),
        block_ref: BlockRef {
            height: h,
            hash: hash(0xbb, h, 0),
        },
        parent_hash: parent,
        timestamp_ms: 1_700_000_000_000 + h * 2000,
        txs: (0..txs)
            .map(|i| {
                let n = h * txs + i;
                let failed = n % 7 == 6;
                Transaction {
                    hash: tx_hash(n),
                    index: i as u32,
                    sender: Some(address(n % 10_000)),
                    to: Some(address((n * 31 + 7) % 10_000)),
                    nonce: Some(n / 10_000),
                    value: Some((1_000_000_000_000 + n).to_string()),
                    fee: Some((21_000 * 1_000_000_000u64).to_string()),
                    status: if failed {
                        TxStatus::Failed
                    } else {
                        TxStatus::Succeeded
                    },
                    failure: failed.then(|| Failure {
                        kind: FailureKind::Reverted,
                        code: None,
                        message: "bench: insufficient balance".into(),
                        location: Some(address(n % 10_000)),
                        raw: "0x".into(),
                    }),
                    extra: serde_json::json!({"type": 2, "gas_used": 21000}),
                }
            })
            .collect(),
    }
}

/// Peak resident set (VmHWM) of `pid`, in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn pid_of(comm: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let c = std::fs::read_to_string(e.path().join("comm")).ok()?;
        (c.trim() == comm).then_some(pid)
    })
}

async fn scrape(addr: &str, metric: &str) -> Option<f64> {
    let (_, body) = chainwatch_testkit::http_get(&format!("http://{addr}/metrics"))
        .await
        .ok()?;
    body.lines()
        .filter(|l| l.starts_with(metric))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// `YYYY-MM-DD HH:MM:SS.mmm+00` of a Unix time in milliseconds (days-from-civil inverse).
fn utc_timestamp(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}+00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// COPY text escaping of one field.
fn copy_field(out: &mut String, v: Option<&str>) {
    match v {
        None => out.push_str("\\N"),
        Some(s) => {
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

fn copy_row(out: &mut String, fields: &[Option<&str>]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        copy_field(out, *f);
    }
    out.push('\n');
}

/// COPYs the rows the consumer writes for `blocks` × `txs` into a fresh, migrated database.
/// Returns the seconds taken.
async fn raw_copy(chain: &ChainId, blocks: u64, txs: u64) -> f64 {
    let db = TempDatabase::create("bench_copy")
        .await
        .expect("copy database");
    let pool = db.store.pool().clone();
    sqlx::query("INSERT INTO chains (chain_id, family, network) VALUES ($1, $2, $3)")
        .bind(chain.as_str())
        .bind(chain.family())
        .bind(chain.network())
        .execute(&pool)
        .await
        .expect("chain row");
    let started = Instant::now();
    let chunk = 100;
    let mut h = 0;
    while h < blocks {
        let end = (h + chunk).min(blocks);
        let (mut b_rows, mut t_rows) = (String::new(), String::new());
        // Address rows go in key order, as the consumer writes them.
        let mut addr: Vec<(String, u64, u32)> = Vec::new();
        for height in h..end {
            let b = block(chain, height, txs);
            let hs = height.to_string();
            let time = utc_timestamp(b.timestamp_ms);
            let n = b.txs.len().to_string();
            copy_row(
                &mut b_rows,
                &[
                    Some(chain.as_str()),
                    Some(&hs),
                    Some(&b.block_ref.hash),
                    Some(&b.parent_hash),
                    Some(&time),
                    Some(&n),
                ],
            );
            for t in &b.txs {
                let idx = t.index.to_string();
                let nonce = t.nonce.map(|n| n.to_string());
                let failure = t
                    .failure
                    .as_ref()
                    .map(|f| serde_json::to_string(f).unwrap());
                let extra = t.extra.to_string();
                copy_row(
                    &mut t_rows,
                    &[
                        Some(chain.as_str()),
                        Some(&t.hash),
                        Some(&hs),
                        Some(&b.block_ref.hash),
                        Some(&idx),
                        t.sender.as_deref(),
                        t.to.as_deref(),
                        nonce.as_deref(),
                        t.value.as_deref(),
                        t.fee.as_deref(),
                        Some(t.status.as_str()),
                        failure.as_deref(),
                        Some(&extra),
                    ],
                );
                let to = t.to.as_ref().filter(|to| t.sender.as_ref() != Some(*to));
                for a in [t.sender.as_ref(), to].into_iter().flatten() {
                    addr.push((a.clone(), height, t.index));
                }
            }
        }
        addr.sort_unstable();
        let mut a_rows = String::new();
        for (a, height, idx) in &addr {
            copy_row(
                &mut a_rows,
                &[
                    Some(chain.as_str()),
                    Some(a),
                    Some(&height.to_string()),
                    Some(&idx.to_string()),
                ],
            );
        }
        let mut conn = pool.acquire().await.expect("connection");
        for (sql, rows) in [
            (
                "COPY blocks (chain_id, height, hash, parent_hash, block_time, tx_count) FROM STDIN",
                b_rows,
            ),
            (
                "COPY transactions (chain_id, hash, block_height, block_hash, tx_index, sender, recipient, nonce, value, fee, status, failure, extra) FROM STDIN",
                t_rows,
            ),
            (
                "COPY address_transactions (chain_id, address, block_height, tx_index) FROM STDIN",
                a_rows,
            ),
        ] {
            let mut copy = conn.copy_in_raw(sql).await.expect("COPY");
            copy.send(rows.into_bytes()).await.expect("COPY data");
            copy.finish().await.expect("COPY finish");
        }
        h = end;
    }
    let secs = started.elapsed().as_secs_f64();
    db.drop_db().await;
    secs
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let blocks = env_u64("BENCH_BLOCKS", 5000);
    let txs = env_u64("BENCH_TXS", 200);
    let chain: ChainId = "evm:999001".parse().unwrap();
    let steady_chain: ChainId = "evm:999002".parse().unwrap();
    let total_txs = blocks * txs;
    println!("pipeline bench: {blocks} blocks x {txs} txs = {total_txs} transactions");

    let broker = Tansu::spawn().await;
    let db = TempDatabase::create("bench_pipeline")
        .await
        .expect("bench database");
    db.store.migrate().await.expect("migrate");
    let cfg_path = std::env::temp_dir().join("chainwatch-bench-pipeline.toml");
    std::fs::write(&cfg_path, "[consume]\nmax_batch = 256\n").unwrap();
    let ops = format!("127.0.0.1:{}", free_port());
    let mut consume = Command::new(env!("CARGO_BIN_EXE_chainwatch"))
        .args(["consume", "--config"])
        .arg(&cfg_path)
        .args([
            "--brokers",
            &broker.brokers(),
            "--database-url",
            &db.url,
            "--chain",
            chain.as_str(),
            "--chain",
            steady_chain.as_str(),
            "--listen",
            &ops,
        ])
        .env(
            "RUST_LOG",
            std::env::var("BENCH_CONSUME_LOG").unwrap_or_else(|_| "warn,sqlx=error".into()),
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("start chainwatch consume");

    let bus = KafkaBus::connect(KafkaConfig::new(broker.brokers()), Duration::from_secs(30))
        .await
        .expect("broker");
    let publisher = bus.publisher(&chain).await.expect("publisher");
    let published_at: Arc<Mutex<Vec<Instant>>> =
        Arc::new(Mutex::new(Vec::with_capacity(blocks as usize)));
    let started = Instant::now();

    // Sample the lag while producing and consuming.
    let sampler = {
        let published_at = published_at.clone();
        let store = db.store.clone();
        let chain = chain.clone();
        let ops = ops.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let seq = store
                    .watermark(&chain)
                    .await
                    .ok()
                    .flatten()
                    .map_or(0, |w| w.seq);
                let (lag_s, lag_blocks) = {
                    let p = published_at.lock().unwrap();
                    let lag_s = if seq == 0 {
                        p.first().map_or(0.0, |t| t.elapsed().as_secs_f64())
                    } else {
                        p.get(seq as usize)
                            .map_or(0.0, |t| t.elapsed().as_secs_f64())
                    };
                    (lag_s, p.len() as u64 - seq.min(p.len() as u64))
                };
                let kafka_lag = scrape(&ops, "chainwatch_consume_kafka_lag_messages").await;
                samples.push((lag_s, lag_blocks, kafka_lag));
                if seq >= blocks {
                    return samples;
                }
            }
        })
    };

    for h in 0..blocks {
        let env = Envelope::new(
            chain.clone(),
            h + 1,
            ChainEvent::Apply {
                block: block(&chain, h, txs),
            },
        );
        published_at.lock().unwrap().push(Instant::now());
        publisher.publish(env).await.expect("publish");
    }
    publisher.flush().await.expect("flush");
    let produced = started.elapsed().as_secs_f64();
    let samples = sampler.await.unwrap();
    let pipeline = started.elapsed().as_secs_f64();
    // Steady load: a second chain published at a fixed rate below capacity; the lag is how
    // long a block takes from publish to the database.
    let steady_rate = std::env::var("BENCH_STEADY_RATE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or((blocks as f64 / pipeline) * 0.5)
        .max(1.0);
    let steady_secs = env_u64("BENCH_STEADY_SECS", 30);
    let steady_pub = bus.publisher(&steady_chain).await.expect("publisher");
    let steady_blocks = (steady_rate * steady_secs as f64) as u64;
    let mut steady_lags = Vec::new();
    let t0 = Instant::now();
    let mut sent_at = Vec::with_capacity(steady_blocks as usize);
    let mut next_sample = Duration::from_secs(1);
    for h in 0..steady_blocks {
        let due = Duration::from_secs_f64(h as f64 / steady_rate);
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let env = Envelope::new(
            steady_chain.clone(),
            h + 1,
            ChainEvent::Apply {
                block: block(&steady_chain, h, txs),
            },
        );
        sent_at.push(Instant::now());
        steady_pub.publish(env).await.expect("publish");
        if t0.elapsed() >= next_sample {
            next_sample += Duration::from_secs(1);
            let seq = db
                .store
                .watermark(&steady_chain)
                .await
                .ok()
                .flatten()
                .map_or(0, |w| w.seq);
            // Oldest published block not yet in the database: how long it has waited.
            if let Some(t) = sent_at.get(seq as usize) {
                steady_lags.push(t.elapsed().as_secs_f64());
            } else {
                steady_lags.push(0.0);
            }
        }
    }
    steady_pub.flush().await.expect("flush");
    while db
        .store
        .watermark(&steady_chain)
        .await
        .ok()
        .flatten()
        .map_or(0, |w| w.seq)
        < steady_blocks
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    steady_lags.sort_by(f64::total_cmp);
    let steady_median = steady_lags
        .get(steady_lags.len() / 2)
        .copied()
        .unwrap_or(0.0);
    let steady_p95 = steady_lags
        .get(steady_lags.len() * 95 / 100)
        .copied()
        .unwrap_or(0.0);

    let rss_consume = peak_rss_mib(consume.id());
    let rss_producer = peak_rss_mib(std::process::id());
    let rss_broker = pid_of("tansu").map_or(0.0, peak_rss_mib);
    let _ = consume.kill();
    let _ = consume.wait();

    let written: i64 =
        sqlx::query_scalar("SELECT count(*) FROM transactions WHERE chain_id = 'evm:999001'")
            .fetch_one(db.store.pool())
            .await
            .unwrap();
    assert_eq!(written as u64, total_txs, "every transaction written");
    db.drop_db().await;

    let copy = raw_copy(&chain, blocks, txs).await;
    let steady: Vec<&(f64, u64, Option<f64>)> = samples
        .iter()
        .skip(samples.len() / 5)
        .take(samples.len() * 3 / 5)
        .collect();
    let mut lags: Vec<f64> = steady.iter().map(|s| s.0).collect();
    lags.sort_by(f64::total_cmp);
    let median = lags.get(lags.len() / 2).copied().unwrap_or(0.0);
    let max = lags.last().copied().unwrap_or(0.0);
    let max_blocks = steady.iter().map(|s| s.1).max().unwrap_or(0);
    let kafka_lag_max = steady.iter().filter_map(|s| s.2).fold(0.0, f64::max);

    println!(
        "produce:  {produced:.1} s ({:.0} blocks/s)",
        blocks as f64 / produced
    );
    println!(
        "pipeline: {pipeline:.1} s produce→consume→Postgres: {:.1} blocks/s, {:.0} tx rows/s",
        blocks as f64 / pipeline,
        total_txs as f64 / pipeline
    );
    println!(
        "raw COPY: {copy:.1} s: {:.0} tx rows/s (same rows, blocks + transactions + address_transactions)",
        total_txs as f64 / copy
    );
    println!("ratio:    {:.2}x of raw COPY", copy / pipeline);
    println!(
        "lag while flooded (producer unthrottled, middle 60% of the run): oldest unwritten block waited median {median:.1} s, max {max:.1} s, max {max_blocks} blocks behind; Kafka consumer lag max {kafka_lag_max:.0} records"
    );
    println!(
        "lag under steady load ({steady_rate:.1} blocks/s = {:.0} tx/s for {steady_secs} s): oldest unwritten block waited median {steady_median:.2} s, p95 {steady_p95:.2} s",
        steady_rate * txs as f64
    );
    println!(
        "peak RSS: consume {rss_consume:.0} MiB, producer {rss_producer:.0} MiB, broker {rss_broker:.0} MiB"
    );
}
