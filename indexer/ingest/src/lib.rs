//! Ingest: follows one chain's head through its [`ChainAdapter`] and publishes the chain's
//! event stream (`Apply`, `Revert`, `Finality`, `Heartbeat`) to the bus.
//!
//! Contracts:
//! - Events are published strictly in chain order with `seq` increasing by one. Backfill fetches
//!   blocks concurrently (bounded) but publishes them in height order.
//! - Every published `Apply` extends the previous one (its parent hash is the previous block's
//!   hash). When a fetched block does not, or the head at our height changed hash, ingest walks
//!   back with `block_ref` to the fork point, publishes one `Revert { to: fork point }`, then the
//!   new blocks. A reorg deeper than the adapter's window is a fatal error for the chain.
//! - Transient fetch errors are retried forever with capped exponential backoff; `NotFound` at a
//!   constant interval; permanent errors stop this chain's task with [`IngestError::Fetch`].
//! - Ingest keeps no database. It starts from a [`Resume`] point given by the caller (the last
//!   published seq and recent block refs) or from the configured start height.
//! - Cancellation stops it between events: a published event is never half-sent. Before `run`
//!   returns, the publisher is flushed, so on `Ok` everything published is acknowledged by the bus.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod follow;
mod progress;

pub use follow::{Ingest, IngestConfig, IngestError, Resume};

const TRACE_TARGET: &str = "chainwatch::ingest";

use chainwatch_chain_core::ChainAdapter;
