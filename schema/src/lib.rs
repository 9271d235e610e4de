//! The normalized chainwatch model and the bus envelope.
//!
//! This crate owns the types every other crate speaks: [`ChainId`], [`BlockRef`], [`Block`],
//! [`Transaction`], [`TxStatus`], [`Finality`], [`Failure`] and the stream event
//! [`ChainEvent`] wrapped in a versioned [`Envelope`]; and the live diagnosis of one
//! transaction, [`TxTrace`] (with [`SeenTx`], what a watch list remembers of it).
//!
//! Contracts:
//! - A chain is identified by `family:network` (`evm:1`, `solana:mainnet`). Nothing in this crate
//!   enumerates families: a new chain family needs no change here.
//! - Heights are chain heights (EVM block number, Solana slot, Aptos block height, Sui checkpoint)
//!   and may have gaps: never assume `height + 1` exists.
//! - The envelope is encoded as JSON. Its contract, readable without Rust, is the JSON Schema in
//!   `schema/envelope.schema.json`; [`ENVELOPE_VERSION`] is bumped on any incompatible change and
//!   decoders reject versions they do not know.
//! - The GraphQL SDL served by the API is snapshotted in `schema/graphql/schema.graphql`.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod chain;
mod decoded;
mod envelope;
mod event;
mod model;
mod trace;

pub use chain::{ChainId, ChainIdError};
pub use decoded::{Decoded, DecodedBlock, DecodedTransaction};
pub use envelope::{ENVELOPE_VERSION, Envelope, EnvelopeError};
pub use event::{ChainEvent, ProviderHead, ProviderState};
pub use model::{Block, BlockRef, Failure, FailureKind, Finality, Transaction, TxStatus};
pub use trace::{PendingReason, ReplacementKind, SeenTx, TraceFacts, TraceStatus, TxTrace};
