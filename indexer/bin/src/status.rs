//! `chainwatch status`: each chain's indexing status from the database, checked against its lag
//! SLO. Exit code 3 when a chain breaks it (see `STATUS_EXIT_CODES` in `cli.rs`).

use std::{collections::BTreeSet, fmt::Write as _};

use chainwatch_schema::ChainId;
use chainwatch_store::{Store, health::ChainHealth, read::ReorgRecord};
use serde::Serialize;

use crate::{
    cli::{StatusArgs, StatusFormat},
    config::{Config, ConfigError, Slo},
    database_url,
};

/// At least one chain breaks its lag SLO: exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("lag SLO broken: {0}")]
pub(crate) struct SloBreach(String);

/// One provider in the report.
#[derive(Debug, Serialize)]
struct ProviderReport {
    label: String,
    height: Option<u64>,
    last_known_height: Option<u64>,
    health: f64,
    up: bool,
    /// FOLLOWING, LAGGING or DIVERGENT (the head quorum's verdict).
    state: &'static str,
    error: Option<String>,
    head_age_seconds: Option<f64>,
}

/// The last reorg in the report.
#[derive(Debug, Serialize)]
struct ReorgReport {
    fork_height: u64,
    depth: u64,
    old_head_height: u64,
    new_head_height: u64,
    reverted_tx_count: u32,
    detected_at_ms: u64,
    age_seconds: f64,
}

/// One chain in the report.
#[derive(Debug, Serialize)]
struct ChainReport {
    chain: String,
    ok: bool,
    breaches: Vec<String>,
    slo: Slo,
    indexed_height: Option<u64>,
    indexed_block_time_ms: Option<u64>,
    head_height: Option<u64>,
    lag_blocks: Option<u64>,
    lag_seconds: Option<f64>,
    safe_height: Option<u64>,
    finalized_height: Option<u64>,
    last_heartbeat_ms: Option<u64>,
    heartbeat_age_seconds: Option<f64>,
    providers: Vec<ProviderReport>,
    last_reorg: Option<ReorgReport>,
}

impl ChainReport {
    fn new(chain: &ChainId, h: Option<&ChainHealth>, reorg: Option<ReorgRecord>, slo: Slo) -> Self {
        let mut breaches = Vec::new();
        let lag_blocks = h.and_then(ChainHealth::lag_blocks);
        let lag_seconds = h.and_then(ChainHealth::lag_seconds);
        if h.and_then(|h| h.indexed_height).is_none() {
            breaches.push("nothing indexed yet".to_owned());
        }
        if let Some(l) = lag_blocks
            && l > slo.max_lag_blocks
        {
            breaches.push(format!("lag {l} blocks > max {}", slo.max_lag_blocks));
        }
        if let Some(l) = lag_seconds
            && l > slo.max_lag_seconds as f64
        {
            breaches.push(format!("lag {l:.0} s > max {} s", slo.max_lag_seconds));
        }
        let now_ms = h.map_or(0, |h| h.now_ms);
        Self {
            chain: chain.to_string(),
            ok: breaches.is_empty(),
            breaches,
            slo,
            indexed_height: h.and_then(|h| h.indexed_height),
            indexed_block_time_ms: h.and_then(|h| h.indexed_block_time_ms),
            head_height: h.and_then(ChainHealth::head_height),
            lag_blocks,
            lag_seconds,
            safe_height: h.and_then(|h| h.safe_height),
            finalized_height: h.and_then(|h| h.finalized_height),
            last_heartbeat_ms: h.and_then(|h| h.last_heartbeat_ms),
            heartbeat_age_seconds: h.and_then(ChainHealth::heartbeat_age_seconds),
            providers: h.map_or_else(Vec::new, |h| {
                h.providers
                    .iter()
                    .map(|p| ProviderReport {
                        label: p.provider.clone(),
                        height: p.height,
                        last_known_height: p.last_known_height,
                        health: p.health,
                        up: p.up,
                        state: p.state.as_str(),
                        error: p.error.clone(),
                        head_age_seconds: h.head_age_seconds(p),
                    })
                    .collect()
            }),
            last_reorg: reorg.map(|r| ReorgReport {
                fork_height: r.fork_height,
                depth: r.depth,
                old_head_height: r.old_head_height,
                new_head_height: r.new_head_height,
                reverted_tx_count: r.reverted_tx_count,
                detected_at_ms: r.detected_at_ms,
                age_seconds: now_ms.saturating_sub(r.detected_at_ms) as f64 / 1000.0,
            }),
        }
    }
}

/// The whole report (`--format json`).
#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    chains: Vec<ChainReport>,
}

/// Prints the status of every chain (or of `--chain`); fails with [`SloBreach`] when one breaks
/// its SLO.
pub(crate) async fn run(cfg: Config, args: StatusArgs) -> anyhow::Result<()> {
    let mut wanted = BTreeSet::new();
    for c in &args.chains {
        let id: ChainId = c
            .parse()
            .map_err(|e| ConfigError(format!("--chain {c}: {e}")))?;
        wanted.insert(id);
    }
    let url = database_url(args.database.database_url.as_deref(), &cfg)?;
    let store = Store::connect_read_only(&url, 2).await?;
    let health = store.chain_health().await?;
    if wanted.is_empty() {
        wanted.extend(health.iter().map(|h| h.chain.clone()));
        for key in cfg.chains.keys() {
            let id: ChainId = key
                .parse()
                .map_err(|e| ConfigError(format!("chains.\"{key}\": {e}")))?;
            wanted.insert(id);
        }
    }
    let mut chains = Vec::new();
    for id in &wanted {
        let h = health.iter().find(|h| &h.chain == id);
        let reorg = match h {
            Some(_) => store.reorgs(id, None, 1).await?.items.into_iter().next(),
            None => None,
        };
        let slo = cfg.slo(id.as_str(), args.max_lag_blocks, args.max_lag_seconds);
        chains.push(ChainReport::new(id, h, reorg, slo));
    }
    let report = Report {
        ok: chains.iter().all(|c| c.ok),
        chains,
    };
    match args.format {
        StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        StatusFormat::Table => print!("{}", table(&report)),
    }
    let broken: Vec<String> = report
        .chains
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{} ({})", c.chain, c.breaches.join(", ")))
        .collect();
    if broken.is_empty() {
        Ok(())
    } else {
        Err(SloBreach(broken.join("; ")).into())
    }
}

fn num(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// `12.3 s`, `4.5 min`, `2.0 h`, or `-`.
fn age(secs: Option<f64>) -> String {
    match secs {
        None => "-".to_owned(),
        Some(s) if s < 120.0 => format!("{s:.1} s"),
        Some(s) if s < 7200.0 => format!("{:.1} min", s / 60.0),
        Some(s) => format!("{:.1} h", s / 3600.0),
    }
}

/// The report as one table per chain.
fn table(report: &Report) -> String {
    let mut out = String::new();
    if report.chains.is_empty() {
        out.push_str("no chains in the database or the config file\n");
    }
    for (i, c) in report.chains.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let verdict = if c.ok {
            "OK".to_owned()
        } else {
            format!("SLO BROKEN: {}", c.breaches.join(", "))
        };
        let _ = writeln!(out, "chain {}  {verdict}", c.chain);
        let behind = |h: Option<u64>| match (c.indexed_height, h) {
            (Some(i), Some(h)) => format!("  ({} behind indexed)", i.saturating_sub(h)),
            _ => String::new(),
        };
        let rows = [
            ("indexed", num(c.indexed_height)),
            ("head", num(c.head_height)),
            (
                "lag",
                format!(
                    "{} blocks, {}  (max {} blocks, {} s)",
                    num(c.lag_blocks),
                    age(c.lag_seconds),
                    c.slo.max_lag_blocks,
                    c.slo.max_lag_seconds
                ),
            ),
            (
                "safe",
                format!("{}{}", num(c.safe_height), behind(c.safe_height)),
            ),
            (
                "finalized",
                format!("{}{}", num(c.finalized_height), behind(c.finalized_height)),
            ),
            ("heartbeat", format!("{} ago", age(c.heartbeat_age_seconds))),
            (
                "last reorg",
                c.last_reorg.as_ref().map_or_else(
                    || "none".to_owned(),
                    |r| {
                        format!(
                            "fork at {}, depth {}, {} txs reverted, {} ago",
                            r.fork_height,
                            r.depth,
                            r.reverted_tx_count,
                            age(Some(r.age_seconds))
                        )
                    },
                ),
            ),
        ];
        for (k, v) in rows {
            let _ = writeln!(out, "  {k:<11} {v}");
        }
        let width = c
            .providers
            .iter()
            .map(|p| p.label.len())
            .max()
            .unwrap_or(0)
            .max("PROVIDER".len());
        let _ = writeln!(
            out,
            "  {:<width$}  {:>10}  {:>6}  {:<4}  {:<9}  {:<9}  ERROR",
            "PROVIDER", "HEIGHT", "HEALTH", "UP", "QUORUM", "HEAD AGE"
        );
        if c.providers.is_empty() {
            let _ = writeln!(out, "  (no heartbeat yet)");
        }
        for p in &c.providers {
            let _ = writeln!(
                out,
                "  {:<width$}  {:>10}  {:>6.2}  {:<4}  {:<9}  {:<9}  {}",
                p.label,
                num(p.height.or(p.last_known_height)),
                p.health,
                if p.up { "up" } else { "down" },
                p.state.to_ascii_lowercase(),
                age(p.head_age_seconds),
                p.error.as_deref().unwrap_or("-"),
            );
        }
    }
    out
}
