//! Integration tests of chainwatch-chain-core: the [`EndpointPool`] against local JSON-RPC and REST stubs
//! behind fault-injecting proxies (`chainwatch-testkit`).
//!
//! [`EndpointPool`]: chainwatch_chain_core::EndpointPool

mod breaker;
mod budget;
mod call;
mod common;
mod config;
mod failover;
mod rate_limit;
mod rest;
mod secrets;
