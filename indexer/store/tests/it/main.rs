//! Integration tests of chainwatch-store against a real Postgres: each `#[sqlx::test]` gets a
//! fresh database with the migrations applied (`DATABASE_URL` names the server).

mod health;
mod lookup;
mod pages;
mod reads;
mod replay;
mod watch;

use chainwatch_chain_core::test_utils::{Feed, ScriptedChain};
use chainwatch_schema::{Block, ChainId, ProviderHead};
use chainwatch_store::Store;
use sqlx::PgPool;

/// The tables a snapshot compares, all of them.
const TABLES: [&str; 9] = [
    "chains",
    "blocks",
    "transactions",
    "address_transactions",
    "transaction_events",
    "reorgs",
    "finality_progress",
    "watermarks",
    "chain_status",
];

fn chain_id(s: &str) -> ChainId {
    s.parse().unwrap()
}

/// A scripted chain with `n` mined blocks (plus genesis) of four transactions each; the fourth
/// (index 3) of every block fails.
fn mined(chain: &ChainId, n: u64) -> (ScriptedChain, Vec<Block>) {
    let sc = ScriptedChain::new(chain.clone(), 4);
    sc.mine(n);
    let blocks = sc.canonical();
    (sc, blocks)
}

fn head(provider: &str, height: Option<u64>, error: Option<&str>, health: f64) -> ProviderHead {
    ProviderHead {
        provider: provider.into(),
        height,
        error: error.map(Into::into),
        health,
        state: Default::default(),
    }
}

/// Every row of every table as JSON text, in a stable order.
async fn snapshot(pool: &PgPool) -> Vec<String> {
    let mut out = Vec::new();
    for table in TABLES {
        let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(json_agg(to_jsonb(x) ORDER BY to_jsonb(x)::text), '[]')::text FROM {table} x"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        out.push(format!("{table}: {rows}"));
    }
    out
}

fn store(pool: &PgPool) -> Store {
    Store::from_pool(pool.clone())
}
