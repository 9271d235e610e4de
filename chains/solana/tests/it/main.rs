//! Integration tests of `chainwatch-chain-solana`: golden decoding of every recorded Solana
//! fixture (json and jsonParsed `getBlock`, `getTransaction`, a preflight error), the failure
//! classification of each failed transaction checked by hand, and the adapter against a local
//! mock JSON-RPC server that replays recorded blocks.

mod adapter;
mod decode;
mod trace;
