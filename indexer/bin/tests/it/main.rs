//! End-to-end tests of the `chainwatch` binary against real peers: anvil nodes (directly and
//! behind fault-injecting proxies) and Postgres. Each test runs the real process and reads what
//! it wrote with SQL and GraphQL.

mod config_errors;
mod decode;
mod failover;
mod kafka;
mod metrics;
mod migrate;
#[cfg(feature = "otel")]
mod otel;
mod quorum;
mod reorg;
mod serve;
#[cfg(feature = "solana")]
mod solana;
mod status;
mod status_command;
mod support;
