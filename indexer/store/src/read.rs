//! The API's reads. Finality of a transaction is derived here from its block height and the
//! chain's watermarks, never stored per row.
