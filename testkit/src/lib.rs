//! Test helpers shared by chainwatch's integration tests: a real `anvil` node per test
//! ([`Anvil`]), a tiny JSON-RPC client ([`rpc`]) to drive it, a scripted JSON-RPC server
//! ([`RpcStub`]) and a proxy that injects provider faults ([`FaultProxy`], [`Fault`]): HTTP 500
//! and 429, garbage bodies, hanging requests and a closed port; a real Kafka-protocol broker
//! ([`Tansu`]) that can be killed and restarted on the same storage; and a mock Solana node
//! replaying recorded blocks on a scripted chain of slots ([`solana::MockNode`]).
//!
//! Tests that use these fail (they are never skipped) when the peer is missing: `.ci/run`
//! installs anvil and tansu and puts them on `PATH`, or `ANVIL` / `TANSU` name the binaries.

#![allow(clippy::unwrap_used, missing_docs)]

mod anvil;
pub mod evm;
mod http;
mod proxy;
mod serve;
pub mod solana;
mod stub;
mod tansu;

pub use anvil::{Anvil, free_port};
pub use http::{http_get, http_post, rpc};
pub use proxy::{Fault, FaultProxy};
pub use stub::RpcStub;
pub use tansu::Tansu;
