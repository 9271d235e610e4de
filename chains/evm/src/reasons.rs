//! Failure reasons of a block's failed transactions: a `callTracer` trace when the providers
//! have the debug API, else a replay with `eth_call` at the parent block. Best effort: when
//! neither works the receipt-only failure stays, and the block is never failed because of it.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use alloy_primitives::{Address, B256, Bytes, U256};
use chainwatch_chain_core::{ErrorChain, FetchError};
use chainwatch_schema::{Block, Failure};
use futures::{StreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{debug, warn};

use crate::{
    EvmAdapter, TRACE_TARGET,
    explain::{self, CallFrame, ReceiptFacts, Replay},
    revert::hex_bytes,
    rpc::{RpcBlock, RpcReceipt, hex, quantity},
};

/// How long a lookup method the providers refused is not tried again.
const REPROBE: Duration = Duration::from_secs(600);

/// Most gas a replay gives the callee (providers cap `eth_call` gas; geth at 50M by default).
const REPLAY_GAS_CAP: u64 = 25_000_000;

/// Whether the providers support a lookup method (`debug_traceTransaction` with `callTracer`,
/// or `eth_call` with a state override), as last seen.
#[derive(Debug, Default)]
pub(crate) struct Probe {
    /// Set once the refusal was logged.
    logged: AtomicBool,
    /// While in the future, the method is not tried.
    skip_until: Mutex<Option<Instant>>,
}

impl Probe {
    /// Whether the method was refused less than [`REPROBE`] ago.
    pub(crate) fn skipped(&self) -> bool {
        let until = *self.skip_until.lock().unwrap_or_else(|p| p.into_inner());
        until.is_some_and(|t| Instant::now() < t)
    }

    /// Records a refusal; true the first time, so that it is logged once.
    fn refused(&self) -> bool {
        *self.skip_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + REPROBE);
        !self.logged.swap(true, Ordering::Relaxed)
    }
}

/// A failed transaction of a block, as the lookup needs it.
#[derive(Debug, Clone)]
pub(crate) struct FailedTx {
    /// Position in the block.
    position: usize,
    hash: B256,
    facts: ReceiptFacts,
}

impl FailedTx {
    /// A failed transaction found on its own (a live trace), outside a fetched block.
    pub(crate) fn single(hash: B256, gas: Option<U256>, gas_used: U256) -> Self {
        Self {
            position: 0,
            hash,
            facts: ReceiptFacts {
                gas,
                gas_used,
                pre_byzantium: false,
            },
        }
    }
}

/// The transactions of `block` whose receipt has status 0.
pub(crate) fn failed_txs(block: &RpcBlock, receipts: &[RpcReceipt]) -> Vec<FailedTx> {
    block
        .transactions
        .iter()
        .zip(receipts)
        .enumerate()
        .filter(|(_, (_, r))| r.status.is_some_and(|s| s.is_zero()))
        .map(|(position, (tx, r))| FailedTx {
            position,
            hash: tx.hash,
            facts: ReceiptFacts {
                gas: tx.gas,
                gas_used: r.gas_used,
                pre_byzantium: false,
            },
        })
        .collect()
}

/// `eth_getTransactionByHash`, the fields a replay needs.
#[derive(Debug, Deserialize)]
struct ReplayTx {
    from: Address,
    #[serde(default)]
    to: Option<Address>,
    #[serde(default)]
    value: Option<U256>,
    gas: U256,
    input: Bytes,
}

/// Whether an error says the provider refuses the method (rather than failing for a while):
/// a permanent error (method not found, invalid params) or a JSON-RPC error answer that
/// outlasted the pool's retries.
fn refuses(e: &FetchError) -> bool {
    matches!(
        e,
        FetchError::Permanent { .. }
            | FetchError::Transient {
                reason: "rpc_error",
                ..
            }
    )
}

impl EvmAdapter {
    /// Replaces the receipt-only failure of each transaction in `failed` with the reason a
    /// trace or a replay gives: the first transaction alone (so that a provider refusing a
    /// method is asked once, not once per transaction), then `receipt_concurrency` at a time.
    pub(crate) async fn explain_failures(&self, block: &mut Block, failed: Vec<FailedTx>) {
        let parent = block.block_ref.height.saturating_sub(1);
        let Some((first, rest)) = failed.split_first() else {
            return;
        };
        let mut found = vec![self.explain(first, parent).await];
        // Futures built before the stream, as in `receipts_per_tx` (`Send` for async_trait).
        let lookups: Vec<_> = rest.iter().map(|f| self.explain(f, parent)).collect();
        found.extend(
            stream::iter(lookups)
                .buffered(self.opts.receipt_concurrency.max(1))
                .collect::<Vec<Option<Failure>>>()
                .await,
        );
        for (f, failure) in failed.iter().zip(found) {
            match (failure, block.txs.get_mut(f.position)) {
                (Some(failure), Some(tx)) => tx.failure = Some(failure),
                _ => debug!(
                    target: TRACE_TARGET,
                    chain = %self.chain,
                    tx = %hex(f.hash),
                    "no failure reason found; keeping the receipt's facts"
                ),
            }
        }
    }

    /// The failure reason of `f` from a trace, else a replay at block `parent`; `None` when
    /// neither works.
    pub(crate) async fn explain(&self, f: &FailedTx, parent: u64) -> Option<Failure> {
        if !self.trace_support.skipped()
            && let Some(failure) = self.explain_by_trace(f).await
        {
            return Some(failure);
        }
        if self.replay_support.skipped() {
            return None;
        }
        self.explain_by_replay(f, parent).await
    }

    /// Logs a lookup error; a refusal switches the method off for [`REPROBE`].
    fn lookup_failed(&self, probe: &Probe, method: &'static str, f: &FailedTx, e: &FetchError) {
        if refuses(e) {
            if probe.refused() {
                warn!(
                    target: TRACE_TARGET,
                    chain = %self.chain,
                    method,
                    error = %ErrorChain(e),
                    "the providers refuse this failure-reason lookup; not using it for 10 minutes"
                );
            }
        } else {
            debug!(
                target: TRACE_TARGET,
                chain = %self.chain,
                method,
                tx = %hex(f.hash),
                error = %ErrorChain(e),
                "failure-reason lookup failed"
            );
        }
    }

    async fn explain_by_trace(&self, f: &FailedTx) -> Option<Failure> {
        let method = "debug_traceTransaction";
        let trace = self
            .pool
            .request::<Option<Value>>(method, json!([f.hash, {"tracer": "callTracer"}]))
            .await;
        let trace = match trace {
            Ok(t) => t?,
            Err(e) => {
                self.lookup_failed(&self.trace_support, method, f, &e);
                return None;
            }
        };
        match serde_json::from_value::<CallFrame>(trace) {
            Ok(frame) => explain::from_trace(&frame, f.facts, &self.errors),
            Err(e) => {
                debug!(target: TRACE_TARGET, chain = %self.chain, tx = %hex(f.hash), error = %e, "undecodable callTracer trace");
                None
            }
        }
    }

    async fn explain_by_replay(&self, f: &FailedTx, parent: u64) -> Option<Failure> {
        let tx: ReplayTx = match self
            .pool
            .request::<Option<ReplayTx>>("eth_getTransactionByHash", json!([f.hash]))
            .await
        {
            Ok(tx) => tx?,
            Err(e) => {
                debug!(target: TRACE_TARGET, chain = %self.chain, tx = %hex(f.hash), error = %ErrorChain(&e), "transaction for replay not fetched");
                return None;
            }
        };
        let limit = u64::try_from(tx.gas).ok()?;
        let stipend = if tx.value.is_some_and(|v| !v.is_zero()) {
            2_300
        } else {
            0
        };
        let gas = explain::execution_gas(limit, &tx.input).saturating_sub(stipend);
        let first = self.replay(f, &tx, parent, gas).await?;
        let exceptional = !first.success && first.data.is_empty() && f.facts.all_gas_used();
        let more_gas = gas
            .saturating_mul(8)
            .max(gas + 1_000_000)
            .min(REPLAY_GAS_CAP);
        let more = if exceptional && tx.to.is_some() && more_gas > gas {
            self.replay(f, &tx, parent, more_gas).await
        } else {
            None
        };
        explain::from_replay(
            &first,
            more.as_ref().map(|r| (r, gas, more_gas)),
            tx.to,
            f.facts,
            &self.errors,
        )
    }

    /// One `eth_call` at `parent` through [`explain::replay_code`] installed at the sender.
    async fn replay(&self, f: &FailedTx, tx: &ReplayTx, parent: u64, gas: u64) -> Option<Replay> {
        let method = "eth_call";
        let call_gas = match tx.to {
            // Intrinsic cost, the callee's gas with the 1/64 a CALL keeps back, and headroom
            // for the replay code itself (cold account access, value transfer, memory).
            Some(_) => explain::intrinsic_gas(&tx.input)
                .saturating_add(gas)
                .saturating_add(gas / 63)
                .saturating_add(60_000),
            // CREATE passes all but 1/64 of what is left: give it the transaction's limit.
            None => u64::try_from(tx.gas).ok()?.saturating_add(1_000),
        };
        let code = explain::replay_code(tx.to, gas);
        let mut call = json!({
            "from": tx.from,
            "to": tx.from,
            "gas": quantity(call_gas),
            "data": hex_bytes(&tx.input),
        });
        if let Some(v) = tx.value {
            call["value"] = json!(hex(v));
        }
        let overrides = json!({ hex(tx.from): {"code": hex_bytes(&code)} });
        let out = self
            .pool
            .request::<Bytes>(method, json!([call, quantity(parent), overrides]))
            .await;
        match out {
            Ok(out) => {
                let r = Replay::parse(&out);
                if r.is_none() {
                    debug!(target: TRACE_TARGET, chain = %self.chain, tx = %hex(f.hash), "unexpected replay output");
                }
                r
            }
            Err(e) => {
                self.lookup_failed(&self.replay_support, method, f, &e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_remembers_refusals_and_logs_once() {
        let p = Probe::default();
        assert!(!p.skipped());
        assert!(p.refused());
        assert!(p.skipped());
        assert!(!p.refused());
        *p.skip_until.lock().unwrap() = Some(Instant::now());
        assert!(!p.skipped());
    }

    #[test]
    fn refusals_are_permanent_or_rpc_errors() {
        assert!(refuses(&FetchError::permanent("method_not_found", "x")));
        assert!(refuses(&FetchError::transient("rpc_error", "x")));
        assert!(!refuses(&FetchError::transient("timeout", "x")));
        assert!(!refuses(&FetchError::transient("http_5xx", "x")));
    }
}
