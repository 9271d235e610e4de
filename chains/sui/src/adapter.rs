//! [`SuiAdapter`]: the `ChainAdapter` of `sui:<network>` over the full-node gRPC API.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chainwatch_chain_core::{
    CallError, ChainAdapter, ChainIdAnswer, EndpointPool, FetchError, FinalityModel,
    check_chain_ids, quorum,
};
use chainwatch_schema::{
    Block, BlockRef, ChainId, Finality, ProviderHead, TraceFacts, TraceStatus, TxStatus, TxTrace,
};
use sui_rpc::proto::sui::rpc::v2::{
    Checkpoint, GetCheckpointRequest, GetServiceInfoRequest, GetServiceInfoResponse,
    GetTransactionRequest, SubscribeCheckpointsRequest, get_checkpoint_request::CheckpointId,
    ledger_service_client::LedgerServiceClient,
    subscription_service_client::SubscriptionServiceClient,
};
use tokio::task::JoinHandle;
use tonic::{
    Code, Status,
    transport::{Channel, ClientTlsConfig, Endpoint},
};
use tracing::{debug, info, warn};

use crate::normalize;

const TRACE_TARGET: &str = "chainwatch::chain_sui";

/// The fields `block` reads: the checkpoint's header, the digests its contents commit to, and of
/// each transaction the digest, sender, gas owner, status, gas and events' senders. Nothing else
/// (no BCS, signatures, objects or event contents) is requested.
const BLOCK_MASK: &[&str] = &[
    "sequence_number",
    "digest",
    "summary.sequence_number",
    "summary.digest",
    "summary.previous_digest",
    "summary.timestamp",
    "summary.epoch",
    "contents.transactions.transaction",
    "transactions.digest",
    "transactions.transaction.sender",
    "transactions.transaction.gas_payment.owner",
    "transactions.effects.status",
    "transactions.effects.gas_used",
    "transactions.effects.epoch",
    "transactions.effects.transaction_digest",
    "transactions.effects.gas_object.output_owner",
    "transactions.events.events.sender",
    "transactions.checkpoint",
    "transactions.transaction_index",
];

/// The fields `trace` reads of a transaction.
const TRACE_MASK: &[&str] = &[
    "digest",
    "transaction.sender",
    "transaction.gas_payment.owner",
    "effects.status",
    "effects.gas_used",
    "effects.epoch",
    "effects.transaction_digest",
    "effects.gas_object.output_owner",
    "events.events.sender",
    "checkpoint",
    "transaction_index",
];

/// The fields of a checkpoint ref.
const REF_MASK: &[&str] = &["sequence_number", "digest"];

/// How long a head learned from the subscription stays the answer of `head` without a newer
/// frame before `head` asks a provider again.
const STREAM_HEAD_FRESH: Duration = Duration::from_secs(5);

/// How often, with several providers, `head` runs a quorum round (every provider's latest
/// checkpoint compared at a common height) instead of taking the subscription's head.
const QUORUM_EVERY: Duration = Duration::from_secs(10);

/// Largest gRPC message accepted (a checkpoint with its transactions can be large).
const MAX_MESSAGE: usize = 256 * 1024 * 1024;

fn mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    }
}

/// A gRPC status as the pool's call outcome. `NOT_FOUND` never reaches here (callers turn it
/// into `None`); an invalid argument is final; everything else is the provider's trouble.
fn call_error(s: &Status) -> CallError {
    let message = format!("gRPC {:?}: {}", s.code(), s.message());
    match s.code() {
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
            CallError::Permanent {
                reason: "invalid_argument",
                message,
            }
        }
        Code::Unavailable => CallError::Transient {
            reason: "unavailable",
            message,
        },
        Code::DeadlineExceeded => CallError::Transient {
            reason: "timeout",
            message,
        },
        Code::ResourceExhausted => CallError::Transient {
            reason: "rate_limited",
            message,
        },
        Code::Unimplemented => CallError::Transient {
            reason: "unimplemented",
            message,
        },
        _ => CallError::Transient {
            reason: "grpc_error",
            message,
        },
    }
}

fn decode_error(e: &crate::DecodeError) -> CallError {
    CallError::Transient {
        reason: "decode",
        message: format!("undecodable checkpoint: {e}"),
    }
}

/// The network name a provider must report for `chain` (`sui:mainnet` → `mainnet`).
fn expected_network(chain: &ChainId) -> &str {
    chain.network()
}

/// The latest checkpoint seen on the subscription stream, from which provider, and when.
#[derive(Debug, Default)]
struct StreamHead {
    head: Option<(BlockRef, Instant)>,
    provider: Option<usize>,
}

/// The Sui adapter. See the crate docs for the model; its RPC contract:
///
/// - [`SuiAdapter::connect`] asks every provider `LedgerService.GetServiceInfo` and checks its
///   `chain` (e.g. `testnet`) or its `chain_id` (the genesis checkpoint digest) against the
///   configured network; a mismatch is a permanent `chain_id_mismatch` naming the provider's
///   label. A provider that does not answer is logged and used when it recovers; if none
///   answers, connecting fails with a transient error.
/// - `head(_)`: every finality level is the latest checkpoint (checkpoints are final). It comes
///   from `SubscriptionService.SubscribeCheckpoints` (read mask `sequence_number,digest`) while
///   the stream delivers; a provider that does not implement the subscription, or a stream that
///   ends or stalls for 5 s, falls back to polling `GetCheckpoint` (latest) through the pool.
///   The stream is resubscribed, on the best followed provider, after a backoff. With several
///   providers, at most every 10 s `head` runs a quorum round instead
///   ([`chainwatch_chain_core::quorum`]: every provider's latest checkpoint, compared by digest
///   at the lowest of their heights); a provider on another chain or too far behind is set
///   aside (`DIVERGENT`, `LAGGING`) and neither asked nor streamed from until it agrees again.
/// - `block(h)`: `GetCheckpoint(sequence_number = h)` with a read mask of the fields used
///   (transactions, effects status and gas, events' senders); `NOT_FOUND` is `None` (not yet
///   produced). `block_ref(h)`: the same with `sequence_number,digest`.
/// - `provider_heads`: `GetServiceInfo.checkpoint_height` of each provider.
/// - Failover, health scores, breaker, rate limits, metrics and URL redaction are the pool's
///   ([`EndpointPool::call`]): `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`,
///   `UNIMPLEMENTED`, `INTERNAL` and the like fail over; `INVALID_ARGUMENT` does not.
#[derive(Debug)]
pub struct SuiAdapter {
    chain: ChainId,
    pool: Arc<EndpointPool>,
    channels: Vec<Channel>,
    stream: Arc<Mutex<StreamHead>>,
    follower: Option<JoinHandle<()>>,
    last_quorum: Mutex<Option<Instant>>,
}

impl Drop for SuiAdapter {
    fn drop(&mut self) {
        if let Some(f) = self.follower.take() {
            f.abort();
        }
    }
}

impl SuiAdapter {
    /// Connects to the pool's providers (lazily: a channel per provider), checks their chain
    /// (see the type's docs) and starts following the checkpoint subscription.
    pub async fn connect(chain: ChainId, pool: Arc<EndpointPool>) -> Result<Self, FetchError> {
        if chain.family() != "sui" {
            return Err(FetchError::permanent(
                "invalid_config",
                format!("chain {chain} is not a Sui chain (expected sui:<network>)"),
            ));
        }
        let mut channels = Vec::with_capacity(pool.len());
        for (idx, label) in pool.labels().enumerate() {
            let url = pool.provider_url(idx).unwrap_or_default();
            let invalid = |e: &dyn std::fmt::Display| {
                FetchError::permanent(
                    "invalid_config",
                    format!(
                        "chain {chain}: provider `{label}` URL is not a valid gRPC endpoint: {}",
                        pool.scrub(idx, &e.to_string())
                    ),
                )
            };
            let mut endpoint = Endpoint::from_shared(url.to_owned())
                .map_err(|e| invalid(&e))?
                .connect_timeout(pool.config().request_timeout);
            if url.starts_with("https://") {
                endpoint = endpoint
                    .tls_config(ClientTlsConfig::new().with_webpki_roots())
                    .map_err(|e| invalid(&e))?;
            }
            channels.push(endpoint.connect_lazy());
        }
        let mut adapter = Self {
            chain,
            pool,
            channels,
            stream: Arc::default(),
            follower: None,
            last_quorum: Mutex::new(None),
        };
        adapter.check_chains().await?;
        adapter.follower = Some(tokio::spawn(follow(
            adapter.chain.clone(),
            adapter.pool.clone(),
            adapter.channels.clone(),
            adapter.stream.clone(),
        )));
        Ok(adapter)
    }

    fn ledger(&self, idx: usize) -> LedgerServiceClient<Channel> {
        LedgerServiceClient::new(self.channels[idx].clone()).max_decoding_message_size(MAX_MESSAGE)
    }

    async fn service_info(&self, idx: usize) -> Result<GetServiceInfoResponse, CallError> {
        self.ledger(idx)
            .get_service_info(GetServiceInfoRequest::default())
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| call_error(&s))
    }

    async fn check_chains(&self) -> Result<(), FetchError> {
        let want = expected_network(&self.chain);
        let mut answers = Vec::with_capacity(self.pool.len());
        for idx in 0..self.pool.len() {
            answers.push(
                match self
                    .pool
                    .call_on(idx, "GetServiceInfo", self.service_info(idx))
                    .await
                {
                    Ok(info) => {
                        let chain = info.chain.as_deref().unwrap_or_default();
                        let chain_id = info.chain_id.as_deref().unwrap_or_default();
                        if chain == want || chain_id == want {
                            ChainIdAnswer::Matches
                        } else {
                            ChainIdAnswer::Other(if chain_id.is_empty() {
                                format!("`{chain}`")
                            } else {
                                format!("`{chain}` ({chain_id})")
                            })
                        }
                    }
                    Err((e, _)) => ChainIdAnswer::Unknown(e.reason.into()),
                },
            );
        }
        check_chain_ids(&self.chain, &self.pool, "chain id", answers).map(|_| ())
    }

    /// `GetCheckpoint` with failover; `None` when the checkpoint does not exist (yet).
    async fn checkpoint(
        &self,
        id: Option<u64>,
        paths: &'static [&'static str],
    ) -> Result<Option<Checkpoint>, FetchError> {
        self.pool
            .call("GetCheckpoint", |idx| {
                let mut client = self.ledger(idx);
                async move {
                    let mut req = GetCheckpointRequest::default();
                    req.read_mask = Some(mask(paths));
                    req.checkpoint_id = id.map(CheckpointId::SequenceNumber);
                    match client.get_checkpoint(req).await {
                        Ok(r) => Ok(r.into_inner().checkpoint),
                        Err(s) if s.code() == Code::NotFound => Ok(None),
                        Err(s) => Err(call_error(&s)),
                    }
                }
            })
            .await
    }

    /// The subscription's head while it is fresh and its provider is followed.
    fn stream_head(&self) -> Option<BlockRef> {
        let s = self.stream.lock().unwrap_or_else(|p| p.into_inner());
        let following = s
            .provider
            .and_then(|i| self.pool.states().get(i).copied())
            .is_some_and(|st| st.is_following());
        s.head
            .as_ref()
            .filter(|(_, at)| following && at.elapsed() < STREAM_HEAD_FRESH)
            .map(|(r, _)| r.clone())
    }

    /// One provider's latest checkpoint ref (no failover), `None` if it did not answer.
    async fn provider_ref(&self, idx: usize, seq: Option<u64>) -> Option<BlockRef> {
        let mut client = self.ledger(idx);
        let call = async move {
            let mut req = GetCheckpointRequest::default();
            req.read_mask = Some(mask(REF_MASK));
            req.checkpoint_id = seq.map(CheckpointId::SequenceNumber);
            match client.get_checkpoint(req).await {
                Ok(r) => Ok(r.into_inner().checkpoint),
                Err(s) if s.code() == Code::NotFound => Ok(None),
                Err(s) => Err(call_error(&s)),
            }
        };
        let c = self
            .pool
            .call_on(idx, "GetCheckpoint", call)
            .await
            .ok()
            .flatten()?;
        let r = normalize::checkpoint_ref(&c).ok()?;
        seq.is_none_or(|s| s == r.height).then_some(r)
    }

    /// The head a quorum of providers agrees on ([`quorum::agree`]); providers on another chain
    /// or too far behind are set aside in the pool (no requests, no subscription).
    async fn quorum_head(&self) -> Result<BlockRef, FetchError> {
        let heads =
            futures::future::join_all((0..self.pool.len()).map(|i| self.provider_ref(i, None)))
                .await;
        let labels: Vec<&str> = self.pool.labels().collect();
        let agreement = quorum::agree(
            &self.chain,
            &labels,
            &heads,
            &self.pool.config().quorum,
            |i, height| async move { self.provider_ref(i, Some(height)).await.map(|r| r.hash) },
        )
        .await?;
        self.pool.set_states(&agreement.states);
        Ok(agreement.head)
    }
}

/// Follows `SubscribeCheckpoints` on the best provider, recording each checkpoint's ref, and
/// resubscribes after a backoff when the stream fails or ends. Providers that answer
/// `UNIMPLEMENTED` are not asked again; when none supports it, the task ends and `head` polls.
async fn follow(
    chain: ChainId,
    pool: Arc<EndpointPool>,
    channels: Vec<Channel>,
    stream: Arc<Mutex<StreamHead>>,
) {
    let mut unsupported = vec![false; channels.len()];
    let mut backoff =
        chainwatch_chain_core::Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        // The healthiest provider that supports the subscription.
        let health = pool.health();
        let states = pool.states();
        let any_following = states.iter().any(|s| s.is_following());
        let Some(idx) = (0..channels.len())
            .filter(|i| !unsupported[*i] && (!any_following || states[*i].is_following()))
            .max_by(|a, b| health[*a].score.total_cmp(&health[*b].score))
        else {
            info!(target: TRACE_TARGET, chain = %chain, "no provider supports the checkpoint subscription; polling for the head");
            return;
        };
        let label = health[idx].label.clone();
        let mut client = SubscriptionServiceClient::new(channels[idx].clone())
            .max_decoding_message_size(MAX_MESSAGE);
        let mut req = SubscribeCheckpointsRequest::default();
        req.read_mask = Some(mask(REF_MASK));
        // The opening call is booked against the provider like any other.
        let opened = pool
            .call_on(idx, "SubscribeCheckpoints", async move {
                match client.subscribe_checkpoints(req).await {
                    Ok(r) => Ok(Some(r.into_inner())),
                    Err(s) if s.code() == Code::Unimplemented => Ok(None),
                    Err(s) => Err(call_error(&s)),
                }
            })
            .await;
        match opened {
            Ok(None) => {
                info!(target: TRACE_TARGET, chain = %chain, provider = %label, "provider does not implement the checkpoint subscription");
                unsupported[idx] = true;
                continue;
            }
            Err((e, _)) => {
                debug!(target: TRACE_TARGET, chain = %chain, provider = %label, reason = e.reason, error = %e.message, "checkpoint subscription failed");
            }
            Ok(Some(mut frames)) => loop {
                match frames.message().await {
                    Ok(Some(frame)) => {
                        backoff.reset();
                        let Some(c) = frame.checkpoint else { continue };
                        match normalize::checkpoint_ref(&c) {
                            Ok(r) => {
                                let mut s = stream.lock().unwrap_or_else(|p| p.into_inner());
                                if s.provider != Some(idx)
                                    || s.head.as_ref().is_none_or(|(h, _)| h.height <= r.height)
                                {
                                    s.head = Some((r, Instant::now()));
                                    s.provider = Some(idx);
                                }
                            }
                            Err(e) => {
                                warn!(target: TRACE_TARGET, chain = %chain, provider = %label, error = %e, "undecodable checkpoint on the subscription");
                                break;
                            }
                        }
                    }
                    Ok(None) => {
                        debug!(target: TRACE_TARGET, chain = %chain, provider = %label, "checkpoint subscription ended");
                        break;
                    }
                    Err(s) => {
                        debug!(target: TRACE_TARGET, chain = %chain, provider = %label, code = ?s.code(), "checkpoint subscription broke");
                        break;
                    }
                }
            },
        }
        stream.lock().unwrap_or_else(|p| p.into_inner()).head = None;
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

#[async_trait]
impl ChainAdapter for SuiAdapter {
    fn chain(&self) -> &ChainId {
        &self.chain
    }

    fn finality_model(&self) -> FinalityModel {
        FinalityModel::Instant
    }

    async fn head(&self, _at: Finality) -> Result<Option<BlockRef>, FetchError> {
        if self.pool.len() > 1 {
            let due = self
                .last_quorum
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_none_or(|t| t.elapsed() >= QUORUM_EVERY);
            if due {
                let head = self.quorum_head().await?;
                *self.last_quorum.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                return Ok(Some(head));
            }
        }
        if let Some(h) = self.stream_head() {
            return Ok(Some(h));
        }
        match self.checkpoint(None, REF_MASK).await? {
            Some(c) => {
                Ok(Some(normalize::checkpoint_ref(&c).map_err(|e| {
                    FetchError::transient("decode", e.to_string())
                })?))
            }
            None => Ok(None),
        }
    }

    async fn block(&self, height: u64) -> Result<Option<Block>, FetchError> {
        let chain = &self.chain;
        self.pool
            .call("GetCheckpoint", |idx| {
                let mut client = self.ledger(idx);
                async move {
                    let mut req = GetCheckpointRequest::default();
                    req.read_mask = Some(mask(BLOCK_MASK));
                    req.checkpoint_id = Some(CheckpointId::SequenceNumber(height));
                    let c = match client.get_checkpoint(req).await {
                        Ok(r) => r.into_inner().checkpoint,
                        Err(s) if s.code() == Code::NotFound => return Ok(None),
                        Err(s) => return Err(call_error(&s)),
                    };
                    let Some(c) = c else { return Ok(None) };
                    // A provider answering with another checkpoint is faulty: try another.
                    let block = normalize::block(chain, &c).map_err(|e| decode_error(&e))?;
                    if block.block_ref.height != height {
                        return Err(CallError::Transient {
                            reason: "decode",
                            message: format!(
                                "asked for checkpoint {height}, got {}",
                                block.block_ref.height
                            ),
                        });
                    }
                    Ok(Some(block))
                }
            })
            .await
    }

    async fn block_ref(&self, height: u64) -> Result<Option<BlockRef>, FetchError> {
        match self.checkpoint(Some(height), REF_MASK).await? {
            Some(c) => {
                Ok(Some(normalize::checkpoint_ref(&c).map_err(|e| {
                    FetchError::transient("decode", e.to_string())
                })?))
            }
            None => Ok(None),
        }
    }

    /// Where a transaction is, by digest (`GetTransaction`, then `GetCheckpoint` for the digest
    /// of its checkpoint): `INCLUDED` and `FINALIZED` with its checkpoint when checkpointed;
    /// `INCLUDED` with finality `INCLUDED` when executed but not yet in a checkpoint; `FAILED`
    /// with the classified failure (and its checkpoint) when its execution failed; `NOT_FOUND`
    /// when the provider does not know it. A string that is not a base58 digest of 32 bytes is a
    /// permanent `invalid_argument` error naming it.
    async fn trace(&self, hash: &str) -> Result<TxTrace, FetchError> {
        // `from_base58` also takes shorter strings (zero-filled): the round trip must give the
        // input back.
        let canonical = sui_sdk_types::Digest::from_base58(hash).map(|d| d.to_base58());
        if canonical.as_deref() != Ok(hash) {
            return Err(FetchError::permanent(
                "invalid_argument",
                format!(
                    "invalid Sui transaction digest {hash:?}: expected base58 of 32 bytes, e.g. \
                     J2Vkui75vgoLvCmNiREVKwpeTVPCq5EQ71i2ETahP6R9"
                ),
            ));
        }
        let found = self
            .pool
            .call("GetTransaction", |idx| {
                let mut client = self.ledger(idx);
                async move {
                    let mut req = GetTransactionRequest::default();
                    req.digest = Some(hash.to_owned());
                    req.read_mask = Some(mask(TRACE_MASK));
                    match client.get_transaction(req).await {
                        Ok(r) => Ok(r.into_inner().transaction),
                        Err(s) if s.code() == Code::NotFound => Ok(None),
                        Err(s) => Err(call_error(&s)),
                    }
                }
            })
            .await?;
        let Some(found) = found else {
            return Ok(TxTrace::new(
                TraceStatus::NotFound,
                format!(
                    "no provider knows transaction {hash}: it was not executed (never submitted, \
                     rejected before execution, or its epoch ended)"
                ),
            ));
        };
        let index = found.transaction_index.unwrap_or(0);
        let tx = normalize::transaction(&found, u32::try_from(index).unwrap_or(u32::MAX))
            .map_err(|e| FetchError::transient("decode", e.to_string()))?;
        let block = match found.checkpoint {
            Some(c) => Some(self.block_ref(c).await?.ok_or_else(|| {
                FetchError::transient(
                    "not_found",
                    format!("transaction {hash} names checkpoint {c}, which no provider has"),
                )
            })?),
            None => None,
        };
        let finality = if block.is_some() {
            Finality::Finalized
        } else {
            Finality::Included
        };
        let place = match &block {
            Some(b) => format!("in checkpoint {} (final)", b.height),
            None => "executed, not yet in a checkpoint".to_owned(),
        };
        let (status, message) = match (&tx.status, &tx.failure) {
            (TxStatus::Failed, Some(f)) => (
                TraceStatus::Failed,
                format!("failed {place}: {}", f.message),
            ),
            _ => (TraceStatus::Included, format!("succeeded {place}")),
        };
        let mut trace = TxTrace::new(status, message);
        trace.block = block;
        trace.finality = Some(finality);
        trace.failure = tx.failure;
        trace.facts = TraceFacts {
            sender: tx.sender,
            extra: tx.extra,
            ..TraceFacts::default()
        };
        Ok(trace)
    }

    async fn provider_heads(&self) -> Vec<ProviderHead> {
        let health = self.pool.health();
        let states = self.pool.states();
        let mut out = Vec::with_capacity(health.len());
        for (idx, h) in health.into_iter().enumerate() {
            let r = self
                .pool
                .call_on(idx, "GetServiceInfo", self.service_info(idx))
                .await;
            let (height, error) = match r {
                Ok(info) => (info.checkpoint_height, None),
                Err((e, _)) => (None, Some(e.reason.to_owned())),
            };
            out.push(ProviderHead {
                provider: h.label,
                height,
                error,
                health: h.score,
                state: states[idx],
            });
        }
        out
    }
}
