//! Chain health for operators: indexed height and block time, finality, each provider's last
//! head and when it last moved, the last heartbeat. Read by the lag metrics and by
//! `chainwatch status`.
//!
//! Contracts:
//! - [`Store::chain_health`] is a read and works on a read-only connection.
//! - Ages are measured against the database clock ([`ChainHealth::now_ms`]), as the API's
//!   `lagSeconds` is; heartbeat and provider times come from ingest's clock.
//! - A provider's last known height survives heartbeats in which it does not answer, so a chain
//!   whose providers are all down keeps a head to measure lag against, and that head's age grows.

use std::collections::BTreeMap;

use chainwatch_schema::{ChainId, ProviderHead, ProviderState};
use serde::{Deserialize, Serialize};
use sqlx::{Row, postgres::PgRow, types::Json};

use crate::{Store, StoreError};

/// One provider's progress as stored in `chain_status.provider_progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderProgress {
    /// The last head height the provider reported.
    pub height: u64,
    /// When that height was first reported (heartbeat time, ms since the Unix epoch).
    pub changed_at_ms: u64,
}

/// Provider label → progress.
pub type ProgressMap = BTreeMap<String, ProviderProgress>;

/// The progress map after a heartbeat at `at_ms` reporting `heads`: a provider whose height is
/// unchanged keeps its `changed_at_ms`, a new height starts now, a provider that did not answer
/// keeps its last known entry, and providers absent from the heartbeat (no longer configured)
/// are dropped.
pub fn merge_progress(old: &ProgressMap, heads: &[ProviderHead], at_ms: u64) -> ProgressMap {
    let mut out = ProgressMap::new();
    for h in heads {
        let prev = old.get(&h.provider).copied();
        let entry = match (h.height, prev) {
            (Some(height), Some(p)) if p.height == height => Some(p),
            (Some(height), _) => Some(ProviderProgress {
                height,
                changed_at_ms: at_ms,
            }),
            (None, prev) => prev,
        };
        if let Some(e) = entry {
            out.insert(h.provider.clone(), e);
        }
    }
    out
}

/// One provider of a chain, as of the last heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProviderHealth {
    /// The configured label (never the URL).
    pub provider: String,
    /// The head it reported in the last heartbeat; `None` if it did not answer.
    pub height: Option<u64>,
    /// The last head it ever reported (kept while it does not answer).
    pub last_known_height: Option<u64>,
    /// When its head last changed, ms since the Unix epoch; `None` if never seen.
    pub head_changed_at_ms: Option<u64>,
    /// Why it did not answer in the last heartbeat (`timeout`, `connect`, ...).
    pub error: Option<String>,
    /// The pool's health score in `[0, 1]`.
    pub health: f64,
    /// It answered the last heartbeat with a head.
    pub up: bool,
    /// Whether ingest follows it (the head quorum sets aside lagging and divergent providers).
    pub state: ProviderState,
}

/// A chain's indexing progress and provider health, with the database's clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainHealth {
    /// The chain.
    pub chain: ChainId,
    /// Height of the indexed head; `None` before the first block.
    pub indexed_height: Option<u64>,
    /// Block time of the indexed head, ms since the Unix epoch.
    pub indexed_block_time_ms: Option<u64>,
    /// Latest safe height the chain reported.
    pub safe_height: Option<u64>,
    /// Latest finalized height the chain reported.
    pub finalized_height: Option<u64>,
    /// When the last heartbeat was read (ingest clock), ms since the Unix epoch.
    pub last_heartbeat_ms: Option<u64>,
    /// Providers of the last heartbeat, in its order.
    pub providers: Vec<ProviderHealth>,
    /// The database's clock when this was read, ms since the Unix epoch.
    pub now_ms: u64,
}

fn age_seconds(now_ms: u64, then_ms: u64) -> f64 {
    (now_ms as f64 - then_ms as f64).max(0.0) / 1000.0
}

impl ChainHealth {
    /// The best provider head: the highest head reported in the last heartbeat, or, when no
    /// provider answered it, the highest last known head. Divergent providers (on another fork)
    /// do not count.
    pub fn head_height(&self) -> Option<u64> {
        let on_chain = || {
            self.providers
                .iter()
                .filter(|p| p.state != ProviderState::Divergent)
        };
        on_chain()
            .filter_map(|p| p.height)
            .max()
            .or_else(|| on_chain().filter_map(|p| p.last_known_height).max())
    }

    /// `best head − indexed height` (0 when indexed is ahead); `None` until both are known.
    pub fn lag_blocks(&self) -> Option<u64> {
        Some(self.head_height()?.saturating_sub(self.indexed_height?))
    }

    /// Seconds from the indexed head's block time to now (0 if the block is from the future);
    /// `None` before the first block.
    pub fn lag_seconds(&self) -> Option<f64> {
        self.indexed_block_time_ms
            .map(|t| age_seconds(self.now_ms, t))
    }

    /// Seconds since the last heartbeat; `None` before the first.
    pub fn heartbeat_age_seconds(&self) -> Option<f64> {
        self.last_heartbeat_ms.map(|t| age_seconds(self.now_ms, t))
    }

    /// Seconds since `provider`'s head last changed; `None` if it never reported one.
    pub fn head_age_seconds(&self, provider: &ProviderHealth) -> Option<f64> {
        provider
            .head_changed_at_ms
            .map(|t| age_seconds(self.now_ms, t))
    }

    /// `indexed − safe` (0 when safe is ahead); `None` until both are known.
    pub fn safe_lag_blocks(&self) -> Option<u64> {
        Some(self.indexed_height?.saturating_sub(self.safe_height?))
    }

    /// `indexed − finalized` (0 when finalized is ahead); `None` until both are known.
    pub fn finalized_lag_blocks(&self) -> Option<u64> {
        Some(self.indexed_height?.saturating_sub(self.finalized_height?))
    }
}

impl Store {
    /// The health of every chain that has data, ordered by chain id.
    pub async fn chain_health(&self) -> Result<Vec<ChainHealth>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.chain_id, w.height,
                    (extract(epoch FROM w.block_time) * 1000)::bigint AS block_time_ms,
                    w.safe_height, w.finalized_height, s.provider_heads, s.provider_progress,
                    (extract(epoch FROM s.last_heartbeat_at) * 1000)::bigint AS heartbeat_ms,
                    (extract(epoch FROM now()) * 1000)::bigint AS now_ms
             FROM chains c
             LEFT JOIN watermarks w ON w.chain_id = c.chain_id
             LEFT JOIN chain_status s ON s.chain_id = c.chain_id
             ORDER BY c.chain_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(chain_health).collect()
    }
}

fn opt_u64(row: &PgRow, col: &str) -> Result<Option<u64>, StoreError> {
    let v: Option<i64> = row.try_get(col)?;
    v.map(|v| {
        u64::try_from(v).map_err(|_| {
            StoreError::Query(sqlx::Error::Decode(format!("{col} {v} is negative").into()))
        })
    })
    .transpose()
}

fn chain_health(row: &PgRow) -> Result<ChainHealth, StoreError> {
    let chain: &str = row.try_get("chain_id")?;
    let chain = ChainId::new(chain).map_err(|e| {
        StoreError::Query(sqlx::Error::Decode(format!("stored chain id: {e}").into()))
    })?;
    let heads: Option<Json<Vec<ProviderHead>>> = row.try_get("provider_heads")?;
    let progress: Option<Json<ProgressMap>> = row.try_get("provider_progress")?;
    let progress = progress.map(|Json(p)| p).unwrap_or_default();
    let providers = heads
        .map(|Json(h)| h)
        .unwrap_or_default()
        .into_iter()
        .map(|h| {
            let p = progress.get(&h.provider);
            ProviderHealth {
                up: h.error.is_none() && h.height.is_some(),
                last_known_height: p.map(|p| p.height).or(h.height),
                head_changed_at_ms: p.map(|p| p.changed_at_ms),
                provider: h.provider,
                height: h.height,
                error: h.error,
                health: h.health,
                state: h.state,
            }
        })
        .collect();
    Ok(ChainHealth {
        chain,
        indexed_height: opt_u64(row, "height")?,
        indexed_block_time_ms: opt_u64(row, "block_time_ms")?,
        safe_height: opt_u64(row, "safe_height")?,
        finalized_height: opt_u64(row, "finalized_height")?,
        last_heartbeat_ms: opt_u64(row, "heartbeat_ms")?,
        providers,
        now_ms: opt_u64(row, "now_ms")?.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(p: &str, height: Option<u64>) -> ProviderHead {
        ProviderHead {
            provider: p.into(),
            height,
            error: height.is_none().then(|| "connect".into()),
            health: 1.0,
            state: Default::default(),
        }
    }

    #[test]
    fn progress_keeps_the_time_a_height_first_appeared() {
        let m = merge_progress(&ProgressMap::new(), &[head("a", Some(5))], 1000);
        assert_eq!(
            m["a"],
            ProviderProgress {
                height: 5,
                changed_at_ms: 1000
            }
        );
        // Same height later: the time stays; a down provider keeps its last height.
        let m = merge_progress(&m, &[head("a", Some(5)), head("b", None)], 2000);
        assert_eq!(m["a"].changed_at_ms, 1000);
        assert!(!m.contains_key("b"));
        let m = merge_progress(&m, &[head("a", None)], 3000);
        assert_eq!(
            m["a"],
            ProviderProgress {
                height: 5,
                changed_at_ms: 1000
            }
        );
        let m = merge_progress(&m, &[head("a", Some(6))], 4000);
        assert_eq!(
            m["a"],
            ProviderProgress {
                height: 6,
                changed_at_ms: 4000
            }
        );
        // A provider no longer in the heartbeat is forgotten.
        assert!(!merge_progress(&m, &[head("c", Some(1))], 5000).contains_key("a"));
    }

    #[test]
    fn lag_uses_the_last_known_head_when_every_provider_is_down() {
        let h = ChainHealth {
            chain: "evm:1".parse().unwrap(),
            indexed_height: Some(100),
            indexed_block_time_ms: Some(10_000),
            safe_height: Some(98),
            finalized_height: Some(90),
            last_heartbeat_ms: Some(14_000),
            providers: vec![ProviderHealth {
                provider: "a".into(),
                height: None,
                last_known_height: Some(104),
                head_changed_at_ms: Some(12_000),
                error: Some("connect".into()),
                health: 0.0,
                up: false,
                state: ProviderState::Following,
            }],
            now_ms: 16_000,
        };
        assert_eq!(h.head_height(), Some(104));
        // A divergent provider's head is not the chain's.
        let mut fork = h.providers[0].clone();
        fork.provider = "fork".into();
        fork.height = Some(500);
        fork.state = ProviderState::Divergent;
        let mut with_fork = h.clone();
        with_fork.providers.push(fork);
        assert_eq!(with_fork.head_height(), Some(104));
        assert_eq!(h.lag_blocks(), Some(4));
        assert_eq!(h.lag_seconds(), Some(6.0));
        assert_eq!(h.heartbeat_age_seconds(), Some(2.0));
        assert_eq!(h.head_age_seconds(&h.providers[0]), Some(4.0));
        assert_eq!(
            (h.safe_lag_blocks(), h.finalized_lag_blocks()),
            (Some(2), Some(10))
        );
    }
}
