//! [`AptosNode`]: a scripted Aptos node, a local REST server ([`RestStub`]) serving a small
//! chain made of recorded mainnet data (the `chains/aptos/testdata` fixtures, read from the
//! directory the test names).
//!
//! - Block 10000 is served exactly as recorded (`mainnet-block-10000-with-txns.json`).
//! - Blocks 10001–10004 each hold one recorded user transaction, served byte for byte as
//!   recorded (3517584511, 3521662834, 3556737308 (failed), 4120398629). Their headers (height,
//!   hash, version range = the transaction's version, timestamp = the transaction's) are made up
//!   here: the real blocks of those transactions were not recorded. Block 9999's header is made
//!   up too (only its hash is ever asked for). Made-up hashes are `0xaa…` + the height.
//! - The head, the chain id, the chain clock, a page limit that truncates block transaction
//!   lists (as nodes do for large blocks), pending transactions and account sequence numbers are
//!   set by each test.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{Arc, Mutex},
};

use serde_json::{Value, json};

use crate::RestStub;

/// One block of the scripted chain.
#[derive(Debug, Clone)]
pub struct AptosBlock {
    pub height: u64,
    pub hash: String,
    pub timestamp_us: u64,
    pub first_version: u64,
    pub last_version: u64,
    /// Raw recorded transaction JSON, in version order.
    pub txns: Vec<Value>,
}

/// What a test can change while the node runs.
#[derive(Debug)]
pub struct AptosNodeState {
    pub chain_id: u8,
    pub head: u64,
    /// Block transaction lists are cut to this many (the rest via `/v1/transactions`).
    pub page_limit: Option<usize>,
    /// Overrides the ledger timestamp (µs); else the head block's timestamp.
    pub clock_us: Option<u64>,
    /// `pending_transaction` bodies by hash, answered while the hash is not committed at or
    /// below the head.
    pub pending: BTreeMap<String, Value>,
    /// Account sequence numbers by address; others are 404 `account_not_found`.
    pub accounts: BTreeMap<String, u64>,
    pub blocks: BTreeMap<u64, AptosBlock>,
}

/// The scripted node and a handle on its state.
#[derive(Debug)]
pub struct AptosNode {
    pub stub: RestStub,
    pub state: Arc<Mutex<AptosNodeState>>,
}

fn read(dir: &Path, name: &str) -> Value {
    let path = dir.join(name);
    serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn u64_of(v: &Value) -> u64 {
    v.as_str().unwrap().parse().unwrap()
}

/// A made-up block hash for `height`.
pub fn aptos_made_up_hash(height: u64) -> String {
    format!("0xaa{height:062x}")
}

/// The recorded user transactions, in version order, as blocks 10001–10004 hold them.
pub const APTOS_USER_TXNS: [&str; 4] = [
    "mainnet-txn-3517584511-stake-delegate.json",
    "mainnet-txn-3521662834.json",
    "mainnet-txn-3556737308-failed-move-abort.json",
    "mainnet-txn-4120398629-swap-panora.json",
];

/// The scripted chain, from the fixtures in `testdata` (the Aptos crate's `testdata/`): blocks
/// 9999 (header only) to 10004.
pub fn aptos_chain(testdata: &Path) -> BTreeMap<u64, AptosBlock> {
    let mut blocks = BTreeMap::new();
    let b = read(testdata, "mainnet-block-10000-with-txns.json");
    blocks.insert(
        9999,
        AptosBlock {
            height: 9999,
            hash: aptos_made_up_hash(9999),
            timestamp_us: u64_of(&b["block_timestamp"]) - 500_000,
            first_version: 20_081,
            last_version: 20_082,
            txns: Vec::new(),
        },
    );
    blocks.insert(
        10_000,
        AptosBlock {
            height: 10_000,
            hash: b["block_hash"].as_str().unwrap().to_owned(),
            timestamp_us: u64_of(&b["block_timestamp"]),
            first_version: u64_of(&b["first_version"]),
            last_version: u64_of(&b["last_version"]),
            txns: b["transactions"].as_array().unwrap().clone(),
        },
    );
    for (i, name) in APTOS_USER_TXNS.iter().enumerate() {
        let t = read(testdata, name);
        let height = 10_001 + i as u64;
        let version = u64_of(&t["version"]);
        blocks.insert(
            height,
            AptosBlock {
                height,
                hash: aptos_made_up_hash(height),
                timestamp_us: u64_of(&t["timestamp"]),
                first_version: version,
                last_version: version,
                txns: vec![t],
            },
        );
    }
    blocks
}

fn not_found(code: &str, message: String) -> (u16, String) {
    (
        404,
        json!({"message": message, "error_code": code, "vm_error_code": null}).to_string(),
    )
}

fn header(b: &AptosBlock) -> Value {
    json!({
        "block_height": b.height.to_string(),
        "block_hash": b.hash,
        "block_timestamp": b.timestamp_us.to_string(),
        "first_version": b.first_version.to_string(),
        "last_version": b.last_version.to_string(),
    })
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

fn answer(s: &AptosNodeState, path: &str, query: &str) -> (u16, String) {
    let visible = || s.blocks.values().filter(|b| b.height <= s.head);
    let committed = || visible().flat_map(|b| b.txns.iter());
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        [""] => {
            let head = &s.blocks[&s.head];
            let li = json!({
                "chain_id": s.chain_id,
                "epoch": "2",
                "ledger_version": head.last_version.to_string(),
                "oldest_ledger_version": "0",
                "ledger_timestamp": s.clock_us.unwrap_or(head.timestamp_us).to_string(),
                "node_role": "full_node",
                "oldest_block_height": "0",
                "block_height": s.head.to_string(),
                "git_hash": "0000000000000000000000000000000000000000"
            });
            (200, li.to_string())
        }
        ["blocks", by @ ("by_height" | "by_version"), n] => {
            let Ok(n) = n.parse::<u64>() else {
                return (400, json!({"message": format!("failed to parse path: {n}"), "error_code": "web_framework_error", "vm_error_code": null}).to_string());
            };
            let found = visible().find(|b| {
                if *by == "by_height" {
                    b.height == n
                } else {
                    (b.first_version..=b.last_version).contains(&n)
                }
            });
            let Some(b) = found else {
                return not_found("block_not_found", format!("Block not found by {by}({n})"));
            };
            let mut v = header(b);
            if query_param(query, "with_transactions").as_deref() == Some("true") {
                let cut = s.page_limit.unwrap_or(usize::MAX);
                v["transactions"] = Value::Array(b.txns.iter().take(cut).cloned().collect());
            }
            (200, v.to_string())
        }
        ["transactions"] => {
            let start: u64 = query_param(query, "start")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let limit: u64 = query_param(query, "limit")
                .and_then(|v| v.parse().ok())
                .unwrap_or(25);
            let page: Vec<Value> = committed()
                .filter(|t| (start..start + limit).contains(&u64_of(&t["version"])))
                .cloned()
                .collect();
            (200, Value::Array(page).to_string())
        }
        ["transactions", "by_hash", h] => {
            if let Some(t) = committed().find(|t| t["hash"] == *h) {
                return (200, t.to_string());
            }
            match s.pending.get(*h) {
                Some(p) => (200, p.to_string()),
                None => not_found(
                    "transaction_not_found",
                    format!("Transaction not found by Transaction hash({h})"),
                ),
            }
        }
        ["accounts", a] => match s.accounts.get(*a) {
            Some(seq) => (
                200,
                json!({"sequence_number": seq.to_string(), "authentication_key": a}).to_string(),
            ),
            None => not_found(
                "account_not_found",
                format!("Account not found by Address({a})"),
            ),
        },
        ["accounts", a, "transactions"] => {
            let start: u64 = query_param(query, "start")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let page: Vec<Value> = committed()
                .filter(|t| {
                    t["sender"] == *a
                        && t["sequence_number"]
                            .as_str()
                            .is_some_and(|n| n.parse::<u64>().unwrap() >= start)
                })
                .cloned()
                .collect();
            (200, Value::Array(page).to_string())
        }
        _ => (
            404,
            json!({"message": "not found", "error_code": "web_framework_error"}).to_string(),
        ),
    }
}

impl AptosNode {
    /// A node of `aptos:1` at head `head` serving `blocks` (e.g. [`aptos_chain`]).
    pub async fn start(blocks: BTreeMap<u64, AptosBlock>, head: u64) -> Self {
        let state = Arc::new(Mutex::new(AptosNodeState {
            chain_id: 1,
            head,
            page_limit: None,
            clock_us: None,
            pending: BTreeMap::new(),
            accounts: BTreeMap::new(),
            blocks,
        }));
        let s = state.clone();
        let stub = RestStub::start("/v1", move |path, query| {
            answer(&s.lock().unwrap(), path, query)
        })
        .await;
        Self { stub, state }
    }

    /// The provider URL (`http://127.0.0.1:PORT/v1`).
    pub fn url(&self) -> String {
        self.stub.url()
    }

    /// Changes the node's state.
    pub fn with<R>(&self, f: impl FnOnce(&mut AptosNodeState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }
}
