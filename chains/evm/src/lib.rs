//! The EVM chain adapter: Ethereum and EVM L2s (OP stack, Arbitrum, …) over JSON-RPC.
//!
//! This crate owns:
//! - [`EvmAdapter`], the [`chainwatch_chain_core::ChainAdapter`] of `evm:<chain id>` chains. It
//!   speaks JSON-RPC through the chain-agnostic [`chainwatch_chain_core::EndpointPool`]
//!   (failover, retries, health) and returns the normalized model of `chainwatch-schema`.
//! - [`normalize_block`], the pure function that turns an `eth_getBlockByNumber(…, true)` result
//!   and its receipts into a [`chainwatch_schema::Block`]; the adapter runs the same decoding and
//!   normalization code on what it fetches.
//! - [`decode_files`], the offline decoder behind `chainwatch decode`: raw RPC JSON files of any
//!   supported shape (block, receipts, transaction, receipt, callTracer traces,
//!   `trace_replayTransaction`; with or without the JSON-RPC envelope), recognized by their
//!   shape, joined by transaction hash or position, normalized with the same code, each failed
//!   transaction with a trace classified as the adapter's trace lookup does. Output: one
//!   [`chainwatch_schema::Decoded`]. Contract: every file must join (a receipt or trace to a
//!   transaction given, a block to its receipts); a file that does not is an error naming it
//!   and what was expected, never a silently dropped input.
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
//!   or `finalized`. With [`FinalitySource::Depth`], or when a node rejects the tag (and then
//!   for the next minute without asking again), safe and finalized are `latest` minus the
//!   configured confirmations depth ([`EvmOptions::for_chain_id`] has safe defaults, e.g. 256
//!   blocks for Polygon PoS).
//! - `block(h)`: `eth_getBlockByNumber(h, true)`, then `eth_getBlockReceipts(<block hash>)`.
//!   Asking by hash keeps block and receipts consistent: if a reorg replaced the block in
//!   between, the receipts are `null` or do not match, and the call fails with the transient
//!   reason `reorged_during_fetch` so that the caller retries. When a provider answers
//!   "method not found", the adapter switches for good to one `eth_getTransactionReceipt` per
//!   transaction, [`EvmOptions::receipt_concurrency`] at a time.
//! - Then, for each failed transaction only, its failure reason (see below):
//!   `debug_traceTransaction(hash, {"tracer": "callTracer"})`, else `eth_getTransactionByHash`
//!   and one or two `eth_call` replays at the parent block.
//! - `block_ref(h)`: `eth_getBlockByNumber(h, false)`.
//! - `provider_heads`: `eth_blockNumber` on each provider, with the pool's health score.
//! - `trace` / [`EvmAdapter::trace_with`]: live diagnosis of one transaction that may not be
//!   indexed (pending and why, included, failed, replaced and by what, dropped, not found):
//!   `eth_getTransactionByHash` on every provider, then `eth_getTransactionReceipt`,
//!   `eth_getTransactionCount`, `eth_feeHistory`, `txpool_contentFrom` / `txpool_content` and,
//!   for a replacement, `eth_getTransactionCount` at past heights and one full block. See the
//!   `stuck` module for the rules.
//!
//! # Normalization
//! - Hashes and addresses are lowercase `0x` hex; `timestamp_ms` is the block timestamp × 1000.
//! - `fee` = `gasUsed × effectiveGasPrice` (the transaction's `gasPrice` before London), in wei
//!   as a decimal string. L2 surcharges such as the OP-stack `l1Fee` are not added: they are
//!   reported in `extra`.
//! - `status`: receipt status `0x1` is `Succeeded`; `0x0` is `Failed`. Pre-Byzantium receipts
//!   have no status: they count as `Succeeded` with `extra.receipt_status = null` (in
//!   [`decode_files`], given a trace that shows an error, `Failed` with that failure). OP-stack
//!   deposits (`0x7e`) and Arbitrum's types are read like any other transaction.
//! - `extra` holds `type`, `gas_limit`, `gas_used`, `effective_gas_price`, `contract_address`,
//!   `logs` (the count) and `l1_fee`, each when known; numbers are JSON numbers when they fit
//!   `u64`, else decimal strings.
//! - A failure read from the receipt alone ([`normalize_block`], offline) is
//!   [`FailureKind::Other`](chainwatch_schema::FailureKind::Other) with the gas facts in its
//!   message, the called address as `location`, and `status`, `gasUsed` and `gas` in `raw`.
//!
//! # Failure reasons
//! [`EvmAdapter`] then looks up why each failed transaction failed, best effort: a lookup that
//! does not work leaves the receipt-only failure above and never fails the block.
//! - **Trace** (`raw.source = "trace"`): the `callTracer` trace. The failure's origin is the
//!   deepest failed call frame whose revert its caller passed on unchanged (Solidity bubbles
//!   revert data up) or as the text of its own `Error(string)`; `location` is that frame's
//!   `to`. Its `error` gives the kind: "execution reverted" → decoded revert data (below);
//!   "out of gas" → [`OutOfGas`](chainwatch_schema::FailureKind::OutOfGas); "invalid opcode:
//!   …" and "invalid jump destination" (Parity: "Bad instruction", "Bad jump destination") →
//!   [`InvalidOpcode`](chainwatch_schema::FailureKind::InvalidOpcode) with the node's words as
//!   message; "insufficient balance…" → `InsufficientFunds`; any other error → `Other`. `raw`
//!   adds `error`, `revertData` and `callType`.
//! - **Replay** (`raw.source = "replay"`), when the providers refuse the debug API: the
//!   transaction is re-executed with `eth_call` at the parent block. A state override installs a
//!   small contract at the sender that calls `to` with the transaction's data, value and
//!   execution gas (so `msg.sender` and `tx.origin` are unchanged) and *returns* the callee's
//!   revert data, because the pool does not pass on a JSON-RPC error's `data` and retries such
//!   errors. Empty revert data with all gas used (an exceptional halt) is replayed again with 8×
//!   the gas: if that also burns all of it, the kind is `InvalidOpcode` (the message says that an
//!   endless loop looks the same), otherwise `OutOfGas`. A replay sees only the top call, so
//!   `location` is `to`; it ignores the transactions before this one in the same block, and
//!   when the replay succeeds the receipt-only failure stays.
//! - **Revert data**: `Error(string)` → `Reverted`, message = the string (when the string's
//!   bytes are themselves a well-formed `Error(string)` or `Panic(uint256)`, re-raised by a
//!   contract that caught them, the inner reason); `Panic(uint256)` →
//!   `Panic`, code `0x11` etc., message = the code's meaning; empty → `Reverted`, "reverted
//!   without a reason"; any other selector → `CustomError`, code = the selector, message
//!   `Name(param: value, …)` when the built-in table of common errors (OpenZeppelin v5 ERC-20,
//!   ERC-721, ERC-1155, Ownable, AccessControl, ReentrancyGuard, Pausable, SafeERC20, Address, …;
//!   Uniswap's Universal Router) or [`EvmOptions::abi_dir`] knows it. Malformed data gives a message that says so and shows
//!   the bytes.
//! - A provider answering a lookup method with "method not found", "invalid params" or another
//!   JSON-RPC error (after the pool's retries) is taken to refuse it: the method is not tried
//!   again for 10 minutes (support is remembered per adapter, since the pool may route any call
//!   to any provider). Timeouts and other transient errors only skip the lookup for that
//!   transaction.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod abi;
mod adapter;
mod decode;
mod explain;
mod normalize;
mod reasons;
mod receipts;
mod revert;
mod rpc;
mod stuck;

pub use adapter::{EvmAdapter, EvmOptions, FinalitySource};
pub use decode::{decode_files, decode_files_with_abi_dir};
pub use normalize::{DecodeError, normalize_block};

/// Trace target of this crate.
pub(crate) const TRACE_TARGET: &str = "chainwatch::chain_evm";
