//! What `chainwatch decode` prints: the normalized transactions found in raw RPC files.
//!
//! Every chain family's offline decoder produces this one shape, so that a script reading
//! `decode` output never branches on the family. Transaction fields (`hash`, `status`,
//! `failure {kind, code, message, location, raw}` …) use the same names and values as GraphQL.

use serde::{Deserialize, Serialize};

use crate::{Block, BlockRef, ChainId, Transaction};

/// The result of decoding a set of raw RPC files of one chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decoded {
    /// The chain the files came from.
    pub chain: ChainId,
    /// Blocks found in the files, without their transactions (those are in `transactions`), in
    /// height order.
    pub blocks: Vec<DecodedBlock>,
    /// Every transaction found, in block order; transactions decoded without their block (a
    /// single transaction or receipt file) come after those with one, in file order.
    pub transactions: Vec<DecodedTransaction>,
}

/// A block's header facts, as [`Decoded`] lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedBlock {
    /// Height and hash.
    #[serde(rename = "ref")]
    pub block_ref: BlockRef,
    /// The parent's hash.
    pub parent_hash: String,
    /// Block time, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// How many transactions the block holds.
    pub tx_count: usize,
}

/// A normalized transaction with the block it was found in, when known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodedTransaction {
    /// The block holding it; absent when only the transaction (or its receipt) was decoded and
    /// it names no block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<BlockRef>,
    /// The transaction.
    #[serde(flatten)]
    pub tx: Transaction,
}

impl Decoded {
    /// An empty result for `chain`.
    pub fn new(chain: ChainId) -> Self {
        Self {
            chain,
            blocks: Vec::new(),
            transactions: Vec::new(),
        }
    }

    /// Adds a whole block: its header to `blocks` and its transactions to `transactions`, keeping
    /// blocks in height order.
    pub fn push_block(&mut self, block: Block) {
        let at = self
            .blocks
            .partition_point(|b| b.block_ref.height <= block.block_ref.height);
        let tx_at = self
            .transactions
            .iter()
            .position(|t| {
                t.block
                    .as_ref()
                    .is_none_or(|b| b.height > block.block_ref.height)
            })
            .unwrap_or(self.transactions.len());
        self.blocks.insert(
            at,
            DecodedBlock {
                block_ref: block.block_ref.clone(),
                parent_hash: block.parent_hash,
                timestamp_ms: block.timestamp_ms,
                tx_count: block.txs.len(),
            },
        );
        let block_ref = block.block_ref;
        self.transactions.splice(
            tx_at..tx_at,
            block.txs.into_iter().map(|tx| DecodedTransaction {
                block: Some(block_ref.clone()),
                tx,
            }),
        );
    }

    /// Adds a transaction found without its block (or with only its block ref).
    pub fn push_transaction(&mut self, block: Option<BlockRef>, tx: Transaction) {
        self.transactions.push(DecodedTransaction { block, tx });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TxStatus;

    fn tx(hash: &str) -> Transaction {
        Transaction {
            hash: hash.into(),
            index: 0,
            sender: None,
            to: None,
            nonce: None,
            value: None,
            fee: None,
            status: TxStatus::Succeeded,
            failure: None,
            extra: serde_json::Value::Null,
        }
    }

    fn block(height: u64, hashes: &[&str]) -> Block {
        Block {
            chain: "evm:1".parse().unwrap(),
            block_ref: BlockRef::new(height, format!("0x{height:x}")),
            parent_hash: "0x0".into(),
            timestamp_ms: 0,
            txs: hashes.iter().map(|h| tx(h)).collect(),
        }
    }

    #[test]
    fn blocks_and_their_transactions_stay_in_height_order() {
        let mut d = Decoded::new("evm:1".parse().unwrap());
        d.push_transaction(None, tx("loose"));
        d.push_block(block(7, &["c"]));
        d.push_block(block(5, &["a", "b"]));
        let heights: Vec<u64> = d.blocks.iter().map(|b| b.block_ref.height).collect();
        assert_eq!(heights, [5, 7]);
        let hashes: Vec<&str> = d.transactions.iter().map(|t| t.tx.hash.as_str()).collect();
        assert_eq!(hashes, ["a", "b", "c", "loose"]);
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["transactions"][0]["block"]["height"], 5);
        assert_eq!(json["transactions"][0]["hash"], "a");
        assert!(json["transactions"][3].get("block").is_none());
        assert_eq!(json["blocks"][1]["tx_count"], 1);
    }
}
