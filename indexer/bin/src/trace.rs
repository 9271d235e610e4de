//! `chainwatch trace CHAIN HASH`: one transaction explained, through the same path as GraphQL
//! `traceTransaction` ([`chainwatch_api::trace::trace_transaction`]): the index first, then the
//! chain's providers with what the watch list remembers; a transaction that is not final goes on
//! the watch list. Exit codes: `TRACE_EXIT_CODES` in `cli.rs`.

use std::fmt::Write as _;

use chainwatch_api::{
    rfc3339_ms,
    trace::{TraceError, TraceOutcome, trace_transaction},
};
use chainwatch_chain_core::ErrorChain;
use chainwatch_schema::{ChainId, TxTrace};
use chainwatch_store::{Store, read::TimelineEntry};
use serde_json::json;

use crate::{
    cli::{TraceArgs, TraceFormat},
    config::{Config, ConfigError},
    database_url, registry,
};

/// Runs `chainwatch trace` and prints the report on stdout.
pub(crate) async fn run(mut cfg: Config, args: TraceArgs) -> anyhow::Result<()> {
    let chain: ChainId = args.chain.parse().map_err(|e| {
        ConfigError(format!(
            "invalid chain {:?}: {e} (expected family:network, e.g. evm:1)",
            args.chain
        ))
    })?;
    for spec in &args.providers {
        cfg.add_chain_flag(spec)?;
    }
    let url = database_url(args.database.database_url.as_deref(), &cfg)?;
    let no_providers = || {
        ConfigError(format!(
            "chain {chain} has no providers: pass --chain {chain}=URL or configure [chains.\"{chain}\"] in the config file"
        ))
    };
    if cfg
        .chains
        .get(chain.as_str())
        .is_none_or(|s| s.providers.is_empty())
    {
        return Err(no_providers().into());
    }
    let chains = cfg.chains(registry::FAMILIES)?;
    let Some((id, section)) = chains.into_iter().find(|(id, _)| *id == chain) else {
        return Err(no_providers().into());
    };
    let store = Store::connect(&url, 2).await?;
    let adapter = registry::connect(&id, section, cfg.pool_config())
        .await
        .map_err(|e| anyhow::anyhow!("chain {id}: {}", ErrorChain(&e)))?;
    let out = match trace_transaction(&store, Some(&store), adapter.as_ref(), &args.hash).await {
        Ok(out) => out,
        Err(TraceError::BadHash(m)) => return Err(ConfigError(m).into()),
        Err(e) => return Err(e.into()),
    };
    let timeline = store.timeline(&out.chain, &out.hash).await?;
    let text = match args.format {
        TraceFormat::Text => report(&out, &timeline),
        TraceFormat::Json => {
            let doc = json!({
                "chain": out.chain,
                "hash": out.hash,
                "watched": out.watched,
                "trace": out.trace,
                "transaction": out.indexed,
                "timeline": timeline,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
    };
    print!("{text}");
    Ok(())
}

/// The human report.
fn report(out: &TraceOutcome, timeline: &[TimelineEntry]) -> String {
    let t: &TxTrace = &out.trace;
    let mut s = String::new();
    let _ = writeln!(s, "transaction {} on {}", out.hash, out.chain);
    let status = match t.reason {
        Some(r) => format!("{} ({})", t.status.as_str(), r.as_str()),
        None => t.status.as_str().to_owned(),
    };
    let _ = writeln!(s, "  status        {status}");
    let _ = writeln!(s, "  message       {}", t.message);
    if let Some(b) = &t.block {
        let _ = writeln!(s, "  block         {} ({})", b.height, b.hash);
    }
    if let Some(f) = t.finality {
        let _ = writeln!(s, "  finality      {}", f.as_str());
    }
    if let Some(f) = &t.failure {
        let code = f
            .code
            .as_deref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  failure       {}{code}: {}",
            f.kind.as_str(),
            f.message
        );
        if let Some(l) = &f.location {
            let _ = writeln!(s, "  failed at     {l}");
        }
    }
    if let Some(tx) = &out.indexed {
        let _ = writeln!(s, "  indexed as    {}", tx.status.as_str());
        if let Some(c) = tx.confirmations {
            let _ = writeln!(s, "  confirmations {c}");
        }
        if let Some(fee) = &tx.fee {
            let _ = writeln!(s, "  fee           {fee}");
        }
    }
    let f = &t.facts;
    let mut facts: Vec<(&str, String)> = Vec::new();
    let mut add = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            facts.push((k, v));
        }
    };
    add("sender", f.sender.clone());
    add("nonce", f.nonce.map(|n| n.to_string()));
    add("account nonce", f.account_nonce.map(|n| n.to_string()));
    add(
        "missing nonces",
        (!f.missing_nonces.is_empty()).then(|| {
            f.missing_nonces
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    add("to", f.to.clone());
    add("value", f.value.clone());
    add("max fee", f.max_fee.clone());
    add("base fee", f.base_fee.clone());
    add(
        "replaced by",
        f.replaced_by.as_ref().map(|h| match f.replacement {
            Some(k) => format!(
                "{h} ({})",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
            None => h.clone(),
        }),
    );
    add("as of block", f.head_height.map(|h| h.to_string()));
    if !facts.is_empty() {
        let _ = writeln!(s, "  facts");
        for (k, v) in facts {
            let _ = writeln!(s, "    {k:<15} {v}");
        }
    }
    let _ = writeln!(
        s,
        "  watched       {}",
        if out.watched {
            "yes: `chainwatch dev` re-traces it every few seconds until final"
        } else {
            "no"
        }
    );
    if !timeline.is_empty() {
        let _ = writeln!(s, "  timeline");
        for e in timeline {
            let block = e
                .block_height
                .map(|h| format!(" block {h}"))
                .unwrap_or_default();
            let by = e
                .detail
                .as_ref()
                .and_then(|d| d["replaced_by"].as_str())
                .map(|h| format!(" {h}"))
                .unwrap_or_default();
            let _ = writeln!(s, "    {} {}{by}{block}", rfc3339_ms(e.at_ms), e.kind);
        }
    }
    s
}
