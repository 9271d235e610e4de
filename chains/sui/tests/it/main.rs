//! Integration tests of the Sui adapter and decoder.

mod decode;
