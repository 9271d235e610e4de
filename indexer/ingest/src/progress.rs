//! Progress reporting for long backfills: a structured log line at a fixed interval.

use std::time::{Duration, Instant};

use tracing::info;

use crate::TRACE_TARGET;

/// Tracks backfill progress and logs rate and ETA every `every`.
#[derive(Debug)]
pub(crate) struct Progress {
    started: Instant,
    last_log: Instant,
    every: Duration,
    start_height: u64,
    blocks: u64,
    txs: u64,
}

impl Progress {
    pub(crate) fn new(start_height: u64, every: Duration) -> Self {
        let now = Instant::now();
        Self {
            started: now,
            last_log: now,
            every,
            start_height,
            blocks: 0,
            txs: 0,
        }
    }

    /// Records one published block and logs if the interval passed.
    pub(crate) fn block(&mut self, chain: &str, height: u64, txs: usize, target: u64) {
        self.blocks += 1;
        self.txs += txs as u64;
        if self.last_log.elapsed() < self.every {
            return;
        }
        self.last_log = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.blocks as f64 / secs;
        let remaining = target.saturating_sub(height);
        let eta_s = if rate > 0.0 {
            remaining as f64 / rate
        } else {
            f64::INFINITY
        };
        let total = target.saturating_sub(self.start_height).max(1);
        let pct = 100.0 * (height.saturating_sub(self.start_height)) as f64 / total as f64;
        info!(
            target: TRACE_TARGET,
            chain,
            height,
            target_height = target,
            remaining_blocks = remaining,
            percent = format!("{pct:.1}"),
            blocks_per_s = format!("{rate:.1}"),
            txs_per_s = format!("{:.0}", self.txs as f64 / secs),
            eta_s = format!("{eta_s:.0}"),
            "backfill progress"
        );
    }
}
