//! `getBlock` / `getTransaction` results → the normalized model. Pure: no I/O, usable offline.

use std::collections::BTreeMap;

use chainwatch_schema::{Block, BlockRef, ChainId, Failure, FailureKind, Transaction, TxStatus};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use solana_transaction_error::TransactionError;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, EncodedTransaction,
    EncodedTransactionWithStatusMeta, UiConfirmedBlock, UiInstruction, UiMessage,
    UiParsedInstruction, UiTransactionError, UiTransactionStatusMeta,
    option_serializer::OptionSerializer,
};

use crate::failure::{self, Context};

/// Why Solana RPC JSON could not be normalized. Messages name the field or transaction at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The JSON is not the expected RPC result.
    #[error("malformed {what} JSON at `{path}`")]
    Json {
        /// What was expected, e.g. `getBlock result`.
        what: &'static str,
        /// Where in the document decoding failed (`.` is the whole document).
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A transaction has no signature to name it by.
    #[error("transaction {index} of {block} has no signature")]
    NoSignature {
        /// Position in the block.
        index: usize,
        /// The block, e.g. `slot 100000000`.
        block: String,
    },
    /// A transaction came without `meta` (status unknown); ask with full transaction details.
    #[error("transaction {signature} has no `meta`: its status is unknown")]
    MissingMeta {
        /// The signature.
        signature: String,
    },
    /// A binary-encoded transaction does not decode.
    #[error(
        "transaction {index} of {block} is binary-encoded and does not decode as a transaction"
    )]
    BadBinary {
        /// Position in the block (0 for a lone transaction).
        index: usize,
        /// The block, e.g. `slot 100000000`, or `getTransaction result`.
        block: String,
    },
    /// A value does not fit the normalized model.
    #[error("`{field}` of {item} is out of range")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The block or transaction.
        item: String,
    },
}

/// Deserializes `bytes` as `T`, naming the path of the first mismatch.
pub(crate) fn from_slice<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| DecodeError::Json {
        what,
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

/// Deserializes a JSON value as `T`, naming the path of the first mismatch.
pub(crate) fn from_value<T: DeserializeOwned>(
    what: &'static str,
    value: Value,
) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|e| DecodeError::Json {
        what,
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

/// Normalizes a `getBlock` result (encoding `json`, `jsonParsed` or `base64`/`base58`, full
/// transaction details) of slot `slot`, offline. [`crate::SolanaAdapter`] runs the same code on
/// what it fetches. See the crate docs for the rules.
///
/// ```
/// use chainwatch_chain_solana::normalize_block;
///
/// let block = r#"{"blockhash":"B2","previousBlockhash":"B1","parentSlot":9,"blockTime":1700000000,
///     "blockHeight":8,"transactions":[]}"#;
/// let b = normalize_block(&"solana:mainnet".parse()?, 10, block.as_bytes())?;
/// assert_eq!((b.block_ref.height, b.parent_hash.as_str(), b.timestamp_ms), (10, "B1", 1_700_000_000_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn normalize_block(chain: &ChainId, slot: u64, json: &[u8]) -> Result<Block, DecodeError> {
    let (block, unknown) = decode_block(json)?;
    block_from(chain, slot, block, &unknown)
}

/// `meta.err` values the SDK types do not know (a runtime error newer than them), by
/// transaction index.
pub(crate) type UnknownErrors = BTreeMap<usize, Value>;

/// Decodes a `getBlock` result. A transaction whose `meta.err` is of no variant the SDK types
/// know does not fail the block: its error is set aside (and classified as `OTHER` with its
/// name by [`block_from`]) and the rest decodes as usual. The fast path decodes straight from
/// the bytes; only a block that fails to is parsed a second time.
pub(crate) fn decode_block(json: &[u8]) -> Result<(UiConfirmedBlock, UnknownErrors), DecodeError> {
    let first = match from_slice::<UiConfirmedBlock>("getBlock result", json) {
        Ok(b) => return Ok((b, UnknownErrors::new())),
        Err(e) => e,
    };
    let Ok(mut v) = serde_json::from_slice::<Value>(json) else {
        return Err(first);
    };
    let unknown = set_aside_unknown_errors(&mut v);
    if unknown.is_empty() {
        return Err(first);
    }
    Ok((from_value("getBlock result", v)?, unknown))
}

/// Replaces every `meta.err` the SDK types cannot decode with success, returning the originals.
fn set_aside_unknown_errors(block: &mut Value) -> UnknownErrors {
    let mut out = UnknownErrors::new();
    let Some(txs) = block.get_mut("transactions").and_then(Value::as_array_mut) else {
        return out;
    };
    for (i, tx) in txs.iter_mut().enumerate() {
        let Some(meta) = tx.get_mut("meta").filter(|m| m.is_object()) else {
            continue;
        };
        let err = meta.get("err").cloned().unwrap_or(Value::Null);
        if err.is_null() || serde_json::from_value::<UiTransactionError>(err.clone()).is_ok() {
            continue;
        }
        meta["err"] = Value::Null;
        meta["status"] = json!({ "Ok": null });
        out.insert(i, err);
    }
    out
}

/// Normalizes a decoded `getBlock` result of slot `slot`; `unknown` holds the errors
/// [`decode_block`] set aside.
pub(crate) fn block_from(
    chain: &ChainId,
    slot: u64,
    block: UiConfirmedBlock,
    unknown: &UnknownErrors,
) -> Result<Block, DecodeError> {
    let where_ = || format!("slot {slot}");
    let timestamp_ms = block_time_ms(block.block_time, &where_)?;
    let txs = block
        .transactions
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, tx)| {
            let index = u32::try_from(i).map_err(|_| DecodeError::OutOfRange {
                field: "transactions",
                item: where_(),
            })?;
            let mut t = transaction(index, tx, &where_)?;
            if let Some(raw_err) = unknown.get(&i) {
                t.status = TxStatus::Failed;
                t.failure = Some(unknown_failure(raw_err));
            }
            Ok(t)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Block {
        chain: chain.clone(),
        block_ref: BlockRef::new(slot, block.blockhash),
        parent_hash: block.previous_blockhash,
        timestamp_ms,
        txs,
    })
}

/// The failure of a transaction whose error is newer than this build's types: `OTHER`, with
/// the error's variant name as code and its JSON in the message and in `raw`.
fn unknown_failure(raw_err: &Value) -> Failure {
    let code = match raw_err {
        Value::String(s) => s.clone(),
        Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
        other => other.to_string(),
    };
    Failure {
        kind: FailureKind::Other,
        message: format!(
            "transaction error {raw_err} is not known to this build of chainwatch (newer than \
             its Solana types)"
        ),
        code: Some(code),
        location: None,
        raw: json!({ "err": raw_err }).to_string(),
    }
}

/// `blockTime` (seconds, may be null on very old slots) in milliseconds; 0 when unknown.
fn block_time_ms(t: Option<i64>, item: &dyn Fn() -> String) -> Result<u64, DecodeError> {
    match t {
        None => Ok(0),
        Some(t) => u64::try_from(t)
            .ok()
            .and_then(|t| t.checked_mul(1000))
            .ok_or_else(|| DecodeError::OutOfRange {
                field: "blockTime",
                item: item(),
            }),
    }
}

/// A `getTransaction` result, normalized: its slot, block time and the transaction (index 0:
/// the result does not say where in the block it was, unless `transactionIndex` is present).
pub(crate) fn confirmed_transaction(
    tx: EncodedConfirmedTransactionWithStatusMeta,
) -> Result<(u64, u64, Transaction), DecodeError> {
    let item = || "getTransaction result".to_owned();
    let ts = block_time_ms(tx.block_time, &item)?;
    let index = tx.transaction_index.unwrap_or(0);
    let t = transaction(index, tx.transaction, &item)?;
    Ok((tx.slot, ts, t))
}

/// The facts of a transaction's message that normalization needs.
struct View {
    signature: String,
    /// Static keys, then loaded writable, then loaded readonly.
    account_keys: Vec<String>,
    /// Program id of each top-level instruction; `None` when the encoding has no instructions
    /// (`transactionDetails: "accounts"`).
    programs: Option<Vec<String>>,
    recent_blockhash: Option<String>,
}

fn opt<T>(o: OptionSerializer<T>) -> Option<T> {
    match o {
        OptionSerializer::Some(v) => Some(v),
        OptionSerializer::None | OptionSerializer::Skip => None,
    }
}

fn view(
    index: usize,
    tx: &EncodedTransaction,
    meta: Option<&UiTransactionStatusMeta>,
    item: &dyn Fn() -> String,
) -> Result<View, DecodeError> {
    let loaded = meta.and_then(|m| opt(m.loaded_addresses.as_ref()));
    let with_loaded = |mut keys: Vec<String>| {
        if let Some(l) = loaded {
            keys.extend(l.writable.iter().cloned());
            keys.extend(l.readonly.iter().cloned());
        }
        keys
    };
    let no_sig = || DecodeError::NoSignature {
        index,
        block: item(),
    };
    match tx {
        EncodedTransaction::Json(ui) => {
            let signature = ui.signatures.first().cloned().ok_or_else(no_sig)?;
            match &ui.message {
                UiMessage::Raw(m) => {
                    let account_keys = with_loaded(m.account_keys.clone());
                    let programs = m
                        .instructions
                        .iter()
                        .map(|ix| key_at(&account_keys, ix.program_id_index))
                        .collect();
                    Ok(View {
                        signature,
                        account_keys,
                        programs: Some(programs),
                        recent_blockhash: Some(m.recent_blockhash.clone()),
                    })
                }
                // jsonParsed account keys already include the loaded addresses.
                UiMessage::Parsed(m) => {
                    let account_keys: Vec<String> =
                        m.account_keys.iter().map(|a| a.pubkey.clone()).collect();
                    let programs = m
                        .instructions
                        .iter()
                        .map(|ix| match ix {
                            UiInstruction::Compiled(c) => key_at(&account_keys, c.program_id_index),
                            UiInstruction::Parsed(UiParsedInstruction::Parsed(p)) => {
                                p.program_id.clone()
                            }
                            UiInstruction::Parsed(UiParsedInstruction::PartiallyDecoded(p)) => {
                                p.program_id.clone()
                            }
                        })
                        .collect();
                    Ok(View {
                        signature,
                        account_keys,
                        programs: Some(programs),
                        recent_blockhash: Some(m.recent_blockhash.clone()),
                    })
                }
            }
        }
        EncodedTransaction::Accounts(list) => Ok(View {
            signature: list.signatures.first().cloned().ok_or_else(no_sig)?,
            account_keys: list.account_keys.iter().map(|a| a.pubkey.clone()).collect(),
            programs: None,
            recent_blockhash: None,
        }),
        EncodedTransaction::LegacyBinary(_) | EncodedTransaction::Binary(..) => {
            let vt = tx.decode().ok_or_else(|| DecodeError::BadBinary {
                index,
                block: item(),
            })?;
            let signature = vt
                .signatures
                .first()
                .map(|s| s.to_string())
                .ok_or_else(no_sig)?;
            let account_keys = with_loaded(
                vt.message
                    .static_account_keys()
                    .iter()
                    .map(|k| k.to_string())
                    .collect(),
            );
            let programs = vt
                .message
                .instructions()
                .iter()
                .map(|ix| key_at(&account_keys, ix.program_id_index))
                .collect();
            Ok(View {
                signature,
                account_keys,
                programs: Some(programs),
                recent_blockhash: Some(vt.message.recent_blockhash().to_string()),
            })
        }
    }
}

/// The account key at `i`, or a placeholder naming the bad index (a malformed message should
/// still show what it can).
fn key_at(keys: &[String], i: u8) -> String {
    keys.get(usize::from(i))
        .cloned()
        .unwrap_or_else(|| format!("<account index {i} out of range>"))
}

/// Normalizes one transaction with its status meta.
pub(crate) fn transaction(
    index: u32,
    tx: EncodedTransactionWithStatusMeta,
    item: &dyn Fn() -> String,
) -> Result<Transaction, DecodeError> {
    let i = index as usize;
    let v = view(i, &tx.transaction, tx.meta.as_ref(), item)?;
    let Some(meta) = tx.meta else {
        return Err(DecodeError::MissingMeta {
            signature: v.signature,
        });
    };
    let logs = opt(meta.log_messages);
    let (status, failure) = match meta.err {
        None => (TxStatus::Succeeded, None),
        Some(ui_err) => {
            let raw_err = serde_json::to_value(&ui_err).unwrap_or(Value::Null);
            let err = TransactionError::from(ui_err);
            let f = failure::classify(
                &err,
                raw_err,
                Context {
                    programs: v.programs.as_deref(),
                    account_keys: &v.account_keys,
                    logs: logs.as_deref(),
                },
            );
            (TxStatus::Failed, Some(f))
        }
    };
    let mut extra = serde_json::Map::new();
    extra.insert(
        "version".into(),
        match &tx.version {
            Some(v) => serde_json::to_value(v).unwrap_or(Value::Null),
            None => json!("legacy"),
        },
    );
    if let Some(cu) = opt(meta.compute_units_consumed) {
        extra.insert("compute_units_consumed".into(), json!(cu));
    }
    if let Some(rb) = &v.recent_blockhash {
        extra.insert("recent_blockhash".into(), json!(rb));
    }
    if let Some(p) = &v.programs {
        extra.insert("programs".into(), json!(p));
    }
    if let Some(l) = opt(meta.loaded_addresses)
        && !(l.writable.is_empty() && l.readonly.is_empty())
    {
        extra.insert(
            "loaded_addresses".into(),
            json!(l.writable.len() + l.readonly.len()),
        );
    }
    Ok(Transaction {
        hash: v.signature,
        index,
        sender: v.account_keys.first().cloned(),
        to: None,
        nonce: None,
        value: None,
        fee: Some(meta.fee.to_string()),
        status,
        failure,
        extra: Value::Object(extra),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_block_names_the_path() {
        let chain: ChainId = "solana:mainnet".parse().unwrap();
        let e = normalize_block(
            &chain,
            1,
            br#"{"blockhash":"x","previousBlockhash":"y","parentSlot":"zero"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed getBlock result JSON at `parentSlot`"
        );
        let e = normalize_block(
            &chain,
            1,
            br#"{"blockhash":"x","previousBlockhash":"y","parentSlot":0,"blockTime":-5,"blockHeight":0}"#,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "`blockTime` of slot 1 is out of range");
    }
}
