//! Integration tests of `chainwatch-chain-evm`: golden normalization of recorded mainnet and L2
//! blocks, and the adapter against a real anvil node (directly and through a fault-injecting
//! JSON-RPC proxy).

mod golden;
mod live;
mod proxy;
mod support;
