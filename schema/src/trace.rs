//! Live diagnosis of one transaction (`traceTransaction`, `chainwatch trace`).
//!
//! An adapter asks its providers what they know of a transaction and answers with a
//! [`TxTrace`]; the caller (API or CLI) turns it into `INDEXED` when the index already holds the
//! transaction. The types are chain-agnostic: each family fills the facts it has.

use serde::{Deserialize, Serialize};

use crate::{BlockRef, Failure, Finality};

/// Where a transaction stands, as the chain's providers and the index see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum TraceStatus {
    /// Known to a provider's mempool (or executed but not yet in a block/checkpoint); see
    /// [`PendingReason`].
    Pending,
    /// In a canonical block that chainwatch has not indexed yet; `finality` says how final.
    Included,
    /// In a block and executed with an error, not indexed yet; `failure` says why.
    Failed,
    /// In the index; the indexed transaction is the answer.
    Indexed,
    /// Another transaction from the same sender took its nonce.
    Replaced,
    /// No provider knows it any more and its nonce is still unused: it left the mempool.
    Dropped,
    /// It can never land: its blockhash or expiration time has passed.
    Expired,
    /// Nobody knows this hash.
    NotFound,
}

impl TraceStatus {
    /// The name used in GraphQL and the CLI (`NOT_FOUND`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Included => "INCLUDED",
            Self::Failed => "FAILED",
            Self::Indexed => "INDEXED",
            Self::Replaced => "REPLACED",
            Self::Dropped => "DROPPED",
            Self::Expired => "EXPIRED",
            Self::NotFound => "NOT_FOUND",
        }
    }

    /// Whether the transaction can no longer change state (the watch list stops polling it).
    /// `Indexed` is final for the trace: from then on the index tracks it.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Included)
    }
}

/// Why a pending transaction is not in a block yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum PendingReason {
    /// The sender has unmined transactions with lower nonces missing: this one must wait for them.
    NonceGap,
    /// Its fee cap is below the current base fee (or the minimum the chain accepts).
    FeeTooLow,
    /// Nothing wrong that chainwatch can see: it is waiting for a block.
    Waiting,
}

impl PendingReason {
    /// The name used in GraphQL and the CLI (`NONCE_GAP`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NonceGap => "NONCE_GAP",
            Self::FeeTooLow => "FEE_TOO_LOW",
            Self::Waiting => "WAITING",
        }
    }
}

/// How a replacing transaction relates to the one it replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReplacementKind {
    /// Same call with a higher fee.
    SpeedUp,
    /// A no-op (zero-value transfer to the sender itself, no data) that frees the nonce.
    Cancel,
    /// A different transaction with the same nonce.
    Other,
}

/// The facts behind a trace's verdict; each family fills what it has. Amounts are decimal
/// strings in the chain's smallest unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceFacts {
    /// The signer / fee payer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// This transaction's nonce (EVM) or sequence number (Aptos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u64>,
    /// The account or contract called (EVM `to`; absent for contract creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Native value moved, in the smallest unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A hash of the call data (EVM: keccak-256 of `input`), so that a replacement can be
    /// compared with the original without keeping the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_hash: Option<String>,
    /// The chain's latest height when the trace was made: the facts hold as of this block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_height: Option<u64>,
    /// The sender's next nonce on the chain (the lowest one not yet used in a block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_nonce: Option<u64>,
    /// Nonces between `account_nonce` and `nonce` that no provider has a transaction for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_nonces: Vec<u64>,
    /// The current base fee per gas (EVM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_fee: Option<String>,
    /// The transaction's fee cap per gas (`maxFeePerGas`, or `gasPrice` for legacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fee: Option<String>,
    /// The transaction that took this one's nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// How the replacement relates to this transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<ReplacementKind>,
    /// When the transaction stops being valid, milliseconds since the Unix epoch (Aptos
    /// expiration timestamp), if it has such a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// Anything else the family knows (Solana recent blockhash and its age, Sui checkpoint …).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub extra: serde_json::Value,
}

/// What was seen of a transaction while a provider still knew it, remembered by the watch list.
///
/// Once every provider has forgotten a transaction, its sender and nonce cannot be read from the
/// chain any more; with these facts a later trace can still tell `REPLACED` (the sender's nonce
/// moved past this one, and which transaction took it) from `DROPPED` (the nonce is unused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenTx {
    /// The signer.
    pub sender: String,
    /// Its nonce (EVM) or sequence number (Aptos).
    pub nonce: u64,
    /// The account or contract called.
    pub to: Option<String>,
    /// Native value moved, smallest unit, decimal.
    pub value: Option<String>,
    /// Hash of the call data (see [`TraceFacts::input_hash`]).
    pub input_hash: Option<String>,
    /// Its fee cap per gas, smallest unit, decimal.
    pub max_fee: Option<String>,
    /// The chain's latest height when it was last seen pending: a replacement was mined above it.
    pub seen_height: Option<u64>,
}

impl SeenTx {
    /// What to remember of a trace: `None` unless the trace names a sender and a nonce.
    pub fn from_facts(facts: &TraceFacts) -> Option<Self> {
        Some(Self {
            sender: facts.sender.clone()?,
            nonce: facts.nonce?,
            to: facts.to.clone(),
            value: facts.value.clone(),
            input_hash: facts.input_hash.clone(),
            max_fee: facts.max_fee.clone(),
            seen_height: facts.head_height,
        })
    }
}

/// What the chain's providers know of one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxTrace {
    /// The verdict.
    pub status: TraceStatus,
    /// Why it is still pending, when `status` is `Pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<PendingReason>,
    /// The verdict in plain words, with the numbers a person needs (e.g. "nonce 7 is waiting for
    /// nonces 5 and 6, which no provider has").
    pub message: String,
    /// The block holding it, when a provider found it in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<BlockRef>,
    /// How final that block is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finality: Option<Finality>,
    /// Why it failed, when `status` is `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The facts behind the verdict.
    #[serde(default)]
    pub facts: TraceFacts,
}

impl TxTrace {
    /// A trace with `status` and `message` and no facts.
    pub fn new(status: TraceStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            reason: None,
            message: message.into(),
            block: None,
            finality: None,
            failure: None,
            facts: TraceFacts::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for s in [
            TraceStatus::Pending,
            TraceStatus::Included,
            TraceStatus::Failed,
            TraceStatus::Indexed,
            TraceStatus::Replaced,
            TraceStatus::Dropped,
            TraceStatus::Expired,
            TraceStatus::NotFound,
        ] {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for r in [
            PendingReason::NonceGap,
            PendingReason::FeeTooLow,
            PendingReason::Waiting,
        ] {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
        assert!(!TraceStatus::Pending.is_final());
        assert!(TraceStatus::Dropped.is_final());
    }
}
