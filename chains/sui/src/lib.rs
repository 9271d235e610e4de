//! The Sui chain adapter over the full-node gRPC API (`sui.rpc.v2`), and the offline decoder of
//! Sui JSON files.
//!
//! This crate owns:
//! - [`SuiAdapter`], the [`chainwatch_chain_core::ChainAdapter`] of `sui:<network>` chains,
//!   speaking gRPC (MystenLabs' `sui-rpc`, over tonic) to the providers of a
//!   [`chainwatch_chain_core::EndpointPool`]: the pool picks the provider, scores its health and
//!   fails over ([`chainwatch_chain_core::EndpointPool::call`]); the adapter makes the calls.
//! - [`decode_files`], the offline decoder behind `chainwatch decode --chain sui:<net>`: JSON-RPC
//!   results (archives still hold them; the public JSON-RPC endpoints were retired in 2026) and
//!   gRPC messages as protobuf JSON → one [`chainwatch_schema::Decoded`].
//! - [`jsonrpc_to_grpc_json`], the documented conversion of recorded JSON-RPC responses into the
//!   gRPC messages (see `convert.rs` for the field table); the normalizer reads only gRPC
//!   messages, so both paths give the same output.
//!
//! - `test-utils` feature: [`testing::MockNode`], a local Sui full node (tonic) for tests.
//!
//! No SDK type appears in the public API.
//!
//! # Model
//! - Height = checkpoint sequence number, hash = checkpoint digest, parent = previous digest.
//!   Checkpoints are final when certified: [`chainwatch_chain_core::FinalityModel::Instant`], a
//!   transaction in a checkpoint is `FINALIZED` (executed but not yet checkpointed is
//!   `INCLUDED`).
//! - A transaction: `hash` = digest, `sender`, `extra.gas_owner` (the gas payment's owner: the
//!   sender or a sponsor; from the gas object's owner when the input was not recorded),
//!   `fee` = computation + storage − storage rebate in MIST as a signed decimal string (negative
//!   when rebates exceed costs), the four gas figures in `extra.gas` (the non-refundable storage
//!   fee is reported there, not added: the network already withheld it from the rebate),
//!   `extra.checkpoint`, `extra.epoch`, `extra.events` (count).
//! - Status from `effects.status`; a recording without effects is `SUCCEEDED` only if it holds
//!   events (Sui drops the events of failed executions), with `extra.status_source = "events"`.
//!
//! # Failures
//! Move abort → `MOVE_ABORT` (code = abort code; message names `package::module::function`,
//! instruction and command; the same in `extra.abort`); `InsufficientCoinBalance` →
//! `INSUFFICIENT_FUNDS`; `InsufficientGas` → `OUT_OF_GAS`; every other execution failure →
//! `EXECUTION_ERROR` with its variant name (the protobuf enum name, e.g.
//! `COMMAND_ARGUMENT_ERROR`) as code. `location` is `command <i>` when the chain names the
//! failing command; `raw` keeps the chain's error text untouched.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod adapter;
mod convert;
mod decode;
mod failure;
mod normalize;
#[cfg(feature = "test-utils")]
pub mod testing;

pub use adapter::SuiAdapter;
pub use decode::{decode_files, jsonrpc_to_grpc_json};

use chainwatch_schema::ChainId;

/// Why Sui JSON could not be decoded. Each error names the offending value and what was
/// expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The chain is not a Sui chain.
    #[error("chain {0} is not a Sui chain (expected sui:<network>, e.g. sui:mainnet)")]
    NotSui(ChainId),
    /// No file was given.
    #[error("no files to decode")]
    NoFiles,
    /// A problem in one file.
    #[error("{file}")]
    File {
        /// The file's name as given.
        file: String,
        /// What is wrong with it.
        #[source]
        source: Box<Self>,
    },
    /// Not JSON.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// JSON of an unknown shape.
    #[error("expected {0}")]
    Shape(String),
    /// A field with a value of the wrong type.
    #[error("{what} field `{field}`: expected {expected}, found {found}")]
    Field {
        /// The object holding the field.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// What it should hold.
        expected: &'static str,
        /// What it holds.
        found: String,
    },
    /// A gRPC message whose protobuf JSON does not decode.
    #[error("not a valid sui.rpc.v2.{what} in protobuf JSON: {message}")]
    Grpc {
        /// The message type.
        what: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// The file is a JSON-RPC "transaction not found" error.
    #[error(
        "the file is a JSON-RPC error, not a transaction: transaction {digest} was not found ({message})"
    )]
    TransactionNotFound {
        /// The digest the node did not know.
        digest: String,
        /// The node's message.
        message: String,
    },
    /// The file is another JSON-RPC error.
    #[error("the file is a JSON-RPC error (code {code:?}): {message}")]
    RpcError {
        /// The error code.
        code: Option<i64>,
        /// The node's message.
        message: String,
    },
    /// A transaction recorded without effects and without events.
    #[error(
        "transaction {0} has no effects and no events: its status is unknown (record it with showEffects)"
    )]
    NoStatus(String),
    /// The same transaction given twice.
    #[error("transaction {0} is given twice")]
    Duplicate(String),
}
