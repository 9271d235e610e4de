//! The Aptos chain adapter, over the node REST API (`/v1`).
//!
//! This crate owns:
//! - [`AptosAdapter`], the [`chainwatch_chain_core::ChainAdapter`] of `aptos:<chain id>` chains
//!   (`aptos:1` mainnet, `aptos:2` testnet). It speaks REST through the chain-agnostic
//!   [`chainwatch_chain_core::EndpointPool`] (`get_json`: failover, retries, health, circuit
//!   breaker, rate limits, metrics with fixed route names, URL redaction).
//! - [`decode_files`], the offline decoder behind `chainwatch decode --chain aptos:<id> FILE…`:
//!   REST blocks, REST transactions and transaction lists, and the indexer gRPC transaction
//!   stream's protobuf-JSON messages, normalized to the same output. The adapter runs the same
//!   normalization on what it fetches.
//! - [`api_error_failure`], the classification of REST error bodies (rejected submissions).
//!
//! # Why not `aptos-sdk`
//! The issue suggested `aptos-sdk` 0.8 (default features off) or its REST types. It was checked:
//! its fullnode client returns blocks and transactions as untyped `serde_json::Value` (there are
//! no typed REST transaction types to reuse), its client has its own retry policy instead of the
//! pool's failover, health scores and metrics, and it turns on `serde_json`'s
//! `arbitrary_precision` and `preserve_order` features, which cargo's feature unification would
//! impose on every crate of a build with the `aptos` feature (changing number handling under
//! `#[serde(flatten)]`, which `chainwatch_schema::DecodedTransaction` uses, and the key order of
//! every JSON the other chains write). So this crate defines lean serde types for the REST JSON
//! it reads (`rest.rs`) and for the gRPC stream's protobuf-JSON (`grpc.rs`); unknown fields and
//! transaction types decode, so newer nodes do not break it. No SDK type is in the public API.
//!
//! # REST contract
//! - Provider URLs are the node's REST root, ending in `/v1` (e.g.
//!   `https://fullnode.mainnet.aptoslabs.com/v1`); a query string (API key) is kept.
//! - `connect` reads the ledger info (`GET /v1`) of every provider and checks its `chain_id`
//!   against the chain's network: a provider on another chain is a permanent
//!   `chain_id_mismatch` naming its label (never its URL).
//! - `head`: ledger info `block_height`, then `GET /v1/blocks/by_height/{h}` for its hash. Every
//!   finality level is that block: a committed Aptos block is final (BFT).
//! - `block(h)`: `GET /v1/blocks/by_height/{h}?with_transactions=true`. When the list is
//!   truncated (fewer transactions than `last_version - first_version + 1`, as nodes do for
//!   large blocks), the rest comes from `GET /v1/transactions?start=…&limit=…` pages. The result
//!   must cover every version of the block in order, else the fetch fails with the transient
//!   reason `incomplete_block` and is retried. The REST block has no parent hash: it is the hash
//!   of block `h - 1` (cached from recent fetches, else `GET /v1/blocks/by_height/{h-1}`);
//!   block 0's parent is `0x` and 64 zeros. A 404 (`block_not_found`) is `Ok(None)`.
//! - `trace(hash)`: `GET /v1/transactions/by_hash/{hash}`. A committed transaction is
//!   `INCLUDED` (finality `FINALIZED`) or `FAILED`, located with
//!   `GET /v1/blocks/by_version/{version}`. A `pending_transaction` is `REPLACED` when its
//!   sequence number is below the sender's account's (`GET /v1/accounts/{address}`; the
//!   transaction that used it comes from `GET /v1/accounts/{address}/transactions`), else
//!   `EXPIRED` once its expiration time is past the chain's clock (ledger info), else
//!   `PENDING`/`NONCE_GAP` when its sequence number is above the account's (the missing numbers
//!   are listed), else `PENDING`/`WAITING`. A 404 is
//!   `NOT_FOUND`; a malformed hash a permanent `invalid_hash` error.
//! - Routes are the `method` label of `chainwatch_rpc_request_duration_seconds`: `GET /v1`,
//!   `GET /v1/blocks/by_height`, `GET /v1/blocks/by_version`, `GET /v1/transactions`,
//!   `GET /v1/transactions/by_hash`, `GET /v1/accounts`, `GET /v1/accounts/transactions`.
//!
//! # Normalization
//! - Heights are block heights; each transaction keeps its `version` in `extra.version`, and its
//!   `index` is its version minus the block's `first_version`.
//! - Hashes are lowercase `0x` hex (64 digits); addresses are in AIP-40 form
//!   ([`canonical_address`]): `0x0`–`0xf` short, others padded to 64 digits. gRPC base64 hashes
//!   become the same hex.
//! - `timestamp_ms` is the block timestamp (microseconds) / 1000.
//! - User transactions: `sender`; `to` = the called entry function's module address (or the
//!   multisig account); `nonce` = sequence number (none for orderless transactions, whose
//!   `replay_protection_nonce` is in `extra`); `fee` = gas used × gas unit price in octas
//!   (the storage refund of the `FeeStatement` event is reported in
//!   `extra.storage_fee_refund_octas`, not subtracted); `status` from `success`. `extra` also
//!   holds `kind: "user"`, `gas_used`, `gas_unit_price`, `max_gas_amount`,
//!   `expiration_timestamp_secs`, `function`, `fee_payer` (sponsored transactions) and `events`
//!   (the count).
//! - System transactions (block metadata, state checkpoint, validator, block epilogue,
//!   genesis): `extra.kind` names them (`block_metadata` …); they have no sender, `to` or fee,
//!   so they are kept out of address queries.
//! - Pending transactions decode with status `PENDING` and no fee.
//!
//! # Failures (`vm_status`)
//! `raw` is `{"vm_status": "<as sent>"}`.
//! - `Move abort in <address>::<module>: <NAME>(<code>): <description>` → `MOVE_ABORT`,
//!   `location` = `<address>::<module>`, `code` = the abort code in hex, `message` =
//!   `<NAME>: <description> (abort code <code>: category <c>, reason <r>) in <location>`; the
//!   code is split into the `std::error` category (`code >> 16`, named when standard) and reason
//!   (`code & 0xffff`), which `extra.abort` also lists with name and description. Without an
//!   error map (`… <module>: <code>`) and for scripts (`Move abort: code <code>`) the same without
//!   a name.
//! - `Out of gas` → `OUT_OF_GAS` with gas used and limit in the message.
//! - `Execution failed in <address>::<module>::<function> at code offset <n>` →
//!   `EXECUTION_ERROR`, code `EXECUTION_FAILURE`, location the module.
//! - A status code name (`CODE_DESERIALIZATION_ERROR`, `MISCELLANEOUS_ERROR`, also after
//!   `Transaction Executed and Committed with Error `) → `EXECUTION_ERROR` with that name as
//!   code; sequence number codes → `BAD_NONCE`; balance codes → `INSUFFICIENT_FUNDS`;
//!   `TRANSACTION_EXPIRED` → `EXPIRED`.
//! - Anything else → `OTHER` with the text in the message.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod adapter;
mod decode;
mod grpc;
mod ids;
mod normalize;
mod rest;
mod trace;
mod vm_status;

pub use adapter::{AptosAdapter, AptosOptions, aptos_chain_id};
pub use decode::{DecodeError, api_error_failure, decode_files};
pub use ids::canonical_address;

/// Trace target of this crate.
pub(crate) const TRACE_TARGET: &str = "chainwatch::chain_aptos";
