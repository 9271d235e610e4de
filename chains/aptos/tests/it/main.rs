//! Integration tests of `chainwatch-chain-aptos`: golden decoding of every recorded Aptos
//! fixture (REST blocks and transactions, the indexer gRPC stream's protobuf-JSON, an API error
//! body), and the adapter (blocks, heads, failover, trace) against a scripted local REST node
//! serving recorded responses.

mod adapter;
mod golden;
mod node;
mod trace;
