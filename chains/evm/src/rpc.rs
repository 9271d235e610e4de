//! Lean serde views of the JSON-RPC block, transaction and receipt objects.
//!
//! Only the fields chainwatch uses are decoded, with alloy's primitive types for hex quantities
//! and hashes. Every other field (signatures, input data, log contents, access lists, L2 extras
//! such as OP-stack `sourceHash` or Arbitrum `l1BlockNumber`) is skipped without being
//! allocated, so any transaction type decodes, including ones that did not exist when this was
//! written. Fields some chains or eras omit are `Option` with `#[serde(default)]`.

use std::fmt;

use alloy_primitives::{Address, B256, U64, U256};
use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, SeqAccess, Visitor},
};

/// `eth_getBlockByNumber(…, true)`: a block with full transaction objects.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RpcBlock {
    pub(crate) number: U64,
    pub(crate) hash: B256,
    pub(crate) parent_hash: B256,
    pub(crate) timestamp: U64,
    pub(crate) transactions: Vec<RpcTransaction>,
}

/// `eth_getBlockByNumber(…, false)` read for its number and hash only.
#[derive(Debug, Deserialize)]
pub(crate) struct RpcHeader {
    pub(crate) number: U64,
    pub(crate) hash: B256,
}

/// A transaction object inside a full block.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RpcTransaction {
    pub(crate) hash: B256,
    #[serde(default)]
    pub(crate) transaction_index: Option<U64>,
    pub(crate) from: Address,
    /// `None` (or absent) for contract creation.
    #[serde(default)]
    pub(crate) to: Option<Address>,
    #[serde(default)]
    pub(crate) nonce: Option<U64>,
    #[serde(default)]
    pub(crate) value: Option<U256>,
    /// The gas limit.
    #[serde(default)]
    pub(crate) gas: Option<U256>,
    /// Legacy gas price; on EIP-1559 transactions some nodes report the effective price here.
    #[serde(default)]
    pub(crate) gas_price: Option<U256>,
    /// Absent on nodes older than Berlin.
    #[serde(default, rename = "type")]
    pub(crate) tx_type: Option<U64>,
}

/// A receipt (`eth_getTransactionReceipt`, or one element of `eth_getBlockReceipts`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RpcReceipt {
    pub(crate) transaction_hash: B256,
    /// `null` only for pending receipts, which never belong to a fetched block.
    #[serde(default)]
    pub(crate) block_hash: Option<B256>,
    /// `0x1` success, `0x0` failure; absent before Byzantium (EIP-658).
    #[serde(default)]
    pub(crate) status: Option<U64>,
    /// The post-state root that pre-Byzantium receipts carry instead of `status`; only its
    /// presence matters.
    #[serde(default)]
    pub(crate) root: Option<IgnoredAny>,
    pub(crate) gas_used: U256,
    /// Absent before London; the transaction's `gasPrice` is the price then.
    #[serde(default)]
    pub(crate) effective_gas_price: Option<U256>,
    #[serde(default)]
    pub(crate) contract_address: Option<Address>,
    #[serde(default)]
    pub(crate) logs: LogCount,
    /// OP-stack L1 data fee, paid on top of `gasUsed × effectiveGasPrice`.
    #[serde(default)]
    pub(crate) l1_fee: Option<U256>,
}

/// The number of logs in a receipt, counted without decoding them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogCount(pub(crate) u64);

impl<'de> Deserialize<'de> for LogCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CountVisitor;

        impl<'de> Visitor<'de> for CountVisitor {
            type Value = LogCount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of logs")
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<LogCount, E> {
                Ok(LogCount(0))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LogCount, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(LogCount(n))
            }
        }

        d.deserialize_any(CountVisitor)
    }
}

/// A block number as a JSON-RPC quantity (`0x1a`).
pub(crate) fn quantity(n: u64) -> String {
    format!("0x{n:x}")
}

/// Lowercase `0x`-prefixed hex of a hash or address.
pub(crate) fn hex(v: impl fmt::LowerHex) -> String {
    format!("{v:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_prefixed() {
        let a: Address = "0x6942CE69e7ED3b24B153c02b98c0f3a2c86cdB8d"
            .parse()
            .unwrap();
        assert_eq!(hex(a), "0x6942ce69e7ed3b24b153c02b98c0f3a2c86cdb8d");
        assert_eq!(hex(B256::ZERO), format!("0x{}", "0".repeat(64)));
        assert_eq!(hex(U256::ZERO), "0x0");
        assert_eq!(hex(U256::from(21_000)), "0x5208");
        assert_eq!(quantity(31337), "0x7a69");
    }

    #[test]
    fn receipt_counts_logs_and_tolerates_unknown_fields() {
        let r: RpcReceipt = serde_json::from_str(
            r#"{"transactionHash":"0x0000000000000000000000000000000000000000000000000000000000000001",
                "blockHash":null,"gasUsed":"0x5208","logs":[{"a":1},{"b":[2]}],
                "someL2Field":{"nested":true},"root":"0x00"}"#,
        )
        .unwrap();
        assert_eq!(r.logs, LogCount(2));
        assert!(r.root.is_some() && r.status.is_none() && r.block_hash.is_none());
        let r: RpcReceipt = serde_json::from_str(
            r#"{"transactionHash":"0x0000000000000000000000000000000000000000000000000000000000000001",
                "gasUsed":"0x0","logs":null,"root":null,"status":"0x1"}"#,
        )
        .unwrap();
        assert_eq!(r.logs, LogCount(0));
        assert!(r.root.is_none());
    }

    #[test]
    fn arbitrum_receipt_decodes() {
        let text = include_str!("../testdata/arbitrum-mainnet-block-18413839-receipts.json");
        let r: Vec<RpcReceipt> = serde_json::from_str(text).unwrap();
        assert_eq!(r[0].logs, LogCount(8));
        assert_eq!(r[0].gas_used, U256::from(0xa816d));
    }
}
