//! The Solana chain adapter: slots, commitment-level finality and program-error failure reasons.
//!
//! This crate owns:
//! - [`SolanaAdapter`], the [`chainwatch_chain_core::ChainAdapter`] of `solana:<cluster>`
//!   chains. It speaks JSON-RPC through the chain-agnostic
//!   [`chainwatch_chain_core::EndpointPool`] (failover, retries, health, rate limits, metrics,
//!   URL redaction) and returns the normalized model of `chainwatch-schema`.
//! - [`normalize_block`], the pure function that turns a `getBlock` result into a
//!   [`chainwatch_schema::Block`]; the adapter runs the same code on what it fetches.
//! - [`decode_files`], the offline decoder behind `chainwatch decode --chain solana:<cluster>`.
//!
//! No SDK type appears in the public API.
//!
//! # RPC contract
//! - Heights are slots, and slots can be skipped: [`SolanaAdapter`] reports `has_gaps() = true`,
//!   so ingest moves past a height whose block is `None` instead of waiting for it.
//! - [`SolanaAdapter::connect`] checks `getGenesisHash` of every provider for mainnet, devnet
//!   and testnet (`chain_id_mismatch` names the provider's label, never its URL).
//! - `head`: `Included` is the [`SolanaOptions::follow`] commitment (default `confirmed`;
//!   `processed` is allowed), `Safe` is `confirmed`, `Finalized` is `finalized`: `getSlot` at
//!   that commitment and the slot's `blockhash` from `getBlock` without transactions. For
//!   `processed`, whose blocks `getBlock` does not serve, slot and hash come from
//!   `getLatestBlockhash` (the processed bank's). With several providers, see the quorum below.
//! - Produced slots: `getBlocks(slot, slot + blocks_range - 1)` at `confirmed`, one call per
//!   range shared by concurrent fetches; a slot in the range that is not listed is skipped and
//!   is `Ok(None)` without a `getBlock` call. Slots beyond the confirmed tip are unknown and
//!   asked for directly; so are the next 64 slots after an answer that ended at the tip
//!   (following the head, one `getBlocks` per new slot would double the requests).
//! - `block(slot)`: `getBlock` at `confirmed`, encoding `json`, `transactionDetails: "full"`,
//!   `maxSupportedTransactionVersion: 0`, `rewards: false`. The pool returns -32007/-32009
//!   ("slot skipped") at once as a permanent `slot_skipped`, which is `Ok(None)` — unless
//!   `getBlocks` listed the slot, then it is a transient `slot_missing` (that provider's ledger
//!   lacks it; the retry may reach another). -32004, -32014 ("block not available for slot",
//!   which the pool returns at once as `block_not_available`, with no mark against the
//!   provider) and -32016 are [`chainwatch_chain_core::FetchError::NotFound`], which ingest
//!   retries at a constant interval. -32005 ("node is behind") fails over (reason `node_behind`), as do HTTP 429 and
//!   undecodable bodies.
//! - `block_ref(slot)`: the same `getBlock` with `transactionDetails: "none"`. Forks are found
//!   by ingest through `previousBlockhash` (the parent hash) and walked back with `block_ref`:
//!   a slot of an abandoned fork answers "skipped" and is passed over.
//! - `provider_heads`: `getSlot` at the followed commitment on each provider.
//! - `trace(signature)`: `getSignatureStatuses` with `searchTransactionHistory`, then
//!   `getTransaction` for the failure reason (see [`SolanaAdapter`]'s `trace`).
//! - Large blocks: a block is decoded straight from the response bytes into the SDK types and
//!   then into the normalized model; the bus splits an `Apply` too large for one message.
//! - Several providers: each head is agreed by a quorum ([`chainwatch_chain_core::quorum`]),
//!   comparing the providers' block hashes at the lowest head slot; a provider on another fork
//!   is `DIVERGENT`, one more than `max_provider_lag_blocks` slots behind is `LAGGING`, and
//!   neither receives requests until it agrees again.
//!
//! # Normalization
//! - Height = slot; hash = `blockhash`; parent hash = `previousBlockhash`; `timestamp_ms` =
//!   `blockTime` × 1000 (0 when the node has no block time, on very old slots).
//! - Transaction hash = its first signature; `sender` = the fee payer (account key 0); `fee` =
//!   `meta.fee` in lamports; `status` from `meta.err`. `extra` holds `version` (`"legacy"` or
//!   0), `compute_units_consumed` (when the node reports it), `recent_blockhash`, `programs`
//!   (the program id of each top-level instruction) and `loaded_addresses` (how many addresses
//!   a v0 transaction loaded from lookup tables).
//! - Account keys are the static keys followed by the addresses loaded from lookup tables
//!   (writable, then readonly), as the runtime numbers them; `jsonParsed` results list them
//!   that way already.
//!
//! # Failure reasons
//! - `InstructionError [i, detail]` → `PROGRAM_ERROR` with the instruction index in the message
//!   and `raw.instruction`, the program id of instruction `i` as `location` (and
//!   `raw.programId`), and as `code` the number `n` of `Custom(n)` (decimal) or the detail's
//!   variant name (`ProgramFailedToComplete`, `InvalidAccountData`, …).
//! - The program that returned the error is the innermost program whose log line says
//!   `Program <id> failed: …` within instruction `i` (a cross-program invocation can fail
//!   inside the instruction's program); it is named in the message and in
//!   `raw.failingProgram` when it differs. Its custom codes are named for the System program,
//!   SPL Token, Token-2022, the Associated Token Account program and the Vote program.
//! - Anchor: a log line `AnchorError … Error Code: X. Error Number: N. Error Message: M.` with
//!   `N` equal to the custom code gives the name and message (`raw.anchorError`). Without it,
//!   a code that is one of Anchor's framework codes (100–5000) is named conditionally ("if the
//!   program is built with Anchor"), and codes ≥ 6000 are pointed to the program's IDL.
//! - String details keep the failing program's last own log line (`Program log: …`) in the
//!   message (`raw.lastLog`).
//! - Compute budget exhausted (`ComputationalBudgetExceeded`, or a failing program's log saying
//!   `exceeded CUs meter`) → `OUT_OF_GAS`.
//! - Transaction-level errors keep their variant name as `code`: `InsufficientFundsForFee` and
//!   `InsufficientFundsForRent` → `INSUFFICIENT_FUNDS` (the account as `location`),
//!   `BlockhashNotFound` → `EXPIRED`, `AlreadyProcessed` → `BAD_NONCE`, the rest → `OTHER`.
//! - `raw` is JSON: `err` is `meta.err` as the node sent it, next to the log lines used.
//!
//! # SDK types
//! RPC results are decoded with the official types of `solana-transaction-status-client-types`
//! 4.2 (`UiConfirmedBlock`, `EncodedTransactionWithStatusMeta`, `UiTransactionError` →
//! `TransactionError`); request configs come from `solana-rpc-client-types`. The RPC error codes
//! are constants here, copied from `solana-rpc-client-api` (`custom_error`), which is not a
//! dependency: it would add a second `reqwest` and `jsonrpc-core` for six integers.
//!
//! Every fixture decodes with these types, so no own serde types were needed. A `meta.err`
//! variant newer than the 4.2 types (a future runtime error) would make a block undecodable:
//! the adapter receives `getBlock` answers raw and decodes them itself, and a block that fails
//! to decode is parsed again with such errors set aside; those transactions are `FAILED` with
//! kind `OTHER`, the variant's name as `code` and the error in `raw`. Anything else malformed
//! is a permanent `invalid_block` naming the JSON path.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod adapter;
mod decode;
mod failure;
mod logs;
mod normalize;
mod programs;
mod rpc;
mod trace;

pub use adapter::{Commitment, SolanaAdapter, SolanaOptions};
pub use decode::{DecodeFilesError, decode_files};
pub use normalize::{DecodeError, normalize_block};

/// Trace target of this crate.
pub(crate) const TRACE_TARGET: &str = "chainwatch::chain_solana";
