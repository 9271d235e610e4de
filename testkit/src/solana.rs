//! A mock Solana JSON-RPC node ([`MockNode`]) over a scripted chain of slots ([`Chain`]), built
//! from recorded blocks.
//!
//! The slots' bodies are real `getBlock` results from `chains/solana/testdata/` (their transactions, metas,
//! logs); only the header fields that link them are synthesized: each slot gets its own
//! `blockhash` (`Mock<slot>x<fork>…`, base58 alphabet), and `parentSlot` / `previousBlockhash`
//! point at the previous produced slot, so that the chain has skipped slots and can fork. Every
//! recorded body is used at most once on a fork, so that signatures stay unique.
//!
//! Methods: `getGenesisHash` (mainnet's), `getSlot` and `getLatestBlockhash` by commitment,
//! `getBlocks` (produced slots up to the `confirmed` tip), `getBlock` (with `transactionDetails`
//! `full` or `none`), `getSignatureStatuses`. A slot at or below the processed tip that has no
//! block answers -32007 ("skipped"); above it, -32004 ("not available"). With
//! [`Chain::serve_unconfirmed`] (the default of [`standard_chain`]), unlike a real node,
//! `getBlock` serves processed blocks too, so that a fork at `processed` can reach ingest;
//! without it, a block above the confirmed tip is -32004 as on a real node.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use crate::RpcStub;
use serde_json::{Value, json};

/// Mainnet's genesis hash.
pub const MAINNET_GENESIS: &str = "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d";

/// The Solana adapter's recorded RPC data.
pub const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../chains/solana/testdata");

/// A recorded `getBlock` body from [`TESTDATA`] (the `result`, without the envelope).
pub fn recorded(name: &str) -> Value {
    let path = std::path::Path::new(TESTDATA).join(name);
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    match v.get("result") {
        Some(r) => r.clone(),
        None => v,
    }
}

/// The recorded bodies, each with different transactions (the two recorded 195545750 blocks
/// hold the same transaction, so only one of them is here), then two without transactions.
pub const BODIES: &[&str] = &[
    "mainnet-getBlock-100000000-json-trimmed.json",
    "mainnet-getBlock-154808473-jsonParsed-trimmed-versioned-tx.json",
    "mainnet-getBlock-195545750-jsonParsed-trimmed-account-deletion.json",
    "mainnet-getBlock-100000001-no-txs.json",
    "mainnet-getBlock-100000000-no-txs.json",
];

/// The scripted chain.
#[derive(Debug, Default)]
pub struct Chain {
    /// Produced slots on the current fork: slot → getBlock body.
    pub blocks: BTreeMap<u64, Value>,
    pub processed: u64,
    pub confirmed: u64,
    pub finalized: u64,
    /// Bumped on each fork, to give replaced slots new hashes.
    pub fork: u32,
    /// Signature → (slot, err) for getSignatureStatuses.
    pub statuses: BTreeMap<String, (u64, Value)>,
    /// Every call received: method and, for `getBlock`, the slot.
    pub calls: Vec<(String, Option<u64>)>,
    /// Whether `getBlock` serves blocks above the confirmed tip (a real node does not: it
    /// answers -32004 "Block not available for slot" until they are confirmed).
    pub serve_unconfirmed: bool,
}

impl Chain {
    /// Slot `slot`'s synthetic block hash on the current fork.
    pub fn hash(&self, slot: u64) -> String {
        format!("Mock{slot}x{}Hash", self.fork + 1)
    }

    /// Appends a block at `slot` (above every produced slot) with the recorded body `body`.
    pub fn produce(&mut self, slot: u64, body: &str) {
        let (parent_slot, parent_hash) = match self.blocks.last_key_value() {
            Some((s, b)) => (*s, b["blockhash"].as_str().unwrap().to_owned()),
            None => (slot - 1, "MockGenesisParentHash".to_owned()),
        };
        assert!(slot > parent_slot);
        let mut b = recorded(body);
        b["blockhash"] = json!(self.hash(slot));
        b["previousBlockhash"] = json!(parent_hash);
        b["parentSlot"] = json!(parent_slot);
        if b.get("transactions").is_none() {
            b["transactions"] = json!([]);
        }
        for tx in b["transactions"].as_array().unwrap() {
            let sig = tx["transaction"]["signatures"][0]
                .as_str()
                .unwrap()
                .to_owned();
            self.statuses.insert(sig, (slot, tx["meta"]["err"].clone()));
        }
        self.blocks.insert(slot, b);
        self.processed = self.processed.max(slot);
    }

    /// Abandons every block above `keep` (a fork at processed) and moves the tips back.
    pub fn abandon_above(&mut self, keep: u64) {
        let dropped: Vec<u64> = self.blocks.range(keep + 1..).map(|(s, _)| *s).collect();
        for s in dropped {
            let b = self.blocks.remove(&s).unwrap();
            for tx in b["transactions"].as_array().unwrap() {
                self.statuses
                    .remove(tx["transaction"]["signatures"][0].as_str().unwrap());
            }
        }
        self.fork += 1;
        self.processed = keep;
        self.confirmed = self.confirmed.min(keep);
        self.finalized = self.finalized.min(keep);
    }

    fn tip(&self, params: &Value, at: usize) -> u64 {
        match params[at]["commitment"].as_str().unwrap_or("finalized") {
            "processed" => self.processed,
            "confirmed" => self.confirmed,
            _ => self.finalized,
        }
    }

    /// Slots asked for with `getBlock`.
    pub fn get_block_calls(&self) -> Vec<u64> {
        self.calls
            .iter()
            .filter(|(m, _)| m == "getBlock")
            .filter_map(|(_, s)| *s)
            .collect()
    }

    fn answer(&mut self, method: &str, params: &Value) -> Result<Value, (i64, String)> {
        self.calls.push((
            method.to_owned(),
            (method == "getBlock").then(|| params[0].as_u64()).flatten(),
        ));
        match method {
            "getGenesisHash" => Ok(json!(MAINNET_GENESIS)),
            "getSlot" => Ok(json!(self.tip(params, 0))),
            "getLatestBlockhash" => {
                let slot = self.tip(params, 0);
                Ok(json!({
                    "context": {"slot": slot, "apiVersion": "2.2.0"},
                    "value": {
                        "blockhash": self.blocks.get(&slot).map(|b| b["blockhash"].clone()),
                        "lastValidBlockHeight": 1_000,
                    }
                }))
            }
            "getBlocks" => {
                let start = params[0].as_u64().ok_or((-32602, "bad start".into()))?;
                let end = params[1].as_u64().unwrap_or(u64::MAX).min(self.confirmed);
                if end < start {
                    return Ok(json!([]));
                }
                Ok(json!(
                    self.blocks
                        .range(start..=end)
                        .map(|(s, _)| *s)
                        .collect::<Vec<_>>()
                ))
            }
            "getBlock" => {
                let slot = params[0].as_u64().ok_or((-32602, "bad slot".into()))?;
                let cfg = &params[1];
                if cfg["maxSupportedTransactionVersion"] != json!(0) {
                    return Err((
                        -32015,
                        "Transaction version (0) is not supported by the requesting client".into(),
                    ));
                }
                match self.blocks.get(&slot) {
                    Some(_) if slot > self.confirmed && !self.serve_unconfirmed => {
                        Err((-32004, format!("Block not available for slot {slot}")))
                    }
                    Some(b) => {
                        let mut b = b.clone();
                        if cfg["transactionDetails"] == json!("none") {
                            b.as_object_mut().unwrap().remove("transactions");
                        }
                        Ok(b)
                    }
                    None if slot <= self.processed => Err((
                        -32007,
                        format!(
                            "Slot {slot} was skipped, or missing due to ledger jump to recent snapshot"
                        ),
                    )),
                    None => Err((-32004, format!("Block not available for slot {slot}"))),
                }
            }
            "getTransaction" => {
                let sig = params[0].as_str().unwrap_or("");
                let found = self.blocks.iter().find_map(|(slot, b)| {
                    b["transactions"].as_array()?.iter().find_map(|tx| {
                        (tx["transaction"]["signatures"][0] == json!(sig)).then(|| {
                            json!({
                                "slot": slot,
                                "blockTime": b["blockTime"],
                                "transaction": tx["transaction"],
                                "meta": tx["meta"],
                                "version": tx.get("version").cloned().unwrap_or(json!("legacy")),
                            })
                        })
                    })
                });
                Ok(found.unwrap_or(Value::Null))
            }
            "getSignatureStatuses" => {
                let sigs = params[0].as_array().ok_or((-32602, "bad params".into()))?;
                let value: Vec<Value> = sigs
                    .iter()
                    .map(|s| match self.statuses.get(s.as_str().unwrap_or("")) {
                        None => Value::Null,
                        Some((slot, err)) => {
                            let level = if *slot <= self.finalized {
                                "finalized"
                            } else if *slot <= self.confirmed {
                                "confirmed"
                            } else {
                                "processed"
                            };
                            json!({
                                "slot": slot,
                                "confirmations": if level == "finalized" { Value::Null } else { json!(self.processed - slot) },
                                "err": err,
                                "status": if err.is_null() { json!({"Ok": null}) } else { json!({"Err": err}) },
                                "confirmationStatus": level,
                            })
                        }
                    })
                    .collect();
                Ok(json!({"context": {"slot": self.processed}, "value": value}))
            }
            other => Err((-32601, format!("Method not found: {other}"))),
        }
    }
}

/// A running mock node and its chain.
#[derive(Debug)]
pub struct MockNode {
    pub chain: Arc<Mutex<Chain>>,
    pub stub: RpcStub,
}

impl MockNode {
    /// Starts a node over `chain`.
    pub async fn start(chain: Chain) -> Self {
        let chain = Arc::new(Mutex::new(chain));
        let c = chain.clone();
        let stub =
            RpcStub::start(move |method, params| c.lock().unwrap().answer(method, params)).await;
        Self { chain, stub }
    }

    pub fn url(&self) -> String {
        self.stub.url()
    }

    /// Runs `f` on the chain.
    pub fn with<R>(&self, f: impl FnOnce(&mut Chain) -> R) -> R {
        f(&mut self.chain.lock().unwrap())
    }
}

/// The standard scripted chain: slots 1000 (10 txs), 1002 (1 v0 tx), 1003 (1 tx), 1006 and
/// 1007 (no txs); 1001, 1004 and 1005 skipped. All confirmed; finalized up to 1002.
pub fn standard_chain() -> Chain {
    let mut c = Chain::default();
    for (slot, body) in [1000, 1002, 1003, 1006, 1007].into_iter().zip(BODIES) {
        c.produce(slot, body);
    }
    c.confirmed = 1007;
    c.finalized = 1002;
    c.serve_unconfirmed = true;
    c
}
