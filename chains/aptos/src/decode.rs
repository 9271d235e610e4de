//! `chainwatch decode --chain aptos:<id> FILE…`: recorded API JSON → [`Decoded`], offline.

use std::collections::BTreeMap;

use chainwatch_schema::{ChainId, Decoded, Failure, FailureKind};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    grpc::GrpcTxn,
    normalize::{Completeness, TxnFacts, normalize_block},
    rest::{ApiError, RestBlock, RestTxn},
    vm_status,
};

/// Why recorded Aptos JSON could not be decoded. Messages name the file, transaction or block
/// and the field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The chain is not an Aptos chain.
    #[error("chain {0} is not an Aptos chain (expected aptos:<chain id>, e.g. aptos:1)")]
    NotAptos(String),
    /// A problem inside one file.
    #[error("{file}")]
    File {
        /// The file's name as given.
        file: String,
        /// What is wrong in it.
        #[source]
        source: Box<Self>,
    },
    /// The text is not JSON.
    #[error("not JSON")]
    NotJson(#[source] serde_json::Error),
    /// The JSON has a recognized shape but a field does not decode.
    #[error("malformed {what} at `{path}`")]
    Malformed {
        /// What the JSON looked like (`REST block`, `REST transaction`, `gRPC transaction`).
        what: &'static str,
        /// Where decoding failed, e.g. `transactions[1].gas_used` (`.` is the whole value).
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON is none of the accepted shapes.
    #[error(
        "{found}: expected an Aptos REST block (/v1/blocks/by_height), a REST transaction or \
         transaction list (/v1/transactions), or indexer gRPC stream transactions \
         (protobuf-JSON, bare or as {{\"transactions\": […]}})"
    )]
    UnknownShape {
        /// A short description of what was found.
        found: String,
    },
    /// A field decodes but its value is not valid.
    #[error("{item}: `{field}`: {message}")]
    Invalid {
        /// The block or transaction, e.g. `transaction 0x4c32…`.
        item: String,
        /// The field, e.g. `sender`.
        field: &'static str,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A block's transaction list does not cover its version range.
    #[error("block {height} holds {expected} transactions but {found} were given")]
    IncompleteBlock {
        /// The block height.
        height: u64,
        /// `last_version - first_version + 1`.
        expected: u64,
        /// Transactions present.
        found: usize,
    },
    /// A gRPC stream response names another chain.
    #[error("the stream response has chainId {found} but the chain is {chain}")]
    ChainMismatch {
        /// The chain asked for.
        chain: String,
        /// The `chainId` in the file.
        found: String,
    },
    /// The file is an API error body (`{"message", "error_code", "vm_error_code"}`), which
    /// holds no transaction; `failure` is what it says, classified.
    #[error("an Aptos API error body, not a transaction: {}: {} ({})", .error_code, .message, .failure.kind.as_str())]
    ApiError {
        /// `error_code`, e.g. `vm_error`.
        error_code: String,
        /// `message`, as sent.
        message: String,
        /// The classified failure.
        failure: Box<Failure>,
    },
}

impl DecodeError {
    fn in_file(self, file: &str) -> Self {
        match self {
            e @ Self::NotAptos(_) => e,
            e => Self::File {
                file: file.to_owned(),
                source: Box::new(e),
            },
        }
    }
}

fn typed<T: DeserializeOwned>(what: &'static str, v: Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(v).map_err(|e| DecodeError::Malformed {
        what,
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

/// Classifies an Aptos REST error body (what a node answers to a rejected submission or
/// simulation): `Invalid transaction: Type: Validation Code: <NAME>` gives the status code
/// `<NAME>`; sequence number codes are `BadNonce`, balance codes `InsufficientFunds`,
/// `TRANSACTION_EXPIRED` is `Expired`, others `ExecutionError`. `raw` is the body as sent.
///
/// ```
/// let body = br#"{"message":"Invalid transaction: Type: Validation Code: SEQUENCE_NUMBER_TOO_OLD","error_code":"vm_error","vm_error_code":3}"#;
/// let f = chainwatch_chain_aptos::api_error_failure(body).unwrap();
/// assert_eq!(f.kind, chainwatch_schema::FailureKind::BadNonce);
/// assert_eq!(f.code.as_deref(), Some("SEQUENCE_NUMBER_TOO_OLD"));
/// ```
pub fn api_error_failure(body: &[u8]) -> Result<Failure, DecodeError> {
    let v: Value = serde_json::from_slice(body).map_err(DecodeError::NotJson)?;
    let e: ApiError = typed("REST error body", v)?;
    Ok(classify_api_error(
        &e,
        String::from_utf8_lossy(body).into_owned(),
    ))
}

fn classify_api_error(e: &ApiError, raw: String) -> Failure {
    let code_name = e
        .message
        .rsplit_once("Code: ")
        .map(|(_, c)| c.trim())
        .filter(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
        });
    match code_name {
        Some(name) => {
            let stage = if e.message.contains("Type: Validation") {
                "rejected at validation"
            } else {
                "rejected"
            };
            vm_status::status_code_failure(name, raw, stage)
        }
        None => Failure {
            kind: FailureKind::Other,
            code: e.vm_error_code.map(|c| c.to_string()),
            message: format!("{}: {}", e.error_code, e.message),
            location: None,
            raw,
        },
    }
}

/// One decoded item of a file.
enum Item {
    Block(RestBlock),
    Rest(Box<RestTxn>),
    Grpc(Box<GrpcTxn>),
}

fn is_rest_txn(o: &serde_json::Map<String, Value>) -> bool {
    o.contains_key("hash")
        && o.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with("_transaction"))
}

fn is_grpc_txn(o: &serde_json::Map<String, Value>) -> bool {
    o.contains_key("info")
        && o.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("TRANSACTION_TYPE_"))
}

fn describe(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().take(6).map(String::as_str).collect();
            format!("an object with keys {}", keys.join(", "))
        }
        Value::Array(_) => "an array".into(),
        other => format!(
            "a JSON {}",
            match other {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                _ => "string",
            }
        ),
    }
}

/// A transaction list element (REST or gRPC).
fn list_item(i: usize, v: Value) -> Result<Item, DecodeError> {
    match &v {
        Value::Object(o) if is_rest_txn(o) => {
            Ok(Item::Rest(Box::new(typed("REST transaction", v)?)))
        }
        Value::Object(o) if is_grpc_txn(o) => {
            Ok(Item::Grpc(Box::new(typed("gRPC transaction", v)?)))
        }
        other => Err(DecodeError::UnknownShape {
            found: format!("element {i} is {}", describe(other)),
        }),
    }
}

fn items(chain: &ChainId, v: Value) -> Result<Vec<Item>, DecodeError> {
    match v {
        Value::Object(ref o) if o.contains_key("block_height") && o.contains_key("block_hash") => {
            Ok(vec![Item::Block(typed("REST block", v)?)])
        }
        Value::Object(ref o) if is_rest_txn(o) => {
            Ok(vec![Item::Rest(Box::new(typed("REST transaction", v)?))])
        }
        Value::Object(ref o) if is_grpc_txn(o) => {
            Ok(vec![Item::Grpc(Box::new(typed("gRPC transaction", v)?))])
        }
        Value::Object(ref o) if o.contains_key("error_code") && o.contains_key("message") => {
            let raw = v.to_string();
            let e: ApiError = typed("REST error body", v)?;
            let failure = Box::new(classify_api_error(&e, raw));
            Err(DecodeError::ApiError {
                error_code: e.error_code,
                message: e.message,
                failure,
            })
        }
        // The gRPC stream's `TransactionsResponse` envelope.
        Value::Object(mut o) if o.get("transactions").is_some_and(Value::is_array) => {
            if let Some(id) = o.get("chainId") {
                let found = id.as_str().map_or_else(|| id.to_string(), str::to_owned);
                let expected = crate::aptos_chain_id(chain).ok();
                if found.parse::<u8>().ok() != expected || expected.is_none() {
                    return Err(DecodeError::ChainMismatch {
                        chain: chain.to_string(),
                        found,
                    });
                }
            }
            let Some(Value::Array(list)) = o.remove("transactions") else {
                return Ok(Vec::new());
            };
            list.into_iter()
                .enumerate()
                .map(|(i, v)| list_item(i, v))
                .collect()
        }
        Value::Array(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, v)| list_item(i, v))
            .collect(),
        other => Err(DecodeError::UnknownShape {
            found: describe(&other),
        }),
    }
}

/// Decodes recorded Aptos API JSON into the normalized shape `chainwatch decode` prints.
///
/// `files` are `(name, bytes)`; the name is only used in errors. Each file is recognized by its
/// shape:
/// - a REST block (`/v1/blocks/by_height/{h}`), with or without `transactions` (its
///   transaction list may be truncated or trimmed: transactions from other files whose versions
///   fall in its range are merged into it);
/// - a REST transaction (`/v1/transactions/by_hash|by_version`, committed or pending) or a list
///   of them (`/v1/transactions?start=…`);
/// - indexer gRPC stream transactions (`aptos.transaction.v1.Transaction` as protobuf-JSON),
///   one, a list, or a `TransactionsResponse` envelope `{"transactions": […], "chainId": …}`
///   (whose `chainId` must be the chain's: `aptos:1` and `aptos:mainnet` are chain id 1).
///
/// Blocks come out in height order, each with `tx_count` = the number of versions it spans
/// (also when some of its transactions are missing from the files). Aptos blocks do not carry
/// their parent's hash: `parent_hash` is the hash of block `height - 1` when that block is among
/// the files, else empty. Transactions without their block have `index` 0 and their version in
/// `extra.version` (and, from the gRPC stream, `extra.block_height`). An API error body is
/// [`DecodeError::ApiError`] with its failure classified (see [`api_error_failure`]).
pub fn decode_files(chain: &ChainId, files: &[(String, Vec<u8>)]) -> Result<Decoded, DecodeError> {
    if chain.family() != "aptos" {
        return Err(DecodeError::NotAptos(chain.to_string()));
    }
    let mut blocks: BTreeMap<u64, RestBlock> = BTreeMap::new();
    let mut loose: Vec<(String, Item)> = Vec::new();
    for (name, bytes) in files {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::NotJson(e).in_file(name))?;
        for item in items(chain, v).map_err(|e| e.in_file(name))? {
            match item {
                Item::Block(b) => {
                    if blocks.contains_key(&b.block_height) {
                        return Err(DecodeError::Invalid {
                            item: format!("block {}", b.block_height),
                            field: "block_height",
                            message: "the same block is given twice".into(),
                        }
                        .in_file(name));
                    }
                    blocks.insert(b.block_height, b);
                }
                other => loose.push((name.clone(), other)),
            }
        }
    }
    // Merge loose REST transactions into the block whose version range holds them.
    let mut standalone = Vec::new();
    for (name, item) in loose {
        let Item::Rest(t) = item else {
            standalone.push((name, item));
            continue;
        };
        let home = t.version.and_then(|v| {
            blocks
                .values_mut()
                .find(|b| (b.first_version..=b.last_version).contains(&v))
        });
        match home {
            Some(b) => {
                let list = b.transactions.get_or_insert_with(Vec::new);
                if !list.iter().any(|x| x.version == t.version) {
                    list.push(*t);
                    list.sort_by_key(|x| x.version);
                }
            }
            None => standalone.push((name, Item::Rest(t))),
        }
    }
    let hashes: BTreeMap<u64, String> = blocks
        .iter()
        .map(|(h, b)| (*h, b.block_hash.to_ascii_lowercase()))
        .collect();
    let mut out = Decoded::new(chain.clone());
    for (height, b) in blocks {
        let parent = height
            .checked_sub(1)
            .and_then(|p| hashes.get(&p).cloned())
            .unwrap_or_default();
        let spans = (b.last_version.saturating_sub(b.first_version) + 1) as usize;
        let block = normalize_block(chain, b, parent, Completeness::Partial)?;
        out.push_block(block);
        if let Some(d) = out.blocks.iter_mut().find(|d| d.block_ref.height == height) {
            d.tx_count = spans;
        }
    }
    for (name, item) in standalone {
        let facts = match item {
            Item::Rest(t) => TxnFacts::from_rest(&t),
            Item::Grpc(g) => g.facts(),
            Item::Block(_) => continue,
        }
        .map_err(|e| e.in_file(&name))?;
        out.push_transaction(
            None,
            facts.into_transaction(0).map_err(|e| e.in_file(&name))?,
        );
    }
    Ok(out)
}
