//! Lag metrics computed from the database every few seconds in every process that has it
//! (`dev`, `consume`, `serve`): they keep moving when nothing is being indexed, which is when
//! they matter.

use std::time::Duration;

use chainwatch_schema::ProviderState;
use chainwatch_store::{Store, health::ChainHealth};
use tokio_util::sync::CancellationToken;
use tracing::warn;

const TRACE_TARGET: &str = "chainwatch::bin::lag";

/// How often the lag gauges are recomputed.
pub(crate) const REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// Spawns the task that sets the `chainwatch_chain_*` and `chainwatch_provider_*` gauges from
/// `store` every [`REFRESH_INTERVAL`] until `cancel` fires. A failed read is logged and retried
/// at the next tick; the gauges keep their last values meanwhile.
pub(crate) fn spawn(store: Store, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            match store.chain_health().await {
                Ok(chains) => chains.iter().for_each(record),
                Err(e) => {
                    warn!(target: TRACE_TARGET, error = %e, "cannot read chain health for the lag metrics")
                }
            }
        }
    })
}

/// Sets every gauge of one chain.
fn record(h: &ChainHealth) {
    let chain = h.chain.to_string();
    let set = |name: &'static str, v: Option<f64>| {
        if let Some(v) = v {
            metrics::gauge!(name, "chain" => chain.clone()).set(v);
        }
    };
    let f = |v: Option<u64>| v.map(|v| v as f64);
    set("chainwatch_chain_indexed_height", f(h.indexed_height));
    set("chainwatch_chain_head_height", f(h.head_height()));
    set("chainwatch_chain_safe_height", f(h.safe_height));
    set("chainwatch_chain_finalized_height", f(h.finalized_height));
    set("chainwatch_chain_lag_blocks", f(h.lag_blocks()));
    set("chainwatch_chain_lag_seconds", h.lag_seconds());
    set(
        "chainwatch_chain_heartbeat_age_seconds",
        h.heartbeat_age_seconds(),
    );
    for (level, lag) in [
        ("safe", h.safe_lag_blocks()),
        ("finalized", h.finalized_lag_blocks()),
    ] {
        if let Some(lag) = lag {
            metrics::gauge!("chainwatch_chain_finality_lag_blocks", "chain" => chain.clone(), "level" => level)
                .set(lag as f64);
        }
    }
    for p in &h.providers {
        let labels = [("chain", chain.clone()), ("provider", p.provider.clone())];
        metrics::gauge!("chainwatch_provider_up", &labels).set(if p.up { 1.0 } else { 0.0 });
        let flag = |s: ProviderState| if p.state == s { 1.0 } else { 0.0 };
        metrics::gauge!("chainwatch_provider_divergent", &labels)
            .set(flag(ProviderState::Divergent));
        metrics::gauge!("chainwatch_provider_lagging", &labels).set(flag(ProviderState::Lagging));
        if let Some(height) = p.last_known_height {
            metrics::gauge!("chainwatch_provider_head_height", &labels).set(height as f64);
        }
        if let Some(age) = h.head_age_seconds(p) {
            metrics::gauge!("chainwatch_provider_head_age_seconds", &labels).set(age);
        }
    }
}
