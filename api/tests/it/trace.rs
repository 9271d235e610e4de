//! `traceTransaction`: argument errors, chains without providers, the index first, and the
//! watch list (what it remembers reaches the adapter; its events reach the timeline). The
//! adapter here answers scripted verdicts; the real EVM adapter is tested on anvil in
//! `chainwatch-chain-evm` and end to end in the `chainwatch` binary's tests.

use std::sync::{Arc, Mutex};

use chainwatch_api::{ApiConfig, trace::Tracers};
use chainwatch_chain_core::{ChainAdapter, FetchError, FinalityModel, test_utils::ScriptedChain};
use chainwatch_schema::{
    Block, BlockRef, ChainId, Finality, PendingReason, ProviderHead, SeenTx, TraceFacts,
    TraceStatus, TxTrace,
};
use chainwatch_store::Store;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{CHAIN, chain_id, errors, populate, run, schema};

const HASH: &str = "0xAAAA000000000000000000000000000000000000000000000000000000000001";

const QUERY: &str = r#"
query ($chain: String!, $hash: String!) {
  traceTransaction(chain: $chain, hash: $hash) {
    chain hash status reason message finality watched
    block { height hash }
    facts { sender nonce accountNonce missingNonces baseFee maxFee replacedBy replacement }
    transaction { status blockHeight }
    timeline { kind }
  }
}"#;

/// An adapter that answers the next scripted verdict and remembers what it was told.
#[derive(Debug)]
struct Scripted {
    chain: ChainId,
    answers: Mutex<Vec<Result<TxTrace, FetchError>>>,
    seen: Mutex<Vec<Option<SeenTx>>>,
}

impl Scripted {
    fn new(answers: Vec<Result<TxTrace, FetchError>>) -> Arc<Self> {
        Arc::new(Self {
            chain: chain_id(CHAIN),
            answers: Mutex::new(answers),
            seen: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait::async_trait]
impl ChainAdapter for Scripted {
    fn chain(&self) -> &ChainId {
        &self.chain
    }
    fn finality_model(&self) -> FinalityModel {
        FinalityModel::Instant
    }
    async fn head(&self, _: Finality) -> Result<Option<BlockRef>, FetchError> {
        Ok(None)
    }
    async fn block(&self, _: u64) -> Result<Option<Block>, FetchError> {
        Ok(None)
    }
    async fn block_ref(&self, _: u64) -> Result<Option<BlockRef>, FetchError> {
        Ok(None)
    }
    async fn provider_heads(&self) -> Vec<ProviderHead> {
        Vec::new()
    }
    async fn trace_with(&self, hash: &str, seen: Option<&SeenTx>) -> Result<TxTrace, FetchError> {
        assert_eq!(
            hash,
            HASH.to_ascii_lowercase(),
            "the hash reaches the adapter normalized"
        );
        self.seen.lock().unwrap().push(seen.cloned());
        self.answers.lock().unwrap().remove(0)
    }
}

fn pending() -> TxTrace {
    let mut t = TxTrace::new(TraceStatus::Pending, "nonce gap: nonce 7 waits for 5 and 6");
    t.reason = Some(PendingReason::NonceGap);
    t.facts = TraceFacts {
        sender: Some("0x00000000000000000000000000000000000000a1".into()),
        nonce: Some(7),
        account_nonce: Some(5),
        missing_nonces: vec![5, 6],
        max_fee: Some("2000000000".into()),
        head_height: Some(40),
        ..TraceFacts::default()
    };
    t
}

fn cfg(tracers: Tracers) -> ApiConfig {
    ApiConfig {
        known_chains: vec![chain_id(CHAIN), chain_id("evm:5")],
        tracers,
        ..ApiConfig::default()
    }
}

fn error_of(resp: &Value) -> (String, Value) {
    let errs = errors(resp);
    assert_eq!(errs.len(), 1, "{resp:#}");
    assert_eq!(resp["data"]["traceTransaction"], Value::Null, "{resp:#}");
    assert_eq!(errs[0]["path"], json!(["traceTransaction"]), "{resp:#}");
    (
        errs[0]["message"].as_str().unwrap().to_owned(),
        errs[0]["extensions"].clone(),
    )
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn bad_arguments_and_chains_without_providers(pool: PgPool) {
    let adapter = Scripted::new(vec![]);
    let api = schema(&pool, cfg(Tracers::default().with_adapter(adapter.clone())));
    let (msg, ext) = error_of(&run(&api, QUERY, json!({"chain": "nope", "hash": HASH})).await);
    assert!(msg.starts_with("invalid chain \"nope\""), "{msg}");
    assert_eq!(ext, json!({"code": "BAD_REQUEST", "argument": "chain"}));
    let (msg, ext) = error_of(&run(&api, QUERY, json!({"chain": "evm:9", "hash": HASH})).await);
    assert!(msg.starts_with("unknown chain \"evm:9\""), "{msg}");
    assert_eq!(ext["code"], "BAD_REQUEST");
    let (msg, ext) = error_of(&run(&api, QUERY, json!({"chain": CHAIN, "hash": "0x12"})).await);
    assert_eq!(
        msg,
        "invalid hash \"0x12\": expected 0x followed by 64 hex digits"
    );
    assert_eq!(ext, json!({"code": "BAD_REQUEST", "argument": "hash"}));
    // Configured, but this process has no providers for it.
    let (msg, ext) = error_of(&run(&api, QUERY, json!({"chain": "evm:5", "hash": HASH})).await);
    assert!(
        msg.starts_with(
            "tracing is unavailable for chain evm:5: this API process has no providers"
        ),
        "{msg}"
    );
    assert_eq!(
        ext,
        json!({"code": "TRACING_UNAVAILABLE", "argument": "chain"})
    );
    assert!(adapter.seen.lock().unwrap().is_empty());

    // A family without live tracing (the trait's default).
    let scripted: Arc<dyn ChainAdapter> = Arc::new(ScriptedChain::new(chain_id(CHAIN), 1));
    let unsupported = schema(&pool, cfg(Tracers::default().with_adapter(scripted)));
    let (msg, ext) =
        error_of(&run(&unsupported, QUERY, json!({"chain": CHAIN, "hash": HASH})).await);
    assert!(msg.contains("not supported for evm:31337"), "{msg}");
    assert_eq!(ext["code"], "TRACING_UNAVAILABLE");
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn provider_failures_are_upstream_errors(pool: PgPool) {
    let adapter = Scripted::new(vec![Err(FetchError::transient(
        "unreachable",
        "no provider of evm:31337 answered eth_getTransactionByHash (tried `alpha` (timeout))",
    ))]);
    let api = schema(&pool, cfg(Tracers::default().with_adapter(adapter)));
    let (msg, ext) = error_of(&run(&api, QUERY, json!({"chain": CHAIN, "hash": HASH})).await);
    assert!(msg.contains("`alpha` (timeout)"), "{msg}");
    assert_eq!(ext, json!({"code": "UPSTREAM_ERROR"}));
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn pending_is_watched_and_remembered_for_the_next_trace(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let adapter = Scripted::new(vec![
        Ok(pending()),
        Ok(TxTrace::new(
            TraceStatus::Dropped,
            "dropped: nonce 7 is still unused",
        )),
    ]);
    let tracers = Tracers::default()
        .with_adapter(adapter.clone())
        .watching(store.clone());
    let api = schema(&pool, cfg(tracers));
    let resp = run(&api, QUERY, json!({"chain": CHAIN, "hash": HASH})).await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    let t = &resp["data"]["traceTransaction"];
    assert_eq!(t["hash"], HASH.to_ascii_lowercase());
    assert_eq!(
        (&t["status"], &t["reason"]),
        (&json!("PENDING"), &json!("NONCE_GAP"))
    );
    assert_eq!(t["facts"]["missingNonces"], json!(["5", "6"]));
    assert_eq!(t["facts"]["accountNonce"], "5");
    assert_eq!(t["watched"], true);
    assert_eq!(t["timeline"], json!([{"kind": "SEEN_PENDING"}]));
    assert_eq!(t["transaction"], Value::Null);

    let resp = run(&api, QUERY, json!({"chain": CHAIN, "hash": HASH})).await;
    let t = &resp["data"]["traceTransaction"];
    assert_eq!(t["status"], "DROPPED", "{resp:#}");
    assert_eq!(t["watched"], false);
    assert_eq!(
        t["timeline"],
        json!([{"kind": "SEEN_PENDING"}, {"kind": "DROPPED"}])
    );
    let seen = adapter.seen.lock().unwrap().clone();
    assert_eq!(seen[0], None);
    let remembered = seen[1]
        .as_ref()
        .expect("the second trace gets what the first saw");
    assert_eq!((remembered.nonce, remembered.seen_height), (7, Some(40)));
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn indexed_transactions_answer_from_the_index(pool: PgPool) {
    let blocks = populate(&Store::from_pool(pool.clone())).await;
    let adapter = Scripted::new(vec![]);
    let api = schema(&pool, cfg(Tracers::default().with_adapter(adapter.clone())));
    let failed = &blocks[1].txs[3];
    let resp = run(&api, QUERY, json!({"chain": CHAIN, "hash": failed.hash})).await;
    assert!(errors(&resp).is_empty(), "{resp:#}");
    let t = &resp["data"]["traceTransaction"];
    assert_eq!(t["status"], "INDEXED");
    assert_eq!(
        t["transaction"],
        json!({"status": "FAILED", "blockHeight": 1})
    );
    assert_eq!(t["block"]["height"], 1);
    assert_eq!(t["finality"], "FINALIZED");
    assert!(
        t["message"]
            .as_str()
            .unwrap()
            .starts_with("indexed: FAILED in block 1 ("),
        "{t}"
    );
    assert_eq!(t["watched"], false);
    assert!(
        adapter.seen.lock().unwrap().is_empty(),
        "the adapter is not asked"
    );
}
