//! JSON-RPC details: error codes, cluster genesis hashes and the small answers decoded here.

use serde::Deserialize;

/// "Block not available for slot N": not produced or not replayed yet
/// (`solana_rpc_client_api::custom_error::JSON_RPC_SERVER_ERROR_BLOCK_NOT_AVAILABLE`).
pub(crate) const BLOCK_NOT_AVAILABLE: i64 = -32004;
/// "Block status not yet available for slot N" (`…_BLOCK_STATUS_NOT_AVAILABLE_YET`).
pub(crate) const BLOCK_STATUS_NOT_AVAILABLE_YET: i64 = -32014;
/// "Minimum context slot has not been reached" (`…_MIN_CONTEXT_SLOT_NOT_REACHED`).
pub(crate) const MIN_CONTEXT_SLOT_NOT_REACHED: i64 = -32016;

/// Whether a JSON-RPC error code means "not there yet, ask again later".
pub(crate) fn not_available_yet(code: i64) -> bool {
    matches!(
        code,
        BLOCK_NOT_AVAILABLE | BLOCK_STATUS_NOT_AVAILABLE_YET | MIN_CONTEXT_SLOT_NOT_REACHED
    )
}

/// The genesis hash of a well-known cluster, by the network part of its chain id.
pub(crate) fn genesis_hash(network: &str) -> Option<&'static str> {
    Some(match network {
        "mainnet" | "mainnet-beta" => "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d",
        "devnet" => "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG",
        "testnet" => "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY",
        _ => return None,
    })
}

/// `{context: {slot}, value}` answers.
#[derive(Debug, Deserialize)]
pub(crate) struct Contextual<T> {
    pub(crate) context: Context,
    pub(crate) value: T,
}

/// The `context` of a contextual answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Context {
    pub(crate) slot: u64,
}

/// `getLatestBlockhash` value.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LatestBlockhash {
    pub(crate) blockhash: String,
}

/// The header fields of a `getBlock` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Header {
    pub(crate) blockhash: String,
}
