//! The `ChainAdapter` trait.

use async_trait::async_trait;
use chainwatch_schema::{Block, BlockRef, ChainId, Finality, ProviderHead, SeenTx, TxTrace};

use crate::FetchError;

/// How a chain reaches finality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalityModel {
    /// Blocks can be replaced until they are finalized. Ingest keeps this many recent block refs
    /// to find fork points; a reorg deeper than this is reported as a permanent error.
    Probabilistic {
        /// Deepest reorg ingest can undo.
        max_reorg_depth: u64,
    },
    /// A block is final once it exists (Aptos, Sui checkpoints).
    Instant,
}

impl FinalityModel {
    /// How many recent block refs ingest must remember.
    pub fn window(self) -> u64 {
        match self {
            Self::Probabilistic { max_reorg_depth } => max_reorg_depth,
            Self::Instant => 1,
        }
    }
}

/// One chain, seen through its providers.
///
/// Contract for implementers:
/// - Every method is a read; calling it again is always safe. The adapter retries and fails over
///   inside its [`crate::EndpointPool`] and returns [`FetchError::Transient`] only when the pool
///   gave up on this attempt; the caller retries later with backoff.
/// - `Ok(None)` means "no such block at this height" (not produced yet, or a skipped slot); it
///   is not an error.
/// - A returned [`Block`] is internally consistent: its transactions and receipts all belong to
///   the block hash in its [`BlockRef`], even if the chain reorganizes during the fetch.
#[async_trait]
pub trait ChainAdapter: Send + Sync + std::fmt::Debug + 'static {
    /// The chain this adapter follows.
    fn chain(&self) -> &ChainId;

    /// How the chain reaches finality.
    fn finality_model(&self) -> FinalityModel;

    /// The head at a finality level. `Included` is the latest block. `Ok(None)` when the chain
    /// has no block at that level yet (or does not report the level).
    async fn head(&self, at: Finality) -> Result<Option<BlockRef>, FetchError>;

    /// The block at `height` on the canonical chain, with its transactions and outcomes.
    async fn block(&self, height: u64) -> Result<Option<Block>, FetchError>;

    /// Just the ref (height, hash) of the block at `height`; cheap, for reorg walk-back.
    async fn block_ref(&self, height: u64) -> Result<Option<BlockRef>, FetchError>;

    /// Whether heights may be skipped (Solana slots). When false, a missing block below the
    /// reported head means a lagging provider and ingest waits for it instead of skipping.
    fn has_gaps(&self) -> bool {
        false
    }

    /// Each provider's latest head and health, named by label. Never fails: a provider that does
    /// not answer is reported with its error reason.
    async fn provider_heads(&self) -> Vec<ProviderHead>;

    /// Asks the providers what they know of transaction `hash`, which may not be indexed: in the
    /// mempool and why it waits, in a block, replaced, dropped, expired or unknown. The caller
    /// checks the index first and answers `INDEXED` itself; an adapter never reads the index.
    ///
    /// A malformed hash is a [`FetchError::Permanent`] with reason `invalid_hash` and a message
    /// naming the expected form. Families without live tracing keep this default.
    async fn trace(&self, hash: &str) -> Result<TxTrace, FetchError> {
        let _ = hash;
        Err(FetchError::permanent(
            "unsupported",
            format!("tracing transactions is not supported for {}", self.chain()),
        ))
    }

    /// [`ChainAdapter::trace`] with what was seen of the transaction before (by the watch list),
    /// so that a transaction no provider knows any more can be told `REPLACED` or `DROPPED`
    /// instead of `NOT_FOUND`. `seen` must belong to `hash` on this chain. The default ignores
    /// `seen`.
    async fn trace_with(&self, hash: &str, seen: Option<&SeenTx>) -> Result<TxTrace, FetchError> {
        let _ = seen;
        self.trace(hash).await
    }
}
