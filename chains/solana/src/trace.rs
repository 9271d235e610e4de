//! `trace` for Solana: where a signature stands, from `getSignatureStatuses` with history search.

use chainwatch_chain_core::{ChainAdapter, FetchError};
use chainwatch_schema::{Finality, TraceFacts, TraceStatus, TxStatus, TxTrace};
use serde::Deserialize;
use serde_json::{Value, json};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client_types::config::{RpcSignatureStatusConfig, RpcTransactionConfig};
use solana_transaction_error::TransactionError;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, UiTransactionEncoding, UiTransactionError,
};

use crate::{
    SolanaAdapter,
    failure::{self, Context},
    normalize::confirmed_transaction,
    rpc::Contextual,
};

const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Checks that `sig` looks like a transaction signature: 64 bytes in base58 (at most 88
/// characters; at least 64, which only signatures with many leading zero bytes come near).
pub(crate) fn check_signature(sig: &str) -> Result<(), FetchError> {
    let ok = (64..=88).contains(&sig.len()) && sig.chars().all(|c| BASE58.contains(c));
    if ok {
        Ok(())
    } else {
        Err(FetchError::permanent(
            "invalid_hash",
            format!(
                "invalid Solana transaction signature {sig:?}: expected 64 bytes in base58 \
                 (87 or 88 characters of 1-9, A-Z and a-z without 0, O, I and l)"
            ),
        ))
    }
}

/// One entry of `getSignatureStatuses`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    slot: u64,
    #[serde(default)]
    confirmations: Option<u64>,
    #[serde(default)]
    err: Option<Value>,
    #[serde(default)]
    confirmation_status: Option<String>,
}

/// What the providers know of signature `sig`. See [`SolanaAdapter`]'s `trace`.
pub(crate) async fn trace(a: &SolanaAdapter, sig: &str) -> Result<TxTrace, FetchError> {
    check_signature(sig)?;
    let r: Contextual<Vec<Option<Status>>> = a
        .pool
        .request(
            "getSignatureStatuses",
            json!([
                [sig],
                RpcSignatureStatusConfig {
                    search_transaction_history: true
                }
            ]),
        )
        .await?;
    let Some(Some(st)) = r.value.into_iter().next() else {
        let mut t = TxTrace::new(
            TraceStatus::NotFound,
            "no provider knows this signature, in recent status caches or in its transaction \
             history: it never reached a leader, or it was dropped. A Solana transaction whose \
             recent blockhash is more than 150 blocks old (about a minute) can never land; \
             re-sign it with a fresh blockhash and send it again",
        );
        t.facts.extra = json!({ "context_slot": r.context.slot });
        return Ok(t);
    };
    let finality = match st.confirmation_status.as_deref() {
        Some("finalized") => Finality::Finalized,
        Some("confirmed") => Finality::Safe,
        Some(_) => Finality::Included,
        // Older nodes: no confirmationStatus; `confirmations: null` means rooted.
        None if st.confirmations.is_none() => Finality::Finalized,
        None => Finality::Included,
    };
    let mut facts = TraceFacts {
        extra: json!({
            "slot": st.slot,
            "confirmations": st.confirmations,
            "confirmation_status": st.confirmation_status,
        }),
        ..TraceFacts::default()
    };
    // The full transaction (logs, programs) for the failure reason and the fee payer; served
    // from `confirmed` on. Best effort: without it the error alone is classified.
    let tx = if finality >= Finality::Safe {
        let config = RpcTransactionConfig {
            encoding: Some(UiTransactionEncoding::Json),
            commitment: Some(CommitmentConfig::confirmed()),
            max_supported_transaction_version: Some(0),
        };
        a.pool
            .request::<Option<EncodedConfirmedTransactionWithStatusMeta>>(
                "getTransaction",
                json!([sig, config]),
            )
            .await
            .ok()
            .flatten()
            .and_then(|t| confirmed_transaction(t).ok())
    } else {
        None
    };
    let block = match a.block_ref(st.slot).await {
        Ok(Some(b)) => Some(b),
        _ => None,
    };
    let mut failure = None;
    if let Some((_, _, t)) = &tx {
        facts.sender.clone_from(&t.sender);
        if let Some(rb) = t.extra.get("recent_blockhash") {
            facts.extra["recent_blockhash"] = rb.clone();
        }
        if t.status == TxStatus::Failed {
            failure.clone_from(&t.failure);
        }
    }
    let (status, message) = match st.err.filter(|e| !e.is_null()) {
        Some(raw_err) => {
            if failure.is_none() {
                failure = serde_json::from_value::<UiTransactionError>(raw_err.clone())
                    .ok()
                    .map(|ui| {
                        failure::classify(&TransactionError::from(ui), raw_err, Context::default())
                    });
            }
            let what = failure
                .as_ref()
                .map_or_else(|| "an error".to_owned(), |f| f.message.clone());
            (
                TraceStatus::Failed,
                format!(
                    "landed in slot {} ({}) and failed: {what}; the fee was charged",
                    st.slot,
                    finality.as_str().to_ascii_lowercase()
                ),
            )
        }
        None => (
            TraceStatus::Included,
            format!(
                "landed in slot {} and succeeded; commitment {}",
                st.slot,
                st.confirmation_status.as_deref().unwrap_or("unknown")
            ),
        ),
    };
    Ok(TxTrace {
        status,
        reason: None,
        message,
        block,
        finality: Some(finality),
        failure,
        facts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_base58_of_64_bytes() {
        check_signature(
            "xjUw3f94FvbbGkhkokevTUn6aY4bHPcbnkF7ybe3MnM6a9DEEbkrURT5DP4JtnFJtpE7nLeX4qF27inBxXxnqi6",
        )
        .unwrap();
        for bad in [
            "",
            "0x5009",
            "xjUw3f94FvbbGkhkokevTUn6aY4bHPcbnkF7ybe3MnM6a9DEEbkrURT5DP4JtnFJtpE7nLeX4qF27inBxXxnqi0",
            "short",
        ] {
            let e = check_signature(bad).unwrap_err();
            assert_eq!(e.reason(), "invalid_hash");
            let msg = std::error::Error::source(&e).unwrap().to_string();
            assert!(msg.contains("expected 64 bytes in base58"), "{msg}");
        }
    }
}
