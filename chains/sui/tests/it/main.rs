//! Integration tests of the Sui adapter and decoder.

mod adapter;
mod decode;
mod trace;
