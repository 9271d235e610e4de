//! `SolanaAdapter`: the [`ChainAdapter`] of Solana clusters over an [`EndpointPool`].

use std::{collections::BTreeSet, sync::Arc};

use async_trait::async_trait;
use chainwatch_chain_core::{
    ChainAdapter, ChainIdAnswer, EndpointPool, FetchError, FinalityModel, RpcError,
    check_chain_ids, quorum,
};
use chainwatch_schema::{Block, BlockRef, ChainId, Finality, ProviderHead};
use futures::future::join_all;
use serde_json::{json, value::RawValue};
use solana_commitment_config::{CommitmentConfig, CommitmentLevel};
use solana_rpc_client_types::config::{RpcBlockConfig, RpcContextConfig};
use solana_transaction_status_client_types::{
    TransactionDetails, UiConfirmedBlock, UiTransactionEncoding,
};
use tracing::debug;

use crate::{
    TRACE_TARGET,
    normalize::{block_from, decode_block},
    rpc,
};

/// The commitment level ingest follows as its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Commitment {
    /// The newest slot the node has processed (may still be abandoned).
    Processed,
    /// Optimistically confirmed by a supermajority (the default).
    #[default]
    Confirmed,
    /// Rooted: final.
    Finalized,
}

impl Commitment {
    fn level(self) -> CommitmentLevel {
        match self {
            Self::Processed => CommitmentLevel::Processed,
            Self::Confirmed => CommitmentLevel::Confirmed,
            Self::Finalized => CommitmentLevel::Finalized,
        }
    }
}

impl std::str::FromStr for Commitment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "processed" => Ok(Self::Processed),
            "confirmed" => Ok(Self::Confirmed),
            "finalized" => Ok(Self::Finalized),
            other => Err(format!(
                "{other:?}: expected \"processed\", \"confirmed\" or \"finalized\""
            )),
        }
    }
}

/// Tunables of a [`SolanaAdapter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolanaOptions {
    /// The commitment whose slot is the head ingest follows (`head(Included)`). Default
    /// [`Commitment::Confirmed`].
    pub follow: Commitment,
    /// Deepest fork ingest can undo, in produced blocks. Default 64.
    pub max_reorg_depth: u64,
    /// Slots asked for per `getBlocks` call when learning which slots were produced. Default 512.
    pub blocks_range: u64,
}

impl Default for SolanaOptions {
    fn default() -> Self {
        Self {
            follow: Commitment::Confirmed,
            max_reorg_depth: 64,
            blocks_range: 512,
        }
    }
}

/// Which slots of a range were produced, from one `getBlocks` answer: every slot in
/// `lo..=hi` is known, produced if in `slots`, skipped otherwise.
#[derive(Debug, Default)]
struct Produced {
    lo: u64,
    hi: u64,
    slots: BTreeSet<u64>,
    /// Whether the answer stopped short of the range asked for: `hi` was the confirmed tip.
    at_tip: bool,
}

/// Slots past a `getBlocks` answer that ended at the tip which are asked for with `getBlock`
/// directly: following the head, a `getBlocks` call per new slot would double the requests
/// (a skipped slot costs one "skipped" answer either way). Farther than this, ingest is behind
/// and ranges pay off again.
const TIP_WINDOW: u64 = 64;

/// Follows one Solana cluster through its providers' JSON-RPC.
///
/// Build it with [`SolanaAdapter::connect`], which checks every provider's genesis hash for the
/// known clusters. See the crate docs for what each [`ChainAdapter`] method asks of the node.
#[derive(Debug)]
pub struct SolanaAdapter {
    chain: ChainId,
    pub(crate) pool: Arc<EndpointPool>,
    opts: SolanaOptions,
    /// The last `getBlocks` answer. Behind an async mutex so that concurrent block fetches of
    /// one range share one `getBlocks` call.
    produced: tokio::sync::Mutex<Option<Produced>>,
}

impl SolanaAdapter {
    /// Checks the configuration and the providers, then returns the adapter.
    ///
    /// - `chain` must be `solana:<cluster>` and be the chain `pool` serves; otherwise
    ///   [`FetchError::Permanent`] `invalid_config`.
    /// - For `solana:mainnet` (also `mainnet-beta`), `solana:devnet` and `solana:testnet`, every
    ///   provider is asked `getGenesisHash`; one on another cluster fails the adapter with
    ///   [`FetchError::Permanent`] `chain_id_mismatch` naming the provider's label. A provider
    ///   that cannot be reached is logged and tolerated as long as another one verified; if none
    ///   answers, [`FetchError::Transient`] `unreachable`. Other cluster names (a local test
    ///   validator) are not checked.
    pub async fn connect(
        chain: ChainId,
        pool: Arc<EndpointPool>,
        opts: SolanaOptions,
    ) -> Result<Self, FetchError> {
        if chain.family() != "solana" {
            return Err(FetchError::permanent(
                "invalid_config",
                format!(
                    "chain `{chain}` is not a Solana chain: expected solana:<cluster>, e.g. \
                     solana:mainnet"
                ),
            ));
        }
        if pool.chain() != &chain {
            return Err(FetchError::permanent(
                "invalid_config",
                format!(
                    "the provider pool serves {} but the adapter was asked to follow {chain}",
                    pool.chain()
                ),
            ));
        }
        if opts.blocks_range == 0 {
            return Err(FetchError::permanent(
                "invalid_config",
                format!("chain {chain}: blocks_range must be at least 1"),
            ));
        }
        if let Some(genesis) = rpc::genesis_hash(chain.network()) {
            verify_genesis(&chain, &pool, genesis).await?;
        }
        Ok(Self {
            chain,
            pool,
            opts,
            produced: tokio::sync::Mutex::new(None),
        })
    }

    /// The adapter's options.
    pub fn options(&self) -> &SolanaOptions {
        &self.opts
    }

    /// The provider pool (health, states).
    pub fn pool(&self) -> &EndpointPool {
        &self.pool
    }

    /// Whether slot `slot` was produced, per `getBlocks` at `confirmed`: `Some(false)` for a
    /// skipped slot, `None` when the node does not know yet (beyond its confirmed slots).
    async fn produced(&self, slot: u64) -> Result<Option<bool>, FetchError> {
        let mut cache = self.produced.lock().await;
        if let Some(p) = cache.as_ref() {
            if (p.lo..=p.hi).contains(&slot) {
                return Ok(Some(p.slots.contains(&slot)));
            }
            if p.at_tip && slot > p.hi && slot - p.hi <= TIP_WINDOW {
                return Ok(None);
            }
        }
        let end = slot.saturating_add(self.opts.blocks_range - 1);
        let slots: Vec<u64> = self
            .pool
            .request(
                "getBlocks",
                json!([
                    slot,
                    end,
                    RpcContextConfig {
                        commitment: Some(CommitmentConfig::confirmed()),
                        min_context_slot: None,
                    }
                ]),
            )
            .await?;
        let Some(&hi) = slots.iter().max() else {
            return Ok(None);
        };
        let p = Produced {
            lo: slot,
            hi,
            slots: slots.into_iter().filter(|s| *s >= slot).collect(),
            at_tip: hi < end,
        };
        let produced = p.slots.contains(&slot);
        *cache = Some(p);
        Ok(Some(produced))
    }

    /// `getBlock(slot)` with `config`: `Ok(None)` for a skipped slot, [`FetchError::NotFound`]
    /// while the block is not available yet.
    async fn get_block(
        &self,
        slot: u64,
        details: TransactionDetails,
    ) -> Result<Option<Box<RawValue>>, FetchError> {
        let produced = self.produced(slot).await?;
        if produced == Some(false) {
            return Ok(None);
        }
        let config = RpcBlockConfig {
            encoding: Some(UiTransactionEncoding::Json),
            transaction_details: Some(details),
            rewards: Some(false),
            commitment: Some(CommitmentConfig::confirmed()),
            max_supported_transaction_version: Some(0),
        };
        // Raw: the block is decoded here, so that an error variant newer than the SDK types
        // does not make the whole answer "undecodable" to the pool (a retry storm).
        let answer: Result<Option<Box<RawValue>>, FetchError> =
            self.pool.request("getBlock", json!([slot, config])).await;
        match answer {
            Ok(Some(b)) => Ok(Some(b)),
            Ok(None) => Err(FetchError::NotFound),
            Err(e) if e.reason() == "slot_skipped" => {
                if produced == Some(true) {
                    // getBlocks listed it: this provider lacks it (pruned ledger); another may
                    // have it.
                    Err(FetchError::Transient {
                        reason: "slot_missing",
                        source: Box::new(e),
                    })
                } else {
                    debug!(target: TRACE_TARGET, chain = %self.chain, slot, "skipped slot");
                    Ok(None)
                }
            }
            Err(e) if rpc_code(&e).is_some_and(rpc::not_available_yet) => Err(FetchError::NotFound),
            Err(e) => Err(e),
        }
    }

    /// The head at `commitment`: with one provider, its head; with several, the head a quorum
    /// of them agrees on ([`chainwatch_chain_core::quorum`]: compared at the lowest head slot
    /// by block hash), after which providers on another fork or too many slots behind are set
    /// aside in the pool.
    async fn head_at(&self, commitment: Commitment) -> Result<Option<BlockRef>, FetchError> {
        if self.pool.len() < 2 {
            return self.single_head(commitment).await;
        }
        let pool = &self.pool;
        let heads = join_all((0..pool.len()).map(|i| self.provider_head(i, commitment))).await;
        let labels: Vec<&str> = pool.labels().collect();
        let agreement = quorum::agree(
            &self.chain,
            &labels,
            &heads,
            &pool.config().quorum,
            |i, slot| self.hash_on(i, slot, commitment),
        )
        .await?;
        pool.set_states(&agreement.states);
        Ok(Some(agreement.head))
    }

    /// Provider `i`'s head at `commitment`, `None` if it does not answer.
    async fn provider_head(&self, i: usize, commitment: Commitment) -> Option<BlockRef> {
        if commitment == Commitment::Processed {
            let r: rpc::Contextual<rpc::LatestBlockhash> = self
                .pool
                .request_on(
                    i,
                    "getLatestBlockhash",
                    json!([CommitmentConfig::processed()]),
                )
                .await
                .ok()?;
            return Some(BlockRef::new(r.context.slot, r.value.blockhash));
        }
        let slot: u64 = self
            .pool
            .request_on(
                i,
                "getSlot",
                json!([CommitmentConfig {
                    commitment: commitment.level()
                }]),
            )
            .await
            .ok()?;
        let hash = self.hash_on(i, slot, commitment).await?;
        Some(BlockRef::new(slot, hash))
    }

    /// Provider `i`'s block hash at `slot` (`getBlock` without transactions), `None` if it
    /// cannot tell.
    async fn hash_on(&self, i: usize, slot: u64, commitment: Commitment) -> Option<String> {
        let commitment = match commitment {
            Commitment::Finalized => CommitmentConfig::finalized(),
            Commitment::Processed | Commitment::Confirmed => CommitmentConfig::confirmed(),
        };
        let config = RpcBlockConfig {
            encoding: None,
            transaction_details: Some(TransactionDetails::None),
            rewards: Some(false),
            commitment: Some(commitment),
            max_supported_transaction_version: Some(0),
        };
        self.pool
            .request_on::<Option<UiConfirmedBlock>>(i, "getBlock", json!([slot, config]))
            .await
            .ok()
            .flatten()
            .map(|b| b.blockhash)
    }

    /// The head at `commitment` through the pool (one provider).
    async fn single_head(&self, commitment: Commitment) -> Result<Option<BlockRef>, FetchError> {
        if commitment == Commitment::Processed {
            // getBlock does not serve `processed`: the processed bank's slot and hash come in
            // one answer from getLatestBlockhash.
            let r: rpc::Contextual<rpc::LatestBlockhash> = self
                .pool
                .request("getLatestBlockhash", json!([CommitmentConfig::processed()]))
                .await?;
            return Ok(Some(BlockRef::new(r.context.slot, r.value.blockhash)));
        }
        let slot: u64 = self
            .pool
            .request(
                "getSlot",
                json!([CommitmentConfig {
                    commitment: commitment.level()
                }]),
            )
            .await?;
        let config = RpcBlockConfig {
            encoding: None,
            transaction_details: Some(TransactionDetails::None),
            rewards: Some(false),
            commitment: Some(CommitmentConfig {
                commitment: commitment.level(),
            }),
            max_supported_transaction_version: Some(0),
        };
        let b: Option<UiConfirmedBlock> =
            match self.pool.request("getBlock", json!([slot, config])).await {
                Err(e) if rpc_code(&e).is_some_and(rpc::not_available_yet) => {
                    return Err(FetchError::NotFound);
                }
                r => r?,
            };
        Ok(b.map(|b| BlockRef::new(slot, b.blockhash)))
    }
}

/// The JSON-RPC error code behind a pool error, if a provider answered with one.
fn rpc_code(e: &FetchError) -> Option<i64> {
    match e {
        FetchError::Transient { source, .. } | FetchError::Permanent { source, .. } => {
            source.downcast_ref::<RpcError>().and_then(|r| r.code)
        }
        _ => None,
    }
}

async fn verify_genesis(
    chain: &ChainId,
    pool: &EndpointPool,
    genesis: &str,
) -> Result<(), FetchError> {
    let answers = join_all(
        (0..pool.len()).map(|i| pool.request_on::<String>(i, "getGenesisHash", json!([]))),
    )
    .await
    .into_iter()
    .map(|answer| match answer {
        Ok(h) if h == genesis => ChainIdAnswer::Matches,
        Ok(h) => ChainIdAnswer::Other(format!("{h} (not {genesis})")),
        Err(e) => ChainIdAnswer::Unknown(e.reason.into()),
    })
    .collect();
    check_chain_ids(chain, pool, "genesis hash", answers).map(|_| ())
}

#[async_trait]
impl ChainAdapter for SolanaAdapter {
    fn chain(&self) -> &ChainId {
        &self.chain
    }

    fn finality_model(&self) -> FinalityModel {
        FinalityModel::Probabilistic {
            max_reorg_depth: self.opts.max_reorg_depth,
        }
    }

    /// `Pending`/`Included`: the [`SolanaOptions::follow`] commitment; `Safe`: `confirmed`;
    /// `Finalized`: `finalized`. `getSlot` at that commitment, then the slot's block hash from
    /// `getBlock` without transactions; `processed` from `getLatestBlockhash` (slot and hash
    /// of the processed bank), because `getBlock` does not serve that commitment.
    async fn head(&self, at: Finality) -> Result<Option<BlockRef>, FetchError> {
        let c = match at {
            Finality::Pending | Finality::Included => self.opts.follow,
            Finality::Safe => Commitment::Confirmed,
            Finality::Finalized => Commitment::Finalized,
        };
        self.head_at(c).await
    }

    /// `getBlock(slot)` at `confirmed` with full transactions in the `json` encoding,
    /// `maxSupportedTransactionVersion: 0` and no rewards, after `getBlocks` said the slot was
    /// produced (a skipped slot is `Ok(None)` without asking `getBlock`). A slot the node calls
    /// skipped (-32007/-32009) is `Ok(None)` too, unless `getBlocks` listed it (then a
    /// transient `slot_missing`: that provider lacks it); a block not available yet is
    /// [`FetchError::NotFound`].
    async fn block(&self, height: u64) -> Result<Option<Block>, FetchError> {
        let Some(raw) = self.get_block(height, TransactionDetails::Full).await? else {
            return Ok(None);
        };
        decode_block(raw.get().as_bytes())
            .and_then(|(b, unknown)| block_from(&self.chain, height, b, &unknown))
            .map(Some)
            .map_err(|e| FetchError::Permanent {
                reason: "invalid_block",
                source: Box::new(e),
            })
    }

    /// `getBlock(slot)` without transactions.
    async fn block_ref(&self, height: u64) -> Result<Option<BlockRef>, FetchError> {
        let Some(raw) = self.get_block(height, TransactionDetails::None).await? else {
            return Ok(None);
        };
        let header: rpc::Header =
            serde_json::from_str(raw.get()).map_err(|e| FetchError::Permanent {
                reason: "invalid_block",
                source: Box::new(e),
            })?;
        Ok(Some(BlockRef::new(height, header.blockhash)))
    }

    fn has_gaps(&self) -> bool {
        true
    }

    /// `getSlot` at the followed commitment on each provider, with the pool's health score.
    async fn provider_heads(&self) -> Vec<ProviderHead> {
        let commitment = CommitmentConfig {
            commitment: self.opts.follow.level(),
        };
        let answers = join_all((0..self.pool.len()).map(|i| {
            self.pool
                .request_on::<u64>(i, "getSlot", json!([commitment]))
        }))
        .await;
        let health = self.pool.health();
        let states = self.pool.states();
        self.pool
            .labels()
            .zip(answers)
            .enumerate()
            .map(|(i, (label, answer))| ProviderHead {
                provider: label.to_owned(),
                height: answer.as_ref().ok().copied(),
                error: answer.err().map(|e| e.reason.to_owned()),
                health: health.get(i).map_or(0.0, |h| h.score),
                state: states.get(i).copied().unwrap_or_default(),
            })
            .collect()
    }

    /// `getSignatureStatuses([hash], {searchTransactionHistory: true})`:
    /// - unknown → `NOT_FOUND`, explaining that a transaction whose recent blockhash is more
    ///   than 150 blocks old can never land (a signature alone does not tell its blockhash, so
    ///   `EXPIRED` is not reported);
    /// - landed without error → `INCLUDED`, with the finality of its commitment (processed →
    ///   `INCLUDED`, confirmed → `SAFE`, finalized → `FINALIZED`) and its block;
    /// - landed with an error → `FAILED`, with the failure classified from `getTransaction`
    ///   (logs and programs; from `confirmed` on), else from the error alone.
    ///
    /// Solana has no public mempool: a transaction not yet processed is not visible, so
    /// `PENDING` is never reported. A malformed signature is a permanent `invalid_hash`.
    async fn trace(&self, hash: &str) -> Result<chainwatch_schema::TxTrace, FetchError> {
        crate::trace::trace(self, hash).await
    }
}
