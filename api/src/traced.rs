//! GraphQL `traceTransaction`: the live diagnosis of one transaction and its output types.

use async_graphql::{Context, Enum, Json, Object, SimpleObject};
use chainwatch_schema as model;

use crate::{
    error::ApiError,
    graphql::{Failure, Finality, TimelineEntry, Transaction, api, known_chain},
    pages::BlockPointer,
    time::rfc3339_ms,
    trace::{TraceError, TraceOutcome, trace_transaction},
    validate::normalize_hash,
};

/// Resolves `traceTransaction(chain, hash)`.
pub(crate) async fn resolve(
    ctx: &Context<'_>,
    chain: &str,
    hash: &str,
) -> Result<Option<TransactionTrace>, ApiError> {
    let api = api(ctx)?;
    let id = known_chain(api, "chain", chain).await?;
    let hash = normalize_hash(Some(id.family()), hash)?;
    let Some(adapter) = api.cfg.tracers.get(&id) else {
        return Err(ApiError::Unavailable {
            argument: "chain",
            message: format!(
                "tracing is unavailable for chain {id}: this API process has no providers for it \
                 (give it the chain's providers with --chain {id}=URL or [chains.\"{id}\"] in the \
                 config file)"
            ),
        });
    };
    let out = trace_transaction(
        &api.store,
        api.cfg.tracers.watch_store(),
        adapter.as_ref(),
        &hash,
    )
    .await
    .map_err(|e| match e {
        TraceError::BadHash(message) => ApiError::bad_request("hash", message),
        TraceError::Chain {
            reason: "unsupported",
            message,
            ..
        } => ApiError::Unavailable {
            argument: "chain",
            message,
        },
        TraceError::Chain { chain, message, .. } => {
            ApiError::Upstream(format!("chain {chain}: {message}"))
        }
        TraceError::Store(e) => ApiError::Internal(e),
    })?;
    Ok(Some(TransactionTrace(out)))
}

/// The live diagnosis of one transaction.
#[derive(Debug)]
pub(crate) struct TransactionTrace(TraceOutcome);

/// What chainwatch and the chain's providers know of one transaction right now: indexed, in a
/// block not indexed yet, pending and why, replaced and by what, dropped, or unknown.
#[Object]
impl TransactionTrace {
    /// Chain id, family:network.
    async fn chain(&self) -> &str {
        self.0.chain.as_str()
    }

    /// The hash, normalized (lowercase hex on EVM).
    async fn hash(&self) -> &str {
        &self.0.hash
    }

    /// The verdict.
    async fn status(&self) -> TraceStatus {
        TraceStatus::from_model(self.0.trace.status)
    }

    /// Why it is still pending, when status is PENDING.
    async fn reason(&self) -> Option<PendingReason> {
        self.0.trace.reason.map(PendingReason::from_model)
    }

    /// The verdict in plain words, with the numbers behind it.
    async fn message(&self) -> &str {
        &self.0.trace.message
    }

    /// The block holding it, when it is in one (INDEXED, INCLUDED, FAILED).
    async fn block(&self) -> Option<BlockPointer> {
        self.0
            .trace
            .block
            .as_ref()
            .map(|b| BlockPointer::new(b.height, b.hash.clone()))
    }

    /// How final that block is.
    async fn finality(&self) -> Option<Finality> {
        self.0.trace.finality.map(Finality::from_model)
    }

    /// Why it failed, when status is FAILED (or INDEXED with a failure).
    async fn failure(&self) -> Option<Failure> {
        self.0.trace.failure.as_ref().map(Failure::from_model)
    }

    /// The facts behind the verdict.
    async fn facts(&self) -> TraceFacts {
        TraceFacts::from_model(&self.0.trace.facts)
    }

    /// The indexed transaction, when status is INDEXED.
    async fn transaction(&self) -> Option<Transaction> {
        self.0.indexed.clone().map(Transaction)
    }

    /// Whether the transaction is on the watch list, re-traced every few seconds until final
    /// (its timeline records SEEN_PENDING, then INCLUDED, SAFE, FINALIZED, or DROPPED /
    /// REPLACED_BY).
    async fn watched(&self) -> bool {
        self.0.watched
    }

    /// Its lifecycle as recorded so far: SEEN_PENDING, DROPPED, REPLACED_BY from the watch list,
    /// INCLUDED, SAFE, FINALIZED, REORGED_OUT, … from the index.
    #[graphql(complexity = "5 + child_complexity")]
    async fn timeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TimelineEntry>> {
        async {
            let api = api(ctx)?;
            let t = api.store.timeline(&self.0.chain, &self.0.hash).await?;
            Ok(t.into_iter().map(TimelineEntry::from_record).collect())
        }
        .await
        .map_err(ApiError::into_graphql)
    }
}

/// The facts behind a trace's verdict; each chain family fills what it has. Amounts are decimal
/// strings in the chain's smallest unit (wei on EVM).
#[derive(Debug, SimpleObject)]
pub(crate) struct TraceFacts {
    /// The signer.
    sender: Option<String>,
    /// The transaction's nonce (EVM) or sequence number (Aptos), decimal.
    nonce: Option<String>,
    /// The sender's next nonce on chain (the lowest not yet used in a block), decimal.
    account_nonce: Option<String>,
    /// Lower nonces that no provider's mempool holds, which this transaction waits for (the first
    /// 64), decimal.
    missing_nonces: Vec<String>,
    /// The next block's base fee per gas (EVM).
    base_fee: Option<String>,
    /// The transaction's fee cap per gas (maxFeePerGas, or gasPrice for legacy transactions).
    max_fee: Option<String>,
    /// The transaction that took this one's nonce, when REPLACED.
    replaced_by: Option<String>,
    /// How the replacement relates to this transaction.
    replacement: Option<ReplacementKind>,
    /// The account or contract called.
    to: Option<String>,
    /// Native value moved.
    value: Option<String>,
    /// Hash of the call data (EVM: keccak-256 of input).
    input_hash: Option<String>,
    /// The chain's latest height when traced: the facts hold as of this block.
    head_height: Option<u64>,
    /// When the transaction stops being valid (RFC 3339, UTC), for chains with such a limit.
    expires_at: Option<String>,
    /// Anything else the chain family knows (e.g. the block of a mined replacement).
    extra: Option<Json<serde_json::Value>>,
}

impl TraceFacts {
    fn from_model(f: &model::TraceFacts) -> Self {
        let dec = |n: Option<u64>| n.map(|n| n.to_string());
        Self {
            sender: f.sender.clone(),
            nonce: dec(f.nonce),
            account_nonce: dec(f.account_nonce),
            missing_nonces: f.missing_nonces.iter().map(u64::to_string).collect(),
            base_fee: f.base_fee.clone(),
            max_fee: f.max_fee.clone(),
            replaced_by: f.replaced_by.clone(),
            replacement: f.replacement.map(ReplacementKind::from_model),
            to: f.to.clone(),
            value: f.value.clone(),
            input_hash: f.input_hash.clone(),
            head_height: f.head_height,
            expires_at: f.expires_at_ms.map(rfc3339_ms),
            extra: (!f.extra.is_null()).then(|| Json(f.extra.clone())),
        }
    }
}

/// Where a transaction stands, as the index and the chain's providers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub(crate) enum TraceStatus {
    /// In a provider's mempool, not in a block yet; `reason` says why.
    Pending,
    /// In a canonical block that chainwatch has not indexed yet.
    Included,
    /// In a block and executed with an error, not indexed yet; `failure` says why.
    Failed,
    /// In the index; `transaction` is the indexed answer.
    Indexed,
    /// Another transaction from the same sender took its nonce; see `facts.replacedBy`.
    Replaced,
    /// No provider knows it any more and its nonce is still unused.
    Dropped,
    /// It can never land: its blockhash or expiration time has passed.
    Expired,
    /// Nobody knows this hash, and chainwatch has not seen it before.
    NotFound,
}

impl TraceStatus {
    fn from_model(s: model::TraceStatus) -> Self {
        match s {
            model::TraceStatus::Pending => Self::Pending,
            model::TraceStatus::Included => Self::Included,
            model::TraceStatus::Failed => Self::Failed,
            model::TraceStatus::Indexed => Self::Indexed,
            model::TraceStatus::Replaced => Self::Replaced,
            model::TraceStatus::Dropped => Self::Dropped,
            model::TraceStatus::Expired => Self::Expired,
            // NotFound, and verdicts newer than this API.
            _ => Self::NotFound,
        }
    }
}

/// Why a pending transaction is not in a block yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub(crate) enum PendingReason {
    /// Lower nonces of the same sender are missing: it must wait for them (`facts.missingNonces`).
    NonceGap,
    /// Its fee cap is below the next block's base fee (`facts.maxFee` < `facts.baseFee`).
    FeeTooLow,
    /// Nothing wrong that chainwatch can see: it is waiting for a block.
    Waiting,
}

impl PendingReason {
    fn from_model(r: model::PendingReason) -> Self {
        match r {
            model::PendingReason::NonceGap => Self::NonceGap,
            model::PendingReason::FeeTooLow => Self::FeeTooLow,
            _ => Self::Waiting,
        }
    }
}

/// How a replacing transaction relates to the one it replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub(crate) enum ReplacementKind {
    /// The same call (recipient, value, data) with a higher fee.
    SpeedUp,
    /// A zero-value transfer from the sender to itself with no data, which frees the nonce.
    Cancel,
    /// A different transaction with the same nonce.
    Other,
}

impl ReplacementKind {
    pub(crate) fn from_model(k: model::ReplacementKind) -> Self {
        match k {
            model::ReplacementKind::SpeedUp => Self::SpeedUp,
            model::ReplacementKind::Cancel => Self::Cancel,
            model::ReplacementKind::Other => Self::Other,
        }
    }
}
