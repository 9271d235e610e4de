//! The adapter through a JSON-RPC proxy in front of anvil that can hide `eth_getBlockReceipts`
//! (answering -32601 as nodes without it do), reject the `safe`/`finalized` tags (as pre-merge
//! nodes do), hide the debug API, reject `eth_call` state overrides and reorganize the chain
//! right before a receipts call. `reasons.rs` uses it too.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{Router, extract::State, http::header, routing::post};
use chainwatch_chain_core::{ChainAdapter, FetchError};
use chainwatch_schema::{Finality, TxStatus};
use chainwatch_testkit::{Anvil, http_post, rpc};
use serde_json::{Value, json};

use crate::support::{ANVIL_CHAIN, adapter, connect, deploy_reverter, qty, receipt, send};

/// What the proxy breaks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Faults {
    /// Answer `eth_getBlockReceipts` with -32601 method not found.
    pub(crate) no_block_receipts: bool,
    /// Answer `eth_getBlockByNumber("safe")` with a -32000 server error and
    /// `eth_getBlockByNumber("finalized")` with -32602 invalid params.
    pub(crate) reject_tags: bool,
    /// Answer every `debug_*` method with -32601 method not found, as public providers do.
    pub(crate) no_debug: bool,
    /// Answer `eth_call` with a state override (a third parameter) with -32602 invalid params.
    pub(crate) no_state_override: bool,
}

#[derive(Debug)]
struct ProxyState {
    upstream: String,
    faults: Faults,
    reorg_armed: AtomicBool,
    calls: Mutex<HashMap<String, usize>>,
}

/// A proxy on a local port, stopped on drop.
#[derive(Debug)]
pub(crate) struct Proxy {
    pub(crate) url: String,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub(crate) async fn start(upstream: String, faults: Faults) -> Self {
        let state = Arc::new(ProxyState {
            upstream,
            faults,
            reorg_armed: AtomicBool::new(false),
            calls: Mutex::new(HashMap::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/", post(handle))
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, state, task }
    }

    /// How many times `method` reached the proxy.
    pub(crate) fn calls(&self, method: &str) -> usize {
        self.state
            .calls
            .lock()
            .unwrap()
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// The next receipts call (`eth_getBlockReceipts` or `eth_getTransactionReceipt`) first
    /// replaces the latest block with an empty one (`anvil_reorg(1, [])`).
    fn reorg_before_next_receipts(&self) {
        self.state.reorg_armed.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(s): State<Arc<ProxyState>>,
    body: String,
) -> ([(header::HeaderName, &'static str); 1], String) {
    let req: Value = serde_json::from_str(&body).unwrap();
    let method = req["method"].as_str().unwrap_or_default().to_owned();
    *s.calls.lock().unwrap().entry(method.clone()).or_default() += 1;
    let json_body = |text| ([(header::CONTENT_TYPE, "application/json")], text);
    let error = |code: i64, message: &str| {
        let answer = json!({
            "jsonrpc": "2.0",
            "id": req["id"],
            "error": {"code": code, "message": message},
        });
        json_body(answer.to_string())
    };
    if method == "eth_getBlockReceipts" && s.faults.no_block_receipts {
        return error(
            -32601,
            "the method eth_getBlockReceipts does not exist/is not available",
        );
    }
    if method.starts_with("debug_") && s.faults.no_debug {
        return error(
            -32601,
            &format!("the method {method} does not exist/is not available"),
        );
    }
    if method == "eth_call" && s.faults.no_state_override && !req["params"][2].is_null() {
        return error(-32602, "too many arguments, want at most 2");
    }
    if method == "eth_getBlockByNumber" && s.faults.reject_tags {
        let tag = req["params"][0].as_str().unwrap_or_default();
        let key = format!("{method}({tag})");
        match tag {
            "safe" => {
                *s.calls.lock().unwrap().entry(key).or_default() += 1;
                return error(-32000, "safe block not found");
            }
            "finalized" => {
                *s.calls.lock().unwrap().entry(key).or_default() += 1;
                return error(-32602, "invalid argument 0: hex string without 0x prefix");
            }
            _ => {}
        }
    }
    let receipts = matches!(
        method.as_str(),
        "eth_getBlockReceipts" | "eth_getTransactionReceipt"
    );
    if receipts && s.reorg_armed.swap(false, Ordering::SeqCst) {
        rpc(&s.upstream, "anvil_reorg", json!([1, []])).await;
    }
    let (_, text) = http_post(&s.upstream, &body).await.unwrap();
    json_body(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_per_transaction_receipts() {
    let anvil = Anvil::spawn(&[]).await;
    let contract = deploy_reverter(&anvil).await["contractAddress"].clone();
    let proxy = Proxy::start(
        anvil.url(),
        Faults {
            no_block_receipts: true,
            ..Faults::default()
        },
    )
    .await;
    let via_proxy = connect(ANVIL_CHAIN, &[("proxied", &proxy.url)])
        .await
        .unwrap();
    let direct = adapter(&anvil).await;

    // Three transactions in one block: two transfers and a reverting call, from three senders.
    anvil.rpc("evm_setAutomine", json!([false])).await;
    let accounts = anvil.accounts().await;
    let txs = [
        json!({"from": accounts[1], "to": accounts[4], "value": "0x1"}),
        json!({"from": accounts[2], "to": contract, "gas": "0x186a0"}),
        json!({"from": accounts[3], "to": accounts[4], "value": "0x2"}),
    ];
    let mut hashes = Vec::new();
    for tx in txs {
        hashes.push(anvil.rpc("eth_sendTransaction", json!([tx])).await);
    }
    anvil.mine(1).await;
    let receipt = receipt(&anvil, &hashes[0]).await;
    let height = u64::try_from(qty(&receipt["blockNumber"])).unwrap();

    assert!(!via_proxy.uses_per_transaction_receipts());
    let block = via_proxy.block(height).await.unwrap().unwrap();
    assert!(via_proxy.uses_per_transaction_receipts());
    assert_eq!(block.txs.len(), 3);
    let failed: Vec<_> = block
        .txs
        .iter()
        .filter(|t| t.status == TxStatus::Failed)
        .map(|t| t.hash.as_str())
        .collect();
    assert_eq!(failed, [hashes[1].as_str().unwrap()]);
    let mut got: Vec<_> = block.txs.iter().map(|t| t.hash.as_str()).collect();
    let mut want: Vec<_> = hashes.iter().map(|h| h.as_str().unwrap()).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(
        (
            proxy.calls("eth_getBlockReceipts"),
            proxy.calls("eth_getTransactionReceipt")
        ),
        (1, 3)
    );

    // Both paths normalize to the same block.
    assert_eq!(Some(&block), direct.block(height).await.unwrap().as_ref());

    // The switch is remembered: no more eth_getBlockReceipts.
    via_proxy.block(height).await.unwrap().unwrap();
    assert_eq!(
        (
            proxy.calls("eth_getBlockReceipts"),
            proxy.calls("eth_getTransactionReceipt")
        ),
        (1, 6)
    );
}

async fn reorg_during_fetch(per_tx: bool) {
    let anvil = Anvil::spawn(&[]).await;
    let proxy = Proxy::start(
        anvil.url(),
        Faults {
            no_block_receipts: per_tx,
            ..Faults::default()
        },
    )
    .await;
    let a = connect(ANVIL_CHAIN, &[("proxied", &proxy.url)])
        .await
        .unwrap();
    let to = anvil.accounts().await.remove(1);
    let r = send(&anvil, json!({"to": to, "value": "0x1"})).await;
    let height = u64::try_from(qty(&r["blockNumber"])).unwrap();

    proxy.reorg_before_next_receipts();
    let e = a.block(height).await.unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::Transient {
                reason: "reorged_during_fetch",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(a.uses_per_transaction_receipts(), per_tx);

    // A retry reads the new block: another hash, and the transaction is gone.
    let again = a.block(height).await.unwrap().unwrap();
    assert_ne!(again.block_ref.hash, r["blockHash"]);
    assert!(again.txs.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorg_between_block_and_block_receipts_is_transient() {
    reorg_during_fetch(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorg_between_block_and_transaction_receipts_is_transient() {
    reorg_during_fetch(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_tags_fall_back_to_depth_and_are_not_asked_again_at_once() {
    let anvil = Anvil::spawn(&[]).await;
    let proxy = Proxy::start(
        anvil.url(),
        Faults {
            reject_tags: true,
            ..Faults::default()
        },
    )
    .await;
    let a = connect(ANVIL_CHAIN, &[("proxied", &proxy.url)])
        .await
        .unwrap();
    anvil.mine(70).await;
    // Default depths: safe 12, finalized 64 below latest (70).
    let height = |r: Option<chainwatch_schema::BlockRef>| r.map(|r| r.height);
    assert_eq!(height(a.head(Finality::Safe).await.unwrap()), Some(58));
    assert_eq!(height(a.head(Finality::Finalized).await.unwrap()), Some(6));
    let safe_calls = proxy.calls("eth_getBlockByNumber(safe)");
    // A server error is retried by the pool; invalid params is final at once.
    assert!(safe_calls >= 1, "{safe_calls}");
    assert_eq!(proxy.calls("eth_getBlockByNumber(finalized)"), 1);
    // Within the re-probe interval the tags are not asked for.
    assert_eq!(height(a.head(Finality::Safe).await.unwrap()), Some(58));
    assert_eq!(height(a.head(Finality::Finalized).await.unwrap()), Some(6));
    assert_eq!(proxy.calls("eth_getBlockByNumber(safe)"), safe_calls);
    assert_eq!(proxy.calls("eth_getBlockByNumber(finalized)"), 1);
    // `latest` is unaffected.
    assert_eq!(
        a.head(Finality::Included).await.unwrap().unwrap().height,
        70
    );
}
