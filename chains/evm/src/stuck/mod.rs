//! Live diagnosis of one transaction: [`EvmAdapter::trace_with`] (and the trait's `trace`).
//!
//! 1. The hash must be `0x` and 64 hex digits, else [`FetchError::Permanent`] `invalid_hash`.
//! 2. Every provider is asked `eth_getTransactionByHash` (a transaction may sit in one node's
//!    mempool only); an answer with a block wins over a pending one.
//! 3. In a block: `INCLUDED`, with its block, finality (the block against the `safe` and
//!    `finalized` heads) and confirmations; `FAILED` when its receipt has status 0, with the
//!    failure reason the indexer would find (trace, else replay, else the receipt's facts).
//! 4. Pending: the sender's next nonce (`eth_getTransactionCount(sender, "latest")`). Below the
//!    transaction's nonce it is a `NONCE_GAP`, listing the lower nonces no mempool has
//!    (`txpool_contentFrom`, else `txpool_content`; when neither is available every lower nonce
//!    is listed and the message says why). Otherwise its fee cap (`maxFeePerGas`, or `gasPrice`)
//!    against the next block's base fee (`eth_feeHistory`, else the latest block's
//!    `baseFeePerGas`): below it is `FEE_TOO_LOW`, else `WAITING`.
//! 5. Unknown to every provider: without [`SeenTx`] it is `NOT_FOUND` (a dropped transaction's
//!    sender cannot be read from the chain). With it: when the sender's nonce has moved past the
//!    transaction's, `REPLACED` by the transaction mined with that nonce, found by a binary search
//!    of `eth_getTransactionCount` at heights from where it was last seen to the head, then that
//!    block's transactions; when a mempool holds another transaction with that nonce, `REPLACED`
//!    by that pending one; otherwise `DROPPED`. A replacement that calls the same `to` with the
//!    same value and data is a `SPEED_UP`, a zero-value transfer to the sender itself with no data
//!    a `CANCEL`, anything else `OTHER`.

mod replaced;

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, Bytes, U64, U256, keccak256};
use chainwatch_chain_core::{ErrorChain, FetchError};
use chainwatch_schema::{
    BlockRef, Finality, PendingReason, SeenTx, TraceFacts, TraceStatus, TxTrace,
};
use futures::future::join_all;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::debug;

use crate::{
    EvmAdapter, TRACE_TARGET, normalize,
    reasons::FailedTx,
    rpc::{RpcReceipt, RpcTransaction, hex},
};

/// Most missing nonces listed in a trace; the message still gives the whole range.
const MAX_LISTED_NONCES: u64 = 64;

/// A transaction object (`eth_getTransactionByHash`, a mempool entry, a full block's item),
/// the fields a trace needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TxObject {
    hash: B256,
    from: Address,
    #[serde(default)]
    to: Option<Address>,
    nonce: U64,
    #[serde(default)]
    value: Option<U256>,
    #[serde(default)]
    input: Bytes,
    #[serde(default)]
    gas_price: Option<U256>,
    #[serde(default)]
    max_fee_per_gas: Option<U256>,
    #[serde(default)]
    block_hash: Option<B256>,
    #[serde(default)]
    block_number: Option<U64>,
}

impl TxObject {
    /// The fee cap per gas: `maxFeePerGas`, or `gasPrice` for legacy transactions.
    fn fee_cap(&self) -> Option<U256> {
        self.max_fee_per_gas.or(self.gas_price)
    }

    fn nonce(&self) -> u64 {
        self.nonce.to::<u64>()
    }

    /// The facts every verdict about this transaction shares.
    fn facts(&self) -> TraceFacts {
        TraceFacts {
            sender: Some(hex(self.from)),
            nonce: Some(self.nonce()),
            to: self.to.map(hex),
            value: Some(self.value.unwrap_or_default().to_string()),
            input_hash: Some(hex(keccak256(&self.input))),
            max_fee: self.fee_cap().map(|f| f.to_string()),
            ..TraceFacts::default()
        }
    }
}

/// A block with full transaction objects, read for a replacement.
#[derive(Debug, Deserialize)]
struct FullBlock {
    hash: B256,
    transactions: Vec<TxObject>,
}

/// Checks and parses a transaction hash: `0x` (or `0X`) and 64 hex digits.
pub(crate) fn parse_hash(raw: &str) -> Result<B256, FetchError> {
    let well_formed = raw.len() == 66
        && (raw.starts_with("0x") || raw.starts_with("0X"))
        && raw[2..].bytes().all(|b| b.is_ascii_hexdigit());
    let parsed = well_formed.then(|| raw[2..].parse::<B256>().ok()).flatten();
    parsed.ok_or_else(|| {
        let shown: String = raw.chars().take(80).collect();
        let cut = if shown.len() < raw.len() { "…" } else { "" };
        FetchError::permanent(
            "invalid_hash",
            format!(
                "invalid transaction hash {shown:?}{cut}: expected 0x followed by 64 hex digits"
            ),
        )
    })
}

/// `v` wei in words: `1000000000 wei (1 gwei)`.
fn wei(v: U256) -> String {
    let gwei = U256::from(1_000_000_000u64);
    let (whole, frac) = v.div_rem(gwei);
    let frac = u64::try_from(frac).unwrap_or_default();
    let g = if frac == 0 {
        format!("{whole}")
    } else {
        let f = format!("{frac:09}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    };
    format!("{v} wei ({g} gwei)")
}

/// The first nonces of a list of `total` as a short phrase: `5`, `5 and 6`, `5, 6 and 9`,
/// `0, 1, … 63 and 900 more`.
fn nonce_list(listed: &[u64], total: usize) -> String {
    let words: Vec<String> = listed.iter().map(u64::to_string).collect();
    match words.as_slice() {
        [] => String::new(),
        _ if total > listed.len() => {
            format!("{} and {} more", words.join(", "), total - listed.len())
        }
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

impl EvmAdapter {
    /// Traces `hash` (see the module docs), with what the watch list remembers of it, if
    /// anything. The trait's `trace` is this with `None`.
    pub async fn trace_with(
        &self,
        hash: &str,
        seen: Option<&SeenTx>,
    ) -> Result<TxTrace, FetchError> {
        let hash = parse_hash(hash)?;
        let head = self.head_height().await?;
        let found = self.lookup(hash).await?;
        let mut trace = match found {
            Some((tx, raw)) if tx.block_number.is_some() => self.included(tx, raw, head).await?,
            Some((tx, _)) => self.pending(tx, head).await?,
            None => match seen {
                None => TxTrace::new(
                    TraceStatus::NotFound,
                    format!(
                        "no provider knows transaction {}: it is in no block and in no mempool, and \
                         chainwatch has not traced it before, so it cannot tell whether it was \
                         dropped or replaced (a transaction traced while pending is remembered)",
                        hex(hash)
                    ),
                ),
                Some(seen) => self.forgotten(hash, seen, head).await?,
            },
        };
        trace.facts.head_height = head;
        Ok(trace)
    }

    /// The latest block number (`Some`, as the facts and the replacement search take it).
    async fn head_height(&self) -> Result<Option<u64>, FetchError> {
        let n: U64 = self.pool.request("eth_blockNumber", json!([])).await?;
        Ok(Some(n.to::<u64>()))
    }

    /// `eth_getTransactionByHash` on every provider; an answer with a block wins. An error only
    /// when no provider answered at all.
    async fn lookup(&self, hash: B256) -> Result<Option<(TxObject, RpcTransaction)>, FetchError> {
        let answers = join_all((0..self.pool.len()).map(|i| {
            self.pool
                .request_on::<Option<Value>>(i, "eth_getTransactionByHash", json!([hash]))
        }))
        .await;
        let mut best: Option<Value> = None;
        let mut answered = 0usize;
        let mut errors = Vec::new();
        for (label, answer) in self.pool.labels().zip(answers) {
            match answer {
                Ok(v) => {
                    answered += 1;
                    if let Some(v) = v.filter(|v| !v.is_null()) {
                        let mined = !v["blockNumber"].is_null();
                        if best
                            .as_ref()
                            .is_none_or(|b| mined && b["blockNumber"].is_null())
                        {
                            best = Some(v);
                        }
                    }
                }
                Err(e) => errors.push(format!("`{label}` ({})", e.reason)),
            }
        }
        if answered == 0 {
            return Err(FetchError::transient(
                "unreachable",
                format!(
                    "no provider of {} answered eth_getTransactionByHash (tried {})",
                    self.chain,
                    errors.join(", ")
                ),
            ));
        }
        let Some(v) = best else { return Ok(None) };
        let invalid = |e: serde_json::Error| FetchError::Permanent {
            reason: "invalid_response",
            source: format!("undecodable transaction {}: {e}", hex(hash)).into(),
        };
        let tx: TxObject = serde_json::from_value(v.clone()).map_err(invalid)?;
        let raw: RpcTransaction = serde_json::from_value(v).map_err(invalid)?;
        Ok(Some((tx, raw)))
    }

    /// The sender's nonce at `at` (`latest` or a block number): the next nonce it can use.
    async fn nonce_at(&self, sender: Address, at: &str) -> Result<u64, FetchError> {
        let n: U64 = self
            .pool
            .request("eth_getTransactionCount", json!([sender, at]))
            .await?;
        Ok(n.to::<u64>())
    }

    /// In a block: `INCLUDED`, or `FAILED` with its reason.
    async fn included(
        &self,
        tx: TxObject,
        raw: RpcTransaction,
        head: Option<u64>,
    ) -> Result<TxTrace, FetchError> {
        let height = tx.block_number.map_or(0, |n| n.to::<u64>());
        let block = BlockRef::new(height, tx.block_hash.map(hex).unwrap_or_default());
        let receipt: Option<RpcReceipt> = self
            .pool
            .request("eth_getTransactionReceipt", json!([tx.hash]))
            .await?;
        let finality = self.finality_of(height).await;
        let confirmations = head.map_or(1, |h| h.saturating_sub(height) + 1);
        let where_ = format!(
            "block {height} ({}), finality {}, {confirmations} confirmation{}",
            block.hash,
            finality.as_str(),
            if confirmations == 1 { "" } else { "s" }
        );
        let mut trace = match receipt.filter(|r| r.status.is_some_and(|s| s.is_zero())) {
            Some(r) => {
                let f = FailedTx::single(tx.hash, raw.gas, r.gas_used);
                let failure = match self.explain(&f, height.saturating_sub(1)).await {
                    Some(failure) => failure,
                    None => normalize::failure(&raw, &r),
                };
                let mut t = TxTrace::new(
                    TraceStatus::Failed,
                    format!(
                        "failed in {where_}: {}; chainwatch has not indexed it yet",
                        failure.message
                    ),
                );
                t.failure = Some(failure);
                t
            }
            None => TxTrace::new(
                TraceStatus::Included,
                format!("included in {where_}; chainwatch has not indexed it yet"),
            ),
        };
        trace.block = Some(block);
        trace.finality = Some(finality);
        trace.facts = tx.facts();
        Ok(trace)
    }

    /// The finality of a block at `height` against the safe and finalized heads; `Included`
    /// when they cannot be read.
    async fn finality_of(&self, height: u64) -> Finality {
        use chainwatch_chain_core::ChainAdapter as _;
        for level in [Finality::Finalized, Finality::Safe] {
            match self.head(level).await {
                Ok(Some(h)) if h.height >= height => return level,
                Ok(_) => {}
                Err(e) => {
                    debug!(target: TRACE_TARGET, chain = %self.chain, level = level.as_str(), error = %ErrorChain(&e), "finality head unavailable for a trace");
                }
            }
        }
        Finality::Included
    }

    /// Pending: why it waits.
    async fn pending(&self, tx: TxObject, head: Option<u64>) -> Result<TxTrace, FetchError> {
        let nonce = tx.nonce();
        let account = self.nonce_at(tx.from, "latest").await?;
        let mut facts = tx.facts();
        facts.account_nonce = Some(account);
        if account > nonce {
            // A provider still holds it, but its nonce is taken: it can never be mined.
            let mut seen = SeenTx::from_facts(&facts).unwrap_or_else(|| SeenTx {
                sender: hex(tx.from),
                nonce,
                to: None,
                value: None,
                input_hash: None,
                max_fee: None,
                seen_height: None,
            });
            seen.seen_height = None;
            return self.replaced(tx.hash, &seen, account, head).await;
        }
        let sender = hex(tx.from);
        if account < nonce {
            let pool = self.mempool_of(tx.from).await;
            let lower = account..nonce;
            let gap = nonce - account;
            let missing: Vec<u64> = lower
                .clone()
                .filter(|n| pool.as_ref().is_none_or(|p| !p.contains_key(n)))
                .take(MAX_LISTED_NONCES as usize)
                .collect();
            let range = if gap == 1 {
                format!("nonce {account}")
            } else {
                format!("nonces {account} to {}", nonce - 1)
            };
            let mut trace = if missing.is_empty() {
                TxTrace::new(
                    TraceStatus::Pending,
                    format!(
                        "pending: nonce {nonce} of {sender} is queued behind {range} of the same \
                         sender, which are pending in the mempool and will be mined first"
                    ),
                )
            } else {
                let why = match &pool {
                    Some(_) => "which no provider's mempool holds".to_owned(),
                    None => "which are not mined (the providers do not let chainwatch inspect \
                             their mempools, so every lower unmined nonce is listed)"
                        .to_owned(),
                };
                let count = lower
                    .filter(|n| pool.as_ref().is_none_or(|p| !p.contains_key(n)))
                    .count();
                let mut t = TxTrace::new(
                    TraceStatus::Pending,
                    format!(
                        "nonce gap: nonce {nonce} of {sender} waits for {} {}, {why}; the \
                         sender's next nonce on chain is {account}. Send the missing nonce{}, or \
                         replace this transaction using nonce {account}",
                        if count == 1 { "nonce" } else { "nonces" },
                        nonce_list(&missing, count),
                        if count == 1 { "" } else { "s" },
                    ),
                );
                t.reason = Some(PendingReason::NonceGap);
                t
            };
            trace.reason.get_or_insert(PendingReason::Waiting);
            facts.missing_nonces = missing;
            trace.facts = facts;
            return Ok(trace);
        }
        let base = self.next_base_fee().await;
        facts.base_fee = base.map(|b| b.to_string());
        let mut trace = match (tx.fee_cap(), base) {
            (Some(cap), Some(base)) if cap < base => {
                let mut t = TxTrace::new(
                    TraceStatus::Pending,
                    format!(
                        "fee too low: its max fee per gas, {}, is below the next block's base fee, \
                         {}; it cannot be included until the base fee falls to its max fee, or \
                         until it is replaced with a higher fee (nonce {nonce})",
                        wei(cap),
                        wei(base)
                    ),
                );
                t.reason = Some(PendingReason::FeeTooLow);
                t
            }
            (cap, base) => {
                let fees = match (cap, base) {
                    (Some(c), Some(b)) => format!(
                        "; its max fee per gas, {}, covers the next block's base fee, {}",
                        wei(c),
                        wei(b)
                    ),
                    _ => String::new(),
                };
                let mut t = TxTrace::new(
                    TraceStatus::Pending,
                    format!(
                        "waiting: pending with nonce {nonce}, the sender's next{fees}; it waits \
                         for a block producer to include it"
                    ),
                );
                t.reason = Some(PendingReason::Waiting);
                t
            }
        };
        trace.facts = facts;
        Ok(trace)
    }

    /// The base fee per gas of the next block: the last entry of `eth_feeHistory`, else the
    /// latest block's `baseFeePerGas`; `None` before London or when neither answers.
    async fn next_base_fee(&self) -> Option<U256> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct History {
            #[serde(default)]
            base_fee_per_gas: Vec<U256>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Header {
            #[serde(default)]
            base_fee_per_gas: Option<U256>,
        }
        match self
            .pool
            .request::<History>("eth_feeHistory", json!(["0x1", "latest", []]))
            .await
        {
            Ok(h) if h.base_fee_per_gas.last().is_some_and(|b| !b.is_zero()) => {
                return h.base_fee_per_gas.last().copied();
            }
            Ok(_) => {}
            Err(e) => {
                debug!(target: TRACE_TARGET, chain = %self.chain, error = %ErrorChain(&e), "eth_feeHistory failed; using the latest block's base fee");
            }
        }
        self.pool
            .request::<Option<Header>>("eth_getBlockByNumber", json!(["latest", false]))
            .await
            .ok()
            .flatten()
            .and_then(|h| h.base_fee_per_gas)
    }

    /// The sender's transactions in a provider's mempool, by nonce (`txpool_contentFrom`, else
    /// `txpool_content`); `None` when no provider lets chainwatch look.
    async fn mempool_of(&self, sender: Address) -> Option<BTreeMap<u64, TxObject>> {
        let mut out = BTreeMap::new();
        let groups = match self
            .pool
            .request::<Value>("txpool_contentFrom", json!([sender]))
            .await
        {
            Ok(v) => ["pending", "queued"].map(|k| v[k].clone()),
            Err(e) => {
                debug!(target: TRACE_TARGET, chain = %self.chain, error = %ErrorChain(&e), "txpool_contentFrom failed; trying txpool_content");
                let all = match self
                    .pool
                    .request::<Value>("txpool_content", json!([]))
                    .await
                {
                    Ok(v) => v,
                    Err(e) => {
                        debug!(target: TRACE_TARGET, chain = %self.chain, error = %ErrorChain(&e), "txpool_content failed; the mempool cannot be inspected");
                        return None;
                    }
                };
                // Keys are addresses, checksummed by some nodes: compare parsed.
                ["pending", "queued"].map(|k| {
                    all[k]
                        .as_object()
                        .and_then(|by_sender| {
                            by_sender
                                .iter()
                                .find(|(a, _)| a.parse::<Address>().ok() == Some(sender))
                                .map(|(_, v)| v.clone())
                        })
                        .unwrap_or(Value::Null)
                })
            }
        };
        for group in groups {
            let Some(by_nonce) = group.as_object() else {
                continue;
            };
            for (n, tx) in by_nonce {
                if let (Ok(n), Ok(tx)) = (n.parse::<u64>(), serde_json::from_value(tx.clone())) {
                    out.insert(n, tx);
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_checked() {
        let h = format!("0x{}", "Ab".repeat(32));
        assert_eq!(hex(parse_hash(&h).unwrap()), h.to_ascii_lowercase());
        for bad in ["", "0x12", &h[2..], &format!("{h}0"), &h.replace('A', "g")] {
            let e = parse_hash(bad).unwrap_err();
            assert_eq!(e.reason(), "invalid_hash");
            let msg = std::error::Error::source(&e).unwrap().to_string();
            assert!(msg.contains(&format!("{bad:?}")), "{msg}");
            assert!(
                msg.contains("expected 0x followed by 64 hex digits"),
                "{msg}"
            );
        }
        let long = "x".repeat(500);
        let msg = std::error::Error::source(&parse_hash(&long).unwrap_err())
            .unwrap()
            .to_string();
        assert!(msg.len() < 200 && msg.contains('…'), "{msg}");
    }

    #[test]
    fn amounts_and_nonce_lists_read_well() {
        assert_eq!(
            wei(U256::from(1_500_000_000u64)),
            "1500000000 wei (1.5 gwei)"
        );
        assert_eq!(wei(U256::from(7u64)), "7 wei (0.000000007 gwei)");
        assert_eq!(nonce_list(&[5], 1), "5");
        assert_eq!(nonce_list(&[5, 6], 2), "5 and 6");
        assert_eq!(nonce_list(&[5, 6, 9], 3), "5, 6 and 9");
        assert_eq!(nonce_list(&[0, 1], 900), "0, 1 and 898 more");
    }
}
