//! The bus between ingest and consume: a publish/subscribe contract, its in-process
//! implementation (for `chainwatch dev` and tests) and, with the `kafka` feature, the Kafka
//! implementation (one topic per chain; see [`kafka`]).
//!
//! Contracts:
//! - [`Publisher::publish`] hands one envelope to the bus, in order. It may return before the
//!   broker acknowledged it (Kafka pipelines deliveries); [`Publisher::flush`] waits for every
//!   acknowledgement. A failed delivery makes that call or a later `publish`/`flush` fail, and
//!   every call after it fails too: nothing published after a lost envelope is ever reported as
//!   delivered, so the stream has no silent gap. The caller must stop on the error.
//! - Per chain, envelopes are delivered in publish order. Delivery is at least once: consumers
//!   de-duplicate by `seq` (see `chainwatch-store`).
//! - A consumer commits after its database commit ([`Subscriber::commit`]); uncommitted
//!   deliveries may be delivered again after a restart (or to another consumer process after a
//!   rebalance).
//! - Every queue is bounded: a slow consumer slows the publisher (backpressure), memory stays flat.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

#[cfg(feature = "kafka")]
pub mod kafka;
mod memory;

pub use memory::{InProcessBus, InProcessPublisher, InProcessSubscriber};

use std::time::Duration;

use async_trait::async_trait;
use chainwatch_schema::Envelope;

/// Why a bus operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The bus is shut down: no more publishing, or nothing more to receive.
    #[error("the bus is closed")]
    Closed,
    /// The broker refused or lost a message.
    #[error("delivery failed: {0}")]
    Delivery(String),
    /// The bus is misconfigured (bad topic name, bad client property, …).
    #[error("bus configuration: {0}")]
    Config(String),
    /// The broker could not be reached or answered with an error.
    #[error("broker: {0}")]
    Broker(String),
    /// A record could not be read as an envelope and the policy is to stop.
    #[error("poison message: {0}")]
    Poison(String),
}

/// Publishes envelopes. Implementations are cheap to share across chains' ingest tasks.
#[async_trait]
pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// Publishes one envelope; returns when the bus has durably accepted it. Waits while the bus
    /// is full.
    async fn publish(&self, env: Envelope) -> Result<(), BusError>;

    /// Waits until everything published so far is acknowledged; returns the first failure.
    async fn flush(&self) -> Result<(), BusError> {
        Ok(())
    }
}

/// One received envelope and what is needed to acknowledge it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The envelope.
    pub envelope: Envelope,
    /// Position in the source (partition offset for Kafka; a counter in process).
    pub offset: u64,
}

/// Receives envelopes in batches.
#[async_trait]
pub trait Subscriber: Send + std::fmt::Debug {
    /// Waits for at least one envelope, then collects more until `max` or until `linger` has
    /// passed since the first. Returns [`BusError::Closed`] once the bus is closed and drained.
    async fn next_batch(&mut self, max: usize, linger: Duration)
    -> Result<Vec<Delivery>, BusError>;

    /// Marks `deliveries`, and everything the subscriber handed out or skipped before them, as
    /// processed. Call it with each batch, after the batch is durably applied, before asking for
    /// the next one.
    async fn commit(&mut self, deliveries: &[Delivery]) -> Result<(), BusError>;
}
