//! The chain abstraction every adapter implements, and the provider pool they share.
//!
//! - [`ChainAdapter`]: what ingest asks of a chain (heads by finality, blocks by height, cheap
//!   block refs for reorg walk-back, per-provider heads). Dyn-compatible: ingest holds an
//!   `Arc<dyn ChainAdapter>` chosen from configuration.
//! - [`FetchError`]: every adapter error is `NotFound`, `Transient` or `Permanent`, so callers know
//!   whether to retry. Transient errors are retried forever with capped exponential backoff
//!   ([`Backoff`]); `NotFound` is retried at a constant interval; `Permanent` stops that chain.
//! - [`EndpointPool`]: several providers per chain, each named by a label. Requests go to the
//!   healthiest provider and fail over on timeouts, HTTP 429/5xx, connection errors and
//!   undecodable responses. Provider URLs are secrets: they appear in no log, error or metric
//!   (errors are scrubbed of the URL, its host and its path). JSON-RPC calls go through
//!   [`EndpointPool::request`]; REST GETs (Aptos) through [`EndpointPool::get_json`], with the
//!   same failover, health, breaker, rate limits and metrics (`method` is then a fixed route
//!   name such as `GET /v1/blocks/by_height`), and a 404 with a JSON error body as `Ok(None)`.
//! - [`quorum`]: with several providers, the head is the one a quorum of them agrees on; a
//!   provider on another fork or too far behind is marked and no longer used.
//! - `test-utils` feature: [`test_utils::ScriptedChain`], an in-memory chain that can fork.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod adapter;
mod backoff;
mod error;
mod pool;
pub mod quorum;
mod redact;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;
mod verify;

pub use adapter::{ChainAdapter, FinalityModel};
pub use backoff::Backoff;
pub use error::{ErrorChain, FetchError, RpcError};
pub use pool::{CallError, EndpointPool, PoolConfig, ProviderConfig, ProviderHealth};
pub use quorum::QuorumConfig;
pub use redact::Redactor;
pub use verify::{ChainIdAnswer, check_chain_ids, check_pool_serves};

/// Trace target prefix for this crate.
pub(crate) const TRACE_TARGET: &str = "chainwatch::chain_core";
