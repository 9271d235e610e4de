//! The EVM chain adapter: Ethereum and EVM L2s (OP stack, Arbitrum, …) over JSON-RPC.
//!
//! This crate owns:
//! - [`EvmAdapter`], the [`chainwatch_chain_core::ChainAdapter`] of `evm:<chain id>` chains. It
//!   speaks JSON-RPC through the chain-agnostic [`chainwatch_chain_core::EndpointPool`]
//!   (failover, retries, health) and returns the normalized model of `chainwatch-schema`.
//! - [`normalize_block`], the pure function that turns an `eth_getBlockByNumber(…, true)` result
//!   and its receipts into a [`chainwatch_schema::Block`]. It needs no network, so the
//!   `chainwatch decode` CLI uses it offline; the adapter runs the same decoding and
//!   normalization code on what it fetches.
//!
//! No SDK type appears in the public API. Blocks, transactions and receipts are decoded into
//! lean private structs that hold only the fields chainwatch uses (alloy primitives for hex
//! quantities and hashes); unknown fields are skipped, so every transaction type decodes,
//! including OP-stack deposits (`0x7e`) and Arbitrum's own types.
//!
//! # RPC contract
//! - [`EvmAdapter::connect`] checks `eth_chainId` on every provider; a provider on another chain
//!   is a permanent `chain_id_mismatch` error naming the provider's label (never its URL).
//! - `head`: `eth_getBlockByNumber` with the tag `latest` (for `Pending` and `Included`), `safe`
//!   or `finalized`. A node that rejects the `safe`/`finalized` tag gives `Ok(None)`, and the tag
//!   is not asked for again during the next minute.
//! - `block(h)`: `eth_getBlockByNumber(h, true)`, then `eth_getBlockReceipts(<block hash>)`.
//!   Asking by hash keeps block and receipts consistent: if a reorg replaced the block in
//!   between, the receipts are `null` or do not match, and the call fails with the transient
//!   reason `reorged_during_fetch` so that the caller retries. When a provider answers
//!   "method not found", the adapter switches for good to one `eth_getTransactionReceipt` per
//!   transaction, [`EvmOptions::receipt_concurrency`] at a time.
//! - `block_ref(h)`: `eth_getBlockByNumber(h, false)`.
//! - `provider_heads`: `eth_blockNumber` on each provider, with the pool's health score.
//!
//! # Normalization
//! - Hashes and addresses are lowercase `0x` hex; `timestamp_ms` is the block timestamp × 1000.
//! - `fee` = `gasUsed × effectiveGasPrice` (the transaction's `gasPrice` before London), in wei
//!   as a decimal string. L2 surcharges such as the OP-stack `l1Fee` are not added: they are
//!   reported in `extra`.
//! - `status`: receipt status `0x1` is `Succeeded`; `0x0` is `Failed` with a
//!   [`chainwatch_schema::FailureKind::Other`] failure whose message states the gas facts (revert
//!   reasons need traces, a later step) and whose `raw` keeps `status`, `gasUsed` and `gas`.
//!   Pre-Byzantium receipts have no status: they count as `Succeeded` with
//!   `extra.receipt_status = null`.
//! - `extra` holds `type`, `gas_limit`, `gas_used`, `effective_gas_price`, `contract_address`,
//!   `logs` (the count) and `l1_fee`, each when known; numbers are JSON numbers when they fit
//!   `u64`, else decimal strings.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod adapter;
mod normalize;
mod receipts;
mod rpc;

pub use adapter::{EvmAdapter, EvmOptions};
pub use normalize::{DecodeError, normalize_block};

/// Trace target of this crate.
pub(crate) const TRACE_TARGET: &str = "chainwatch::chain_evm";
