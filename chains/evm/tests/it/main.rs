//! Integration tests of `chainwatch-chain-evm`: golden normalization of recorded mainnet and L2
//! blocks, the adapter against a real anvil node (directly and through a fault-injecting
//! JSON-RPC proxy), and failure reasons from traces and replays.

mod decode;
mod golden;
mod live;
mod proxy;
mod quorum;
mod reasons;
mod stuck;
mod support;
