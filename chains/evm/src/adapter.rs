//! `EvmAdapter`: the [`ChainAdapter`] of EVM chains over an [`EndpointPool`].

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use alloy_primitives::U64;
use async_trait::async_trait;
use chainwatch_chain_core::{
    ChainAdapter, ChainIdAnswer, EndpointPool, FetchError, FinalityModel, check_chain_ids,
    check_pool_serves, quorum,
};
use chainwatch_schema::{Block, BlockRef, ChainId, Finality, ProviderHead, SeenTx, TxTrace};
use futures::future::join_all;
use serde_json::json;
use tracing::info;

use crate::{
    TRACE_TARGET,
    abi::ErrorRegistry,
    normalize::normalize,
    reasons::{Probe, failed_txs},
    rpc::{RpcBlock, RpcHeader, hex, quantity},
};

/// Tunables of an [`EvmAdapter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmOptions {
    /// Deepest reorg ingest can undo (the [`FinalityModel::Probabilistic`] window). Default 64.
    pub max_reorg_depth: u64,
    /// Receipts fetched at once when the providers lack `eth_getBlockReceipts` and receipts are
    /// read one transaction at a time. Default 16; 0 counts as 1.
    pub receipt_concurrency: usize,
    /// A directory of JSON ABI files (ABI arrays, or Foundry/Hardhat artifacts with an `abi`
    /// array; searched recursively) whose `"type": "error"` entries decode custom errors, on
    /// top of the built-in table of common ones. Read once by [`EvmAdapter::connect`]. Default
    /// none.
    pub abi_dir: Option<PathBuf>,
    /// Where `safe` and `finalized` heights come from. Default [`FinalitySource::Tags`].
    pub finality: FinalitySource,
    /// Blocks below `latest` that count as safe when finality is by depth (or the node rejects
    /// the `safe` tag). Default 12.
    pub safe_depth: u64,
    /// Blocks below `latest` that count as finalized when finality is by depth (or the node
    /// rejects the `finalized` tag). Default 64.
    pub finalized_depth: u64,
}

/// Where an EVM chain's `safe` and `finalized` heights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FinalitySource {
    /// The node's `safe` and `finalized` block tags (Ethereum since the merge, OP-stack and
    /// Arbitrum chains, recent Polygon Bor). A node that rejects a tag falls back to the depth.
    #[default]
    Tags,
    /// A confirmations depth below `latest`, for chains whose nodes have no (trustworthy) tags.
    Depth,
}

impl std::str::FromStr for FinalitySource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tags" => Ok(Self::Tags),
            "depth" => Ok(Self::Depth),
            other => Err(format!("{other:?}: expected \"tags\" or \"depth\"")),
        }
    }
}

impl Default for EvmOptions {
    fn default() -> Self {
        Self {
            max_reorg_depth: 64,
            receipt_concurrency: 16,
            abi_dir: None,
            finality: FinalitySource::Tags,
            safe_depth: 12,
            finalized_depth: 64,
        }
    }
}

impl EvmOptions {
    /// Safe defaults for a chain id: Polygon PoS (137) has had reorgs of 157 blocks, so it gets a
    /// 256-block finalized depth and a 300-block reorg window; Polygon Amoy (80002) the same;
    /// every other chain the [`Default`].
    pub fn for_chain_id(chain_id: u64) -> Self {
        match chain_id {
            137 | 80002 => Self {
                max_reorg_depth: 300,
                safe_depth: 128,
                finalized_depth: 256,
                ..Self::default()
            },
            _ => Self::default(),
        }
    }
}

/// Follows one EVM chain through its providers' JSON-RPC.
///
/// Build it with [`EvmAdapter::connect`], which checks every provider's chain id. See the crate
/// docs for what each [`ChainAdapter`] method asks of the node.
#[derive(Debug)]
pub struct EvmAdapter {
    pub(crate) chain: ChainId,
    chain_id: u64,
    pub(crate) pool: Arc<EndpointPool>,
    pub(crate) opts: EvmOptions,
    /// Set once a provider answered "method not found" to `eth_getBlockReceipts`: receipts are
    /// then read per transaction.
    pub(crate) per_tx_receipts: AtomicBool,
    /// What is known of the `safe` and `finalized` tags (in that order).
    tags: [TagSupport; 2],
    /// Custom errors by selector: built-in plus [`EvmOptions::abi_dir`].
    pub(crate) errors: ErrorRegistry,
    /// Whether `debug_traceTransaction` with `callTracer` is refused.
    pub(crate) trace_support: Probe,
    /// Whether `eth_call` with a state override is refused.
    pub(crate) replay_support: Probe,
}

/// How long a block tag the node rejected is not asked for again. The pool counts a JSON-RPC
/// error against the provider's health, so asking on every poll would open its circuit.
const TAG_REPROBE: Duration = Duration::from_secs(60);

/// Whether the node accepts a block tag.
#[derive(Debug, Default)]
struct TagSupport {
    /// Set once the rejection was logged (once per adapter).
    logged: AtomicBool,
    /// While in the future, the tag is not asked for and its head is `None`.
    skip_until: Mutex<Option<Instant>>,
}

impl TagSupport {
    /// Whether the tag was rejected less than [`TAG_REPROBE`] ago.
    fn skipped(&self) -> bool {
        let until = *self.skip_until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    /// Records that the node rejected the tag; true the first time, so that it is logged once.
    fn rejected(&self) -> bool {
        *self.skip_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + TAG_REPROBE);
        !self.logged.swap(true, Ordering::Relaxed)
    }
}

impl EvmAdapter {
    /// Checks the configuration and the providers, then returns the adapter.
    ///
    /// - `chain` must be `evm:<decimal chain id>` (`evm:1`, `evm:31337`) and be the chain `pool`
    ///   serves; otherwise [`FetchError::Permanent`] `invalid_config`.
    /// - Every provider is asked `eth_chainId`. One reporting another chain fails the whole
    ///   adapter with [`FetchError::Permanent`] `chain_id_mismatch`, naming the provider by its
    ///   label (never its URL). A provider that cannot be reached is logged and tolerated as long
    ///   as another one verified; its chain id is then not checked. If no provider answers:
    ///   [`FetchError::Transient`] `unreachable`.
    /// - [`EvmOptions::abi_dir`], when set, is read first; an unreadable directory or a file
    ///   that is not a JSON ABI is [`FetchError::Permanent`] `invalid_config` naming the file.
    pub async fn connect(
        chain: ChainId,
        pool: Arc<EndpointPool>,
        opts: EvmOptions,
    ) -> Result<Self, FetchError> {
        let chain_id = evm_chain_id(&chain)?;
        let errors = match &opts.abi_dir {
            None => ErrorRegistry::built_in(),
            Some(dir) => ErrorRegistry::with_abi_dir(dir).map_err(|e| FetchError::Permanent {
                reason: "invalid_config",
                source: Box::new(e),
            })?,
        };
        check_pool_serves(&chain, &pool)?;
        let answers =
            join_all((0..pool.len()).map(|i| pool.request_on::<U64>(i, "eth_chainId", json!([]))))
                .await
                .into_iter()
                .map(|answer| match answer {
                    Ok(id) if id.to::<u64>() == chain_id => ChainIdAnswer::Matches,
                    Ok(id) => ChainIdAnswer::Other(id.to_string()),
                    Err(e) => ChainIdAnswer::Unknown(e.reason.into()),
                })
                .collect();
        check_chain_ids(&chain, &pool, "chain id", answers)?;
        info!(target: TRACE_TARGET, chain = %chain, known_errors = errors.len(), "custom errors loaded");
        Ok(Self {
            chain,
            chain_id,
            pool,
            opts,
            per_tx_receipts: AtomicBool::new(false),
            tags: Default::default(),
            errors,
            trace_support: Probe::default(),
            replay_support: Probe::default(),
        })
    }

    /// The EVM chain id (`1` for `evm:1`).
    pub fn evm_chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Whether receipts are read one transaction at a time because a provider lacks
    /// `eth_getBlockReceipts`.
    pub fn uses_per_transaction_receipts(&self) -> bool {
        self.per_tx_receipts.load(Ordering::Relaxed)
    }

    /// The latest block: with one provider, its `latest`; with several, the head a quorum of
    /// them agrees on ([`chainwatch_chain_core::quorum`]), after which providers on another fork
    /// or too far behind are set aside in the pool.
    async fn latest(&self) -> Result<Option<BlockRef>, FetchError> {
        if self.pool.len() < 2 {
            return self.header("latest", None).await;
        }
        let pool = &self.pool;
        let answers = join_all((0..pool.len()).map(|i| {
            pool.request_on::<Option<RpcHeader>>(
                i,
                "eth_getBlockByNumber",
                json!(["latest", false]),
            )
        }))
        .await;
        let heads: Vec<Option<BlockRef>> = answers
            .into_iter()
            .map(|a| {
                a.ok()
                    .flatten()
                    .map(|h| BlockRef::new(h.number.to::<u64>(), hex(h.hash)))
            })
            .collect();
        let labels: Vec<&str> = pool.labels().collect();
        let agreement = quorum::agree(
            &self.chain,
            &labels,
            &heads,
            &pool.config().quorum,
            |i, height| async move {
                pool.request_on::<Option<RpcHeader>>(
                    i,
                    "eth_getBlockByNumber",
                    json!([quantity(height), false]),
                )
                .await
                .ok()
                .flatten()
                .filter(|h| h.number.to::<u64>() == height)
                .map(|h| hex(h.hash))
            },
        )
        .await?;
        pool.set_states(&agreement.states);
        Ok(Some(agreement.head))
    }

    /// The block `depth` below `latest`, or `None` while the chain is shorter than that.
    async fn depth_head(&self, depth: u64) -> Result<Option<BlockRef>, FetchError> {
        let Some(latest) = self.latest().await? else {
            return Ok(None);
        };
        let Some(h) = latest.height.checked_sub(depth) else {
            return Ok(None);
        };
        if depth == 0 {
            return Ok(Some(latest));
        }
        self.header(&quantity(h), Some(h)).await
    }

    /// `eth_getBlockByNumber(tag_or_number, false)` as a ref, checking the number when a
    /// number was asked for.
    async fn header(&self, at: &str, height: Option<u64>) -> Result<Option<BlockRef>, FetchError> {
        let header: Option<RpcHeader> = self
            .pool
            .request("eth_getBlockByNumber", json!([at, false]))
            .await?;
        let Some(h) = header else { return Ok(None) };
        let number = h.number.to::<u64>();
        if let Some(height) = height {
            check_height(height, number)?;
        }
        Ok(Some(BlockRef::new(number, hex(h.hash))))
    }
}

#[async_trait]
impl ChainAdapter for EvmAdapter {
    fn chain(&self) -> &ChainId {
        &self.chain
    }

    fn finality_model(&self) -> FinalityModel {
        FinalityModel::Probabilistic {
            max_reorg_depth: self.opts.max_reorg_depth,
        }
    }

    /// `latest` for `Pending` and `Included` (agreed by the quorum when there are several
    /// providers). `Safe` / `Finalized`: the `safe` / `finalized`
    /// tag with [`FinalitySource::Tags`], else `latest` minus [`EvmOptions::safe_depth`] /
    /// [`EvmOptions::finalized_depth`]. A node that rejects a tag (pre-merge chains, some L2s)
    /// gets the depth instead, and the tag is not asked for again during the next minute.
    async fn head(&self, at: Finality) -> Result<Option<BlockRef>, FetchError> {
        let (tag, support, depth) = match at {
            Finality::Pending | Finality::Included => ("latest", None, 0),
            Finality::Safe => ("safe", Some(&self.tags[0]), self.opts.safe_depth),
            Finality::Finalized => ("finalized", Some(&self.tags[1]), self.opts.finalized_depth),
        };
        let Some(support) = support else {
            return self.latest().await;
        };
        if self.opts.finality == FinalitySource::Depth || support.skipped() {
            return self.depth_head(depth).await;
        }
        match self.header(tag, None).await {
            Err(e) if rejects_tag(&e) => {
                if support.rejected() {
                    info!(
                        target: TRACE_TARGET,
                        chain = %self.chain,
                        tag,
                        depth,
                        error = %chainwatch_chain_core::ErrorChain(&e),
                        "node rejects the block tag; using a confirmations depth instead"
                    );
                }
                self.depth_head(depth).await
            }
            result => result,
        }
    }

    /// The block with full transactions, then its receipts by block hash (so that both come
    /// from the same block even during a reorg), checked against each other and normalized.
    /// A reorg between the two reads gives [`FetchError::Transient`] `reorged_during_fetch`.
    /// Failed transactions then get their reason from a trace or a replay (best effort: a
    /// lookup that fails leaves the receipt-only failure and never fails the block).
    async fn block(&self, height: u64) -> Result<Option<Block>, FetchError> {
        let block: Option<RpcBlock> = self
            .pool
            .request("eth_getBlockByNumber", json!([quantity(height), true]))
            .await?;
        let Some(block) = block else { return Ok(None) };
        check_height(height, block.number.to::<u64>())?;
        let receipts = if block.transactions.is_empty() {
            Vec::new()
        } else {
            self.receipts(&block).await?
        };
        let failed = failed_txs(&block, &receipts);
        let mut block = normalize(&self.chain, block, receipts).map_err(|e| {
            if e.is_receipt_mismatch() {
                FetchError::Transient {
                    reason: "reorged_during_fetch",
                    source: Box::new(e),
                }
            } else {
                FetchError::Permanent {
                    reason: "invalid_block",
                    source: Box::new(e),
                }
            }
        })?;
        if !failed.is_empty() {
            self.explain_failures(&mut block, failed).await;
        }
        Ok(Some(block))
    }

    async fn block_ref(&self, height: u64) -> Result<Option<BlockRef>, FetchError> {
        self.header(&quantity(height), Some(height)).await
    }

    async fn provider_heads(&self) -> Vec<ProviderHead> {
        let answers = join_all(
            (0..self.pool.len())
                .map(|i| self.pool.request_on::<U64>(i, "eth_blockNumber", json!([]))),
        )
        .await;
        let health = self.pool.health();
        let states = self.pool.states();
        self.pool
            .labels()
            .zip(answers)
            .enumerate()
            .map(|(i, (label, answer))| ProviderHead {
                provider: label.to_owned(),
                height: answer.as_ref().ok().map(|h| h.to::<u64>()),
                error: answer.err().map(|e| e.reason.to_owned()),
                health: health.get(i).map_or(0.0, |h| h.score),
                state: states.get(i).copied().unwrap_or_default(),
            })
            .collect()
    }

    /// See [`EvmAdapter::trace_with`].
    async fn trace(&self, hash: &str) -> Result<TxTrace, FetchError> {
        Self::trace_with(self, hash, None).await
    }

    /// See [`EvmAdapter::trace_with`].
    async fn trace_with(&self, hash: &str, seen: Option<&SeenTx>) -> Result<TxTrace, FetchError> {
        Self::trace_with(self, hash, seen).await
    }
}

/// The EVM chain id in `evm:<id>`: canonical decimal digits only.
fn evm_chain_id(chain: &ChainId) -> Result<u64, FetchError> {
    let network = chain.network();
    let canonical = network.bytes().all(|b| b.is_ascii_digit())
        && (network == "0" || !network.starts_with('0'));
    match network.parse::<u64>() {
        Ok(id) if chain.family() == "evm" && canonical => Ok(id),
        _ => Err(FetchError::permanent(
            "invalid_config",
            format!(
                "chain `{chain}` is not an EVM chain id: expected evm:<decimal chain id>, \
                 e.g. evm:1 or evm:31337"
            ),
        )),
    }
}

/// A provider answering a block number with another block is not to be trusted for this call.
fn check_height(asked: u64, got: u64) -> Result<(), FetchError> {
    if asked == got {
        Ok(())
    } else {
        Err(FetchError::transient(
            "inconsistent_response",
            format!("asked for block {asked} and got block {got}"),
        ))
    }
}

/// Whether an error is the node's answer that it does not know a block tag: invalid params, or
/// a JSON-RPC error the pool could not fail over from.
fn rejects_tag(e: &FetchError) -> bool {
    matches!(
        e,
        FetchError::Permanent {
            reason: "invalid_params",
            ..
        } | FetchError::Transient {
            reason: "rpc_error",
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_must_be_evm_decimal() {
        let ok = |s: &str| evm_chain_id(&s.parse().unwrap());
        assert_eq!(ok("evm:1").unwrap(), 1);
        assert_eq!(ok("evm:31337").unwrap(), 31337);
        assert_eq!(ok("evm:0").unwrap(), 0);
        for bad in [
            "evm:mainnet",
            "evm:0x1",
            "evm:01",
            "evm:-1",
            "solana:1",
            "evm:99999999999999999999",
        ] {
            let e = ok(bad).unwrap_err();
            assert_eq!(e.reason(), "invalid_config", "{bad}");
            let msg = std::error::Error::source(&e).unwrap().to_string();
            assert!(
                msg.contains(bad) && msg.contains("evm:<decimal chain id>"),
                "{msg}"
            );
        }
    }

    #[test]
    fn defaults() {
        let o = EvmOptions::default();
        assert_eq!((o.max_reorg_depth, o.receipt_concurrency), (64, 16));
        assert_eq!(o.abi_dir, None);
    }
}
