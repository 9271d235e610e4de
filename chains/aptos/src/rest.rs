//! The REST API's JSON (`/v1`), as lean serde types holding only what chainwatch uses. Unknown
//! fields (write-set `changes`, signatures' keys, event payloads other than the fee statement)
//! are skipped; unknown transaction types decode too.

use serde::Deserialize;

use crate::ids::{opt_u64_str, u64_str};

/// `GET /v1` (ledger info).
#[derive(Debug, Deserialize)]
pub(crate) struct LedgerInfo {
    pub(crate) chain_id: u8,
    #[serde(deserialize_with = "u64_str")]
    pub(crate) block_height: u64,
    /// Microseconds since the Unix epoch: the chain's clock.
    #[serde(deserialize_with = "u64_str")]
    pub(crate) ledger_timestamp: u64,
}

/// `GET /v1/blocks/by_height/{h}` (with or without `with_transactions=true`).
#[derive(Debug, Deserialize)]
pub(crate) struct RestBlock {
    #[serde(deserialize_with = "u64_str")]
    pub(crate) block_height: u64,
    pub(crate) block_hash: String,
    /// Microseconds since the Unix epoch.
    #[serde(deserialize_with = "u64_str")]
    pub(crate) block_timestamp: u64,
    #[serde(deserialize_with = "u64_str")]
    pub(crate) first_version: u64,
    #[serde(deserialize_with = "u64_str")]
    pub(crate) last_version: u64,
    /// Absent without `with_transactions=true`; may be truncated (fewer than the version range).
    #[serde(default)]
    pub(crate) transactions: Option<Vec<RestTxn>>,
}

/// `GET /v1/accounts/{address}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Account {
    #[serde(deserialize_with = "u64_str")]
    pub(crate) sequence_number: u64,
}

/// One transaction of any type (`user_transaction`, `block_metadata_transaction`,
/// `pending_transaction` …). Fields a type lacks are `None`.
#[derive(Debug, Deserialize)]
pub(crate) struct RestTxn {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) hash: String,
    /// Absent on pending transactions.
    #[serde(default, deserialize_with = "opt_u64_str")]
    pub(crate) version: Option<u64>,
    #[serde(default)]
    pub(crate) success: Option<bool>,
    #[serde(default)]
    pub(crate) vm_status: Option<String>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    pub(crate) gas_used: Option<u64>,
    #[serde(default)]
    pub(crate) sender: Option<String>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    pub(crate) sequence_number: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    pub(crate) max_gas_amount: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    pub(crate) gas_unit_price: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    pub(crate) expiration_timestamp_secs: Option<u64>,
    /// Orderless transactions (AIP-123) carry a nonce instead of using the sequence number.
    #[serde(default, deserialize_with = "opt_u64_str")]
    pub(crate) replay_protection_nonce: Option<u64>,
    #[serde(default)]
    pub(crate) payload: Option<Payload>,
    #[serde(default)]
    pub(crate) signature: Option<Signature>,
    #[serde(default)]
    pub(crate) events: Vec<Event>,
    // Block metadata.
    #[serde(default, deserialize_with = "opt_u64_str")]
    pub(crate) epoch: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    pub(crate) round: Option<u64>,
    #[serde(default)]
    pub(crate) proposer: Option<String>,
}

/// A transaction payload; only its type and what it calls.
#[derive(Debug, Deserialize)]
pub(crate) struct Payload {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// `entry_function_payload`: `<address>::<module>::<function>`.
    #[serde(default)]
    pub(crate) function: Option<String>,
    /// `multisig_payload`: the multisig account.
    #[serde(default)]
    pub(crate) multisig_address: Option<String>,
}

/// A transaction signature; only the fee payer of sponsored transactions.
#[derive(Debug, Deserialize)]
pub(crate) struct Signature {
    #[serde(default)]
    pub(crate) fee_payer_address: Option<String>,
}

/// An event; its data is read only for `0x1::transaction_fee::FeeStatement`.
#[derive(Debug, Deserialize)]
pub(crate) struct Event {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) data: serde_json::Value,
}

/// The REST API's error body.
#[derive(Debug, Deserialize)]
pub(crate) struct ApiError {
    pub(crate) message: String,
    pub(crate) error_code: String,
    #[serde(default)]
    pub(crate) vm_error_code: Option<u64>,
}
