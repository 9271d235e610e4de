//! `chainwatch decode` for Solana: raw `getBlock` / `getTransaction` JSON files → one
//! [`Decoded`]. Pure: no I/O, no network.

use chainwatch_schema::{ChainId, Decoded, Failure};
use serde_json::{Map, Value};
use solana_transaction_error::TransactionError;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, UiTransactionError,
};

use crate::{
    failure::{self, Context},
    normalize::{self, from_value},
};

/// JSON-RPC error code of a `sendTransaction` whose preflight simulation failed
/// (`solana_rpc_client_api::custom_error::JSON_RPC_SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE`).
const PREFLIGHT_FAILURE: i64 = -32002;

/// Why `chainwatch decode` could not decode Solana files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeFilesError {
    /// The chain is not a Solana chain.
    #[error("chain {0} is not a Solana chain: expected solana:<cluster>, e.g. solana:mainnet")]
    NotSolana(ChainId),
    /// No file was given.
    #[error("no files to decode")]
    NoFiles,
    /// A file could not be decoded.
    #[error("{file}")]
    File {
        /// The file's name as given.
        file: String,
        /// Why.
        #[source]
        source: Box<Self>,
    },
    /// Not JSON at all.
    #[error("not JSON")]
    NotJson(#[source] serde_json::Error),
    /// A JSON document of no known shape.
    #[error(
        "not a Solana getBlock or getTransaction result (with or without the JSON-RPC envelope): \
         found {found}"
    )]
    UnknownShape {
        /// What was found, e.g. `an object with keys [a, b]`.
        found: String,
    },
    /// The result is `null`: the node had no such block or transaction.
    #[error("the result is null: the node had no such block or transaction")]
    NullResult,
    /// A JSON-RPC error response other than a preflight failure.
    #[error("a JSON-RPC error response, not a result: code {code}: {message}")]
    RpcError {
        /// The error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// A `sendTransaction` preflight (simulation) failure: nothing was sent, so there is no
    /// transaction to decode; the failure the simulation found is classified as for a landed
    /// transaction (the program id of the failing instruction comes from the logs).
    #[error(
        "a sendTransaction preflight failure: the transaction was simulated and rejected before \
         it was sent, so it never landed and has no status; the simulation failed with {} (code {}): {}",
        failure.kind.as_str(),
        failure.code.as_deref().unwrap_or("none"),
        failure.message
    )]
    Preflight {
        /// The classified simulation failure.
        failure: Box<Failure>,
    },
    /// The block or transaction did not normalize.
    #[error(transparent)]
    Decode(#[from] normalize::DecodeError),
}

/// Decodes raw Solana RPC JSON files of `chain` into the normalized [`Decoded`] shape, offline.
///
/// `files` are `(name, bytes)` pairs; the name only appears in errors. Each file may hold the
/// bare `result` or the whole JSON-RPC response, recognized by its shape:
/// - a `getBlock` result (`blockhash`, `previousBlockhash`, `parentSlot`; encodings `json`,
///   `jsonParsed`, `base64`; transaction details `full` or `accounts`, or none). A block result
///   does not carry its own slot: its height is reported as `parentSlot + 1`, which is the slot
///   unless the slot right after the parent was skipped;
/// - a `getTransaction` result (`slot`, `transaction`, `meta`): the transaction is listed
///   without a block ref (the result names no block hash); its `extra` holds `slot` and
///   `block_time_ms`.
///
/// A `sendTransaction` preflight error response (`-32002` with `data.err`) is
/// [`DecodeFilesError::Preflight`] with the simulated failure classified; any other JSON-RPC
/// error, a `null` result or another shape is an error naming the file.
///
/// ```
/// use chainwatch_chain_solana::{DecodeFilesError, decode_files};
///
/// let block = r#"{"jsonrpc":"2.0","id":1,"result":{"blockhash":"B2","previousBlockhash":"B1",
///     "parentSlot":41,"blockTime":1700000000,"blockHeight":40,"transactions":[]}}"#;
/// let d = decode_files(&"solana:mainnet".parse()?, &[("block.json", block)])?;
/// assert_eq!(d.blocks[0].block_ref.height, 42);
///
/// let e = decode_files(&"solana:mainnet".parse()?, &[("notes.json", r#"{"note": 1}"#)]).unwrap_err();
/// assert!(e.to_string().starts_with("notes.json"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_files<N: AsRef<str>, B: AsRef<[u8]>>(
    chain: &ChainId,
    files: &[(N, B)],
) -> Result<Decoded, DecodeFilesError> {
    if chain.family() != "solana" {
        return Err(DecodeFilesError::NotSolana(chain.clone()));
    }
    if files.is_empty() {
        return Err(DecodeFilesError::NoFiles);
    }
    let mut out = Decoded::new(chain.clone());
    for (name, bytes) in files {
        decode_one(chain, bytes.as_ref(), &mut out).map_err(|e| DecodeFilesError::File {
            file: name.as_ref().to_owned(),
            source: Box::new(e),
        })?;
    }
    Ok(out)
}

fn decode_one(chain: &ChainId, bytes: &[u8], out: &mut Decoded) -> Result<(), DecodeFilesError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(DecodeFilesError::NotJson)?;
    let doc = match doc {
        Value::Object(mut m) if m.contains_key("jsonrpc") => {
            if let Some(err) = m.remove("error") {
                return Err(rpc_error(err));
            }
            m.remove("result").unwrap_or(Value::Null)
        }
        other => other,
    };
    let obj = match doc {
        Value::Null => return Err(DecodeFilesError::NullResult),
        Value::Object(m) => m,
        other => {
            return Err(DecodeFilesError::UnknownShape {
                found: describe(&other),
            });
        }
    };
    let has = |k: &str| obj.contains_key(k);
    if has("blockhash") && has("previousBlockhash") && has("parentSlot") {
        let bytes = serde_json::to_vec(&Value::Object(obj)).unwrap_or_default();
        let (block, unknown) = normalize::decode_block(&bytes)?;
        let slot = block.parent_slot.saturating_add(1);
        out.push_block(normalize::block_from(chain, slot, block, &unknown)?);
        return Ok(());
    }
    if has("slot") && has("transaction") && has("meta") {
        let tx: EncodedConfirmedTransactionWithStatusMeta =
            from_value("getTransaction result", Value::Object(obj))?;
        let (slot, ts, mut t) = normalize::confirmed_transaction(tx)?;
        if let Value::Object(extra) = &mut t.extra {
            extra.insert("slot".into(), slot.into());
            extra.insert("block_time_ms".into(), ts.into());
        }
        out.push_transaction(None, t);
        return Ok(());
    }
    Err(DecodeFilesError::UnknownShape {
        found: describe(&Value::Object(obj)),
    })
}

/// A JSON-RPC `error` member as an error: a classified preflight failure when it is one.
fn rpc_error(err: Value) -> DecodeFilesError {
    let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let data = err.get("data");
    if code == PREFLIGHT_FAILURE
        && let Some(raw_err) = data.and_then(|d| d.get("err")).filter(|e| !e.is_null())
        && let Ok(ui) = serde_json::from_value::<UiTransactionError>(raw_err.clone())
    {
        let logs: Option<Vec<String>> = data
            .and_then(|d| d.get("logs"))
            .and_then(|l| serde_json::from_value(l.clone()).ok());
        let failure = failure::classify(
            &TransactionError::from(ui),
            raw_err.clone(),
            Context {
                programs: None,
                account_keys: &[],
                logs: logs.as_deref(),
            },
        );
        return DecodeFilesError::Preflight {
            failure: Box::new(failure),
        };
    }
    DecodeFilesError::RpcError { code, message }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Object(m) => format!("an object with keys [{}]", keys(m)),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::String(_) => "a string".into(),
        Value::Number(_) => "a number".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Null => "null".into(),
    }
}

fn keys(m: &Map<String, Value>) -> String {
    let mut k: Vec<&str> = m.keys().map(String::as_str).take(12).collect();
    k.sort_unstable();
    k.join(", ")
}
