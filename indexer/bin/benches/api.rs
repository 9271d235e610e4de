//! API benchmark (GraphQL issue, acceptance 6): `wrk` against the real `chainwatch serve` next to
//! `pgbench` running the same SQL on the same database, machine and run.
//!
//! 1. A fresh database gets the schema (`chainwatch migrate`) and a generated chain `evm:1`:
//!    `BENCH_API_BLOCKS` blocks (default 20,000) of 10 transactions (200,000), every 17th one
//!    failed, over 2,000 addresses (two address rows per transaction).
//! 2. `chainwatch serve` (release build) answers, with `evm:1` configured.
//! 3. For each case, `wrk` posts the GraphQL query with a random hash or address for
//!    `BENCH_API_SECONDS` (default 20) at `BENCH_API_CONNECTIONS` (default 16) connections, and
//!    `pgbench` runs the SQL the API runs for that query, with the same random choice, clients
//!    and duration. The two alternate in `BENCH_API_ROUNDS` (default 4) slices, so that the
//!    machine's slow and fast spells fall on both. `BENCH_API_LOOKUP_CONCURRENCY` sets the
//!    API's `[api] lookup_concurrency` (default: the API's default). Cases: `transaction(chain, hash)`, and an address page (`transactions(chain,
//!    address, first: 20)`).
//! 4. Prints requests/s and p50/p99 for both and the API/pgbench ratio (targets: ≥ 0.5× and
//!    p99 < 10 ms).
//!
//! pgbench runs the statement one request needs alone. Under load the API answers concurrent
//! `transaction(chain, hash)` lookups in batches (`Store::transaction`, `[api]
//! lookup_concurrency`): what it sends Postgres then is one statement for several lookups.
//!
//! `cargo bench -p chainwatch --bench api` (or `bash scripts/bench-api.sh`, which installs wrk).
//! Needs `DATABASE_URL` (a server where it may create a database) and `wrk`, `pgbench` on PATH.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use sqlx::{Connection as _, PgConnection};

const CHAIN: &str = "evm:1";
const TX_PER_BLOCK: u64 = 10;
const ADDRESSES: u64 = 2000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The SQL the store runs for `transaction(chain, hash)` (`Store::transaction`, read.rs), with
/// the hash made from pgbench's random `:i` like the wrk script makes it.
const TX_SQL: &str = "\\set i random(1, :n)
SELECT t.chain_id, t.hash, t.block_height, t.block_hash,
       (extract(epoch FROM b.block_time) * 1000)::bigint AS block_time_ms,
       t.tx_index, t.sender, t.recipient, t.nonce::text AS nonce, t.value::text AS value,
       t.fee::text AS fee, t.status, t.failure, t.extra,
       w.safe_height, w.finalized_height, w.height AS head_height
  FROM transactions t
  LEFT JOIN blocks b ON b.chain_id = t.chain_id AND b.height = t.block_height
  LEFT JOIN watermarks w ON w.chain_id = t.chain_id
 WHERE t.chain_id = 'evm:1' AND t.hash = '0x' || lpad(to_hex(:i::bigint), 64, '0');
";

/// The SQL of `Store::address_transactions` (read.rs) for a first page of 20, no filters (the
/// statement of `PageShape` with no filter).
const PAGE_SQL: &str = "\\set a random(0, :m)
SELECT t.chain_id, t.hash, t.block_height, t.block_hash,
       (extract(epoch FROM b.block_time) * 1000)::bigint AS block_time_ms,
       t.tx_index, t.sender, t.recipient, t.nonce::text AS nonce, t.value::text AS value,
       t.fee::text AS fee, t.status, t.failure, t.extra,
       w.safe_height, w.finalized_height, w.height AS head_height
  FROM address_transactions a
  JOIN transactions t ON t.chain_id = a.chain_id AND t.block_height = a.block_height
                     AND t.tx_index = a.tx_index
  LEFT JOIN blocks b ON b.chain_id = t.chain_id AND b.height = t.block_height
  LEFT JOIN watermarks w ON w.chain_id = t.chain_id
 WHERE a.chain_id = 'evm:1' AND a.address = '0x' || lpad(to_hex(:a::bigint), 40, '0')
 ORDER BY a.block_height DESC, a.tx_index DESC
 LIMIT 21;
";

/// wrk script: POSTs the GraphQL query with a random hash (`kind` "tx") or address ("page").
fn wrk_lua(kind: &str, n: u64) -> String {
    // JSON bodies with a `%s` for the value, in Lua long brackets (no escape processing).
    let (body, pick) = match kind {
        "tx" => (
            r#"{"query": "{ transaction(chain: \"evm:1\", hash: \"%s\") { hash status blockHeight finality confirmations fee failure { kind message } } }"}"#,
            format!("string.format('0x%064x', math.random(1, {n}))"),
        ),
        _ => (
            r#"{"query": "{ transactions(chain: \"evm:1\", address: \"%s\", first: 20) { edges { cursor node { hash status blockHeight finality fee } } pageInfo { hasNextPage endCursor } } }"}"#,
            format!(
                "string.format('0x%040x', math.random(0, {}))",
                ADDRESSES - 1
            ),
        ),
    };
    format!(
        "math.randomseed(os.time())
wrk.method = \"POST\"
wrk.headers[\"Content-Type\"] = \"application/json\"
request = function()
  return wrk.format(nil, nil, nil, string.format([[{body}]], {pick}))
end
"
    )
}

/// A duration printed by wrk (`812.00us`, `1.20ms`, `2.01s`) in milliseconds.
fn wrk_ms(s: &str) -> f64 {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let v: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => f64::NAN,
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

impl Figures {
    /// Slices of equal length as one run: the mean rate, the median slice's p50 and the worst
    /// slice's p99 (wrk reports percentiles, not latencies, so slices cannot be merged exactly;
    /// the worst p99 is the conservative choice).
    fn combine(slices: &[Self]) -> Self {
        let n = slices.len().max(1) as f64;
        let mut p50: Vec<f64> = slices.iter().map(|f| f.p50_ms).collect();
        p50.sort_by(f64::total_cmp);
        Self {
            rps: slices.iter().map(|f| f.rps).sum::<f64>() / n,
            p50_ms: p50.get(p50.len() / 2).copied().unwrap_or(f64::NAN),
            p99_ms: slices.iter().map(|f| f.p99_ms).fold(f64::NAN, f64::max),
            errors: slices.iter().map(|f| f.errors).sum(),
        }
    }
}

fn run_wrk(url: &str, lua: &Path, conns: u64, secs: u64) -> Figures {
    let out = Command::new("wrk")
        .args([
            "-t",
            "2",
            "-c",
            &conns.to_string(),
            "-d",
            &format!("{secs}s"),
            "--latency",
            "-s",
        ])
        .arg(lua)
        .arg(url)
        .output()
        .expect("cannot run wrk: apt-get install wrk (scripts/bench-api.sh does)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut f = Figures::default();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["Requests/sec:", v] => f.rps = v.parse().unwrap_or(f64::NAN),
            ["50%", v] => f.p50_ms = wrk_ms(v),
            ["99%", v] => f.p99_ms = wrk_ms(v),
            ["Non-2xx", "or", "3xx", "responses:", v] => f.errors += v.parse::<u64>().unwrap_or(0),
            _ if line.trim_start().starts_with("Socket errors:") => f.errors += 1,
            _ => {}
        }
    }
    f
}

fn run_pgbench(
    db_url: &str,
    script: &Path,
    vars: &[(&str, u64)],
    clients: u64,
    secs: u64,
    dir: &Path,
) -> Figures {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("pgbench_log") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let mut cmd = Command::new("pgbench");
    cmd.args([
        "-n",
        "-c",
        &clients.to_string(),
        "-j",
        "2",
        "-T",
        &secs.to_string(),
        "-M",
        "prepared",
        "-l",
    ])
    .arg(format!(
        "--log-prefix={}",
        dir.join("pgbench_log").display()
    ))
    .arg("-f")
    .arg(script);
    for (k, v) in vars {
        cmd.args(["-D", &format!("{k}={v}")]);
    }
    let out = cmd.arg(db_url).output().expect("cannot run pgbench");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "pgbench failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut f = Figures::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("tps = ") {
            f.rps = rest
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN);
        }
    }
    // Per-transaction logs: client, tx no, latency µs, script, epoch s, µs.
    let mut lat: Vec<f64> = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if !e.file_name().to_string_lossy().starts_with("pgbench_log") {
            continue;
        }
        for line in std::fs::read_to_string(e.path()).unwrap().lines() {
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.parse::<f64>().ok())
            {
                lat.push(us / 1000.0);
            }
        }
    }
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    f.p50_ms = pct(0.50);
    f.p99_ms = pct(0.99);
    f
}

fn main() {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let blocks = env_u64("BENCH_API_BLOCKS", 20_000);
    let secs = env_u64("BENCH_API_SECONDS", 20);
    let conns = env_u64("BENCH_API_CONNECTIONS", 16);
    // Each side runs `secs` in all, in `rounds` alternating slices.
    let rounds = env_u64("BENCH_API_ROUNDS", 4).clamp(1, secs.max(1));
    let slice = (secs / rounds).max(1);
    let secs = slice * rounds;
    let txs = blocks * TX_PER_BLOCK;
    let bin = env!("CARGO_BIN_EXE_chainwatch");
    let dir = std::env::temp_dir().join(format!("chainwatch-bench-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    let db = format!("chainwatch_bench_api_{}", std::process::id());
    let db_url = chainwatch_store::testing::url_for_database(&base, &db);
    rt.block_on(async {
        let mut c = PgConnection::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut c)
            .await
            .unwrap();
    });
    let migrated = Command::new(bin)
        .args(["migrate", "--database-url", &db_url])
        .status()
        .unwrap();
    assert!(migrated.success());
    let started = Instant::now();
    rt.block_on(async {
        let mut c = PgConnection::connect(&db_url).await.unwrap();
        for sql in [
            format!("INSERT INTO chains (chain_id, family, network) VALUES ('{CHAIN}', 'evm', '1')"),
            format!(
                "INSERT INTO blocks (chain_id, height, hash, parent_hash, block_time, tx_count)
                 SELECT '{CHAIN}', h, '0xb' || lpad(to_hex(h), 63, '0'), '0xb' || lpad(to_hex(h - 1), 63, '0'),
                        to_timestamp(1700000000 + h * 12), {TX_PER_BLOCK}
                   FROM generate_series(0, {blocks}) h"
            ),
            format!(
                "INSERT INTO transactions (chain_id, hash, block_height, block_hash, tx_index, sender, recipient,
                                           nonce, value, fee, status, failure, extra)
                 SELECT '{CHAIN}', '0x' || lpad(to_hex(i), 64, '0'), i / {TX_PER_BLOCK},
                        '0xb' || lpad(to_hex(i / {TX_PER_BLOCK}), 63, '0'), i % {TX_PER_BLOCK},
                        '0x' || lpad(to_hex(i % {ADDRESSES}), 40, '0'),
                        '0x' || lpad(to_hex((i * 7 + 1) % {ADDRESSES}), 40, '0'),
                        i / {ADDRESSES}, i, 21000000000000,
                        CASE WHEN i % 17 = 0 THEN 'FAILED' ELSE 'SUCCEEDED' END,
                        CASE WHEN i % 17 = 0 THEN jsonb_build_object('kind', 'REVERTED',
                             'message', 'bench: transfer amount exceeds balance', 'raw', '{{}}') END,
                        '{{\"gas_used\": 21000, \"type\": 2}}'::jsonb
                   FROM generate_series(1, {txs}) i"
            ),
            "INSERT INTO address_transactions (chain_id, address, block_height, tx_index)
             SELECT chain_id, sender, block_height, tx_index FROM transactions
             UNION SELECT chain_id, recipient, block_height, tx_index FROM transactions"
                .to_owned(),
            format!(
                "INSERT INTO watermarks (chain_id, seq, height, hash, block_time, safe_height, finalized_height)
                 VALUES ('{CHAIN}', 1, {blocks}, '0xb' || lpad(to_hex({blocks}), 63, '0'),
                         to_timestamp(1700000000 + {blocks} * 12), {blocks} - 10, {blocks} - 50)"
            ),
            // Settle the fresh rows before measuring, so that neither side pays for it in its
            // run: VACUUM sets the hint bits and visibility map the first reads would otherwise
            // write (the API runs first and paid for them), CHECKPOINT flushes the load's dirty
            // pages now rather than in the middle of a run.
            "VACUUM ANALYZE".to_owned(),
            "CHECKPOINT".to_owned(),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
        }
    });
    eprintln!(
        "generated {blocks} blocks, {txs} transactions in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // `serve` with the chain configured (no providers: nothing to trace here).
    let cfg = dir.join("chainwatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\nmax_connections = {conns}\n\n{}[chains.\"{CHAIN}\"]\n",
            std::env::var("BENCH_API_LOOKUP_CONCURRENCY")
                .map(|n| format!("[api]\nlookup_concurrency = {n}\n\n"))
                .unwrap_or_default()
        ),
    )
    .unwrap();
    let port = chainwatch_testkit::free_port();
    let mut serve = Command::new(bin)
        .args(["--config"])
        .arg(&cfg)
        .args([
            "serve",
            "--database-url",
            &db_url,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/graphql");
    let deadline = Instant::now() + Duration::from_secs(30);
    while rt
        .block_on(chainwatch_testkit::http_get(&format!(
            "http://127.0.0.1:{port}/readyz"
        )))
        .map(|r| r.0)
        .ok()
        != Some(200)
    {
        assert!(Instant::now() < deadline, "serve did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut rows = Vec::new();
    for (kind, name, sql, vars) in [
        ("tx", "transaction(chain, hash)", TX_SQL, vec![("n", txs)]),
        (
            "page",
            "transactions(address, first: 20)",
            PAGE_SQL,
            vec![("m", ADDRESSES - 1)],
        ),
    ] {
        let lua = dir.join(format!("{kind}.lua"));
        std::fs::write(&lua, wrk_lua(kind, txs)).unwrap();
        // Warm up both paths (caches, prepared statements).
        run_wrk(&url, &lua, conns, 3);
        let script = dir.join(format!("{kind}.sql"));
        std::fs::File::create(&script)
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        // Alternate the two in slices, so that a slow or fast spell of a shared machine
        // lands on both sides rather than on one.
        let (mut api, mut pg) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            api.push(run_wrk(&url, &lua, conns, slice));
            pg.push(run_pgbench(&db_url, &script, &vars, conns, slice, &dir));
        }
        let (api, pg) = (Figures::combine(&api), Figures::combine(&pg));
        rows.push((name, api, pg));
    }
    let _ = Command::new("kill").arg(serve.id().to_string()).status();
    let _ = serve.wait();
    rt.block_on(async {
        let mut c = PgConnection::connect(&base).await.unwrap();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {db} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
    });
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "\nAPI vs pgbench, {conns} connections/clients, {secs} s each in {rounds} alternating slices, {txs} transactions ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<34} {:>10} {:>8} {:>8} {:>6} | {:>10} {:>8} {:>8} | {:>6}",
        "query", "API req/s", "p50 ms", "p99 ms", "errors", "pg tps", "p50 ms", "p99 ms", "ratio"
    );
    for (name, api, pg) in &rows {
        println!(
            "{:<34} {:>10.0} {:>8.2} {:>8.2} {:>6} | {:>10.0} {:>8.2} {:>8.2} | {:>5.2}x",
            name,
            api.rps,
            api.p50_ms,
            api.p99_ms,
            api.errors,
            pg.rps,
            pg.p50_ms,
            pg.p99_ms,
            api.rps / pg.rps
        );
    }
    let _: PathBuf = dir;
}
