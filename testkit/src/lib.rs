//! Test helpers shared by chainwatch's integration tests: a real `anvil` node per test
//! ([`Anvil`]), a tiny JSON-RPC client ([`rpc`]) to drive it, a scripted JSON-RPC server
//! ([`RpcStub`]), a scripted REST server with the same faults ([`RestStub`]), a scripted Aptos
//! node serving recorded data over it ([`AptosNode`]), a mock Solana node replaying recorded
//! blocks on a scripted chain of slots ([`solana::MockNode`]) and a proxy that injects provider
//! faults ([`FaultProxy`], [`Fault`]): HTTP 500 and 429, garbage bodies, hanging requests and a
//! closed port; and a real Kafka-protocol broker ([`Tansu`]) that can be killed and restarted on
//! the same storage.
//!
//! Tests that use these fail (they are never skipped) when the peer is missing: `.ci/run`
//! installs anvil and tansu and puts them on `PATH`, or `ANVIL` / `TANSU` name the binaries.

#![allow(clippy::unwrap_used, missing_docs)]

mod anvil;
mod aptos;
pub mod evm;
pub mod golden;
mod http;
mod proxy;
mod rest;
mod serve;
pub mod solana;
mod stub;
mod tansu;

pub use anvil::{Anvil, free_port};
pub use aptos::{
    APTOS_USER_TXNS, AptosBlock, AptosNode, AptosNodeState, aptos_chain, aptos_made_up_hash,
};
pub use http::{http_get, http_post, rpc};
pub use proxy::{Fault, FaultProxy};
pub use rest::RestStub;
pub use stub::RpcStub;
pub use tansu::Tansu;
