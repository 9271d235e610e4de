//! The GraphQL schema: root query and output types.

use std::collections::BTreeMap;

use async_graphql::{Context, Enum, Json, Object, SimpleObject};
use chainwatch_schema::{self as model, ChainId};
use chainwatch_store::read::{ChainStatusRecord, TimelineEntry as TimelineRecord, TxRecord};
use tracing::error;

use crate::{
    ApiContext, TRACE_TARGET,
    error::{ApiError, GqlResult},
    pages::{self, Block, ReorgConnection, TransactionConnection},
    time::rfc3339_ms,
    validate::{normalize_hash, parse_chain, shown},
};

/// The resolvers' shared state.
pub(crate) fn api<'a>(ctx: &Context<'a>) -> Result<&'a ApiContext, ApiError> {
    ctx.data::<ApiContext>().map_err(|_| {
        ApiError::Internal(chainwatch_store::StoreError::OutOfRange(
            "api context missing from the schema".into(),
        ))
    })
}

/// Parses `raw` (argument `argument`) as a chain id that is configured or has data.
pub(crate) async fn known_chain(
    api: &ApiContext,
    argument: &'static str,
    raw: &str,
) -> Result<ChainId, ApiError> {
    let id = parse_chain(argument, raw)?;
    if api.cfg.known_chains.contains(&id) || api.store.known_chain(&id).await? {
        return Ok(id);
    }
    let mut known = api.cfg.known_chains.clone();
    known.extend(api.store.chain_ids().await?);
    known.sort();
    known.dedup();
    let list = if known.is_empty() {
        "none".to_owned()
    } else {
        known
            .iter()
            .map(ChainId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(ApiError::bad_request(
        argument,
        format!("unknown chain {}; known chains: {list}", shown(raw)),
    ))
}

/// Resolves a nullable field to `null` and reports `res`'s error at the field's path and
/// location, as the GraphQL spec asks. (async-graphql 7 drops an erroring field from `data`, and
/// `data` itself when no sibling field succeeded: async-graphql#1449.)
fn null_on_error<T>(ctx: &Context<'_>, res: Result<Option<T>, ApiError>) -> Option<T> {
    match res {
        Ok(v) => v,
        Err(e) => {
            let err = e.into_graphql().into_server_error(ctx.item.pos);
            ctx.add_error(ctx.set_error_path(err));
            None
        }
    }
}

/// The root query.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query;

/// The root query: transactions by hash and by address, blocks, reorgs and chains' indexing
/// status.
#[Object]
impl Query {
    /// A transaction by chain and hash, or null when chainwatch has not indexed it. A transaction
    /// that a reorg removed (and no later block included) has status REORGED_OUT and no block.
    async fn transaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Chain id, family:network (e.g. evm:1).")] chain: String,
        #[graphql(
            desc = "Transaction hash: 0x and 64 hex digits on EVM (any case), the chain's own form elsewhere."
        )]
        hash: String,
    ) -> Option<Transaction> {
        let res = async {
            let api = api(ctx)?;
            let chain = known_chain(api, "chain", &chain).await?;
            let hash = normalize_hash(Some(chain.family()), &hash)?;
            Ok(api.store.transaction(&chain, &hash).await?.map(Transaction))
        }
        .await;
        null_on_error(ctx, res)
    }

    /// Every indexed transaction with this hash, on any chain, ordered by chain id.
    async fn transactions_by_hash(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Transaction hash: 0x and 64 hex digits, or the chain's own form.")]
        hash: String,
    ) -> async_graphql::Result<Vec<Transaction>> {
        async {
            let api = api(ctx)?;
            let hash = normalize_hash(None, &hash)?;
            let txs = api.store.transactions_by_hash(&hash).await?;
            Ok(txs.into_iter().map(Transaction).collect())
        }
        .await
        .gql()
    }

    /// The transactions that touch `address` (as sender or recipient) on `chain`, newest first
    /// (block height, then index, descending). Paginate with `first` and `after`: cursors are
    /// keysets, so blocks indexed while a client walks the pages (they sit above the first page)
    /// never make a later page repeat or skip a transaction.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "5 + crate::pages::page_cost(first, child_complexity)")]
    async fn transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Chain id, family:network (e.g. evm:1).")] chain: String,
        #[graphql(
            desc = "Address: 0x and 40 hex digits on EVM (any case), 1 to 128 letters or digits elsewhere."
        )]
        address: String,
        #[graphql(
            desc = "Only transactions with this status (SUCCEEDED or FAILED; others match nothing)."
        )]
        status: Option<TxStatus>,
        #[graphql(
            desc = "Only transactions at least this final (SAFE, FINALIZED; PENDING and INCLUDED keep all)."
        )]
        min_finality: Option<Finality>,
        #[graphql(
            desc = "Only transactions in blocks at or after this time (RFC 3339, e.g. 2024-01-31T12:00:00Z, or a date)."
        )]
        since: Option<String>,
        #[graphql(
            desc = "Only transactions in blocks before this time (RFC 3339, e.g. 2024-02-01T00:00:00Z, or a date)."
        )]
        until: Option<String>,
        #[graphql(
            default = 20,
            desc = "Page size, 1 to the API's maximum (default 100); null means 20."
        )]
        first: Option<i32>,
        #[graphql(desc = "Continue after this cursor (an edge's cursor or endCursor).")]
        after: Option<String>,
    ) -> async_graphql::Result<TransactionConnection> {
        pages::address_transactions(
            ctx,
            pages::AddressArgs {
                chain: &chain,
                address: &address,
                status,
                min_finality,
                since: since.as_deref(),
                until: until.as_deref(),
                first,
                after: after.as_deref(),
            },
        )
        .await
        .gql()
    }

    /// A canonical block by height or by hash (exactly one of them), or null when chainwatch has
    /// not indexed it.
    async fn block(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Chain id, family:network (e.g. evm:1).")] chain: String,
        #[graphql(desc = "Block height.")] height: Option<u64>,
        #[graphql(
            desc = "Block hash: 0x and 64 hex digits on EVM, the chain's own form elsewhere."
        )]
        hash: Option<String>,
    ) -> Option<Block> {
        let res = pages::block(ctx, &chain, height, hash.as_deref()).await;
        null_on_error(ctx, res)
    }

    /// The reorgs chainwatch undid on `chain`, newest first.
    #[graphql(complexity = "5 + crate::pages::page_cost(first, child_complexity)")]
    async fn reorgs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Chain id, family:network (e.g. evm:1).")] chain: String,
        #[graphql(
            default = 20,
            desc = "Page size, 1 to the API's maximum (default 100); null means 20."
        )]
        first: Option<i32>,
        #[graphql(desc = "Continue after this cursor (an edge's cursor or endCursor).")]
        after: Option<String>,
    ) -> async_graphql::Result<ReorgConnection> {
        pages::reorgs(ctx, &chain, first, after.as_deref())
            .await
            .gql()
    }

    /// The live diagnosis of a transaction that may not be indexed: INDEXED (then
    /// `transaction` is the indexed answer), INCLUDED or FAILED in a block not indexed yet,
    /// PENDING with a reason (NONCE_GAP, FEE_TOO_LOW, WAITING), REPLACED (by which transaction,
    /// speed-up or cancel), DROPPED or NOT_FOUND, with a message in plain words and the facts
    /// behind it. Asks the chain's providers, so the chain needs providers in this API process
    /// (else a TRACING_UNAVAILABLE error); providers that fail give an UPSTREAM_ERROR. In
    /// `chainwatch dev` a transaction that is not final goes on the watch list.
    async fn trace_transaction(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Chain id, family:network (e.g. evm:1).")] chain: String,
        #[graphql(
            desc = "Transaction hash: 0x and 64 hex digits on EVM (any case), the chain's own form elsewhere."
        )]
        hash: String,
    ) -> Option<crate::traced::TransactionTrace> {
        let res = crate::traced::resolve(ctx, &chain, &hash).await;
        null_on_error(ctx, res)
    }

    /// Every known chain (configured or with data), ordered by id.
    async fn chains(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Chain>> {
        async {
            let api = api(ctx)?;
            let mut by_id: BTreeMap<ChainId, ChainStatusRecord> = api
                .store
                .chain_statuses()
                .await?
                .into_iter()
                .map(|r| (r.chain.clone(), r))
                .collect();
            for c in &api.cfg.known_chains {
                by_id
                    .entry(c.clone())
                    .or_insert_with(|| ChainStatusRecord::unindexed(c.clone()));
            }
            Ok(by_id.into_values().map(Chain).collect())
        }
        .await
        .gql()
    }

    /// One known chain. An unparsable or unknown id is a BAD_REQUEST error.
    async fn chain(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Chain id, family:network (e.g. evm:1).")] id: String,
    ) -> Option<Chain> {
        let res = async {
            let api = api(ctx)?;
            let id = known_chain(api, "id", &id).await?;
            let status = api.store.chain_status(&id).await?;
            Ok(Some(Chain(
                status.unwrap_or_else(|| ChainStatusRecord::unindexed(id)),
            )))
        }
        .await;
        null_on_error(ctx, res)
    }
}

/// A transaction on one chain, with its derived finality.
#[derive(Debug)]
pub(crate) struct Transaction(pub(crate) TxRecord);

/// A transaction on one chain, with its derived finality and lifecycle.
#[Object]
impl Transaction {
    /// Chain id, family:network.
    async fn chain(&self) -> &str {
        self.0.chain.as_str()
    }

    /// Hash in the chain's text form (lowercase hex on EVM).
    async fn hash(&self) -> &str {
        &self.0.hash
    }

    /// What happened to the transaction.
    async fn status(&self) -> async_graphql::Result<TxStatus> {
        TxStatus::from_model(self.0.status).gql()
    }

    /// Height of the including canonical block; null when reorged out.
    async fn block_height(&self) -> Option<u64> {
        self.0.block_height
    }

    /// Hash of the including block; null when reorged out.
    async fn block_hash(&self) -> Option<&str> {
        self.0.block_hash.as_deref()
    }

    /// Time of the including block (RFC 3339, UTC); null when reorged out.
    async fn block_time(&self) -> Option<String> {
        self.0.block_time_ms.map(rfc3339_ms)
    }

    /// Position in the block.
    async fn index(&self) -> Option<u32> {
        self.0.index
    }

    /// The account that signed or paid.
    async fn sender(&self) -> Option<&str> {
        self.0.sender.as_deref()
    }

    /// The account or contract called (EVM `to`); null for contract creation.
    async fn to(&self) -> Option<&str> {
        self.0.to.as_deref()
    }

    /// Sender nonce or sequence number, as a decimal string.
    async fn nonce(&self) -> Option<&str> {
        self.0.nonce.as_deref()
    }

    /// Native value moved, in the smallest unit, as a decimal string.
    async fn value(&self) -> Option<&str> {
        self.0.value.as_deref()
    }

    /// Fee paid, in the smallest native unit, as a decimal string.
    async fn fee(&self) -> Option<&str> {
        self.0.fee.as_deref()
    }

    /// Finality derived from the block height and the chain's safe/finalized heads; null when the
    /// transaction is in no canonical block.
    async fn finality(&self) -> Option<Finality> {
        self.0.finality.map(Finality::from_model)
    }

    /// Blocks on top of and including the transaction's block, as indexed: indexed head height
    /// − block height + 1. Null when the transaction is in no canonical block.
    async fn confirmations(&self) -> Option<u64> {
        self.0.confirmations
    }

    /// Why it failed, when status is FAILED.
    async fn failure(&self) -> Option<Failure> {
        self.0.failure.as_ref().map(Failure::from_model)
    }

    /// Lifecycle: INCLUDED, REORGED_OUT, REINCLUDED, … as recorded, then the derived SAFE and
    /// FINALIZED moments of the current inclusion.
    #[graphql(complexity = "5 + child_complexity")]
    async fn timeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TimelineEntry>> {
        async {
            let api = api(ctx)?;
            let t = api.store.timeline(&self.0.chain, &self.0.hash).await?;
            Ok(t.into_iter().map(TimelineEntry::from_record).collect())
        }
        .await
        .gql()
    }

    /// Chain-specific details (EVM gas used, type, contract created, …).
    async fn extra(&self) -> Option<Json<serde_json::Value>> {
        (!self.0.extra.is_null()).then(|| Json(self.0.extra.clone()))
    }
}

/// One step of a transaction's lifecycle.
#[derive(Debug, SimpleObject)]
pub(crate) struct TimelineEntry {
    /// SEEN_PENDING, INCLUDED, SAFE, FINALIZED, REORGED_OUT, REINCLUDED, DROPPED or REPLACED_BY.
    kind: String,
    /// When (RFC 3339, UTC): block time for inclusions, indexing time for reorgs, the time
    /// chainwatch saw the safe/finalized head for SAFE and FINALIZED.
    at: String,
    /// The block involved; for SAFE and FINALIZED, the safe/finalized head that first covered the
    /// transaction's block.
    block_height: Option<u64>,
    /// Hash of that block.
    block_hash: Option<String>,
    /// For REPLACED_BY, the transaction that took this one's nonce.
    replaced_by: Option<String>,
    /// For REPLACED_BY, how that transaction relates to this one.
    replacement: Option<crate::traced::ReplacementKind>,
}

impl TimelineEntry {
    pub(crate) fn from_record(r: TimelineRecord) -> Self {
        let detail = |k: &str| {
            r.detail
                .as_ref()
                .and_then(|d| d[k].as_str())
                .map(str::to_owned)
        };
        Self {
            replaced_by: detail("replaced_by"),
            replacement: r
                .detail
                .as_ref()
                .and_then(|d| serde_json::from_value(d["replacement"].clone()).ok())
                .map(crate::traced::ReplacementKind::from_model),
            kind: r.kind,
            at: rfc3339_ms(r.at_ms),
            block_height: r.block_height,
            block_hash: r.block_hash,
        }
    }
}

/// Why a transaction failed.
#[derive(Debug, SimpleObject)]
pub(crate) struct Failure {
    /// The normalized class.
    kind: FailureKind,
    /// A machine code where the chain has one (panic code, selector, abort code).
    code: Option<String>,
    /// What a human reads.
    message: String,
    /// Where it failed (contract, program and instruction, Move module), when known.
    location: Option<String>,
    /// The chain's own data about the failure, as JSON text, untouched.
    raw: String,
}

impl Failure {
    pub(crate) fn from_model(f: &model::Failure) -> Self {
        Self {
            kind: FailureKind::from_model(f.kind),
            code: f.code.clone(),
            message: f.message.clone(),
            location: f.location.clone(),
            raw: f.raw.clone(),
        }
    }
}

/// What happened to a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub(crate) enum TxStatus {
    /// Known but not in a canonical block.
    Pending,
    /// Executed successfully in a canonical block.
    Succeeded,
    /// Included in a canonical block but its execution failed; see `failure`.
    Failed,
    /// Left the mempool without being included.
    Dropped,
    /// Another transaction took its nonce.
    Replaced,
    /// Was in a block that a reorg removed, and is not (yet) in the new chain.
    ReorgedOut,
}

impl TxStatus {
    fn from_model(s: model::TxStatus) -> Result<Self, ApiError> {
        Ok(match s {
            model::TxStatus::Pending => Self::Pending,
            model::TxStatus::Succeeded => Self::Succeeded,
            model::TxStatus::Failed => Self::Failed,
            model::TxStatus::Dropped => Self::Dropped,
            model::TxStatus::Replaced => Self::Replaced,
            model::TxStatus::ReorgedOut => Self::ReorgedOut,
            other => {
                error!(target: TRACE_TARGET, status = other.as_str(), "status unknown to the API");
                return Err(ApiError::Internal(
                    chainwatch_store::StoreError::OutOfRange(format!(
                        "status {} unknown to the API",
                        other.as_str()
                    )),
                ));
            }
        })
    }
}

/// How final a transaction is: PENDING < INCLUDED < SAFE < FINALIZED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub(crate) enum Finality {
    /// Seen, not yet in a block.
    Pending,
    /// In a canonical block that may still be reorged out.
    Included,
    /// EVM `safe` tag, Solana `confirmed`, or N confirmations where the chain has no tag.
    Safe,
    /// EVM `finalized` tag, Solana `finalized`, a committed Aptos block, a Sui checkpoint.
    Finalized,
}

impl Finality {
    pub(crate) fn from_model(f: model::Finality) -> Self {
        match f {
            model::Finality::Pending => Self::Pending,
            model::Finality::Included => Self::Included,
            model::Finality::Safe => Self::Safe,
            model::Finality::Finalized => Self::Finalized,
        }
    }
}

/// The normalized class of a failure. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub(crate) enum FailureKind {
    /// `Error(string)` revert.
    Reverted,
    /// Solidity `Panic(uint256)`.
    Panic,
    /// A custom error selector, decoded when an ABI or known signature matches.
    CustomError,
    /// Ran out of gas.
    OutOfGas,
    /// Hit an invalid opcode.
    InvalidOpcode,
    /// Sender could not pay.
    InsufficientFunds,
    /// Nonce too low, too high or reused.
    BadNonce,
    /// Solana instruction error.
    ProgramError,
    /// Aptos or Sui Move abort.
    MoveAbort,
    /// Aptos or Sui non-abort execution failure.
    ExecutionError,
    /// Blockhash or TTL passed before inclusion.
    Expired,
    /// Anything else; `raw` holds what the chain said.
    Other,
}

impl FailureKind {
    fn from_model(k: model::FailureKind) -> Self {
        match k {
            model::FailureKind::Reverted => Self::Reverted,
            model::FailureKind::Panic => Self::Panic,
            model::FailureKind::CustomError => Self::CustomError,
            model::FailureKind::OutOfGas => Self::OutOfGas,
            model::FailureKind::InvalidOpcode => Self::InvalidOpcode,
            model::FailureKind::InsufficientFunds => Self::InsufficientFunds,
            model::FailureKind::BadNonce => Self::BadNonce,
            model::FailureKind::ProgramError => Self::ProgramError,
            model::FailureKind::MoveAbort => Self::MoveAbort,
            model::FailureKind::ExecutionError => Self::ExecutionError,
            model::FailureKind::Expired => Self::Expired,
            // Other, and kinds newer than this API: `raw` still says what happened.
            _ => Self::Other,
        }
    }
}

/// A chain: indexing progress, lag, finality and providers.
#[derive(Debug)]
pub(crate) struct Chain(pub(crate) ChainStatusRecord);

/// A chain: indexing progress, lag against the providers' heads, finality and providers.
#[Object]
impl Chain {
    /// Chain id, family:network (e.g. evm:1).
    async fn id(&self) -> &str {
        self.0.chain.as_str()
    }

    /// Chain family (evm, solana, aptos, sui).
    async fn family(&self) -> &str {
        self.0.chain.family()
    }

    /// Network within the family (EVM chain id, cluster name).
    async fn network(&self) -> &str {
        self.0.chain.network()
    }

    /// Height of the last indexed block; null before the first.
    async fn indexed_height(&self) -> Option<u64> {
        self.0.indexed_height
    }

    /// Hash of the last indexed block.
    async fn indexed_hash(&self) -> Option<&str> {
        self.0.indexed_hash.as_deref()
    }

    /// Highest head any provider (except divergent ones) reported in the last heartbeat.
    async fn head_height(&self) -> Option<u64> {
        self.0.best_head_height
    }

    /// Blocks the index trails the providers' best head by (never negative); null until both
    /// are known.
    async fn lag_blocks(&self) -> Option<u64> {
        self.0.lag_blocks
    }

    /// Seconds from the last indexed block's time to now; null before the first block.
    async fn lag_seconds(&self) -> Option<f64> {
        self.0.lag_seconds
    }

    /// Latest safe height the chain reported.
    async fn safe_height(&self) -> Option<u64> {
        self.0.safe_height
    }

    /// Latest finalized height the chain reported.
    async fn finalized_height(&self) -> Option<u64> {
        self.0.finalized_height
    }

    /// When the last provider heartbeat was read (RFC 3339, UTC).
    async fn last_heartbeat_at(&self) -> Option<String> {
        self.0.last_heartbeat_ms.map(rfc3339_ms)
    }

    /// Each provider's head as of the last heartbeat, named by its configured label.
    async fn providers(&self) -> Vec<Provider> {
        self.0
            .providers
            .iter()
            .map(|p| Provider {
                label: p.provider.clone(),
                height: p.height,
                error: p.error.clone(),
                health: p.health,
                healthy: p.error.is_none() && p.health > 0.0,
                state: p.state.into(),
            })
            .collect()
    }
}

/// A provider's view of the chain head.
#[derive(Debug, SimpleObject)]
pub(crate) struct Provider {
    /// The provider's configured label (never its URL).
    label: String,
    /// Its head height, if it answered.
    height: Option<u64>,
    /// Why it did not answer (e.g. timeout), if it did not.
    error: Option<String>,
    /// Health score in [0, 1].
    health: f64,
    /// No error and a health score above zero.
    healthy: bool,
    /// Whether ingest follows it: the head quorum sets aside a provider on another fork
    /// (DIVERGENT) or too far behind the others (LAGGING).
    state: ProviderStanding,
}

/// Whether ingest follows a provider, as decided by the head quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ProviderState")]
pub(crate) enum ProviderStanding {
    /// Agrees with the quorum; requests go to it.
    Following,
    /// On the quorum's chain but too many blocks behind the agreeing providers; not used until
    /// it catches up.
    Lagging,
    /// Reports another block hash at a height the quorum agrees on (another fork or network);
    /// not used, and its head does not count as the chain's head.
    Divergent,
}

impl From<chainwatch_schema::ProviderState> for ProviderStanding {
    fn from(s: chainwatch_schema::ProviderState) -> Self {
        match s {
            chainwatch_schema::ProviderState::Following => Self::Following,
            chainwatch_schema::ProviderState::Lagging => Self::Lagging,
            chainwatch_schema::ProviderState::Divergent => Self::Divergent,
        }
    }
}
