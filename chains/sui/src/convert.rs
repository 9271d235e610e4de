//! Sui JSON-RPC responses converted into the gRPC (`sui.rpc.v2`) messages, so that one
//! normalizer serves the live gRPC path, archived JSON-RPC files and the tests' mock server.
//!
//! The conversion carries every field chainwatch reads, field for field:
//!
//! | JSON-RPC (`sui_getTransactionBlock`)             | gRPC `ExecutedTransaction`                     |
//! |---------------------------------------------------|------------------------------------------------|
//! | `digest`                                          | `digest`                                       |
//! | `transaction.data.sender`                         | `transaction.sender`                           |
//! | `transaction.data.gasData.{owner,price,budget,payment}` | `transaction.gas_payment.{owner,price,budget,objects}` |
//! | `effects.status.status` / `.error`                | `effects.status.success` / `.error` (parsed: kind, command, Move abort location and code; text kept as `description`) |
//! | `effects.executedEpoch`, `gasUsed`, `transactionDigest`, `dependencies` | `effects.epoch`, `gas_used`, `transaction_digest`, `dependencies` |
//! | `effects.gasObject.{reference.objectId, owner.AddressOwner}` | `effects.gas_object.{object_id, output_owner}` |
//! | `events[].{packageId,transactionModule,sender,type}` | `events.events[].{package_id,module,sender,event_type}` |
//! | `balanceChanges[].{owner.AddressOwner,coinType,amount}` | `balance_changes[].{address,coin_type,amount}` |
//! | `checkpoint`, `timestampMs`                       | `checkpoint`, `timestamp`                      |
//!
//! | JSON-RPC (`sui_getCheckpoint`)                    | gRPC `Checkpoint`                              |
//! |---------------------------------------------------|------------------------------------------------|
//! | `sequenceNumber`, `digest`                        | `sequence_number`, `digest` (and in `summary`) |
//! | `epoch`, `networkTotalTransactions`, `previousDigest`, `timestampMs`, `epochRollingGasCostSummary` | `summary.{epoch, total_network_transactions, previous_digest, timestamp, epoch_rolling_gas_cost_summary}` |
//! | `transactions` (digests)                          | `contents.transactions[].transaction`          |
//!
//! Not carried (chainwatch does not read them): programmable-transaction commands and inputs,
//! signatures, object changes, event contents, BCS. A transaction recorded with `showInput`
//! only as protobuf-ts JSON (`transaction.kind.data.oneofKind`, as the Sentio SDK stores it)
//! gives its `sender` the same way.

use prost_types::Timestamp;
use serde_json::Value;
use sui_rpc::proto::sui::rpc::v2::{
    BalanceChange, ChangedObject, Checkpoint, CheckpointContents, CheckpointSummary,
    CheckpointedTransactionInfo, Event, ExecutedTransaction, ExecutionStatus, GasCostSummary,
    GasPayment, ObjectReference, Owner, Transaction, TransactionEffects, TransactionEvents,
};

use crate::DecodeError;

/// A u64 written as a JSON string (Sui's JSON-RPC style) or a number.
fn u64_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn str_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// `field` of `obj` as a u64, or an error naming the field and what was expected.
fn req_u64(obj: &Value, field: &'static str, what: &'static str) -> Result<u64, DecodeError> {
    u64_of(&obj[field]).ok_or_else(|| DecodeError::Field {
        what,
        field,
        expected: "an unsigned integer (as a decimal string)",
        found: obj[field].to_string(),
    })
}

fn req_str(obj: &Value, field: &'static str, what: &'static str) -> Result<String, DecodeError> {
    str_of(&obj[field]).ok_or_else(|| DecodeError::Field {
        what,
        field,
        expected: "a string",
        found: obj[field].to_string(),
    })
}

pub(crate) fn timestamp_from_ms(ms: u64) -> Timestamp {
    Timestamp {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

fn gas_summary(v: &Value) -> Option<GasCostSummary> {
    if !v.is_object() {
        return None;
    }
    let mut g = GasCostSummary::default();
    g.computation_cost = u64_of(&v["computationCost"]);
    g.storage_cost = u64_of(&v["storageCost"]);
    g.storage_rebate = u64_of(&v["storageRebate"]);
    g.non_refundable_storage_fee = u64_of(&v["nonRefundableStorageFee"]);
    Some(g)
}

/// The address of an `{"AddressOwner": "0x…"}` (or `ObjectOwner`) owner.
fn owner_address(v: &Value) -> Option<String> {
    str_of(&v["AddressOwner"]).or_else(|| str_of(&v["ObjectOwner"]))
}

fn owner(v: &Value) -> Option<Owner> {
    let address = owner_address(v)?;
    let mut o = Owner::default();
    o.kind = Some(if v.get("AddressOwner").is_some() {
        sui_rpc::proto::sui::rpc::v2::owner::OwnerKind::Address as i32
    } else {
        sui_rpc::proto::sui::rpc::v2::owner::OwnerKind::Object as i32
    });
    o.address = Some(address);
    Some(o)
}

fn transaction(v: &Value) -> Option<Transaction> {
    let data = v.get("data")?;
    let mut t = Transaction::default();
    t.sender = str_of(&data["sender"]);
    if let Some(gas) = data.get("gasData") {
        let mut p = GasPayment::default();
        p.owner = str_of(&gas["owner"]);
        p.price = u64_of(&gas["price"]);
        p.budget = u64_of(&gas["budget"]);
        p.objects = gas["payment"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| {
                let mut r = ObjectReference::default();
                r.object_id = str_of(&o["objectId"]);
                r.version = u64_of(&o["version"]);
                r.digest = str_of(&o["digest"]);
                r
            })
            .collect();
        t.gas_payment = Some(p);
    }
    Some(t)
}

fn effects(v: &Value) -> Result<TransactionEffects, DecodeError> {
    let mut e = TransactionEffects::default();
    let status = &v["status"];
    let mut s = ExecutionStatus::default();
    match status["status"].as_str() {
        Some("success") => s.success = Some(true),
        Some("failure") => {
            s.success = Some(false);
            let text = status["error"].as_str().unwrap_or_default();
            s.error = Some(crate::failure::parse_jsonrpc_error(text));
        }
        _ => {
            return Err(DecodeError::Field {
                what: "effects",
                field: "status",
                expected: r#"{"status": "success"} or {"status": "failure", "error": …}"#,
                found: status.to_string(),
            });
        }
    }
    e.status = Some(s);
    e.epoch = u64_of(&v["executedEpoch"]);
    e.gas_used = gas_summary(&v["gasUsed"]);
    e.transaction_digest = str_of(&v["transactionDigest"]);
    e.events_digest = str_of(&v["eventsDigest"]);
    e.dependencies = v["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(str_of)
        .collect();
    if let Some(gas) = v.get("gasObject") {
        let mut o = ChangedObject::default();
        o.object_id = str_of(&gas["reference"]["objectId"]);
        o.output_version = u64_of(&gas["reference"]["version"]);
        o.output_digest = str_of(&gas["reference"]["digest"]);
        o.output_owner = owner(&gas["owner"]);
        e.gas_object = Some(o);
    }
    Ok(e)
}

fn events(v: &Value) -> Option<TransactionEvents> {
    // JSON-RPC: a list; protobuf-ts: `{"events": [...]}`.
    let list = v.as_array().or_else(|| v["events"].as_array())?;
    let mut evs = TransactionEvents::default();
    evs.events = list
        .iter()
        .map(|ev| {
            let mut e = Event::default();
            e.package_id = str_of(&ev["packageId"]);
            e.module = str_of(&ev["transactionModule"]).or_else(|| str_of(&ev["module"]));
            e.sender = str_of(&ev["sender"]);
            e.event_type = str_of(&ev["type"]).or_else(|| str_of(&ev["eventType"]));
            e
        })
        .collect();
    Some(evs)
}

/// A `sui_getTransactionBlock` result (without its JSON-RPC envelope) as an
/// `ExecutedTransaction`. Also reads the protobuf-ts form of `transaction` (`{digest, sender,
/// kind}`) for its sender.
pub(crate) fn executed_transaction(v: &Value) -> Result<ExecutedTransaction, DecodeError> {
    let mut t = ExecutedTransaction::default();
    t.digest = Some(req_str(v, "digest", "transaction block")?);
    if let Some(tx) = v.get("transaction") {
        t.transaction = transaction(tx).or_else(|| {
            // protobuf-ts `Transaction`: the sender at the top.
            let mut t = Transaction::default();
            t.sender = str_of(&tx["sender"]);
            t.digest = str_of(&tx["digest"]);
            t.sender.is_some().then_some(t)
        });
    }
    if let Some(e) = v.get("effects") {
        t.effects = Some(effects(e)?);
    }
    t.events = events(&v["events"]);
    t.checkpoint = match v.get("checkpoint") {
        None | Some(Value::Null) => None,
        Some(_) => Some(req_u64(v, "checkpoint", "transaction block")?),
    };
    t.timestamp = u64_of(&v["timestampMs"]).map(timestamp_from_ms);
    t.balance_changes = v["balanceChanges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            let mut c = BalanceChange::default();
            c.address = owner_address(&b["owner"]);
            c.coin_type = str_of(&b["coinType"]);
            c.amount = str_of(&b["amount"]);
            c
        })
        .collect();
    Ok(t)
}

/// A `sui_getCheckpoint` result (or one item of a `sui_getCheckpoints` page) as a `Checkpoint`
/// with its summary and contents (the digests of its transactions), without transactions.
pub(crate) fn checkpoint(v: &Value) -> Result<Checkpoint, DecodeError> {
    let seq = req_u64(v, "sequenceNumber", "checkpoint")?;
    let digest = req_str(v, "digest", "checkpoint")?;
    let mut summary = CheckpointSummary::default();
    summary.digest = Some(digest.clone());
    summary.sequence_number = Some(seq);
    summary.epoch = u64_of(&v["epoch"]);
    summary.total_network_transactions = u64_of(&v["networkTotalTransactions"]);
    summary.previous_digest = str_of(&v["previousDigest"]);
    summary.epoch_rolling_gas_cost_summary = gas_summary(&v["epochRollingGasCostSummary"]);
    summary.timestamp = Some(timestamp_from_ms(req_u64(v, "timestampMs", "checkpoint")?));
    let digests = v["transactions"]
        .as_array()
        .ok_or_else(|| DecodeError::Field {
            what: "checkpoint",
            field: "transactions",
            expected: "an array of transaction digests",
            found: v["transactions"].to_string(),
        })?;
    let mut contents = CheckpointContents::default();
    contents.transactions = digests
        .iter()
        .map(|d| {
            let mut info = CheckpointedTransactionInfo::default();
            info.transaction = str_of(d);
            info
        })
        .collect();
    let mut c = Checkpoint::default();
    c.sequence_number = Some(seq);
    c.digest = Some(digest);
    c.summary = Some(summary);
    c.contents = Some(contents);
    Ok(c)
}
