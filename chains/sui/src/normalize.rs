//! gRPC `sui.rpc.v2` messages → the normalized model.

use chainwatch_schema::{Block, BlockRef, ChainId, Transaction, TxStatus};
use serde_json::{Map, Value, json};
use sui_rpc::proto::sui::rpc::v2::{Checkpoint, ExecutedTransaction, GasCostSummary};

use crate::{DecodeError, failure};

/// Milliseconds since the Unix epoch of a protobuf timestamp.
pub(crate) fn timestamp_ms(t: &prost_types::Timestamp) -> u64 {
    (t.seconds.max(0) as u64) * 1000 + (t.nanos.max(0) as u64) / 1_000_000
}

/// The net gas a transaction paid: computation + storage − storage rebate, in MIST (may be
/// negative: the rebate of deleted objects can exceed the costs). The non-refundable storage
/// fee is not added: it is what the network already withheld from the rebate (the sender's SUI
/// balance change equals this sum; see the transfer-sui fixture).
pub(crate) fn net_fee(g: &GasCostSummary) -> Option<i128> {
    Some(
        i128::from(g.computation_cost?) + i128::from(g.storage_cost?)
            - i128::from(g.storage_rebate?),
    )
}

fn gas_json(g: &GasCostSummary) -> Value {
    json!({
        "computation_cost": g.computation_cost,
        "storage_cost": g.storage_cost,
        "storage_rebate": g.storage_rebate,
        "non_refundable_storage_fee": g.non_refundable_storage_fee,
    })
}

/// Normalizes one executed transaction at position `index` of its checkpoint.
///
/// Status comes from `effects.status`. A transaction given without effects (a recording made
/// without `showEffects`) is `SUCCEEDED` only when it emitted events, because Sui discards the
/// events of a failed execution; `extra.status_source` then says `"events"`. Without effects
/// and events its status is unknown, and that is an error.
pub(crate) fn transaction(
    tx: &ExecutedTransaction,
    index: u32,
) -> Result<Transaction, DecodeError> {
    let digest = tx
        .digest
        .clone()
        .or_else(|| tx.effects.as_ref()?.transaction_digest.clone())
        .ok_or(DecodeError::Field {
            what: "transaction",
            field: "digest",
            expected: "the transaction digest",
            found: "nothing".into(),
        })?;
    let events = tx
        .events
        .as_ref()
        .map(|e| e.events.as_slice())
        .unwrap_or(&[]);
    let sender = tx
        .transaction
        .as_ref()
        .and_then(|t| t.sender.clone())
        .or_else(|| events.iter().find_map(|e| e.sender.clone()));
    let effects = tx.effects.as_ref();
    let gas_owner = tx
        .transaction
        .as_ref()
        .and_then(|t| t.gas_payment.as_ref()?.owner.clone())
        .or_else(|| {
            effects?
                .gas_object
                .as_ref()?
                .output_owner
                .as_ref()?
                .address
                .clone()
        });
    let mut extra = Map::new();
    let mut failure = None;
    let status = match effects.and_then(|e| e.status.as_ref()) {
        Some(s) if s.success == Some(true) => TxStatus::Succeeded,
        Some(s) => {
            let err = s.error.clone().unwrap_or_default();
            let (f, abort) = failure::classify(&err);
            if let Some(a) = abort {
                extra.insert(
                    "abort".into(),
                    json!({
                        "package": a.package,
                        "module": a.module,
                        "function": a.function,
                        "function_index": a.function_index,
                        "instruction": a.instruction,
                        "abort_code": a.abort_code,
                    }),
                );
            }
            failure = Some(f);
            TxStatus::Failed
        }
        None if !events.is_empty() => {
            extra.insert("status_source".into(), json!("events"));
            TxStatus::Succeeded
        }
        None => return Err(DecodeError::NoStatus(digest)),
    };
    let gas = effects.and_then(|e| e.gas_used.as_ref());
    let fee = gas.and_then(net_fee).map(|f| f.to_string());
    if let Some(o) = gas_owner {
        extra.insert("gas_owner".into(), json!(o));
    }
    if let Some(g) = gas {
        extra.insert("gas".into(), gas_json(g));
    }
    if let Some(c) = tx.checkpoint {
        extra.insert("checkpoint".into(), json!(c));
    }
    if let Some(e) = effects.and_then(|e| e.epoch) {
        extra.insert("epoch".into(), json!(e));
    }
    extra.insert("events".into(), json!(events.len()));
    Ok(Transaction {
        hash: digest,
        index,
        sender,
        to: None,
        nonce: None,
        value: None,
        fee,
        status,
        failure,
        extra: Value::Object(extra),
    })
}

/// The checkpoint's ref: sequence number and digest.
pub(crate) fn checkpoint_ref(c: &Checkpoint) -> Result<BlockRef, DecodeError> {
    let summary = c.summary.as_ref();
    let height = c
        .sequence_number
        .or_else(|| summary?.sequence_number)
        .ok_or(DecodeError::Field {
            what: "checkpoint",
            field: "sequence_number",
            expected: "the checkpoint sequence number",
            found: "nothing".into(),
        })?;
    let hash = c
        .digest
        .clone()
        .or_else(|| summary?.digest.clone())
        .ok_or(DecodeError::Field {
            what: "checkpoint",
            field: "digest",
            expected: "the checkpoint digest",
            found: "nothing".into(),
        })?;
    Ok(BlockRef::new(height, hash))
}

/// The digests the checkpoint's contents commit to, in order (empty when contents were not
/// read).
pub(crate) fn content_digests(c: &Checkpoint) -> Vec<String> {
    c.contents
        .as_ref()
        .map(|c| {
            c.transactions
                .iter()
                .filter_map(|t| t.transaction.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Normalizes a checkpoint and the transactions it carries. A transaction's index is its
/// `transaction_index`, else its position in the checkpoint's contents, else its position in
/// `transactions`. The parent hash is the previous checkpoint's digest (empty for genesis).
pub(crate) fn block(chain: &ChainId, c: &Checkpoint) -> Result<Block, DecodeError> {
    let block_ref = checkpoint_ref(c)?;
    let summary = c.summary.as_ref();
    let timestamp_ms = summary
        .and_then(|s| s.timestamp.as_ref())
        .map(timestamp_ms)
        .ok_or(DecodeError::Field {
            what: "checkpoint",
            field: "summary.timestamp",
            expected: "the checkpoint timestamp",
            found: "nothing".into(),
        })?;
    let parent_hash = summary
        .and_then(|s| s.previous_digest.clone())
        .unwrap_or_default();
    let digests = content_digests(c);
    let txs = c
        .transactions
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let index = t
                .transaction_index
                .or_else(|| {
                    let d = t.digest.as_ref()?;
                    digests.iter().position(|x| x == d).map(|p| p as u64)
                })
                .unwrap_or(i as u64);
            let mut t = t.clone();
            t.checkpoint.get_or_insert(block_ref.height);
            transaction(&t, u32::try_from(index).unwrap_or(u32::MAX))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Block {
        chain: chain.clone(),
        block_ref,
        parent_hash,
        timestamp_ms,
        txs,
    })
}
