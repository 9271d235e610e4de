//! Test helpers shared by chainwatch's integration tests: a real `anvil` node per test
//! ([`Anvil`]) and a tiny JSON-RPC client ([`rpc`]) to drive it.
//!
//! Tests that use these fail (they are never skipped) when the peer is missing: `.ci/run`
//! installs anvil and puts it on `PATH`, or `ANVIL` names the binary.

#![allow(clippy::unwrap_used, missing_docs)]

mod anvil;
mod http;

pub use anvil::{Anvil, free_port};
pub use http::{http_post, rpc};
