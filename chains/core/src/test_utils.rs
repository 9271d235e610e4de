//! A scripted in-memory chain for tests: mine blocks, fork at any depth, move finality, inject
//! failures. Deterministic: the same script gives the same hashes.

use std::sync::Mutex;

use async_trait::async_trait;
use chainwatch_schema::{
    Block, BlockRef, ChainId, Failure, FailureKind, Finality, ProviderHead, Transaction, TxStatus,
};

use crate::{ChainAdapter, FetchError, FinalityModel};

/// An in-memory chain that implements [`ChainAdapter`].
///
/// Block hashes encode height and the fork generation that produced the block, so a reorg
/// replaces hashes from the fork point up. Every seventh transaction fails.
#[derive(Debug)]
pub struct ScriptedChain {
    chain: ChainId,
    max_reorg_depth: u64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    blocks: Vec<Block>,
    generation: u64,
    txs_per_block: usize,
    safe_lag: u64,
    finalized_lag: u64,
    failures_left: u32,
}

impl ScriptedChain {
    /// A chain with only its genesis block (height 0), `txs_per_block` transactions in each
    /// mined block, safe 2 and finalized 4 blocks behind the head.
    pub fn new(chain: ChainId, txs_per_block: usize) -> Self {
        let me = Self {
            chain,
            max_reorg_depth: 64,
            state: Mutex::new(State {
                blocks: Vec::new(),
                generation: 0,
                txs_per_block,
                safe_lag: 2,
                finalized_lag: 4,
                failures_left: 0,
            }),
        };
        {
            let mut s = me.lock();
            let genesis = make_block(&me.chain, 0, "0x00".into(), 0, 0);
            s.blocks.push(genesis);
        }
        me
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `n` blocks.
    pub fn mine(&self, n: u64) {
        let mut s = self.lock();
        for _ in 0..n {
            let parent = s
                .blocks
                .last()
                .map(|b| b.block_ref.clone())
                .unwrap_or(BlockRef::new(0, "0x00"));
            let (txs, generation) = (s.txs_per_block, s.generation);
            let b = make_block(&self.chain, parent.height + 1, parent.hash, generation, txs);
            s.blocks.push(b);
        }
    }

    /// Replaces the last `depth` blocks with `new_len` new ones (a different fork).
    pub fn reorg(&self, depth: u64, new_len: u64) {
        {
            let mut s = self.lock();
            let keep = s.blocks.len().saturating_sub(depth as usize).max(1);
            s.blocks.truncate(keep);
            s.generation += 1;
        }
        self.mine(new_len);
    }

    /// Sets how far behind the head the safe and finalized heads trail.
    pub fn set_finality_lags(&self, safe: u64, finalized: u64) {
        let mut s = self.lock();
        s.safe_lag = safe;
        s.finalized_lag = finalized;
    }

    /// Makes the next `n` calls fail with a transient error.
    pub fn fail_next(&self, n: u32) {
        self.lock().failures_left = n;
    }

    /// The current canonical blocks, genesis first.
    pub fn canonical(&self) -> Vec<Block> {
        self.lock().blocks.clone()
    }

    /// The current head.
    pub fn head_ref(&self) -> BlockRef {
        self.lock()
            .blocks
            .last()
            .map(|b| b.block_ref.clone())
            .unwrap_or(BlockRef::new(0, "0x00"))
    }

    fn check_failure(&self) -> Result<(), FetchError> {
        let mut s = self.lock();
        if s.failures_left > 0 {
            s.failures_left -= 1;
            return Err(FetchError::transient("scripted", "scripted failure"));
        }
        Ok(())
    }
}

fn make_block(
    chain: &ChainId,
    height: u64,
    parent_hash: String,
    generation: u64,
    txs: usize,
) -> Block {
    let hash = format!("0x{height:016x}{generation:08x}");
    let txs = (0..txs)
        .map(|i| {
            let failed = i % 7 == 3;
            Transaction {
                hash: format!("0x{height:016x}{generation:08x}{i:08x}"),
                index: i as u32,
                sender: Some(format!("0xsender{:02}", i % 10)),
                to: Some(format!("0xrecipient{:02}", (i + 3) % 10)),
                nonce: Some(height),
                value: Some((i as u64 * 1000).to_string()),
                fee: Some("21000".into()),
                status: if failed {
                    TxStatus::Failed
                } else {
                    TxStatus::Succeeded
                },
                failure: failed.then(|| Failure {
                    kind: FailureKind::Reverted,
                    code: None,
                    message: "scripted revert".into(),
                    location: None,
                    raw: "{}".into(),
                }),
                extra: serde_json::Value::Null,
            }
        })
        .collect();
    Block {
        chain: chain.clone(),
        block_ref: BlockRef::new(height, hash),
        parent_hash,
        timestamp_ms: 1_700_000_000_000 + height * 12_000,
        txs,
    }
}

#[async_trait]
impl ChainAdapter for ScriptedChain {
    fn chain(&self) -> &ChainId {
        &self.chain
    }

    fn finality_model(&self) -> FinalityModel {
        FinalityModel::Probabilistic {
            max_reorg_depth: self.max_reorg_depth,
        }
    }

    async fn head(&self, at: Finality) -> Result<Option<BlockRef>, FetchError> {
        self.check_failure()?;
        let s = self.lock();
        let lag = match at {
            Finality::Pending | Finality::Included => 0,
            Finality::Safe => s.safe_lag,
            Finality::Finalized => s.finalized_lag,
        };
        let idx = (s.blocks.len() - 1).saturating_sub(lag as usize);
        Ok(s.blocks.get(idx).map(|b| b.block_ref.clone()))
    }

    async fn block(&self, height: u64) -> Result<Option<Block>, FetchError> {
        self.check_failure()?;
        Ok(self.lock().blocks.get(height as usize).cloned())
    }

    async fn block_ref(&self, height: u64) -> Result<Option<BlockRef>, FetchError> {
        self.check_failure()?;
        Ok(self
            .lock()
            .blocks
            .get(height as usize)
            .map(|b| b.block_ref.clone()))
    }

    async fn provider_heads(&self) -> Vec<ProviderHead> {
        vec![ProviderHead {
            provider: "scripted".into(),
            height: Some(self.head_ref().height),
            error: None,
            health: 1.0,
            state: Default::default(),
        }]
    }
}

/// Builds one chain's envelope stream with consecutive `seq` numbers starting at 1, for tests
/// that feed the store or consumer directly.
#[derive(Debug)]
pub struct Feed {
    chain: ChainId,
    seq: u64,
}

impl Feed {
    /// A stream for `chain`, starting at seq 1.
    pub fn new(chain: &ChainId) -> Self {
        Self {
            chain: chain.clone(),
            seq: 0,
        }
    }

    /// Wraps `event` in the next envelope.
    pub fn env(&mut self, event: chainwatch_schema::ChainEvent) -> chainwatch_schema::Envelope {
        self.seq += 1;
        chainwatch_schema::Envelope::new(self.chain.clone(), self.seq, event)
    }

    /// One `Apply` envelope per block.
    pub fn apply_all(&mut self, blocks: &[Block]) -> Vec<chainwatch_schema::Envelope> {
        blocks
            .iter()
            .map(|b| self.env(chainwatch_schema::ChainEvent::Apply { block: b.clone() }))
            .collect()
    }

    /// A `Finality` envelope.
    pub fn finality(&mut self, safe: &Block, finalized: &Block) -> chainwatch_schema::Envelope {
        self.env(chainwatch_schema::ChainEvent::Finality {
            safe: Some(safe.block_ref.clone()),
            finalized: Some(finalized.block_ref.clone()),
        })
    }

    /// A `Revert` envelope back to `to`.
    pub fn revert(
        &mut self,
        to: &Block,
        from: &Block,
        new_head: &Block,
    ) -> chainwatch_schema::Envelope {
        self.env(chainwatch_schema::ChainEvent::Revert {
            to: to.block_ref.clone(),
            from: from.block_ref.clone(),
            new_head: new_head.block_ref.clone(),
        })
    }

    /// A `Heartbeat` envelope.
    pub fn heartbeat(
        &mut self,
        at_ms: u64,
        heads: Vec<ProviderHead>,
    ) -> chainwatch_schema::Envelope {
        self.env(chainwatch_schema::ChainEvent::Heartbeat { at_ms, heads })
    }
}
