//! Integration tests of `chainwatch-chain-aptos`: golden decoding of every recorded Aptos
//! fixture (REST blocks and transactions, the indexer gRPC stream's protobuf-JSON, an API error
//! body), and the adapter against a local mock REST node replaying recorded responses.

mod golden;
