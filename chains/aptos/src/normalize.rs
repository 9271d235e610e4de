//! REST (and gRPC-stream) transactions and blocks → the normalized model. Pure: no I/O.

use chainwatch_schema::{Block, BlockRef, ChainId, Transaction, TxStatus};
use serde_json::{Map, Value, json};

use crate::{
    DecodeError,
    ids::{canonical_address, canonical_hash},
    rest::{RestBlock, RestTxn},
    vm_status::{self, Gas},
};

/// What chainwatch keeps of one transaction, whichever API it came from.
#[derive(Debug, Default)]
pub(crate) struct TxnFacts {
    /// `user`, `block_metadata`, `state_checkpoint`, `validator`, `block_epilogue`, `genesis`, …
    pub(crate) kind: String,
    pub(crate) hash: String,
    pub(crate) version: Option<u64>,
    pub(crate) success: bool,
    pub(crate) vm_status: String,
    pub(crate) gas_used: Option<u64>,
    pub(crate) sender: Option<String>,
    pub(crate) sequence_number: Option<u64>,
    pub(crate) replay_protection_nonce: Option<u64>,
    pub(crate) max_gas_amount: Option<u64>,
    pub(crate) gas_unit_price: Option<u64>,
    pub(crate) expiration_timestamp_secs: Option<u64>,
    /// `<address>::<module>::<function>` of an entry function payload.
    pub(crate) function: Option<String>,
    /// The multisig account of a multisig payload.
    pub(crate) multisig: Option<String>,
    pub(crate) fee_payer: Option<String>,
    pub(crate) events: usize,
    /// `storage_fee_refund_octas` of the `FeeStatement` event, when there is one.
    pub(crate) storage_refund: Option<u64>,
    pub(crate) epoch: Option<u64>,
    pub(crate) round: Option<u64>,
    pub(crate) proposer: Option<String>,
    /// The block height, when the source names it without the block (gRPC stream).
    pub(crate) block_height: Option<u64>,
}

/// `user_transaction` → `user`, `block_metadata_transaction` → `block_metadata` ….
pub(crate) fn rest_kind(t: &str) -> String {
    t.strip_suffix("_transaction").unwrap_or(t).to_owned()
}

/// A field's address in canonical form, or an error naming the transaction and field.
pub(crate) fn address(item: &str, field: &'static str, raw: &str) -> Result<String, DecodeError> {
    canonical_address(raw).map_err(|message| DecodeError::Invalid {
        item: item.to_owned(),
        field,
        message,
    })
}

/// `<address>::<module>::<function>` with the address in canonical form.
pub(crate) fn function_id(item: &str, raw: &str) -> Result<String, DecodeError> {
    let mut parts = raw.splitn(3, "::");
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(m), Some(f)) if !m.is_empty() && !f.is_empty() => Ok(format!(
            "{}::{m}::{f}",
            address(item, "payload.function", a)?
        )),
        _ => Err(DecodeError::Invalid {
            item: item.to_owned(),
            field: "payload.function",
            message: format!("{raw:?} is not <address>::<module>::<function>"),
        }),
    }
}

impl TxnFacts {
    /// The facts of a REST transaction (committed or pending).
    pub(crate) fn from_rest(t: &RestTxn) -> Result<Self, DecodeError> {
        let hash = canonical_hash(&t.hash).map_err(|message| DecodeError::Invalid {
            item: format!("a {}", t.kind),
            field: "hash",
            message,
        })?;
        let item = format!("transaction {hash}");
        let opt_addr = |field: &'static str, v: &Option<String>| {
            v.as_deref().map(|a| address(&item, field, a)).transpose()
        };
        let storage_refund = t
            .events
            .iter()
            .find(|e| e.kind == "0x1::transaction_fee::FeeStatement")
            .and_then(|e| e.data.get("storage_fee_refund_octas"))
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok());
        let (function, multisig) = match &t.payload {
            Some(p) => (
                p.function
                    .as_deref()
                    .filter(|_| p.kind == "entry_function_payload")
                    .map(|f| function_id(&item, f))
                    .transpose()?,
                opt_addr("payload.multisig_address", &p.multisig_address)?,
            ),
            None => (None, None),
        };
        Ok(Self {
            kind: rest_kind(&t.kind),
            version: t.version,
            success: t.success.unwrap_or(false),
            vm_status: t.vm_status.clone().unwrap_or_default(),
            gas_used: t.gas_used,
            sender: opt_addr("sender", &t.sender)?,
            sequence_number: t.sequence_number,
            replay_protection_nonce: t.replay_protection_nonce,
            max_gas_amount: t.max_gas_amount,
            gas_unit_price: t.gas_unit_price,
            expiration_timestamp_secs: t.expiration_timestamp_secs,
            function,
            multisig,
            fee_payer: opt_addr(
                "signature.fee_payer_address",
                &t.signature
                    .as_ref()
                    .and_then(|s| s.fee_payer_address.clone()),
            )?,
            events: t.events.len(),
            storage_refund,
            epoch: t.epoch,
            round: t.round,
            proposer: opt_addr("proposer", &t.proposer)?,
            block_height: None,
            hash,
        })
    }

    /// Whether this is a user transaction (indexed in full, with sender and address rows).
    pub(crate) fn is_user(&self) -> bool {
        self.kind == "user" || self.is_pending()
    }

    /// Whether this is a `pending_transaction` (in a mempool, not executed).
    pub(crate) fn is_pending(&self) -> bool {
        self.kind == "pending"
    }

    /// The normalized transaction at `index` in its block.
    ///
    /// User transactions get sender, `to` (the called module's address, or the multisig
    /// account), sequence number as nonce (none for orderless transactions), fee = gas used ×
    /// gas unit price in octas, and status from `success` with the failure from `vm_status`.
    /// System transactions (block metadata, state checkpoint, validator, block epilogue,
    /// genesis) get neither sender nor `to`, so they stay out of address queries, and no fee.
    pub(crate) fn into_transaction(self, index: u32) -> Result<Transaction, DecodeError> {
        let user = self.is_user();
        let pending = self.is_pending();
        let status = if pending {
            TxStatus::Pending
        } else if self.success {
            TxStatus::Succeeded
        } else {
            TxStatus::Failed
        };
        let failure = (!self.success && !pending).then(|| {
            vm_status::failure(
                &self.vm_status,
                Gas {
                    used: self.gas_used,
                    max: self.max_gas_amount,
                },
            )
        });
        let fee = match (user, self.gas_used, self.gas_unit_price) {
            (true, Some(used), Some(price)) => {
                Some((u128::from(used) * u128::from(price)).to_string())
            }
            _ => None,
        };
        let to = if user {
            self.multisig.clone().or_else(|| {
                self.function
                    .as_deref()
                    .and_then(|f| f.split("::").next())
                    .map(str::to_owned)
            })
        } else {
            None
        };
        let mut extra = Map::new();
        extra.insert("kind".into(), json!(self.kind));
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                extra.insert(k.into(), v);
            }
        };
        put("version", self.version.map(Value::from));
        put("block_height", self.block_height.map(Value::from));
        if user {
            put("gas_used", self.gas_used.map(Value::from));
            put("gas_unit_price", self.gas_unit_price.map(Value::from));
            put("max_gas_amount", self.max_gas_amount.map(Value::from));
            put(
                "expiration_timestamp_secs",
                self.expiration_timestamp_secs.map(Value::from),
            );
            put(
                "replay_protection_nonce",
                self.replay_protection_nonce.map(Value::from),
            );
            put("function", self.function.clone().map(Value::from));
            put("fee_payer", self.fee_payer.clone().map(Value::from));
            put(
                "storage_fee_refund_octas",
                self.storage_refund.map(Value::from),
            );
        }
        put("events", Some(Value::from(self.events)));
        put("epoch", self.epoch.map(Value::from));
        put("round", self.round.map(Value::from));
        put("proposer", self.proposer.clone().map(Value::from));
        if status == TxStatus::Failed
            && let Some(a) = vm_status::move_abort(&self.vm_status)
        {
            put("abort", serde_json::to_value(&a).ok());
        }
        Ok(Transaction {
            hash: self.hash,
            index,
            sender: if user { self.sender } else { None },
            to,
            nonce: if self.replay_protection_nonce.is_some() {
                None
            } else if user {
                self.sequence_number
            } else {
                None
            },
            value: None,
            fee,
            status,
            failure,
            extra: Value::Object(extra),
        })
    }
}

/// How strictly a block's transaction list is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completeness {
    /// Every version `first_version..=last_version` must be there, in order (the adapter).
    Required,
    /// Transactions may be missing (a recorded, trimmed block); those present must lie in the
    /// version range, in order.
    Partial,
}

/// A REST block with its transactions (already completed from `/v1/transactions` if it was
/// truncated) → normalized [`Block`]. A transaction's index is its version minus the block's
/// `first_version`. `parent_hash` is the hash of block `height - 1`, which the REST block does
/// not carry.
pub(crate) fn normalize_block(
    chain: &ChainId,
    block: RestBlock,
    parent_hash: String,
    completeness: Completeness,
) -> Result<Block, DecodeError> {
    let height = block.block_height;
    let hash = canonical_hash(&block.block_hash).map_err(|message| DecodeError::Invalid {
        item: format!("block {height}"),
        field: "block_hash",
        message,
    })?;
    if block.last_version < block.first_version {
        return Err(DecodeError::Invalid {
            item: format!("block {height}"),
            field: "last_version",
            message: format!(
                "last_version {} is below first_version {}",
                block.last_version, block.first_version
            ),
        });
    }
    let txns = block.transactions.unwrap_or_default();
    let expected = block.last_version - block.first_version + 1;
    if completeness == Completeness::Required && txns.len() as u64 != expected {
        return Err(DecodeError::IncompleteBlock {
            height,
            expected,
            found: txns.len(),
        });
    }
    let mut txs = Vec::with_capacity(txns.len());
    let mut prev: Option<u64> = None;
    for t in &txns {
        let facts = TxnFacts::from_rest(t)?;
        let v = facts.version.ok_or_else(|| DecodeError::Invalid {
            item: format!("transaction {} of block {height}", facts.hash),
            field: "version",
            message: format!("a {} transaction has no version", t.kind),
        })?;
        let contiguous = match prev {
            None => completeness == Completeness::Partial || v == block.first_version,
            Some(p) => v > p && (completeness == Completeness::Partial || v == p + 1),
        };
        if !contiguous || v < block.first_version || v > block.last_version {
            return Err(DecodeError::Invalid {
                item: format!("transaction {} of block {height}", facts.hash),
                field: "version",
                message: format!(
                    "version {v} is out of order or outside the block's range {}..={}",
                    block.first_version, block.last_version
                ),
            });
        }
        prev = Some(v);
        let index = u32::try_from(v - block.first_version).map_err(|_| DecodeError::Invalid {
            item: format!("transaction {} of block {height}", facts.hash),
            field: "version",
            message: "the block holds more than 2^32 transactions".into(),
        })?;
        txs.push(facts.into_transaction(index)?);
    }
    Ok(Block {
        chain: chain.clone(),
        block_ref: BlockRef::new(height, hash),
        parent_hash,
        timestamp_ms: block.block_timestamp / 1000,
        txs,
    })
}
