//! Test helpers shared by chainwatch's integration tests: a real `anvil` node per test
//! ([`Anvil`]), a tiny JSON-RPC client ([`rpc`]) to drive it, a scripted JSON-RPC server
//! ([`RpcStub`]) and a proxy that injects provider faults ([`FaultProxy`], [`Fault`]): HTTP 500
//! and 429, garbage bodies, hanging requests and a closed port.
//!
//! Tests that use these fail (they are never skipped) when the peer is missing: `.ci/run`
//! installs anvil and puts it on `PATH`, or `ANVIL` names the binary.

#![allow(clippy::unwrap_used, missing_docs)]

mod anvil;
pub mod evm;
mod http;
mod proxy;
mod serve;
mod stub;

pub use anvil::{Anvil, free_port};
pub use http::{http_post, rpc};
pub use proxy::{Fault, FaultProxy};
pub use stub::RpcStub;
