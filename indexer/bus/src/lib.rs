//! The bus between ingest and consume: a publish/subscribe contract and its in-process
//! implementation (the Kafka implementation arrives with the Kafka pipeline).
//!
//! Contracts:
//! - [`Publisher::publish`] returns only once the bus has accepted the envelope (for Kafka: its
//!   delivery report). A failed publish is an error the caller must stop on: a silent gap would
//!   corrupt the stream.
//! - Per chain, envelopes are delivered in publish order. Delivery is at least once: consumers
//!   de-duplicate by `seq` (see `chainwatch-store`).
//! - A consumer commits after its database commit ([`Subscriber::commit`]); uncommitted
//!   deliveries may be delivered again after a restart.
//! - Every queue is bounded: a slow consumer slows the publisher (backpressure), memory stays flat.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

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
}

/// Publishes envelopes. Implementations are cheap to share across chains' ingest tasks.
#[async_trait]
pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// Publishes one envelope; returns when the bus has durably accepted it. Waits while the bus
    /// is full.
    async fn publish(&self, env: Envelope) -> Result<(), BusError>;
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

    /// Marks everything up to and including `deliveries` as processed.
    async fn commit(&mut self, deliveries: &[Delivery]) -> Result<(), BusError>;
}
