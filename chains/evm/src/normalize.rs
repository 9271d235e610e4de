//! RPC block + receipts → normalized [`Block`]. Pure: no I/O, usable offline.

use alloy_primitives::U256;
use chainwatch_schema::{Block, BlockRef, ChainId, Failure, FailureKind, Transaction, TxStatus};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::rpc::{RpcBlock, RpcReceipt, RpcTransaction, hex};

/// Why RPC JSON could not be normalized. Messages name the field, receipt or transaction at
/// fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The block JSON is not an `eth_getBlockByNumber(…, true)` result.
    #[error("malformed block JSON at `{path}`")]
    Block {
        /// Where in the document decoding failed, e.g. `transactions[3].gasPrice` (`.` is the
        /// whole document).
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The receipts JSON is not an array of receipts.
    #[error("malformed receipts JSON at `{path}`")]
    Receipts {
        /// Where in the document decoding failed, e.g. `[0].gasUsed`.
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The block JSON is `null`: the node had no block at the height asked for.
    #[error("the block JSON is null (the node had no such block)")]
    NullBlock,
    /// The receipts do not pair up with the block's transactions.
    #[error("block {height} has {txs} transactions but {receipts} receipts")]
    ReceiptCount {
        /// The block's number.
        height: u64,
        /// Transactions in the block.
        txs: usize,
        /// Receipts given.
        receipts: usize,
    },
    /// A receipt belongs to another transaction or block (the chain reorganized between the
    /// two reads, or the receipts are not index-aligned).
    #[error("receipt {index} of block {height} has {field} {found}, expected {expected}")]
    ReceiptMismatch {
        /// The block's number.
        height: u64,
        /// Position of the receipt and its transaction.
        index: usize,
        /// The receipt field that disagrees: `transactionHash` or `blockHash`.
        field: &'static str,
        /// What the block says.
        expected: String,
        /// What the receipt says.
        found: String,
    },
    /// A receipt has neither `status` (Byzantium and later) nor `root` (before).
    #[error("receipt of transaction {tx} has neither `status` nor `root`")]
    MissingStatus {
        /// The transaction hash.
        tx: String,
    },
    /// A receipt's `status` is neither `0x0` nor `0x1`.
    #[error("receipt of transaction {tx} has status {status:#x}, expected 0x0 or 0x1")]
    InvalidStatus {
        /// The transaction hash.
        tx: String,
        /// The status found.
        status: u64,
    },
    /// A value does not fit the normalized model (an index above `u32`, a fee above 256 bits,
    /// a timestamp in milliseconds above `u64`).
    #[error("`{field}` of {item} is out of range")]
    OutOfRange {
        /// The block or transaction, e.g. `transaction 0x12…` or `block 7`.
        item: String,
        /// The field, e.g. `transactionIndex`.
        field: &'static str,
    },

    // ---- `decode_files` (`chainwatch decode`): files of any supported shape, joined ----
    /// The error is about one input file: `source` says what is wrong with it.
    #[error("{file}")]
    File {
        /// The file's name as the caller gave it.
        file: String,
        /// What is wrong.
        #[source]
        source: Box<Self>,
    },
    /// The file is not JSON.
    #[error("not JSON")]
    NotJson(#[source] serde_json::Error),
    /// The file is a JSON-RPC error response: the node did not answer what was asked.
    #[error("a JSON-RPC error response, not data: error {code}: {message}")]
    RpcError {
        /// The error's `code` (`-32000` …), or `?` when it has none.
        code: String,
        /// The error's `message` (or the whole error object when it has no message).
        message: String,
    },
    /// The file is a JSON-RPC response whose `result` is `null`.
    #[error("the JSON-RPC result is null (the node did not find what was asked for)")]
    NullResult,
    /// The JSON has none of the shapes `decode_files` reads.
    #[error(
        "unrecognized JSON: {found}; expected an EVM block with full transactions \
         (eth_getBlockByNumber(N, true)), a transaction (eth_getTransactionByHash), a receipt \
         (eth_getTransactionReceipt), an array of receipts (eth_getBlockReceipts), a callTracer \
         trace (debug_traceTransaction) or an array of them (debug_traceBlockByNumber), or a \
         trace_replayTransaction result; each with or without the JSON-RPC envelope"
    )]
    UnknownShape {
        /// What the JSON looks like, e.g. `an object with keys a, b, c`.
        found: String,
    },
    /// The JSON has a recognized shape but a field does not decode.
    #[error("malformed {shape} at `{path}`")]
    Malformed {
        /// What the file was taken for, e.g. `receipt`.
        shape: &'static str,
        /// Where in the document decoding failed (`.` is the whole document).
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// An array mixes items of different shapes.
    #[error(
        "array item {index} is {found}, but item 0 is {expected}; an array must hold one kind of item"
    )]
    MixedArray {
        /// The first item that differs.
        index: usize,
        /// The shape of item 0.
        expected: &'static str,
        /// The shape of item `index`.
        found: &'static str,
    },
    /// A block lists transaction hashes instead of transaction objects.
    #[error(
        "block {height} lists transaction hashes only; decode needs the full transaction \
         objects of eth_getBlockByNumber(N, true)"
    )]
    HashesOnly {
        /// The block's number.
        height: u64,
    },
    /// A block was given without receipts for (some of) its transactions.
    #[error(
        "block {height} has {txs} transactions but no receipt was given for {missing} of them \
         (first: {first}); add its receipts (eth_getBlockReceipts)"
    )]
    MissingReceipts {
        /// The block's number.
        height: u64,
        /// Transactions in the block.
        txs: usize,
        /// How many have no receipt.
        missing: usize,
        /// The first transaction without one.
        first: String,
    },
    /// A mined transaction was given without its receipt, which holds its status.
    #[error(
        "transaction {tx} is in block {block} but no receipt for it was given; its status is in \
         the receipt (eth_getTransactionReceipt)"
    )]
    MissingReceipt {
        /// The transaction hash.
        tx: String,
        /// The block's number (or hash when it has no number).
        block: String,
    },
    /// The same item appears in two files (or twice in one).
    #[error("{what} is given twice: also in {other}")]
    Duplicate {
        /// The item, e.g. `the receipt of transaction 0x…`.
        what: String,
        /// The other file.
        other: String,
    },
    /// A transaction and its receipt disagree on the block.
    #[error(
        "the receipt of transaction {tx} names block {receipt_block}, the transaction names block {tx_block}"
    )]
    BlockMismatch {
        /// The transaction hash.
        tx: String,
        /// The receipt's `blockHash`.
        receipt_block: String,
        /// The transaction's `blockHash`.
        tx_block: String,
    },
    /// Traces that cannot be joined to the transactions given.
    #[error("{detail}")]
    UnmatchedTrace {
        /// Which trace and why, e.g. `the trace of transaction 0x… matches no transaction in
        /// the files`.
        detail: String,
    },
    /// A transaction's `chainId` is not the chain's.
    #[error("transaction {tx} has chainId {found}, but the chain is {chain}")]
    ChainIdMismatch {
        /// The transaction hash.
        tx: String,
        /// Its `chainId`.
        found: u64,
        /// The chain asked for.
        chain: ChainId,
    },
    /// The chain is not an `evm:<decimal chain id>` chain.
    #[error("chain {0} is not an EVM chain: expected evm:<decimal chain id>, e.g. evm:1")]
    NotEvm(ChainId),
    /// No files were given.
    #[error("no files to decode")]
    NoFiles,
    /// The ABI directory given for custom errors could not be read.
    #[error("custom-error ABIs not loaded")]
    Abi(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DecodeError {
    /// Whether the error says the receipts belong to another version of the block, which is
    /// what a reorg between the block read and the receipts read looks like.
    pub(crate) fn is_receipt_mismatch(&self) -> bool {
        matches!(
            self,
            Self::ReceiptCount { .. } | Self::ReceiptMismatch { .. }
        )
    }
}

/// Normalizes an EVM block with its receipts, offline.
///
/// - `block_json`: the `result` of `eth_getBlockByNumber(N, true)` (full transaction objects).
/// - `receipts_json`: the block's receipts as one JSON array, index-aligned with
///   `transactions` (the `result` of `eth_getBlockReceipts`).
///
/// Each receipt must name its transaction's hash and the block's hash. Unknown fields are
/// ignored, so every transaction type decodes (OP-stack deposits `0x7e`, Arbitrum `0x64`–`0x78`
/// …). See the crate docs for the normalization rules. [`crate::EvmAdapter`] runs the same
/// decoding and normalization on what it fetches.
///
/// ```
/// use chainwatch_chain_evm::normalize_block;
///
/// let hash = format!("0x{}", "ab".repeat(32));
/// let parent = format!("0x{}", "aa".repeat(32));
/// let block = format!(
///     r#"{{"number":"0x10","hash":"{hash}","parentHash":"{parent}",
///         "timestamp":"0x5f5e100","transactions":[],"miner":"0x00"}}"#
/// );
/// let b = normalize_block(&"evm:1".parse()?, block.as_bytes(), b"[]")?;
/// assert_eq!((b.block_ref.height, b.timestamp_ms), (16, 100_000_000_000));
/// assert_eq!(b.parent_hash, parent);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn normalize_block(
    chain: &ChainId,
    block_json: &[u8],
    receipts_json: &[u8],
) -> Result<Block, DecodeError> {
    let block: Option<RpcBlock> =
        parse(block_json).map_err(|(path, source)| DecodeError::Block { path, source })?;
    let block = block.ok_or(DecodeError::NullBlock)?;
    let receipts: Vec<RpcReceipt> =
        parse(receipts_json).map_err(|(path, source)| DecodeError::Receipts { path, source })?;
    normalize(chain, block, receipts)
}

/// Decodes JSON at full speed; only when that fails, decodes again tracking the path so that
/// the error names the field at fault.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, (String, serde_json::Error)> {
    serde_json::from_slice(bytes).map_err(|fast| {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => (e.path().to_string(), e.into_inner()),
            // Only trailing bytes after a valid document get here.
            Ok(_) => (".".to_owned(), fast),
        }
    })
}

/// Checks that `receipts` are the receipts of `block`'s transactions, in order.
pub(crate) fn check_receipts(block: &RpcBlock, receipts: &[RpcReceipt]) -> Result<(), DecodeError> {
    let height = block.number.to::<u64>();
    if receipts.len() != block.transactions.len() {
        return Err(DecodeError::ReceiptCount {
            height,
            txs: block.transactions.len(),
            receipts: receipts.len(),
        });
    }
    for (index, (tx, r)) in block.transactions.iter().zip(receipts).enumerate() {
        if r.transaction_hash != tx.hash {
            return Err(DecodeError::ReceiptMismatch {
                height,
                index,
                field: "transactionHash",
                expected: hex(tx.hash),
                found: hex(r.transaction_hash),
            });
        }
        if r.block_hash != Some(block.hash) {
            return Err(DecodeError::ReceiptMismatch {
                height,
                index,
                field: "blockHash",
                expected: hex(block.hash),
                found: r.block_hash.map_or_else(|| "null".to_owned(), hex),
            });
        }
    }
    Ok(())
}

/// Normalizes a decoded block and its receipts (checked with [`check_receipts`] first).
pub(crate) fn normalize(
    chain: &ChainId,
    block: RpcBlock,
    receipts: Vec<RpcReceipt>,
) -> Result<Block, DecodeError> {
    check_receipts(&block, &receipts)?;
    let height = block.number.to::<u64>();
    let timestamp_ms = block
        .timestamp
        .to::<u64>()
        .checked_mul(1000)
        .ok_or_else(|| DecodeError::OutOfRange {
            item: format!("block {height}"),
            field: "timestamp",
        })?;
    let txs = block
        .transactions
        .iter()
        .zip(&receipts)
        .enumerate()
        .map(|(i, (tx, r))| normalize_tx(i, tx, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Block {
        chain: chain.clone(),
        block_ref: BlockRef::new(height, hex(block.hash)),
        parent_hash: hex(block.parent_hash),
        timestamp_ms,
        txs,
    })
}

/// One transaction with its receipt.
pub(crate) fn normalize_tx(
    position: usize,
    tx: &RpcTransaction,
    r: &RpcReceipt,
) -> Result<Transaction, DecodeError> {
    let hash = hex(tx.hash);
    let out_of_range = |field| DecodeError::OutOfRange {
        item: format!("transaction {hash}"),
        field,
    };
    let index = match tx.transaction_index {
        Some(i) => u32::try_from(i.to::<u64>()),
        None => u32::try_from(position),
    }
    .map_err(|_| out_of_range("transactionIndex"))?;

    // Pre-Byzantium receipts (before block 4,370,000 on mainnet) carry a state `root` instead
    // of `status`, so success cannot be read from them: such a transaction is reported as
    // Succeeded and `extra.receipt_status` is null to say that this was not checked. Telling
    // failures apart there would need a trace (a later issue).
    let (status, failure, pre_byzantium) = match r.status.map(|s| s.to::<u64>()) {
        Some(1) => (TxStatus::Succeeded, None, false),
        Some(0) => (TxStatus::Failed, Some(failure(tx, r)), false),
        Some(status) => return Err(DecodeError::InvalidStatus { tx: hash, status }),
        None if r.root.is_some() => (TxStatus::Succeeded, None, true),
        None => return Err(DecodeError::MissingStatus { tx: hash }),
    };

    // Fee = gasUsed × effective price. Before London receipts have no effectiveGasPrice and the
    // transaction's gasPrice is what was paid. L2 surcharges (OP `l1Fee`) go to `extra`.
    let gas_price = r.effective_gas_price.or(tx.gas_price);
    let fee = gas_price
        .map(|p| r.gas_used.checked_mul(p).ok_or_else(|| out_of_range("fee")))
        .transpose()?;

    let mut extra = Map::new();
    if let Some(t) = tx.tx_type {
        extra.insert("type".into(), Value::from(t.to::<u64>()));
    }
    if let Some(g) = tx.gas {
        extra.insert("gas_limit".into(), number(g));
    }
    extra.insert("gas_used".into(), number(r.gas_used));
    if let Some(p) = gas_price {
        extra.insert("effective_gas_price".into(), number(p));
    }
    if let Some(a) = r.contract_address {
        extra.insert("contract_address".into(), Value::String(hex(a)));
    }
    extra.insert("logs".into(), Value::from(r.logs.0));
    if let Some(f) = r.l1_fee {
        extra.insert("l1_fee".into(), number(f));
    }
    if pre_byzantium {
        extra.insert("receipt_status".into(), Value::Null);
    }

    Ok(Transaction {
        hash,
        index,
        sender: Some(hex(tx.from)),
        to: tx.to.map(hex),
        nonce: tx.nonce.map(|n| n.to::<u64>()),
        value: tx.value.map(|v| v.to_string()),
        fee: fee.map(|f| f.to_string()),
        status,
        failure,
        extra: Value::Object(extra),
    })
}

/// The failure of a transaction whose receipt has status 0, from the receipt's facts alone.
pub(crate) fn failure(tx: &RpcTransaction, r: &RpcReceipt) -> Failure {
    let used = grouped(r.gas_used);
    let mut message = match tx.gas {
        Some(limit) => format!(
            "execution failed (receipt status 0) after using {used} of {} gas",
            grouped(limit)
        ),
        None => format!("execution failed (receipt status 0) after using {used} gas"),
    };
    if tx.gas == Some(r.gas_used) {
        message.push_str("; all gas was used, which suggests it ran out of gas");
    }
    // The chain's own words: quantities are canonical minimal hex, so re-encoding the decoded
    // values reproduces the text the node sent.
    let raw = match tx.gas {
        Some(limit) => format!(
            r#"{{"status":"0x0","gasUsed":"{}","gas":"{}"}}"#,
            hex(r.gas_used),
            hex(limit)
        ),
        None => format!(r#"{{"status":"0x0","gasUsed":"{}"}}"#, hex(r.gas_used)),
    };
    Failure {
        kind: FailureKind::Other,
        code: None,
        message,
        location: tx.to.map(hex),
        raw,
    }
}

/// A JSON number when it fits `u64`, else a decimal string.
pub(crate) fn number(v: U256) -> Value {
    u64::try_from(v).map_or_else(|_| Value::String(v.to_string()), Value::from)
}

/// Decimal with `,` between thousands: `21,000`.
fn grouped(v: U256) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> ChainId {
        "evm:1".parse().unwrap()
    }

    const TX: &str = "0x00000000000000000000000000000000000000000000000000000000000000aa";
    const BLOCK: &str = "0x00000000000000000000000000000000000000000000000000000000000000bb";

    fn block_json(tx_extra: &str) -> String {
        format!(
            r#"{{"number":"0x7","hash":"{BLOCK}","parentHash":"{BLOCK}","timestamp":"0x10",
               "transactions":[{{"hash":"{TX}","from":"0x00000000000000000000000000000000000000f0",
               "to":"0x00000000000000000000000000000000000000c0","gas":"0xc350","gasPrice":"0x2",
               "nonce":"0x1","value":"0x0","type":"0x2"{tx_extra}}}]}}"#
        )
    }

    fn receipts_json(fields: &str) -> String {
        format!(
            r#"[{{"transactionHash":"{TX}","blockHash":"{BLOCK}","gasUsed":"0x5208","logs":[]{fields}}}]"#
        )
    }

    #[test]
    fn grouped_thousands() {
        assert_eq!(grouped(U256::from(0)), "0");
        assert_eq!(grouped(U256::from(999)), "999");
        assert_eq!(grouped(U256::from(21_000)), "21,000");
        assert_eq!(grouped(U256::from(1_234_567)), "1,234,567");
    }

    #[test]
    fn numbers_fall_back_to_decimal_strings() {
        assert_eq!(number(U256::from(5)), Value::from(5));
        let big = U256::from(u64::MAX) + U256::from(1);
        assert_eq!(number(big), Value::String("18446744073709551616".into()));
    }

    #[test]
    fn failed_receipt_message_and_raw() {
        let b = normalize_block(
            &chain(),
            block_json("").as_bytes(),
            receipts_json(r#","status":"0x0""#).as_bytes(),
        )
        .unwrap();
        let tx = &b.txs[0];
        assert_eq!(tx.status, TxStatus::Failed);
        let f = tx.failure.as_ref().unwrap();
        assert_eq!(f.kind, FailureKind::Other);
        assert_eq!(
            f.message,
            "execution failed (receipt status 0) after using 21,000 of 50,000 gas"
        );
        assert_eq!(
            f.raw,
            r#"{"status":"0x0","gasUsed":"0x5208","gas":"0xc350"}"#
        );
        assert_eq!(
            f.location.as_deref(),
            Some("0x00000000000000000000000000000000000000c0")
        );
        assert_eq!(tx.fee.as_deref(), Some("42000"));
        assert_eq!(b.timestamp_ms, 16_000);
    }

    #[test]
    fn out_of_gas_hint_when_all_gas_used() {
        let block = block_json("").replace("0xc350", "0x5208");
        let b = normalize_block(
            &chain(),
            block.as_bytes(),
            receipts_json(r#","status":"0x0""#).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            b.txs[0].failure.as_ref().unwrap().message,
            "execution failed (receipt status 0) after using 21,000 of 21,000 gas; \
             all gas was used, which suggests it ran out of gas"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let block = block_json("").replace(r#""gasPrice":"0x2""#, r#""gasPrice":"0xzz""#);
        let e = normalize_block(&chain(), block.as_bytes(), b"[]").unwrap_err();
        assert!(
            matches!(&e, DecodeError::Block { path, .. } if path == "transactions[0].gasPrice"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "malformed block JSON at `transactions[0].gasPrice`"
        );

        let e = normalize_block(
            &chain(),
            block_json("").as_bytes(),
            br#"[{"gasUsed":"0x1"}]"#,
        )
        .unwrap_err();
        assert!(
            matches!(&e, DecodeError::Receipts { path, .. } if path == "[0]"),
            "{e:?}"
        );
        assert!(
            std::error::Error::source(&e)
                .unwrap()
                .to_string()
                .contains("transactionHash"),
            "{e:?}"
        );

        let e = normalize_block(&chain(), block_json("").as_bytes(), b"[]").unwrap_err();
        assert_eq!(e.to_string(), "block 7 has 1 transactions but 0 receipts");
        assert!(e.is_receipt_mismatch());

        let other = receipts_json(r#","status":"0x1""#).replace(BLOCK, TX);
        let e = normalize_block(&chain(), block_json("").as_bytes(), other.as_bytes()).unwrap_err();
        assert!(
            matches!(
                &e,
                DecodeError::ReceiptMismatch {
                    field: "blockHash",
                    index: 0,
                    ..
                }
            ),
            "{e}"
        );

        let e = normalize_block(
            &chain(),
            block_json("").as_bytes(),
            receipts_json("").as_bytes(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("receipt of transaction {TX} has neither `status` nor `root`")
        );

        let e = normalize_block(
            &chain(),
            block_json("").as_bytes(),
            receipts_json(r#","status":"0x2""#).as_bytes(),
        )
        .unwrap_err();
        assert!(
            matches!(e, DecodeError::InvalidStatus { status: 2, .. }),
            "{e}"
        );

        let e = normalize_block(&chain(), b"null", b"[]").unwrap_err();
        assert!(matches!(e, DecodeError::NullBlock));
    }

    #[test]
    fn contract_creation_and_missing_gas_price() {
        let block = block_json("")
            .replace(r#""to":"0x00000000000000000000000000000000000000c0","#, "")
            .replace(r#""gasPrice":"0x2","#, "");
        let receipts = receipts_json(
            r#","status":"0x1","contractAddress":"0x00000000000000000000000000000000000000dd""#,
        );
        let b = normalize_block(&chain(), block.as_bytes(), receipts.as_bytes()).unwrap();
        let tx = &b.txs[0];
        assert_eq!(tx.to, None);
        assert_eq!(tx.fee, None);
        assert_eq!(
            tx.extra["contract_address"],
            "0x00000000000000000000000000000000000000dd"
        );
        assert!(tx.extra.get("effective_gas_price").is_none());
    }
}
