//! `AptosAdapter`: the [`ChainAdapter`] of Aptos chains over an [`EndpointPool`] (REST).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use chainwatch_chain_core::{
    ChainAdapter, ChainIdAnswer, EndpointPool, FetchError, FinalityModel, check_chain_ids,
    check_pool_serves,
};
use chainwatch_schema::{Block, BlockRef, ChainId, Finality, ProviderHead, TxTrace};
use futures::future::join_all;

use crate::{
    DecodeError,
    ids::canonical_hash,
    normalize::{Completeness, normalize_block},
    rest::{LedgerInfo, RestBlock, RestTxn},
};

/// Route names: the `method` label of the pool's metrics (never a path with values).
pub(crate) mod route {
    pub(crate) const LEDGER: &str = "GET /v1";
    pub(crate) const BLOCK_BY_HEIGHT: &str = "GET /v1/blocks/by_height";
    pub(crate) const BLOCK_BY_VERSION: &str = "GET /v1/blocks/by_version";
    pub(crate) const TRANSACTIONS: &str = "GET /v1/transactions";
    pub(crate) const TXN_BY_HASH: &str = "GET /v1/transactions/by_hash";
    pub(crate) const ACCOUNT: &str = "GET /v1/accounts";
    pub(crate) const ACCOUNT_TXNS: &str = "GET /v1/accounts/transactions";
}

/// The parent hash of block 0.
const GENESIS_PARENT: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";

/// How many recent block hashes are remembered to give the next block its parent hash.
const RECENT_HASHES: usize = 4096;

/// Tunables of an [`AptosAdapter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptosOptions {
    /// `limit` of each `/v1/transactions` page read to complete a truncated block. Default 100
    /// (the node's default page size); 0 counts as 1.
    pub page_limit: u16,
}

impl Default for AptosOptions {
    fn default() -> Self {
        Self { page_limit: 100 }
    }
}

/// The numeric chain id of `aptos:<network>`: a decimal id 1–255, or `mainnet` (1) or
/// `testnet` (2).
pub fn aptos_chain_id(chain: &ChainId) -> Result<u8, FetchError> {
    if chain.family() != "aptos" {
        return Err(FetchError::permanent(
            "invalid_config",
            format!("chain {chain} is not an Aptos chain (expected aptos:<chain id>)"),
        ));
    }
    match chain.network() {
        "mainnet" => Ok(1),
        "testnet" => Ok(2),
        n => n.parse::<u8>().ok().filter(|id| *id > 0).ok_or_else(|| {
            FetchError::permanent(
                "invalid_config",
                format!(
                    "chain {chain}: the network must be the Aptos chain id (1 to 255, e.g. \
                     aptos:1 for mainnet), `mainnet` or `testnet`, got `{n}`"
                ),
            )
        }),
    }
}

/// Follows one Aptos chain through its providers' REST API.
///
/// Build it with [`AptosAdapter::connect`], which checks every provider's chain id. See the
/// crate docs for what each [`ChainAdapter`] method asks of the node.
#[derive(Debug)]
pub struct AptosAdapter {
    pub(crate) chain: ChainId,
    chain_id: u8,
    pub(crate) pool: Arc<EndpointPool>,
    opts: AptosOptions,
    /// Hashes of recently fetched blocks by height, for the next block's parent hash. Aptos
    /// blocks are final once committed, so a remembered hash never goes stale.
    recent: Mutex<BTreeMap<u64, String>>,
}

impl AptosAdapter {
    /// Checks the configuration and the providers, then returns the adapter.
    ///
    /// - `chain` must be `aptos:<chain id>` ([`aptos_chain_id`]) and be the chain `pool` serves;
    ///   otherwise [`FetchError::Permanent`] `invalid_config`.
    /// - Every provider's ledger info (`GET /v1`) is read. One reporting another `chain_id`
    ///   fails the whole adapter with [`FetchError::Permanent`] `chain_id_mismatch`, naming the
    ///   provider by its label (never its URL). A provider that cannot be reached is logged and
    ///   tolerated as long as another one verified. If none answers: [`FetchError::Transient`]
    ///   `unreachable`.
    pub async fn connect(
        chain: ChainId,
        pool: Arc<EndpointPool>,
        opts: AptosOptions,
    ) -> Result<Self, FetchError> {
        let chain_id = aptos_chain_id(&chain)?;
        check_pool_serves(&chain, &pool)?;
        let answers =
            join_all((0..pool.len()).map(|i| pool.get_json_on::<LedgerInfo>(i, route::LEDGER, "")))
                .await
                .into_iter()
                .map(|answer| match answer {
                    Ok(Some(li)) if li.chain_id == chain_id => ChainIdAnswer::Matches,
                    Ok(Some(li)) => ChainIdAnswer::Other(li.chain_id.to_string()),
                    Ok(None) => ChainIdAnswer::Unknown("no ledger info at the URL".into()),
                    Err(e) => ChainIdAnswer::Unknown(e.reason.into()),
                })
                .collect();
        check_chain_ids(&chain, &pool, "chain id", answers)?;
        Ok(Self {
            chain,
            chain_id,
            pool,
            opts,
            recent: Mutex::new(BTreeMap::new()),
        })
    }

    /// The Aptos chain id (`1` for `aptos:1`).
    pub fn aptos_chain_id(&self) -> u8 {
        self.chain_id
    }

    /// The ledger info of some provider, its chain id checked.
    pub(crate) async fn ledger(&self) -> Result<Option<LedgerInfo>, FetchError> {
        let li: Option<LedgerInfo> = self.pool.get_json(route::LEDGER, "").await?;
        if let Some(li) = &li
            && li.chain_id != self.chain_id
        {
            return Err(FetchError::permanent(
                "chain_id_mismatch",
                format!(
                    "a provider of {} now reports chain id {}",
                    self.chain, li.chain_id
                ),
            ));
        }
        Ok(li)
    }

    fn remember(&self, r: &BlockRef) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.insert(r.height, r.hash.clone());
        while recent.len() > RECENT_HASHES {
            recent.pop_first();
        }
    }

    fn remembered(&self, height: u64) -> Option<String> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.get(&height).cloned()
    }

    /// The hash of block `height - 1`.
    async fn parent_hash(&self, height: u64) -> Result<Option<String>, FetchError> {
        let Some(parent) = height.checked_sub(1) else {
            return Ok(Some(GENESIS_PARENT.to_owned()));
        };
        if let Some(h) = self.remembered(parent) {
            return Ok(Some(h));
        }
        Ok(self.block_ref(parent).await?.map(|r| r.hash))
    }

    /// Reads the rest of a truncated block from `/v1/transactions` pages.
    async fn complete(&self, block: &mut RestBlock) -> Result<(), FetchError> {
        let expected = block.last_version - block.first_version + 1;
        let txns = block.transactions.get_or_insert_with(Vec::new);
        while (txns.len() as u64) < expected {
            let start = block.first_version + txns.len() as u64;
            let limit = (expected - txns.len() as u64).min(u64::from(self.opts.page_limit.max(1)));
            let page: Vec<RestTxn> = self
                .pool
                .get_json(
                    route::TRANSACTIONS,
                    &format!("/transactions?start={start}&limit={limit}"),
                )
                .await?
                .unwrap_or_default();
            if page.is_empty() {
                return Err(FetchError::transient(
                    "incomplete_block",
                    format!(
                        "block {} of {}: no transactions from version {start} (the block spans \
                         {}..={})",
                        block.block_height, self.chain, block.first_version, block.last_version
                    ),
                ));
            }
            txns.extend(
                page.into_iter()
                    .take((expected - txns.len() as u64) as usize),
            );
        }
        Ok(())
    }
}

/// A [`DecodeError`] of a fetched block as a fetch error: an incomplete or out-of-order list is
/// transient (a provider race), anything else permanent (a block chainwatch cannot represent).
fn block_error(chain: &ChainId, e: DecodeError) -> FetchError {
    let reason = match &e {
        DecodeError::IncompleteBlock { .. } => "incomplete_block",
        DecodeError::Invalid {
            field: "version", ..
        } => "incomplete_block",
        _ => "invalid_block",
    };
    let msg = format!("{chain}: {}", chainwatch_chain_core::ErrorChain(&e));
    if reason == "incomplete_block" {
        FetchError::transient(reason, msg)
    } else {
        FetchError::permanent(reason, msg)
    }
}

/// A block's `block_height` must be the height asked for.
fn check_height(chain: &ChainId, asked: u64, got: u64) -> Result<(), FetchError> {
    if asked == got {
        Ok(())
    } else {
        Err(FetchError::transient(
            "wrong_height",
            format!("{chain}: asked for block {asked}, a provider answered block {got}"),
        ))
    }
}

#[async_trait]
impl ChainAdapter for AptosAdapter {
    fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// Committed Aptos blocks are final (BFT).
    fn finality_model(&self) -> FinalityModel {
        FinalityModel::Instant
    }

    /// The ledger info's latest block, at every finality level: committed means finalized. Its
    /// hash comes from the recently fetched blocks when known (a committed block's hash never
    /// changes), else from `GET /v1/blocks/by_height/{h}`.
    async fn head(&self, _at: Finality) -> Result<Option<BlockRef>, FetchError> {
        let Some(li) = self.ledger().await? else {
            return Ok(None);
        };
        if let Some(hash) = self.remembered(li.block_height) {
            return Ok(Some(BlockRef::new(li.block_height, hash)));
        }
        self.block_ref(li.block_height).await
    }

    async fn block(&self, height: u64) -> Result<Option<Block>, FetchError> {
        let path = format!("/blocks/by_height/{height}?with_transactions=true");
        let (block, parent) = futures::join!(
            self.pool
                .get_json::<RestBlock>(route::BLOCK_BY_HEIGHT, &path),
            self.parent_hash(height)
        );
        let Some(mut block) = block? else {
            return Ok(None);
        };
        check_height(&self.chain, height, block.block_height)?;
        let Some(parent) = parent? else {
            return Err(FetchError::transient(
                "parent_missing",
                format!(
                    "{}: block {height} exists but its parent {} was not found",
                    self.chain,
                    height.saturating_sub(1)
                ),
            ));
        };
        if block.last_version < block.first_version {
            return Err(block_error(
                &self.chain,
                DecodeError::Invalid {
                    item: format!("block {height}"),
                    field: "last_version",
                    message: "last_version is below first_version".into(),
                },
            ));
        }
        self.complete(&mut block).await?;
        let block = normalize_block(&self.chain, block, parent, Completeness::Required)
            .map_err(|e| block_error(&self.chain, e))?;
        self.remember(&block.block_ref);
        Ok(Some(block))
    }

    async fn block_ref(&self, height: u64) -> Result<Option<BlockRef>, FetchError> {
        let b: Option<RestBlock> = self
            .pool
            .get_json(
                route::BLOCK_BY_HEIGHT,
                &format!("/blocks/by_height/{height}?with_transactions=false"),
            )
            .await?;
        let Some(b) = b else { return Ok(None) };
        check_height(&self.chain, height, b.block_height)?;
        let hash = canonical_hash(&b.block_hash).map_err(|m| {
            FetchError::permanent(
                "invalid_block",
                format!("{}: block {height}: {m}", self.chain),
            )
        })?;
        let r = BlockRef::new(height, hash);
        self.remember(&r);
        Ok(Some(r))
    }

    async fn provider_heads(&self) -> Vec<ProviderHead> {
        let answers = join_all(
            (0..self.pool.len()).map(|i| self.pool.get_json_on::<LedgerInfo>(i, route::LEDGER, "")),
        )
        .await;
        let health = self.pool.health();
        let states = self.pool.states();
        self.pool
            .labels()
            .zip(answers)
            .zip(health)
            .zip(states)
            .map(|(((label, answer), h), state)| {
                let (height, error) = match answer {
                    Ok(Some(li)) if li.chain_id == self.chain_id => (Some(li.block_height), None),
                    Ok(Some(_)) => (None, Some("chain_id_mismatch".to_owned())),
                    Ok(None) => (None, Some("not_found".to_owned())),
                    Err(e) => (None, Some(e.reason.to_owned())),
                };
                ProviderHead {
                    provider: label.to_owned(),
                    height,
                    error,
                    health: h.score,
                    state,
                }
            })
            .collect()
    }

    async fn trace(&self, hash: &str) -> Result<TxTrace, FetchError> {
        crate::trace::trace(self, hash).await
    }
}
