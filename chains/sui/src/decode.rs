//! `chainwatch decode` for Sui: raw JSON files → one [`Decoded`]. Pure: no I/O, no network.

use std::collections::HashSet;

use chainwatch_schema::{ChainId, Decoded};
use serde_json::Value;
use sui_rpc::proto::sui::rpc::v2::{Checkpoint, ExecutedTransaction};

use crate::{DecodeError, convert, normalize};

/// What one file holds, once recognized.
enum Doc {
    Checkpoints(Vec<Checkpoint>),
    Transaction(Box<ExecutedTransaction>),
}

/// The digest in `Could not find the referenced transaction [TransactionDigest(<digest>)].`
fn not_found_digest(message: &str) -> Option<String> {
    let start = message.find("TransactionDigest(")? + "TransactionDigest(".len();
    let rest = &message[start..];
    Some(rest[..rest.find(')')?].to_owned())
}

fn rpc_error(e: &Value) -> DecodeError {
    let code = e["code"].as_i64();
    let message = e["message"].as_str().unwrap_or_default().to_owned();
    match not_found_digest(&message) {
        Some(digest) => DecodeError::TransactionNotFound { digest, message },
        None => DecodeError::RpcError { code, message },
    }
}

fn grpc<T: serde::de::DeserializeOwned>(v: Value, what: &'static str) -> Result<T, DecodeError> {
    serde_json::from_value(v).map_err(|e| DecodeError::Grpc {
        what,
        message: e.to_string(),
    })
}

/// Which shape a transaction object is: `true` for the gRPC protobuf-JSON form.
fn is_grpc_transaction(o: &Value) -> bool {
    match o["effects"]["status"].as_object() {
        Some(status) => status.contains_key("success") && !status.contains_key("status"),
        None => {
            o["transaction"].get("data").is_none()
                && o["transaction"]["kind"]["data"].get("oneofKind").is_none()
                && o.get("timestampMs").is_none()
        }
    }
}

fn recognize(v: Value) -> Result<Doc, DecodeError> {
    // JSON-RPC envelope.
    let v = match v {
        Value::Object(mut o) if o.contains_key("jsonrpc") => {
            if let Some(e) = o.get("error").filter(|e| !e.is_null()) {
                return Err(rpc_error(e));
            }
            o.remove("result").unwrap_or(Value::Null)
        }
        v => v,
    };
    let Value::Object(o) = &v else {
        return Err(DecodeError::Shape(format!(
            "a JSON object, found {}",
            match &v {
                Value::Array(_) => "an array",
                Value::Null => "null",
                _ => "a scalar",
            }
        )));
    };
    let has = |k: &str| o.contains_key(k);
    if has("code") && has("message") && o.len() <= 3 {
        return Err(rpc_error(&v));
    }
    // gRPC responses: GetCheckpointResponse, GetTransactionResponse, SubscribeCheckpointsResponse.
    if o.len() <= 2
        && let Some(c) = o.get("checkpoint").filter(|c| c.is_object())
    {
        return Ok(Doc::Checkpoints(vec![grpc(c.clone(), "Checkpoint")?]));
    }
    if o.len() == 1
        && let Some(t) = o.get("transaction").filter(|t| t.get("digest").is_some())
    {
        return Ok(Doc::Transaction(Box::new(grpc(
            t.clone(),
            "ExecutedTransaction",
        )?)));
    }
    if let (Some(Value::Array(items)), true) = (o.get("data"), has("hasNextPage")) {
        let cps = items
            .iter()
            .map(convert::checkpoint)
            .collect::<Result<_, _>>()?;
        return Ok(Doc::Checkpoints(cps));
    }
    if has("sequenceNumber") {
        if has("summary") || has("contents") {
            return Ok(Doc::Checkpoints(vec![grpc(v, "Checkpoint")?]));
        }
        if has("timestampMs") {
            return Ok(Doc::Checkpoints(vec![convert::checkpoint(&v)?]));
        }
    }
    if has("digest") && (has("effects") || has("transaction") || has("events")) {
        let tx = if is_grpc_transaction(&v) {
            grpc(v, "ExecutedTransaction")?
        } else {
            convert::executed_transaction(&v)?
        };
        return Ok(Doc::Transaction(Box::new(tx)));
    }
    let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
    keys.sort_unstable();
    Err(DecodeError::Shape(format!(
        "a Sui checkpoint, checkpoint page or transaction block (JSON-RPC or gRPC JSON), found an \
         object with keys [{}]",
        keys.join(", ")
    )))
}

/// Decodes Sui JSON files (`(name, contents)`) of any supported shape into one [`Decoded`].
///
/// Shapes, recognized by their fields (never by the file name), with or without the JSON-RPC
/// envelope:
/// - JSON-RPC: a `sui_getCheckpoint` result, a `sui_getCheckpoints` page, a
///   `sui_getTransactionBlock` result (any `show*` options; with only `showInput`/`showEvents`
///   the status is inferred from the events, see the crate docs).
/// - gRPC (`sui.rpc.v2`, protobuf JSON): a `Checkpoint` (or `GetCheckpointResponse`,
///   `SubscribeCheckpointsResponse`), an `ExecutedTransaction` (or `GetTransactionResponse`).
/// - A JSON-RPC error is an error: an unknown digest is
///   [`DecodeError::TransactionNotFound`] naming the digest.
///
/// Transactions join the checkpoint whose contents list their digest (their index is their
/// position there); a block's `tx_count` is the number of digests its contents list, even when
/// only some of those transactions were given. A transaction given twice, or whose checkpoint
/// is not given, keeps its own facts (`block` absent, `extra.checkpoint` set).
pub fn decode_files<N: AsRef<str>, B: AsRef<[u8]>>(
    chain: &ChainId,
    files: &[(N, B)],
) -> Result<Decoded, DecodeError> {
    if chain.family() != "sui" {
        return Err(DecodeError::NotSui(chain.clone()));
    }
    if files.is_empty() {
        return Err(DecodeError::NoFiles);
    }
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    let mut txs: Vec<(String, ExecutedTransaction)> = Vec::new();
    for (name, bytes) in files {
        let name = name.as_ref();
        let in_file = |e: DecodeError| DecodeError::File {
            file: name.to_owned(),
            source: Box::new(e),
        };
        let v: Value = serde_json::from_slice(bytes.as_ref())
            .map_err(|e| in_file(DecodeError::Json(e.to_string())))?;
        match recognize(v).map_err(in_file)? {
            Doc::Checkpoints(cs) => checkpoints.extend(cs),
            Doc::Transaction(t) => txs.push((name.to_owned(), *t)),
        }
    }
    let mut seen = HashSet::new();
    for (name, t) in &txs {
        if let Some(d) = &t.digest
            && !seen.insert(d.clone())
        {
            return Err(DecodeError::File {
                file: name.clone(),
                source: Box::new(DecodeError::Duplicate(d.clone())),
            });
        }
    }
    let mut out = Decoded::new(chain.clone());
    let mut placed = HashSet::new();
    checkpoints.sort_by_key(|c| c.sequence_number);
    for mut c in checkpoints {
        let digests = normalize::content_digests(&c);
        for (name, t) in &txs {
            if t.digest.as_ref().is_some_and(|d| digests.contains(d))
                && !c.transactions.iter().any(|x| x.digest == t.digest)
            {
                placed.insert(name.clone());
                c.transactions.push(t.clone());
            }
        }
        let block = normalize::block(chain, &c)?;
        let height = block.block_ref.height;
        let count = digests.len().max(block.txs.len());
        out.push_block(block);
        if let Some(b) = out.blocks.iter_mut().find(|b| b.block_ref.height == height) {
            b.tx_count = count;
        }
    }
    for (name, t) in &txs {
        if placed.contains(name) {
            continue;
        }
        let index = t.transaction_index.unwrap_or(0);
        let tx =
            normalize::transaction(t, u32::try_from(index).unwrap_or(u32::MAX)).map_err(|e| {
                DecodeError::File {
                    file: name.clone(),
                    source: Box::new(e),
                }
            })?;
        out.push_transaction(None, tx);
    }
    Ok(out)
}

/// Converts a JSON-RPC `sui_getTransactionBlock` result or `sui_getCheckpoint` result (with or
/// without its envelope) into the protobuf JSON of the gRPC message carrying the same facts
/// (`sui.rpc.v2.ExecutedTransaction` or `Checkpoint`; the conversion is documented in the crate
/// docs). A `sui_getCheckpoints` page gives a JSON array of checkpoints. Used to make gRPC
/// fixtures from recorded JSON-RPC responses (the tests' mock server serves them).
pub fn jsonrpc_to_grpc_json(bytes: &[u8]) -> Result<Value, DecodeError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| DecodeError::Json(e.to_string()))?;
    let to_json = |r: Result<Value, serde_json::Error>| {
        r.map_err(|e| DecodeError::Grpc {
            what: "message",
            message: e.to_string(),
        })
    };
    match recognize(v)? {
        Doc::Checkpoints(cs) if cs.len() == 1 => to_json(serde_json::to_value(&cs[0])),
        Doc::Checkpoints(cs) => to_json(serde_json::to_value(&cs)),
        Doc::Transaction(t) => to_json(serde_json::to_value(&*t)),
    }
}
