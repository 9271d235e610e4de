//! `chainwatch decode` for EVM chains: raw RPC JSON files of any supported shape → one
//! [`Decoded`]. Pure: no I/O, no network.
//!
//! Each file is recognized by its shape (never by its name), after unwrapping the JSON-RPC
//! envelope; the files are then joined by transaction hash (or by position, for traces that
//! name no transaction), normalized with the same code as the adapter, and each failed
//! transaction with a trace gets the failure reason the adapter's trace lookup would give.

use std::collections::{HashMap, HashSet};

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
/// frame as `location`). A Parity trace knows the revert data of the whole transaction only,
/// so its location is the top call unless a sub-call's failure was passed on without data.
///
/// Errors name the file at fault ([`DecodeError::File`]) or the transaction, and say what was
/// expected.
pub fn decode_files<N: AsRef<str>, B: AsRef<[u8]>>(
    chain: &ChainId,
    files: &[(N, B)],
) -> Result<Decoded, DecodeError> {
    if chain.family() != "evm" || chain.network().parse::<u64>().is_err() {
        return Err(DecodeError::NotEvm(chain.clone()));
    }
    if files.is_empty() {
        return Err(DecodeError::NoFiles);
    }
    let mut inputs = Inputs::default();
    for (name, bytes) in files {
        let name = name.as_ref();
        let doc = read_doc(bytes.as_ref()).map_err(|e| in_file(name, e))?;
        inputs.add(name, doc).map_err(|e| in_file(name, e))?;
    }
    inputs.check_chain_ids(chain)?;
    inputs.join(chain, &ErrorRegistry::built_in())
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
                if let Some(failure) = traces
                    .get(&hash)
                    .and_then(|frame| explain::from_trace(frame, facts, errors))
                    && let Some(tx) = normalized.txs.get_mut(position)
                {
                    tx.failure = Some(failure);
                }
            }
            out.push_block(normalized);
        }
        for hash in loose {
            let facts = self.loose_facts(hash);
            let Some((block, mut tx)) = self.loose_tx(hash)? else {
                continue;
            };
            if tx.status == TxStatus::Failed
                && let Some(frame) = traces.get(&hash)
                && let Some(facts) = facts
                && let Some(failure) = explain::from_trace(frame, facts, errors)
            {
                tx.failure = Some(failure);
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

/// `(position, hash, facts)` of each transaction whose receipt has status 0.
fn failed_facts(
    txs: &[RpcTransaction],
    receipts: &[RpcReceipt],
) -> Vec<(usize, B256, ReceiptFacts)> {
    txs.iter()
        .zip(receipts)
        .enumerate()
        .filter(|(_, (_, r))| r.status.is_some_and(|s| s.is_zero()))
        .map(|(i, (tx, r))| {
            (
                i,
                tx.hash,
                ReceiptFacts {
                    gas: tx.gas,
                    gas_used: r.gas_used,
                },
            )
        })
        .collect()
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
