//! Blocks, transactions, statuses, finality and failures.

use serde::{Deserialize, Serialize};

use crate::ChainId;

/// A block's position: its height and hash.
///
/// Hashes are kept in the chain's own text form (`0x…` lowercase hex for EVM, base58 for Solana
/// and Sui) so that they compare exactly as the chain prints them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockRef {
    /// EVM block number, Solana slot, Aptos block height or Sui checkpoint sequence number.
    pub height: u64,
    /// The block's hash (checkpoint digest on Sui).
    pub hash: String,
}

impl BlockRef {
    /// A ref from its parts.
    pub fn new(height: u64, hash: impl Into<String>) -> Self {
        Self {
            height,
            hash: hash.into(),
        }
    }
}

impl std::fmt::Display for BlockRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} ({})", self.height, self.hash)
    }
}

/// How final something is. Ordered: `Pending < Included < Safe < Finalized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Finality {
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
    /// The name used in SQL, metrics and GraphQL (`SAFE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Included => "INCLUDED",
            Self::Safe => "SAFE",
            Self::Finalized => "FINALIZED",
        }
    }
}

/// What happened to a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum TxStatus {
    /// Known but not in a canonical block.
    Pending,
    /// Executed successfully in a canonical block.
    Succeeded,
    /// Included in a canonical block but its execution failed; see [`Failure`].
    Failed,
    /// Left the mempool without being included.
    Dropped,
    /// Another transaction took its nonce.
    Replaced,
    /// Was in a block that a reorg removed, and is not (yet) in the new chain.
    ReorgedOut,
}

impl TxStatus {
    /// The name used in SQL and GraphQL (`SUCCEEDED`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Dropped => "DROPPED",
            Self::Replaced => "REPLACED",
            Self::ReorgedOut => "REORGED_OUT",
        }
    }

    /// Parses the SQL/GraphQL name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => Self::Pending,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            "DROPPED" => Self::Dropped,
            "REPLACED" => Self::Replaced,
            "REORGED_OUT" => Self::ReorgedOut,
            _ => return None,
        })
    }
}

/// The normalized class of a failure. New kinds may be added: match with a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum FailureKind {
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
    /// Anything else; `raw` holds what the chain said. Unknown kinds from newer producers decode
    /// as this too.
    #[serde(other)]
    Other,
}

impl FailureKind {
    /// The name used in SQL and GraphQL (`OUT_OF_GAS`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reverted => "REVERTED",
            Self::Panic => "PANIC",
            Self::CustomError => "CUSTOM_ERROR",
            Self::OutOfGas => "OUT_OF_GAS",
            Self::InvalidOpcode => "INVALID_OPCODE",
            Self::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Self::BadNonce => "BAD_NONCE",
            Self::ProgramError => "PROGRAM_ERROR",
            Self::MoveAbort => "MOVE_ABORT",
            Self::ExecutionError => "EXECUTION_ERROR",
            Self::Expired => "EXPIRED",
            Self::Other => "OTHER",
        }
    }
}

/// Why a transaction failed: a normalized kind and a human message, with the chain's own words
/// kept untouched in `raw`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The normalized class.
    pub kind: FailureKind,
    /// A machine code where the chain has one (panic code, selector, abort code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What a human reads.
    pub message: String,
    /// Where it failed (contract, program and instruction, Move module), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The chain's own data about the failure, as JSON text, untouched.
    pub raw: String,
}

/// A transaction as chainwatch stores it, whatever its chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// Hash (Solana: first signature; Sui: digest) in the chain's text form.
    pub hash: String,
    /// Position in its block.
    pub index: u32,
    /// The account that signed or paid, if the chain names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// The account or contract called, if any (EVM `to`; absent for contract creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The sender's nonce or sequence number, where the chain has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u64>,
    /// Value moved in the chain's smallest native unit, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Fee paid in the chain's smallest native unit, as a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<String>,
    /// Outcome. Only `Succeeded` and `Failed` come from a block; the other states are derived.
    pub status: TxStatus,
    /// Why it failed, when `status` is `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Chain-specific details (EVM gas used, type, contract created; Solana compute units …).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub extra: serde_json::Value,
}

/// A block with its transactions, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// The chain it belongs to.
    pub chain: ChainId,
    /// Its height and hash.
    #[serde(rename = "ref")]
    pub block_ref: BlockRef,
    /// The parent's hash, used to detect reorgs.
    pub parent_hash: String,
    /// Block time, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Transactions in block order.
    pub txs: Vec<Transaction>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finality_is_ordered() {
        assert!(Finality::Pending < Finality::Included);
        assert!(Finality::Included < Finality::Safe);
        assert!(Finality::Safe < Finality::Finalized);
    }

    #[test]
    fn names_round_trip() {
        for s in [
            TxStatus::Pending,
            TxStatus::Succeeded,
            TxStatus::Failed,
            TxStatus::Dropped,
            TxStatus::Replaced,
            TxStatus::ReorgedOut,
        ] {
            assert_eq!(TxStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        let k: FailureKind = serde_json::from_str("\"SOMETHING_NEW\"").unwrap();
        assert_eq!(k, FailureKind::Other);
        assert_eq!(
            serde_json::to_string(&FailureKind::OutOfGas).unwrap(),
            "\"OUT_OF_GAS\""
        );
    }
}
