//! The indexer gRPC transaction stream's messages (`aptos.transaction.v1.Transaction`) in
//! protobuf-JSON form: camelCase fields, 64-bit integers as strings, hashes in base64, enums as
//! `TRANSACTION_TYPE_*`, and fields at their default value (`false`, `0`, empty) left out.

use serde::Deserialize;

use crate::{
    DecodeError,
    ids::{base64, hex, opt_u64_str},
    normalize::{TxnFacts, address, function_id},
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GrpcTxn {
    #[serde(default, deserialize_with = "opt_u64_str")]
    version: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    block_height: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    epoch: Option<u64>,
    #[serde(rename = "type")]
    kind: String,
    info: Info,
    #[serde(default)]
    user: Option<User>,
    #[serde(default)]
    block_metadata: Option<BlockMetadata>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Info {
    hash: String,
    #[serde(default, deserialize_with = "opt_u64_str")]
    gas_used: Option<u64>,
    #[serde(default)]
    success: bool,
    #[serde(default)]
    vm_status: String,
}

#[derive(Debug, Deserialize)]
struct User {
    request: Request,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    sender: String,
    #[serde(default, deserialize_with = "opt_u64_str")]
    sequence_number: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    max_gas_amount: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    gas_unit_price: Option<u64>,
    #[serde(default)]
    expiration_timestamp_secs: Option<Seconds>,
    #[serde(default)]
    payload: Option<Payload>,
    #[serde(default)]
    signature: Option<Signature>,
    #[serde(default, deserialize_with = "opt_u64_str")]
    replay_protection_nonce: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Seconds {
    #[serde(default, deserialize_with = "opt_u64_str")]
    seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    #[serde(default)]
    entry_function_payload: Option<EntryFunction>,
    #[serde(default)]
    multisig_payload: Option<Multisig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryFunction {
    entry_function_id_str: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Multisig {
    multisig_address: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Signature {
    #[serde(default)]
    fee_payer: Option<FeePayer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeePayer {
    fee_payer_address: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    #[serde(default)]
    type_str: String,
    /// The event's Move value as JSON text.
    #[serde(default)]
    data: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockMetadata {
    #[serde(default, deserialize_with = "opt_u64_str")]
    round: Option<u64>,
    #[serde(default)]
    proposer: Option<String>,
    #[serde(default)]
    events: Vec<Event>,
}

/// `TRANSACTION_TYPE_USER` → `user`, `TRANSACTION_TYPE_BLOCK_METADATA` → `block_metadata` ….
fn kind(t: &str) -> String {
    t.strip_prefix("TRANSACTION_TYPE_")
        .unwrap_or(t)
        .to_ascii_lowercase()
}

impl GrpcTxn {
    /// The same facts a REST answer gives for this transaction.
    pub(crate) fn facts(&self) -> Result<TxnFacts, DecodeError> {
        let hash = base64(&self.info.hash)
            .filter(|b| b.len() == 32)
            .map(|b| hex(&b))
            .ok_or_else(|| DecodeError::Invalid {
                item: format!("gRPC transaction version {}", self.version.unwrap_or(0)),
                field: "info.hash",
                message: format!("{:?} is not a base64 32-byte hash", self.info.hash),
            })?;
        let item = format!("transaction {hash}");
        let mut f = TxnFacts {
            kind: kind(&self.kind),
            version: Some(self.version.unwrap_or(0)),
            success: self.info.success,
            vm_status: self.info.vm_status.clone(),
            gas_used: Some(self.info.gas_used.unwrap_or(0)),
            epoch: self.epoch,
            block_height: self.block_height,
            hash,
            ..TxnFacts::default()
        };
        if let Some(u) = &self.user {
            let r = &u.request;
            f.sender = Some(address(&item, "user.request.sender", &r.sender)?);
            f.sequence_number = Some(r.sequence_number.unwrap_or(0));
            f.replay_protection_nonce = r.replay_protection_nonce;
            f.max_gas_amount = Some(r.max_gas_amount.unwrap_or(0));
            f.gas_unit_price = Some(r.gas_unit_price.unwrap_or(0));
            f.expiration_timestamp_secs = Some(
                r.expiration_timestamp_secs
                    .as_ref()
                    .and_then(|s| s.seconds)
                    .unwrap_or(0),
            );
            if let Some(p) = &r.payload {
                f.function = p
                    .entry_function_payload
                    .as_ref()
                    .map(|e| function_id(&item, &e.entry_function_id_str))
                    .transpose()?;
                f.multisig = p
                    .multisig_payload
                    .as_ref()
                    .map(|m| {
                        address(
                            &item,
                            "multisigPayload.multisigAddress",
                            &m.multisig_address,
                        )
                    })
                    .transpose()?;
            }
            f.fee_payer = r
                .signature
                .as_ref()
                .and_then(|s| s.fee_payer.as_ref())
                .map(|p| {
                    address(
                        &item,
                        "signature.feePayer.feePayerAddress",
                        &p.fee_payer_address,
                    )
                })
                .transpose()?;
            f.events = u.events.len();
            f.storage_refund = u
                .events
                .iter()
                .find(|e| e.type_str == "0x1::transaction_fee::FeeStatement")
                .and_then(|e| serde_json::from_str::<serde_json::Value>(&e.data).ok())
                .and_then(|d| d.get("storage_fee_refund_octas")?.as_str()?.parse().ok());
        }
        if let Some(m) = &self.block_metadata {
            f.round = m.round;
            f.proposer = m
                .proposer
                .as_deref()
                .map(|p| address(&item, "blockMetadata.proposer", p))
                .transpose()?;
            f.events = m.events.len();
        }
        Ok(f)
    }
}
