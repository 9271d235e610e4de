//! Integration tests of chainwatch-store against a real Postgres: each `#[sqlx::test]` gets a
//! fresh database with the migrations applied (`DATABASE_URL` names the server).

mod reads;
mod replay;

use chainwatch_chain_core::test_utils::ScriptedChain;
use chainwatch_schema::{Block, ChainEvent, ChainId, Envelope, ProviderHead};
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

/// Builds one chain's envelope stream with consecutive `seq` numbers starting at 1.
struct Feed {
    chain: ChainId,
    seq: u64,
}

impl Feed {
    fn new(chain: &ChainId) -> Self {
        Self {
            chain: chain.clone(),
            seq: 0,
        }
    }

    fn env(&mut self, event: ChainEvent) -> Envelope {
        self.seq += 1;
        Envelope::new(self.chain.clone(), self.seq, event)
    }

    fn apply_all(&mut self, blocks: &[Block]) -> Vec<Envelope> {
        blocks
            .iter()
            .map(|b| self.env(ChainEvent::Apply { block: b.clone() }))
            .collect()
    }

    fn finality(&mut self, safe: &Block, finalized: &Block) -> Envelope {
        self.env(ChainEvent::Finality {
            safe: Some(safe.block_ref.clone()),
            finalized: Some(finalized.block_ref.clone()),
        })
    }

    fn revert(&mut self, to: &Block, from: &Block, new_head: &Block) -> Envelope {
        self.env(ChainEvent::Revert {
            to: to.block_ref.clone(),
            from: from.block_ref.clone(),
            new_head: new_head.block_ref.clone(),
        })
    }

    fn heartbeat(&mut self, at_ms: u64, heads: Vec<ProviderHead>) -> Envelope {
        self.env(ChainEvent::Heartbeat { at_ms, heads })
    }
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
