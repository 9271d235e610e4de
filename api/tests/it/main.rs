//! Integration tests of chainwatch-api: GraphQL over a real Postgres (a fresh database per
//! `#[sqlx::test]`, `DATABASE_URL` names the server), directly on the schema and over HTTP.

mod hostile;
mod http;
mod limits;
mod pages;
mod queries;
mod sdl;
mod trace;

use std::time::Duration;

use async_graphql::Request;
use chainwatch_api::{ApiConfig, ApiSchema, build_schema};
use chainwatch_chain_core::test_utils::{Feed, ScriptedChain};
use chainwatch_schema::{Block, ChainEvent, ChainId, ProviderHead, ProviderState};
use chainwatch_store::Store;
use serde_json::{Value, json};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const CHAIN: &str = "evm:31337";
/// Time of the heartbeat the fixture records.
const HEARTBEAT_MS: u64 = 1_700_000_500_000;

fn chain_id(s: &str) -> ChainId {
    s.parse().unwrap()
}

/// Scripted hashes are 32 hex digits; the API wants real EVM hashes (64, here with letters so
/// that case matters).
fn evm_hash(scripted: &str) -> String {
    format!("0xabcdef{:0>58}", &scripted[2..])
}

/// Scripted blocks `0..=n` of `chain`, four transactions each (index 3 fails), with 64-digit
/// transaction hashes; block 1's first transaction has `extra` details.
fn blocks(chain: &ChainId, n: u64) -> Vec<Block> {
    let sc = ScriptedChain::new(chain.clone(), 4);
    sc.mine(n);
    let mut blocks = sc.canonical();
    for b in &mut blocks {
        for t in &mut b.txs {
            t.hash = evm_hash(&t.hash);
        }
    }
    blocks[1].txs[0].extra = json!({"gas_used": 21000, "type": 2});
    blocks
}

/// The standard data set: `evm:31337` with blocks 0..=6, safe 4, finalized 2, and a heartbeat
/// from two providers (one at height 10, one failing). Returns the blocks.
async fn populate(store: &Store) -> Vec<Block> {
    let chain = chain_id(CHAIN);
    let blocks = blocks(&chain, 6);
    let mut feed = Feed::new(&chain);
    let mut envs = feed.apply_all(&blocks);
    envs.push(feed.env(ChainEvent::Finality {
        safe: Some(blocks[4].block_ref.clone()),
        finalized: Some(blocks[2].block_ref.clone()),
    }));
    envs.push(feed.env(ChainEvent::Heartbeat {
        at_ms: HEARTBEAT_MS,
        heads: vec![
            ProviderHead {
                provider: "alpha".into(),
                height: Some(10),
                error: None,
                health: 0.9,
                state: Default::default(),
            },
            ProviderHead {
                provider: "beta".into(),
                height: None,
                error: Some("timeout".into()),
                health: 0.0,
                state: Default::default(),
            },
            ProviderHead {
                provider: "gamma".into(),
                height: Some(99),
                error: None,
                health: 0.8,
                state: ProviderState::Divergent,
            },
        ],
    }));
    store.apply_batch(&chain, &envs).await.unwrap();
    blocks
}

fn schema(pool: &PgPool, cfg: ApiConfig) -> ApiSchema {
    build_schema(Store::from_pool(pool.clone()), cfg)
}

/// Runs `query` with `variables` and returns the whole response as JSON (`data`, `errors`).
async fn run(schema: &ApiSchema, query: &str, variables: Value) -> Value {
    let req = Request::new(query).variables(async_graphql::Variables::from_json(variables));
    serde_json::to_value(schema.execute(req).await).unwrap()
}

/// The response's errors (empty when there are none).
fn errors(resp: &Value) -> Vec<Value> {
    resp.get("errors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A store whose database is unreachable (nothing listens on port 1): every query fails fast.
fn broken_store() -> Store {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://postgres:secret-password@127.0.0.1:1/nowhere")
        .unwrap();
    Store::from_pool(pool)
}

/// `GET url` over a fresh connection; returns the status and body.
async fn http_get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = TcpStream::connect(authority).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}
