//! `trace`: what the providers know of one Aptos transaction.
//!
//! - Committed (`/v1/transactions/by_hash` answers a committed type): `INCLUDED` in its block
//!   (`/v1/blocks/by_version/{version}`) with finality `FINALIZED`, or `FAILED` with the failure
//!   from its `vm_status`.
//! - `pending_transaction` (in the provider's mempool), compared with the sender's account
//!   (`/v1/accounts/{address}`; an account that does not exist yet has sequence number 0) and
//!   with the chain's clock (the ledger info's `ledger_timestamp`), in this order:
//!   - its sequence number is below the account's: `REPLACED`: another transaction used it
//!     (`/v1/accounts/{address}/transactions?start=<n>&limit=1` names it);
//!   - its expiration time has passed: `EXPIRED` (it can never be committed);
//!   - its sequence number is above the account's: `PENDING` / `NONCE_GAP`, listing the
//!     missing sequence numbers (at most 100);
//!   - equal: `PENDING` / `WAITING`.
//!
//!   Orderless transactions (with a replay-protection nonce) skip the sequence checks.
//! - 404: `NOT_FOUND`.

use chainwatch_chain_core::FetchError;
use chainwatch_schema::{BlockRef, Finality, PendingReason, TraceFacts, TraceStatus, TxTrace};

use crate::{
    AptosAdapter,
    adapter::route,
    ids::canonical_hash,
    normalize::TxnFacts,
    rest::{Account, RestBlock, RestTxn},
};

/// At most this many missing sequence numbers are listed.
const MAX_MISSING: u64 = 100;

fn undecodable(e: crate::DecodeError) -> FetchError {
    FetchError::transient("decode", chainwatch_chain_core::ErrorChain(&e).to_string())
}

pub(crate) async fn trace(a: &AptosAdapter, hash: &str) -> Result<TxTrace, FetchError> {
    let hash = canonical_hash(hash).map_err(|m| {
        FetchError::permanent(
            "invalid_hash",
            format!("invalid Aptos transaction hash: {m}"),
        )
    })?;
    let txn: Option<RestTxn> = a
        .pool
        .get_json(route::TXN_BY_HASH, &format!("/transactions/by_hash/{hash}"))
        .await?;
    let Some(txn) = txn else {
        return Ok(TxTrace::new(
            TraceStatus::NotFound,
            format!(
                "transaction {hash} is neither committed on {} nor in the mempool of the provider asked",
                a.chain
            ),
        ));
    };
    let facts = TxnFacts::from_rest(&txn).map_err(undecodable)?;
    if facts.is_pending() {
        return pending(a, &hash, facts).await;
    }
    let version = facts.version.ok_or_else(|| {
        FetchError::transient(
            "decode",
            format!("committed transaction {hash} has no version"),
        )
    })?;
    let block: Option<RestBlock> = a
        .pool
        .get_json(
            route::BLOCK_BY_VERSION,
            &format!("/blocks/by_version/{version}?with_transactions=false"),
        )
        .await?;
    let block = block
        .map(|b| {
            canonical_hash(&b.block_hash)
                .map(|h| BlockRef::new(b.block_height, h))
                .map_err(|m| FetchError::transient("decode", m))
        })
        .transpose()?;
    let mut trace_facts = TraceFacts {
        sender: facts.sender.clone(),
        nonce: facts.sequence_number,
        ..TraceFacts::default()
    };
    trace_facts.extra = serde_json::json!({ "version": version });
    let tx = facts.into_transaction(0).map_err(undecodable)?;
    let at = block.as_ref().map_or_else(
        || format!("version {version}"),
        |b| format!("block {} (version {version})", b.height),
    );
    let mut t = match tx.failure {
        Some(f) => {
            let mut t = TxTrace::new(
                TraceStatus::Failed,
                format!("committed in {at} and failed: {}", f.message),
            );
            t.failure = Some(f);
            t
        }
        None => TxTrace::new(TraceStatus::Included, format!("committed in {at}; final")),
    };
    t.block = block;
    t.finality = Some(Finality::Finalized);
    t.facts = trace_facts;
    Ok(t)
}

async fn pending(a: &AptosAdapter, hash: &str, f: TxnFacts) -> Result<TxTrace, FetchError> {
    let mut facts = TraceFacts {
        sender: f.sender.clone(),
        nonce: f.sequence_number,
        expires_at_ms: f.expiration_timestamp_secs.map(|s| s.saturating_mul(1000)),
        ..TraceFacts::default()
    };
    let li = a.ledger().await?;
    let expired = match (&li, f.expiration_timestamp_secs) {
        (Some(li), Some(exp)) if exp.saturating_mul(1_000_000) <= li.ledger_timestamp => {
            Some(TxTrace::new(
                TraceStatus::Expired,
                format!(
                    "transaction {hash} expired at {exp} s (chain time is {} s) without being \
                     committed; it can never be",
                    li.ledger_timestamp / 1_000_000
                ),
            ))
        }
        _ => None,
    };
    let (Some(sender), Some(seq), None) = (&f.sender, f.sequence_number, f.replay_protection_nonce)
    else {
        let mut t = expired.unwrap_or_else(|| {
            let mut t = TxTrace::new(
                TraceStatus::Pending,
                format!("transaction {hash} is in the mempool, waiting to be committed"),
            );
            t.reason = Some(PendingReason::Waiting);
            t
        });
        t.facts = facts;
        return Ok(t);
    };
    let account: Option<Account> = a
        .pool
        .get_json(route::ACCOUNT, &format!("/accounts/{sender}"))
        .await?;
    let next = account.map_or(0, |a| a.sequence_number);
    facts.account_nonce = Some(next);
    let mut t = if seq < next {
        // Said before expiry: who took the sequence number is the more useful answer.
        let used: Option<Vec<RestTxn>> = a
            .pool
            .get_json(
                route::ACCOUNT_TXNS,
                &format!("/accounts/{sender}/transactions?start={seq}&limit=1"),
            )
            .await?;
        let by = used
            .unwrap_or_default()
            .into_iter()
            .find(|t| t.sequence_number == Some(seq))
            .and_then(|t| canonical_hash(&t.hash).ok());
        let msg = match &by {
            Some(h) => format!(
                "sequence number {seq} was used by transaction {h}; this one can never be committed"
            ),
            None => format!(
                "sequence number {seq} is already used (the account is at {next}); this one can never be committed"
            ),
        };
        facts.replaced_by = by;
        TxTrace::new(TraceStatus::Replaced, msg)
    } else if let Some(t) = expired {
        t
    } else if seq > next {
        facts.missing_nonces = (next..seq).take(MAX_MISSING as usize).collect();
        let mut t = TxTrace::new(
            TraceStatus::Pending,
            format!(
                "sequence number {seq} is waiting for {}: the account {sender} is at {next}",
                if seq - next == 1 {
                    format!("sequence number {next}")
                } else {
                    format!("sequence numbers {next} to {}", seq - 1)
                }
            ),
        );
        t.reason = Some(PendingReason::NonceGap);
        t
    } else {
        let mut t = TxTrace::new(
            TraceStatus::Pending,
            format!("sequence number {seq} is next for {sender}; waiting to be committed"),
        );
        t.reason = Some(PendingReason::Waiting);
        t
    };
    t.facts = facts;
    Ok(t)
}
