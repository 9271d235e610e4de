//! End-to-end tests of the `chainwatch` binary against real peers: anvil nodes (directly and
//! behind fault-injecting proxies), a scripted Aptos REST node serving recorded data, and
//! Postgres. Each test runs the real process and reads what
//! it wrote with SQL and GraphQL.

mod aptos;
mod config_errors;
mod console;
mod decode;
mod failover;
#[cfg(all(feature = "solana", feature = "sui"))]
mod families;
mod graphql_contract;
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
mod stuck;
mod subscriptions;
#[cfg(feature = "sui")]
mod sui;
mod support;
