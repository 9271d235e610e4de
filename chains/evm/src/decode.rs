//! `chainwatch decode` for EVM chains: raw RPC JSON files of any supported shape → one
//! [`Decoded`]. Pure: no I/O, no network.
//!
//! Each file is recognized by its shape (never by its name), after unwrapping the JSON-RPC
//! envelope; the files are then joined by transaction hash (or by position, for traces that
//! name no transaction), normalized with the same code as the adapter, and each failed
//! transaction with a trace gets the failure reason the adapter's trace lookup would give.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
};

use alloy_primitives::{Address, B256, Bytes, U64};
use chainwatch_schema::{BlockRef, ChainId, Decoded, Transaction, TxStatus};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::{
    abi::ErrorRegistry,
    explain::{self, CallFrame, ReceiptFacts},
    normalize::{DecodeError, normalize, normalize_tx, number},
    rpc::{RpcBlock, RpcReceipt, RpcTransaction, hex},
};

/// Decodes raw EVM RPC JSON files of `chain` into the normalized [`Decoded`] shape, offline.
///
/// `files` are `(name, bytes)` pairs; the name only appears in errors. Each file may hold the
/// bare `result` or the whole JSON-RPC response, and be any of:
/// - a block with full transaction objects (`eth_getBlockByNumber(N, true)`);
/// - an array of receipts (`eth_getBlockReceipts`), or one receipt
///   (`eth_getTransactionReceipt`);
/// - one transaction (`eth_getTransactionByHash`);
/// - `callTracer` traces: one frame (`debug_traceTransaction`), or an array of frames or of
///   `{txHash, result}` items (`debug_traceBlockByNumber`);
/// - a `trace_replayTransaction` result (Parity style, with `trace` and `output`), or an array of
///   them (`trace_replayBlockTransactions`).
///
/// Joining: receipts go to the transactions with their `transactionHash`; traces go to the
/// transaction named by their `txHash` / `transactionHash`, else by position: an array of
/// traces to the one given block whose transactions it matches in number and sender, a single
/// trace to the one transaction given without its block. Every receipt and trace must find its
/// transaction, and every mined transaction needs its receipt (its status is there); a
/// transaction that is in no block (`blockHash` null) is `Pending`.
///
/// Failed transactions get the receipt-only failure of [`crate::normalize_block`], replaced by
/// the reason their trace shows when there is one (the adapter's classification: revert data,
/// panic codes, custom errors, out of gas, invalid opcode or jump, with the deepest failing
/// frame as `location`). A pre-Byzantium transaction (its receipt has no `status`) whose trace
/// shows an error is `Failed` with that failure (`raw.status` null), else `Succeeded` as in
/// [`crate::normalize_block`]. A Parity trace knows the revert data of the whole transaction only,
/// so its location is the top call unless a sub-call's failure was passed on without data.
///
/// Errors name the file at fault ([`DecodeError::File`]) or the transaction, and say what was
/// expected.
///
/// ```
/// use chainwatch_chain_evm::decode_files;
/// use chainwatch_schema::{FailureKind, TxStatus};
///
/// let tx = format!("0x{}", "aa".repeat(32));
/// let block = format!("0x{}", "bb".repeat(32));
/// let receipt = format!(
///     r#"{{"jsonrpc":"2.0","id":1,"result":{{"transactionHash":"{tx}","blockHash":"{block}",
///        "blockNumber":"0x10","from":"0x00000000000000000000000000000000000000f0",
///        "to":"0x00000000000000000000000000000000000000c0","gasUsed":"0x5208",
///        "status":"0x0","logs":[]}}}}"#
/// );
/// let trace = r#"{"type":"CALL","from":"0x00000000000000000000000000000000000000f0",
///     "to":"0x00000000000000000000000000000000000000c0","gas":"0x0","gasUsed":"0x5208",
///     "input":"0x","error":"execution reverted","output":"0x"}"#;
/// let d = decode_files(
///     &"evm:1".parse()?,
///     &[("receipt.json", receipt.as_str()), ("trace.json", trace)],
/// )?;
/// let t = &d.transactions[0];
/// assert_eq!((t.tx.status, t.block.as_ref().unwrap().height), (TxStatus::Failed, 16));
/// let f = t.tx.failure.as_ref().unwrap();
/// assert_eq!((f.kind, f.message.as_str()), (FailureKind::Reverted, "reverted without a reason"));
///
/// let e = decode_files(&"evm:1".parse()?, &[("notes.json", r#"{"note": 1}"#)]).unwrap_err();
/// assert!(e.to_string().starts_with("notes.json"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_files<N: AsRef<str>, B: AsRef<[u8]>>(
    chain: &ChainId,
    files: &[(N, B)],
) -> Result<Decoded, DecodeError> {
    decode_files_with_abi_dir(chain, files, None)
}

/// [`decode_files`], with the custom errors of the JSON ABIs under `abi_dir` (read as
/// [`crate::EvmOptions::abi_dir`] is: recursively, ABI arrays or Foundry/Hardhat artifacts)
/// added to the built-in table. An unreadable directory or a file that is not an ABI is
/// [`DecodeError::Abi`], naming the file.
pub fn decode_files_with_abi_dir<N: AsRef<str>, B: AsRef<[u8]>>(
    chain: &ChainId,
    files: &[(N, B)],
    abi_dir: Option<&Path>,
) -> Result<Decoded, DecodeError> {
    if chain.family() != "evm" || chain.network().parse::<u64>().is_err() {
        return Err(DecodeError::NotEvm(chain.clone()));
    }
    if files.is_empty() {
        return Err(DecodeError::NoFiles);
    }
    let errors = match abi_dir {
        None => ErrorRegistry::built_in(),
        Some(dir) => ErrorRegistry::with_abi_dir(dir).map_err(|e| DecodeError::Abi(Box::new(e)))?,
    };
    let mut inputs = Inputs::default();
    for (name, bytes) in files {
        let name = name.as_ref();
        let doc = read_doc(bytes.as_ref()).map_err(|e| in_file(name, e))?;
        inputs.add(name, doc).map_err(|e| in_file(name, e))?;
    }
    inputs.check_chain_ids(chain)?;
    inputs.join(chain, &errors)
}

/// Wraps an error about one file.
fn in_file(file: &str, e: DecodeError) -> DecodeError {
    DecodeError::File {
        file: file.to_owned(),
        source: Box::new(e),
    }
}

/// The shapes a file (or an array item) can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Block,
    Receipt,
    Transaction,
    /// A `callTracer` frame.
    Frame,
    /// `{txHash, result}` (or `{txHash, error}`) of `debug_traceBlockByNumber`.
    TraceItem,
    /// A `trace_replayTransaction` result.
    Replay,
    /// A flat Parity trace (`trace_transaction`, `trace_block`).
    FlatTrace,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Self::Block => "a block",
            Self::Receipt => "a receipt",
            Self::Transaction => "a transaction",
            Self::Frame => "a callTracer frame",
            Self::TraceItem => "a {txHash, result} trace item",
            Self::Replay => "a trace_replayTransaction result",
            Self::FlatTrace => "a flat Parity trace",
        }
    }

    /// Recognizes an object by its keys.
    fn of(o: &Map<String, Value>) -> Option<Self> {
        let has = |k: &str| o.contains_key(k);
        Some(if has("transactions") && has("parentHash") {
            Self::Block
        } else if has("transactionHash") && has("gasUsed") && (has("logs") || has("status")) {
            Self::Receipt
        } else if has("trace") && has("output") {
            Self::Replay
        } else if has("action") && has("traceAddress") {
            Self::FlatTrace
        } else if has("txHash") && (has("result") || has("error")) {
            Self::TraceItem
        } else if has("hash") && has("from") && (has("nonce") || has("input")) {
            Self::Transaction
        } else if has("type") && has("from") && has("gasUsed") && !has("hash") {
            Self::Frame
        } else {
            return None;
        })
    }
}

/// One file's content, decoded.
enum Doc {
    Block(Box<RpcBlock>, Vec<TxExtra>),
    Receipts(Vec<(RpcReceipt, ReceiptExtra)>),
    Transaction(Box<RpcTransaction>, TxExtra),
    /// Traces; `lone` when the file is a single frame (not an array).
    Traces {
        items: Vec<TraceItem>,
        lone: bool,
    },
}

/// One trace: the transaction it names (if any) and its top frame (`None` when the node could
/// not trace it: a `{txHash, error}` item, or a replay without `trace`).
struct TraceItem {
    tx: Option<B256>,
    frame: Option<CallFrame>,
}

/// Transaction fields decode reads beyond [`RpcTransaction`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TxExtra {
    #[serde(default)]
    block_hash: Option<B256>,
    #[serde(default)]
    block_number: Option<U64>,
    #[serde(default)]
    chain_id: Option<U64>,
}

/// The transaction facts a receipt carries, for a receipt given without its transaction.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptExtra {
    #[serde(default)]
    block_number: Option<U64>,
    #[serde(default)]
    from: Option<Address>,
    #[serde(default)]
    to: Option<Address>,
    #[serde(default)]
    transaction_index: Option<U64>,
    #[serde(default, rename = "type")]
    tx_type: Option<U64>,
}

/// `debug_traceBlockByNumber` item.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcTraceItem {
    #[serde(default)]
    tx_hash: Option<B256>,
    #[serde(default)]
    result: Option<CallFrame>,
}

/// `trace_replayTransaction` result; only the fields used.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParityReplay {
    /// The transaction's return (or revert) data.
    #[serde(default)]
    output: Option<Bytes>,
    /// `null` when the `trace` type was not asked for.
    #[serde(default)]
    trace: Option<Vec<ParityTrace>>,
    /// Present in `trace_replayBlockTransactions` items (and some single replays).
    #[serde(default)]
    transaction_hash: Option<B256>,
}

/// One frame of a Parity trace.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParityTrace {
    action: ParityAction,
    #[serde(default)]
    result: Option<ParityResult>,
    #[serde(default)]
    error: Option<String>,
    trace_address: Vec<usize>,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParityAction {
    #[serde(default)]
    call_type: Option<String>,
    #[serde(default)]
    from: Option<Address>,
    #[serde(default)]
    to: Option<Address>,
}

#[derive(Deserialize)]
struct ParityResult {
    #[serde(default)]
    output: Option<Bytes>,
    /// The created contract, for `create` frames.
    #[serde(default)]
    address: Option<Address>,
}

/// Parses one file: JSON, envelope, shape, typed decoding.
fn read_doc(bytes: &[u8]) -> Result<Doc, DecodeError> {
    let value: Value = serde_json::from_slice(bytes).map_err(DecodeError::NotJson)?;
    let value = unwrap_envelope(value)?;
    match &value {
        Value::Object(o) => {
            let shape = Shape::of(o).ok_or_else(|| DecodeError::UnknownShape {
                found: describe(&value),
            })?;
            doc_of(shape, value, false)
        }
        Value::Array(items) => {
            let Some(first) = items.first() else {
                // An empty block's receipts or traces: nothing to join.
                return Ok(Doc::Receipts(Vec::new()));
            };
            let shape = first
                .as_object()
                .and_then(Shape::of)
                .filter(|s| *s != Shape::Block)
                .ok_or_else(|| DecodeError::UnknownShape {
                    found: format!("an array whose item 0 is {}", describe(first)),
                })?;
            for (index, item) in items.iter().enumerate().skip(1) {
                let found = item.as_object().and_then(Shape::of);
                if found != Some(shape) {
                    return Err(DecodeError::MixedArray {
                        index,
                        expected: shape.name(),
                        found: found.map_or("something else", Shape::name),
                    });
                }
            }
            doc_of(shape, value, true)
        }
        _ => Err(DecodeError::UnknownShape {
            found: describe(&value),
        }),
    }
}

/// The `result` of a JSON-RPC response, or the document itself when it is not one.
fn unwrap_envelope(value: Value) -> Result<Value, DecodeError> {
    let Value::Object(mut o) = value else {
        return Ok(value);
    };
    let envelope = o.contains_key("jsonrpc")
        || (o.contains_key("id")
            && (o.contains_key("result") || o.contains_key("error"))
            && o.len() <= 3);
    if !envelope {
        return Ok(Value::Object(o));
    }
    if let Some(error) = o.remove("error").filter(|e| !e.is_null()) {
        let code = error
            .get("code")
            .map_or_else(|| "?".to_owned(), ToString::to_string);
        let message = match error.get("message") {
            Some(Value::String(m)) => m.clone(),
            _ => error.to_string(),
        };
        return Err(DecodeError::RpcError { code, message });
    }
    match o.remove("result") {
        None | Some(Value::Null) => Err(DecodeError::NullResult),
        Some(r) => Ok(r),
    }
}

/// A short description of unrecognized JSON, for errors.
fn describe(v: &Value) -> String {
    match v {
        Value::Object(o) if o.is_empty() => "an empty object".into(),
        Value::Object(o) => {
            let mut keys: Vec<&str> = o.keys().map(String::as_str).take(8).collect();
            if o.len() > keys.len() {
                keys.push("…");
            }
            format!("an object with keys {}", keys.join(", "))
        }
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::String(_) => "a string".into(),
        Value::Number(_) => "a number".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Null => "null".into(),
    }
}

/// Decodes `value` as `T`; on failure, again with path tracking so the error names the field.
fn typed<T: DeserializeOwned>(value: &Value, shape: &'static str) -> Result<T, DecodeError> {
    T::deserialize(value).map_err(|fast| {
        let (path, source) = match serde_path_to_error::deserialize::<_, T>(value) {
            Err(e) => (e.path().to_string(), e.into_inner()),
            Ok(_) => (".".to_owned(), fast),
        };
        DecodeError::Malformed {
            shape,
            path,
            source,
        }
    })
}

/// Decodes a value of a recognized shape (`array`: a JSON array of such items).
fn doc_of(shape: Shape, value: Value, array: bool) -> Result<Doc, DecodeError> {
    Ok(match (shape, array) {
        (Shape::Block, _) => {
            let txs = value.get("transactions").and_then(Value::as_array);
            if txs.and_then(|t| t.first()).is_some_and(Value::is_string) {
                let height = value
                    .get("number")
                    .and_then(|n| serde_json::from_value::<U64>(n.clone()).ok())
                    .map_or(0, |n| n.to::<u64>());
                return Err(DecodeError::HashesOnly { height });
            }
            #[derive(Deserialize)]
            struct Extras {
                transactions: Vec<TxExtra>,
            }
            let block: RpcBlock = typed(&value, "block")?;
            let extras: Extras = typed(&value, "block")?;
            Doc::Block(Box::new(block), extras.transactions)
        }
        (Shape::Receipt, false) => {
            Doc::Receipts(vec![(typed(&value, "receipt")?, typed(&value, "receipt")?)])
        }
        (Shape::Receipt, true) => {
            let receipts: Vec<RpcReceipt> = typed(&value, "receipts array")?;
            let extras: Vec<ReceiptExtra> = typed(&value, "receipts array")?;
            Doc::Receipts(receipts.into_iter().zip(extras).collect())
        }
        (Shape::Transaction, false) => Doc::Transaction(
            Box::new(typed(&value, "transaction")?),
            typed(&value, "transaction")?,
        ),
        (Shape::Transaction, true) => {
            return Err(DecodeError::UnknownShape {
                found: "an array of transactions (give the block they are in instead)".into(),
            });
        }
        (Shape::Frame, array) => {
            let frames: Vec<CallFrame> = if array {
                typed(&value, "callTracer traces array")?
            } else {
                vec![typed(&value, "callTracer trace")?]
            };
            Doc::Traces {
                items: frames
                    .into_iter()
                    .map(|f| TraceItem {
                        tx: None,
                        frame: Some(f),
                    })
                    .collect(),
                lone: !array,
            }
        }
        (Shape::TraceItem, array) => {
            let items: Vec<RpcTraceItem> = if array {
                typed(&value, "callTracer traces array")?
            } else {
                vec![typed(&value, "callTracer trace item")?]
            };
            Doc::Traces {
                items: items
                    .into_iter()
                    .map(|i| TraceItem {
                        tx: i.tx_hash,
                        frame: i.result,
                    })
                    .collect(),
                lone: !array,
            }
        }
        (Shape::Replay, array) => {
            let replays: Vec<ParityReplay> = if array {
                typed(&value, "trace_replayBlockTransactions array")?
            } else {
                vec![typed(&value, "trace_replayTransaction result")?]
            };
            Doc::Traces {
                items: replays
                    .into_iter()
                    .map(|r| TraceItem {
                        tx: r.transaction_hash,
                        frame: r.trace.and_then(|t| parity_frame(t, r.output)),
                    })
                    .collect(),
                lone: !array,
            }
        }
        (Shape::FlatTrace, _) => {
            return Err(DecodeError::UnknownShape {
                found: "flat Parity traces (trace_transaction / trace_block), which do not \
                        carry the revert data of failed calls; use trace_replayTransaction or \
                        debug_traceTransaction with the callTracer instead"
                    .into(),
            });
        }
    })
}

/// A Parity trace (frames in depth-first order, each with its `traceAddress`) as a `callTracer`
/// frame tree. Only the top frame's revert data is known (the replay's `output`); a failed
/// sub-call has none. `None` for an empty trace.
fn parity_frame(traces: Vec<ParityTrace>, output: Option<Bytes>) -> Option<CallFrame> {
    let mut top: Option<CallFrame> = None;
    for t in traces {
        let frame = CallFrame {
            call_type: Some(
                t.action
                    .call_type
                    .unwrap_or_else(|| t.kind.clone())
                    .to_ascii_uppercase(),
            ),
            from: t.action.from,
            to: t
                .action
                .to
                .or_else(|| t.result.as_ref().and_then(|r| r.address)),
            output: t.result.and_then(|r| r.output),
            error: t.error,
            calls: Vec::new(),
        };
        match t.trace_address.split_last() {
            None => top = Some(frame),
            Some((_, parents)) => {
                // Depth-first order: the parent is the last frame at each level.
                let mut cur = top.as_mut()?;
                for _ in parents {
                    cur = cur.calls.last_mut()?;
                }
                cur.calls.push(frame);
            }
        }
    }
    let mut top = top?;
    if top.error.is_some() {
        top.output = output;
    }
    Some(top)
}

/// Everything the files hold, before joining.
#[derive(Default)]
struct Inputs<'a> {
    blocks: Vec<(&'a str, RpcBlock, Vec<TxExtra>)>,
    /// Transactions given alone, by hash.
    txs: HashMap<B256, (&'a str, RpcTransaction, TxExtra)>,
    receipts: HashMap<B256, (&'a str, RpcReceipt, ReceiptExtra)>,
    /// Hashes of transactions and receipts given without their block, in file order.
    loose_order: Vec<B256>,
    /// Traces naming their transaction.
    keyed: HashMap<B256, (&'a str, Option<CallFrame>)>,
    /// Traces joined by position: (file, frames, whether the file is a single frame).
    positional: Vec<(&'a str, Vec<Option<CallFrame>>, bool)>,
}

impl<'a> Inputs<'a> {
    fn add(&mut self, file: &'a str, doc: Doc) -> Result<(), DecodeError> {
        match doc {
            Doc::Block(block, extras) => {
                if let Some((other, ..)) = self.blocks.iter().find(|(_, b, _)| b.hash == block.hash)
                {
                    return Err(DecodeError::Duplicate {
                        what: format!("block {}", block.number.to::<u64>()),
                        other: (*other).to_owned(),
                    });
                }
                self.blocks.push((file, *block, extras));
            }
            Doc::Transaction(tx, extra) => {
                if let Some((other, ..)) = self.txs.get(&tx.hash) {
                    return Err(DecodeError::Duplicate {
                        what: format!("transaction {}", hex(tx.hash)),
                        other: (*other).to_owned(),
                    });
                }
                self.loose_order.push(tx.hash);
                self.txs.insert(tx.hash, (file, *tx, extra));
            }
            Doc::Receipts(receipts) => {
                for (r, extra) in receipts {
                    let hash = r.transaction_hash;
                    if let Some((other, ..)) = self.receipts.get(&hash) {
                        return Err(DecodeError::Duplicate {
                            what: format!("the receipt of transaction {}", hex(hash)),
                            other: (*other).to_owned(),
                        });
                    }
                    self.loose_order.push(hash);
                    self.receipts.insert(hash, (file, r, extra));
                }
            }
            Doc::Traces { items, lone } => {
                if items.iter().all(|i| i.tx.is_some()) {
                    for i in items {
                        let hash = i.tx.unwrap_or_default();
                        if let Some((other, _)) = self.keyed.get(&hash) {
                            return Err(DecodeError::Duplicate {
                                what: format!("the trace of transaction {}", hex(hash)),
                                other: (*other).to_owned(),
                            });
                        }
                        self.keyed.insert(hash, (file, i.frame));
                    }
                } else if items.iter().all(|i| i.tx.is_none()) {
                    self.positional.push((
                        file,
                        items.into_iter().map(|i| i.frame).collect(),
                        lone,
                    ));
                } else {
                    return Err(DecodeError::UnmatchedTrace {
                        detail: "some traces name their transaction (txHash) and some do not; \
                                 expected all or none"
                            .into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Every transaction that states a `chainId` must be on `chain`.
    fn check_chain_ids(&self, chain: &ChainId) -> Result<(), DecodeError> {
        let want: u64 = chain.network().parse().unwrap_or_default();
        let block_txs = self
            .blocks
            .iter()
            .flat_map(|(_, b, e)| b.transactions.iter().zip(e));
        let lone = self.txs.values().map(|(_, tx, e)| (tx, e));
        for (tx, extra) in block_txs.chain(lone) {
            if let Some(id) = extra.chain_id.map(|c| c.to::<u64>())
                && id != want
            {
                return Err(DecodeError::ChainIdMismatch {
                    tx: hex(tx.hash),
                    found: id,
                    chain: chain.clone(),
                });
            }
        }
        Ok(())
    }

    /// Joins receipts and traces to their transactions and normalizes everything.
    fn join(mut self, chain: &ChainId, errors: &ErrorRegistry) -> Result<Decoded, DecodeError> {
        let in_blocks: HashSet<B256> = self
            .blocks
            .iter()
            .flat_map(|(_, b, _)| b.transactions.iter().map(|t| t.hash))
            .collect();
        let mut seen = HashSet::new();
        let loose: Vec<B256> = std::mem::take(&mut self.loose_order)
            .into_iter()
            .filter(|h| !in_blocks.contains(h) && seen.insert(*h))
            .collect();
        let traces = self.place_traces(&loose)?;

        let mut out = Decoded::new(chain.clone());
        for (file, block, _) in std::mem::take(&mut self.blocks) {
            let receipts = self.block_receipts(&block).map_err(|e| in_file(file, e))?;
            let failed = failed_facts(&block.transactions, &receipts);
            let mut normalized = normalize(chain, block, receipts).map_err(|e| in_file(file, e))?;
            for (position, hash, facts) in failed {
                if let Some(frame) = traces.get(&hash)
                    && let Some(tx) = normalized.txs.get_mut(position)
                {
                    apply_trace(tx, frame, facts, errors);
                }
            }
            out.push_block(normalized);
        }
        for hash in loose {
            let facts = self.loose_facts(hash);
            let Some((block, mut tx)) = self.loose_tx(hash)? else {
                continue;
            };
            if let Some(frame) = traces.get(&hash)
                && let Some(facts) = facts
            {
                apply_trace(&mut tx, frame, facts, errors);
            }
            out.push_transaction(block, tx);
        }
        Ok(out)
    }

    /// Every trace by the hash of its transaction; errors for traces that join nothing.
    fn place_traces(&mut self, loose: &[B256]) -> Result<HashMap<B256, CallFrame>, DecodeError> {
        let keyed = std::mem::take(&mut self.keyed);
        let positional = std::mem::take(&mut self.positional);
        let known = |h: &B256| {
            loose.contains(h)
                || self
                    .blocks
                    .iter()
                    .any(|(_, b, _)| b.transactions.iter().any(|t| t.hash == *h))
        };
        let mut placed: HashMap<B256, (&str, Option<CallFrame>)> = HashMap::new();
        for (hash, (file, frame)) in keyed {
            if !known(&hash) {
                return Err(in_file(
                    file,
                    DecodeError::UnmatchedTrace {
                        detail: format!(
                            "the trace of transaction {} matches no transaction in the files \
                             (give its block, the transaction or its receipt too)",
                            hex(hash)
                        ),
                    },
                ));
            }
            placed.insert(hash, (file, frame));
        }
        for (file, frames, lone) in positional {
            let targets = if lone {
                self.lone_target(file, &frames, loose)?
            } else {
                self.block_target(file, &frames)?
            };
            for (hash, frame) in targets.into_iter().zip(frames) {
                if let Some((other, _)) = placed.insert(hash, (file, frame)) {
                    return Err(in_file(
                        file,
                        DecodeError::Duplicate {
                            what: format!("the trace of transaction {}", hex(hash)),
                            other: other.to_owned(),
                        },
                    ));
                }
            }
        }
        Ok(placed
            .into_iter()
            .filter_map(|(h, (_, f))| Some((h, f?)))
            .collect())
    }

    /// The sender of a transaction given without its block, from the transaction or receipt.
    fn loose_sender(&self, hash: B256) -> Option<Address> {
        self.txs
            .get(&hash)
            .map(|(_, tx, _)| tx.from)
            .or_else(|| self.receipts.get(&hash).and_then(|(_, _, e)| e.from))
    }

    /// The transaction a single trace without `txHash` belongs to: the one transaction given
    /// without its block (whose sender, when known, is the trace's caller).
    fn lone_target(
        &self,
        file: &str,
        frames: &[Option<CallFrame>],
        loose: &[B256],
    ) -> Result<Vec<B256>, DecodeError> {
        let from = frames.first().and_then(|f| f.as_ref()?.from);
        let candidates: Vec<B256> = loose
            .iter()
            .copied()
            .filter(|h| from.is_none() || self.loose_sender(*h).is_none_or(|s| Some(s) == from))
            .collect();
        match candidates.as_slice() {
            [one] => Ok(vec![*one]),
            _ => Err(in_file(
                file,
                DecodeError::UnmatchedTrace {
                    detail: format!(
                        "a single trace that names no transaction joins the one transaction \
                         given without its block (its transaction or receipt file), but {} \
                         such transactions{} were given",
                        candidates.len(),
                        if from.is_some() {
                            " sent by the trace's caller"
                        } else {
                            ""
                        }
                    ),
                },
            )),
        }
    }

    /// The transactions an array of traces without `txHash` belongs to: those of the one block
    /// with as many transactions, sent by the traces' callers in the same order.
    fn block_target(
        &self,
        file: &str,
        frames: &[Option<CallFrame>],
    ) -> Result<Vec<B256>, DecodeError> {
        let matches = |b: &RpcBlock| {
            b.transactions.len() == frames.len()
                && b.transactions.iter().zip(frames).all(|(tx, f)| {
                    f.as_ref()
                        .and_then(|f| f.from)
                        .is_none_or(|from| from == tx.from)
                })
        };
        let candidates: Vec<&RpcBlock> = self
            .blocks
            .iter()
            .map(|(_, b, _)| b)
            .filter(|b| matches(b))
            .collect();
        match candidates.as_slice() {
            [b] => Ok(b.transactions.iter().map(|t| t.hash).collect()),
            [] => Err(in_file(
                file,
                DecodeError::UnmatchedTrace {
                    detail: format!(
                        "{} traces that name no transaction (txHash) join a block's \
                         transactions by position, but no block given has {} transactions sent \
                         by the traces' callers in that order{}",
                        frames.len(),
                        frames.len(),
                        if self.blocks.is_empty() {
                            " (no block file was given)"
                        } else {
                            ""
                        }
                    ),
                },
            )),
            many => Err(in_file(
                file,
                DecodeError::UnmatchedTrace {
                    detail: format!(
                        "{} traces that name no transaction match {} of the blocks given; give \
                         one block per decode or traces with txHash",
                        frames.len(),
                        many.len()
                    ),
                },
            )),
        }
    }

    /// The receipts of a block's transactions, in order, taken out of the receipt map.
    fn block_receipts(&mut self, block: &RpcBlock) -> Result<Vec<RpcReceipt>, DecodeError> {
        let missing: Vec<B256> = block
            .transactions
            .iter()
            .map(|t| t.hash)
            .filter(|h| !self.receipts.contains_key(h))
            .collect();
        if let Some(first) = missing.first() {
            return Err(DecodeError::MissingReceipts {
                height: block.number.to::<u64>(),
                txs: block.transactions.len(),
                missing: missing.len(),
                first: hex(*first),
            });
        }
        Ok(block
            .transactions
            .iter()
            .filter_map(|t| self.receipts.remove(&t.hash).map(|(_, r, _)| r))
            .collect())
    }

    /// What the receipt of a loose transaction says, for trace classification.
    fn loose_facts(&self, hash: B256) -> Option<ReceiptFacts> {
        let (_, r, _) = self.receipts.get(&hash)?;
        Some(ReceiptFacts {
            gas: self.txs.get(&hash).and_then(|(_, tx, _)| tx.gas),
            gas_used: r.gas_used,
            pre_byzantium: pre_byzantium(r),
        })
    }

    /// Normalizes a transaction given without its block, from its transaction and/or receipt.
    fn loose_tx(
        &mut self,
        hash: B256,
    ) -> Result<Option<(Option<BlockRef>, Transaction)>, DecodeError> {
        let tx = self.txs.remove(&hash);
        let receipt = self.receipts.get(&hash);
        match (tx, receipt) {
            (Some((file, tx, extra)), Some((_, r, r_extra))) => {
                if let (Some(rb), Some(tb)) = (r.block_hash, extra.block_hash)
                    && rb != tb
                {
                    return Err(DecodeError::BlockMismatch {
                        tx: hex(hash),
                        receipt_block: hex(rb),
                        tx_block: hex(tb),
                    });
                }
                let block = block_ref(
                    r_extra.block_number.or(extra.block_number),
                    r.block_hash.or(extra.block_hash),
                );
                let tx = RpcTransaction {
                    transaction_index: tx.transaction_index.or(r_extra.transaction_index),
                    ..tx
                };
                let normalized = normalize_tx(0, &tx, r).map_err(|e| in_file(file, e))?;
                Ok(Some((block, normalized)))
            }
            (None, Some((file, r, extra))) => {
                // The transaction facts a receipt carries; nonce, value and gas limit are
                // only in the transaction.
                let tx = RpcTransaction {
                    hash,
                    transaction_index: extra.transaction_index,
                    from: extra.from.unwrap_or_default(),
                    to: extra.to,
                    nonce: None,
                    value: None,
                    gas: None,
                    gas_price: None,
                    tx_type: extra.tx_type,
                };
                let mut normalized = normalize_tx(0, &tx, r).map_err(|e| in_file(file, e))?;
                if extra.from.is_none() {
                    normalized.sender = None;
                }
                Ok(Some((
                    block_ref(extra.block_number, r.block_hash),
                    normalized,
                )))
            }
            (Some((file, tx, extra)), None) => match extra.block_hash {
                Some(b) => Err(in_file(
                    file,
                    DecodeError::MissingReceipt {
                        tx: hex(hash),
                        block: extra
                            .block_number
                            .map_or_else(|| hex(b), |n| n.to::<u64>().to_string()),
                    },
                )),
                None => Ok(Some((None, pending(&tx)))),
            },
            // Every loose hash comes from a transaction or a receipt.
            (None, None) => Ok(None),
        }
    }
}

/// Whether a receipt predates Byzantium: a state `root` and no `status`.
fn pre_byzantium(r: &RpcReceipt) -> bool {
    r.status.is_none() && r.root.is_some()
}

/// `(position, hash, facts)` of each transaction whose receipt has status 0, or no status
/// (pre-Byzantium: only a trace can tell whether it failed).
fn failed_facts(
    txs: &[RpcTransaction],
    receipts: &[RpcReceipt],
) -> Vec<(usize, B256, ReceiptFacts)> {
    txs.iter()
        .zip(receipts)
        .enumerate()
        .filter(|(_, (_, r))| r.status.is_some_and(|s| s.is_zero()) || pre_byzantium(r))
        .map(|(i, (tx, r))| {
            (
                i,
                tx.hash,
                ReceiptFacts {
                    gas: tx.gas,
                    gas_used: r.gas_used,
                    pre_byzantium: pre_byzantium(r),
                },
            )
        })
        .collect()
}

/// Sets the failure a trace shows; a pre-Byzantium transaction whose trace shows one becomes
/// `Failed` (its receipt could not say).
fn apply_trace(
    tx: &mut Transaction,
    frame: &CallFrame,
    facts: ReceiptFacts,
    errors: &ErrorRegistry,
) {
    if tx.status != TxStatus::Failed && !facts.pre_byzantium {
        return;
    }
    if let Some(failure) = explain::from_trace(frame, facts, errors) {
        tx.status = TxStatus::Failed;
        tx.failure = Some(failure);
    }
}

fn block_ref(number: Option<U64>, hash: Option<B256>) -> Option<BlockRef> {
    Some(BlockRef::new(number?.to::<u64>(), hex(hash?)))
}

/// A transaction in no block (`blockHash` null): pending, no fee or outcome yet.
fn pending(tx: &RpcTransaction) -> Transaction {
    let mut extra = Map::new();
    if let Some(t) = tx.tx_type {
        extra.insert("type".into(), Value::from(t.to::<u64>()));
    }
    if let Some(g) = tx.gas {
        extra.insert("gas_limit".into(), number(g));
    }
    Transaction {
        hash: hex(tx.hash),
        index: 0,
        sender: Some(hex(tx.from)),
        to: tx.to.map(hex),
        nonce: tx.nonce.map(|n| n.to::<u64>()),
        value: tx.value.map(|v| v.to_string()),
        fee: None,
        status: TxStatus::Pending,
        failure: None,
        extra: Value::Object(extra),
    }
}

#[cfg(test)]
mod tests {
    use chainwatch_chain_core::ErrorChain;
    use chainwatch_schema::FailureKind;
    use serde_json::json;

    use super::*;

    const BLOCK: &str = include_str!("../testdata/mainnet-block-11098450-full.json");
    const RECEIPTS: &str = include_str!("../testdata/mainnet-block-11098450-receipts.json");
    const TRACES: &str = include_str!("../testdata/mainnet-block-11098450-calltracer.json");
    const TX: &str = include_str!(
        "../testdata/mainnet-tx-0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee-failed.json"
    );
    const RECEIPT: &str = include_str!(
        "../testdata/mainnet-tx-0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee-receipt-failed.json"
    );
    const HASH: &str = "0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee";
    const ROUTER: &str = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d";

    fn chain() -> ChainId {
        "evm:1".parse().unwrap()
    }

    fn run(files: &[(&str, String)]) -> Result<Decoded, DecodeError> {
        decode_files(&chain(), files)
    }

    fn ok(files: &[(&str, String)]) -> Decoded {
        run(files).unwrap_or_else(|e| panic!("{}", ErrorChain(&e)))
    }

    fn err(files: &[(&str, String)]) -> String {
        ErrorChain(&run(files).unwrap_err()).to_string()
    }

    fn failure_of<'a>(d: &'a Decoded, hash: &str) -> &'a chainwatch_schema::Failure {
        d.transactions
            .iter()
            .find(|t| t.tx.hash == hash)
            .and_then(|t| t.tx.failure.as_ref())
            .unwrap()
    }

    /// The block's traces as `debug_traceBlockByNumber` returns them: `[{txHash, result}]`.
    fn keyed_traces() -> Vec<Value> {
        let block: Value = serde_json::from_str(BLOCK).unwrap();
        let frames: Vec<Value> = serde_json::from_str(TRACES).unwrap();
        block["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .zip(frames)
            .map(|(tx, f)| json!({"txHash": tx["hash"], "result": f}))
            .collect()
    }

    #[test]
    fn keyed_traces_join_by_hash_in_any_order() {
        let positional = ok(&[
            ("b", BLOCK.into()),
            ("r", RECEIPTS.into()),
            ("t", TRACES.into()),
        ]);
        let mut keyed = keyed_traces();
        keyed.reverse();
        let envelope = json!({"jsonrpc": "2.0", "id": 1, "result": keyed}).to_string();
        let d = ok(&[("t", envelope), ("r", RECEIPTS.into()), ("b", BLOCK.into())]);
        assert_eq!(d, positional);
        // The trace changed the failure: not the receipt-only OTHER.
        let f = failure_of(
            &d,
            "0xa36bb155c78dfc3ac94b7f5ec73d7b95741ef35a501ab850b2b7cf64f0f62d66",
        );
        assert_eq!(f.kind, FailureKind::Reverted);
    }

    #[test]
    fn an_untraceable_transaction_keeps_its_receipt_failure() {
        let hash = "0xa36bb155c78dfc3ac94b7f5ec73d7b95741ef35a501ab850b2b7cf64f0f62d66";
        let items: Vec<Value> = keyed_traces()
            .into_iter()
            .map(|i| {
                if i["txHash"] == hash {
                    json!({"txHash": hash, "error": "execution timeout"})
                } else {
                    i
                }
            })
            .collect();
        let d = ok(&[
            ("b", BLOCK.into()),
            ("r", RECEIPTS.into()),
            ("t", Value::Array(items).to_string()),
        ]);
        let f = failure_of(&d, hash);
        assert_eq!(f.kind, FailureKind::Other);
        assert!(f.message.starts_with("execution failed (receipt status 0)"));
    }

    /// A `trace_replayTransaction` result for the failed transaction [`HASH`].
    fn replay(top_error: &str, output: &str, child: Value) -> String {
        json!({"jsonrpc": "2.0", "id": 7, "result": {
            "output": output, "stateDiff": null, "vmTrace": null, "transactionHash": HASH,
            "trace": [
                {"action": {"callType": "call", "from": "0x32c0f2dd8f32b2a4e8b7a8a8e6b2b23f1f3a5c01",
                            "to": ROUTER, "gas": "0x1", "input": "0x", "value": "0x0"},
                 "error": top_error, "result": null, "subtraces": 1, "traceAddress": [], "type": "call"},
                child,
                {"action": {"callType": "staticcall", "from": "0x00000000000000000000000000000000000000c1",
                            "to": "0x00000000000000000000000000000000000000c2", "gas": "0x1", "input": "0x"},
                 "result": {"gasUsed": "0x1", "output": "0x"}, "subtraces": 0,
                 "traceAddress": [0, 0], "type": "call"}
            ]}})
        .to_string()
    }

    #[test]
    fn parity_replays_classify_like_call_traces() {
        // Error("UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT") as the replay's output.
        let trace: Value = serde_json::from_str(include_str!(
            "../testdata/mainnet-tx-0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee-calltrace-failed.json"
        ))
        .unwrap();
        let output = trace["output"].as_str().unwrap().to_owned();
        let child = json!({"action": {"callType": "call", "from": ROUTER,
                "to": "0x00000000000000000000000000000000000000c1", "gas": "0x1", "input": "0x"},
            "result": {"gasUsed": "0x1", "output": "0x"}, "subtraces": 1,
            "traceAddress": [0], "type": "call"});
        let d = ok(&[
            ("tx", TX.into()),
            ("receipt", RECEIPT.into()),
            ("replay", replay("Reverted", &output, child)),
        ]);
        let f = failure_of(&d, HASH);
        assert_eq!(f.kind, FailureKind::Reverted);
        assert_eq!(f.message, "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT");
        assert_eq!(f.location.as_deref(), Some(ROUTER));
        let raw: Value = serde_json::from_str(&f.raw).unwrap();
        assert_eq!(
            (&raw["callType"], &raw["error"]),
            (&json!("CALL"), &json!("Reverted"))
        );

        // A sub-call hit a bad instruction and the router reverted without data.
        let child = json!({"action": {"callType": "delegatecall", "from": ROUTER,
                "to": "0x00000000000000000000000000000000000000c1", "gas": "0x1", "input": "0x"},
            "error": "Bad instruction", "result": null, "subtraces": 1,
            "traceAddress": [0], "type": "call"});
        let d = ok(&[
            ("tx", TX.into()),
            ("receipt", RECEIPT.into()),
            ("replay", replay("Reverted", "0x", child)),
        ]);
        let f = failure_of(&d, HASH);
        assert_eq!(
            (f.kind, f.message.as_str(), f.location.as_deref()),
            (
                FailureKind::InvalidOpcode,
                "Bad instruction",
                Some("0x00000000000000000000000000000000000000c1")
            )
        );
        let raw: Value = serde_json::from_str(&f.raw).unwrap();
        assert_eq!(raw["callType"], "DELEGATECALL");
    }

    #[test]
    fn parity_trace_tree_follows_trace_addresses() {
        let t = |addr: &[usize], to: u8| ParityTrace {
            action: ParityAction {
                call_type: None,
                from: None,
                to: Some(Address::repeat_byte(to)),
            },
            result: None,
            error: None,
            trace_address: addr.to_vec(),
            kind: "create".into(),
        };
        let top = parity_frame(
            vec![
                t(&[], 1),
                t(&[0], 2),
                t(&[0, 0], 3),
                t(&[1], 4),
                t(&[1, 0], 5),
            ],
            None,
        )
        .unwrap();
        let to = |f: &CallFrame| f.to.unwrap()[0];
        assert_eq!(to(&top), 1);
        assert_eq!(top.call_type.as_deref(), Some("CREATE"));
        assert_eq!(top.calls.iter().map(to).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(to(&top.calls[0].calls[0]), 3);
        assert_eq!(to(&top.calls[1].calls[0]), 5);
        assert!(parity_frame(Vec::new(), None).is_none());
        // A frame whose parent is missing makes the trace unusable, not a panic.
        assert!(parity_frame(vec![t(&[], 1), t(&[3, 0], 2)], None).is_none());
    }

    #[test]
    fn pre_byzantium_failures_come_from_the_trace() {
        // Block 468,179: the receipt has `root` and no `status`; its trace shows no error.
        let block = include_str!("../testdata/mainnet-block-468179-full.json");
        let receipts = include_str!("../testdata/mainnet-block-468179-receipts.json");
        let traces = include_str!("../testdata/mainnet-block-468179-calltracer.json");
        let d = ok(&[
            ("b", block.into()),
            ("r", receipts.into()),
            ("t", traces.into()),
        ]);
        let tx = &d.transactions[0].tx;
        assert_eq!(
            (tx.status, tx.failure.is_none()),
            (TxStatus::Succeeded, true)
        );
        assert!(tx.extra["receipt_status"].is_null());
        // The same trace with an out-of-gas error (the usual pre-Byzantium failure).
        let mut t: Vec<Value> = serde_json::from_str(traces).unwrap();
        t[0]["error"] = json!("out of gas");
        let d = ok(&[
            ("b", block.into()),
            ("r", receipts.into()),
            ("t", Value::Array(t).to_string()),
        ]);
        let tx = &d.transactions[0].tx;
        assert_eq!(tx.status, TxStatus::Failed);
        let f = tx.failure.as_ref().unwrap();
        assert_eq!(f.kind, FailureKind::OutOfGas);
        let raw: Value = serde_json::from_str(&f.raw).unwrap();
        assert!(raw["status"].is_null(), "{}", f.raw);
        assert!(tx.extra["receipt_status"].is_null());
    }

    #[test]
    fn a_lone_trace_joins_the_one_loose_transaction() {
        let trace = include_str!(
            "../testdata/mainnet-tx-0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee-calltrace-failed.json"
        );
        // With the receipt alone (no gas limit known).
        let d = ok(&[("receipt", RECEIPT.into()), ("trace", trace.into())]);
        let f = failure_of(&d, HASH);
        assert_eq!(f.message, "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT");
        assert!(!f.raw.contains(r#""gas":"#), "{}", f.raw);
        // Two loose transactions: which one is ambiguous.
        let other = include_str!(
            "../testdata/mainnet-tx-0x500915b2e5360f21b2b33267aea6c8a361a512236b90924b220fa9466e325ff1-receipt-failed.json"
        );
        let mut other: Value = serde_json::from_str(other).unwrap();
        // Same sender as the trace, so the caller check cannot tell them apart.
        let receipt: Value = serde_json::from_str(RECEIPT).unwrap();
        other["from"] = receipt["from"].clone();
        let e = err(&[
            ("receipt", RECEIPT.into()),
            ("other", other.to_string()),
            ("trace", trace.into()),
        ]);
        assert!(
            e.starts_with(
                "trace: a single trace that names no transaction joins the one transaction \
                 given without its block"
            ) && e.contains("but 2 such transactions sent by the trace's caller were given"),
            "{e}"
        );
        // Another sender: the caller check picks the right one.
        other["from"] = json!("0x00000000000000000000000000000000000000ee");
        let d = ok(&[
            ("receipt", RECEIPT.into()),
            ("other", other.to_string()),
            ("trace", trace.into()),
        ]);
        assert_eq!(failure_of(&d, HASH).kind, FailureKind::Reverted);
    }

    #[test]
    fn files_that_do_not_fit_are_named_with_what_was_expected() {
        // A keyed trace of a transaction not given.
        let e = err(&[
            ("tx", TX.into()),
            ("receipt", RECEIPT.into()),
            ("t", Value::Array(keyed_traces()[..1].to_vec()).to_string()),
        ]);
        assert!(
            e.starts_with("t: the trace of transaction 0xde6e1087"),
            "{e}"
        );
        assert!(e.contains("matches no transaction in the files"), "{e}");
        // Flat Parity traces.
        let flat = json!([{"action": {}, "blockHash": "0x00", "result": null, "subtraces": 0,
                           "traceAddress": [], "transactionHash": HASH, "type": "call"}]);
        let e = err(&[("flat", flat.to_string())]);
        assert!(
            e.contains("flat Parity traces (trace_transaction / trace_block)"),
            "{e}"
        );
        // Mixed arrays.
        let receipt: Value = serde_json::from_str(RECEIPT).unwrap();
        let tx: Value = serde_json::from_str(TX).unwrap();
        let e = err(&[("mixed", json!([receipt, tx]).to_string())]);
        assert_eq!(
            e,
            "mixed: array item 1 is a transaction, but item 0 is a receipt; an array must hold \
             one kind of item"
        );
        // A mined transaction without its receipt.
        let e = err(&[("tx", TX.into())]);
        assert_eq!(
            e,
            format!(
                "tx: transaction {HASH} is in block 16899757 but no receipt for it was given; \
                 its status is in the receipt (eth_getTransactionReceipt)"
            )
        );
        // A receipt given twice, and one of another block.
        let e = err(&[("a", RECEIPT.into()), ("b", RECEIPT.into())]);
        assert_eq!(
            e,
            format!("b: the receipt of transaction {HASH} is given twice: also in a")
        );
        let mut moved = receipt.clone();
        moved["blockHash"] = json!(format!("0x{}", "11".repeat(32)));
        let e = err(&[("tx", TX.into()), ("r", moved.to_string())]);
        assert!(e.contains("the receipt of transaction 0xbb05"), "{e}");
        assert!(
            e.contains(&format!("names block 0x{}", "11".repeat(32))),
            "{e}"
        );
        // A malformed field is named with its path.
        let mut bad = receipt;
        bad["gasUsed"] = json!("0xzz");
        let e = err(&[("bad", bad.to_string())]);
        assert!(e.starts_with("bad: malformed receipt at `gasUsed`"), "{e}");
        // An array of transactions, scalars, an envelope without `jsonrpc`.
        let e = err(&[("txs", json!([tx]).to_string())]);
        assert!(e.contains("an array of transactions"), "{e}");
        let e = err(&[("n", "42".into())]);
        assert!(
            e.starts_with("n: unrecognized JSON: a number; expected"),
            "{e}"
        );
        let e = err(&[("e", r#"{"id":3,"error":{"message":"busy"}}"#.into())]);
        assert_eq!(e, "e: a JSON-RPC error response, not data: error ?: busy");
        // Nothing at all, an empty array, a chain of another family.
        assert!(matches!(run(&[]), Err(DecodeError::NoFiles)));
        let d = ok(&[("empty", "[]".into())]);
        assert!(d.transactions.is_empty() && d.blocks.is_empty());
        let e = decode_files(&"evm:mainnet".parse().unwrap(), &[("x", "[]")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "chain evm:mainnet is not an EVM chain: expected evm:<decimal chain id>, e.g. evm:1"
        );
    }
}
