//! The stream of events ingest publishes for one chain.

use serde::{Deserialize, Serialize};

use crate::{Block, BlockRef};

/// One step in a chain's event stream. Within a chain, events are totally ordered by the
/// envelope's `seq`; consumers apply them in that order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainEvent {
    /// A block joined the canonical chain. Its parent is the previous applied block.
    Apply {
        /// The block, with its transactions.
        block: Block,
    },
    /// A reorg: every applied block above `to` left the canonical chain. `to` is the fork point
    /// (the last block both chains share) and stays. New `Apply` events follow.
    Revert {
        /// The fork point, kept.
        to: BlockRef,
        /// The head being abandoned (the last applied block before the reorg).
        from: BlockRef,
        /// The head of the new chain when the reorg was seen.
        new_head: BlockRef,
    },
    /// The chain's safe and finalized heads moved.
    Finality {
        /// Latest safe block, if the chain reports one.
        safe: Option<BlockRef>,
        /// Latest finalized block, if the chain reports one.
        finalized: Option<BlockRef>,
    },
    /// Liveness: what each provider reports as its head, sent even when no block arrives.
    Heartbeat {
        /// When the heads were read, milliseconds since the Unix epoch.
        at_ms: u64,
        /// One entry per configured provider.
        heads: Vec<ProviderHead>,
    },
}

impl ChainEvent {
    /// A short name for logs and metrics (`apply`, `revert`, `finality`, `heartbeat`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Apply { .. } => "apply",
            Self::Revert { .. } => "revert",
            Self::Finality { .. } => "finality",
            Self::Heartbeat { .. } => "heartbeat",
        }
    }
}

/// A provider's view of the head, named by its label (never its URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderHead {
    /// The provider's configured label.
    pub provider: String,
    /// Its latest head height, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Why it did not answer (a short reason such as `timeout`), if it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its health score in `[0, 1]`.
    pub health: f64,
    /// Whether chainwatch follows it (omitted when it does): a provider on another fork or too
    /// far behind the others is not used.
    #[serde(default, skip_serializing_if = "ProviderState::is_following")]
    pub state: ProviderState,
}

/// Whether a chain's provider is followed, as decided by the head quorum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProviderState {
    /// Agrees with the quorum (or has not been outvoted yet): requests may go to it.
    #[default]
    Following,
    /// On the quorum's chain but more blocks behind the best agreeing provider than allowed:
    /// not used until it catches up.
    Lagging,
    /// Reports another block hash at a height the quorum agrees on: on another fork (or serving
    /// another chain); not used until it agrees again.
    Divergent,
}

impl ProviderState {
    /// The name used in GraphQL, SQL and the CLI (`DIVERGENT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Following => "FOLLOWING",
            Self::Lagging => "LAGGING",
            Self::Divergent => "DIVERGENT",
        }
    }

    /// Whether requests may go to the provider.
    pub fn is_following(&self) -> bool {
        *self == Self::Following
    }
}
