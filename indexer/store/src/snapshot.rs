//! A deterministic dump of a chain's canonical tables, for comparing two indexes of the same
//! chain (a live index after reorgs against a clean replay).

use chainwatch_schema::ChainId;

use crate::{Store, StoreError};

impl Store {
    /// Every canonical row of `chain` (blocks, transactions, address rows), one line each, in a
    /// fixed order. Two indexes of the same chain produce equal snapshots.
    pub async fn snapshot(&self, chain: &ChainId) -> Result<Vec<String>, StoreError> {
        let lines: Vec<String> = sqlx::query_scalar(
            "SELECT line FROM (
                 SELECT 1 AS t, height AS h, 0 AS i, '' AS k,
                        concat_ws('|', 'block', height, hash, parent_hash, block_time, tx_count) AS line
                 FROM blocks WHERE chain_id = $1
                 UNION ALL
                 SELECT 2, block_height, tx_index, hash,
                        concat_ws('|', 'tx', hash, block_height, block_hash, tx_index, sender,
                                  recipient, nonce, value, fee, status, failure::text, extra::text)
                 FROM transactions WHERE chain_id = $1
                 UNION ALL
                 SELECT 3, block_height, tx_index, address,
                        concat_ws('|', 'addr', address, block_height, tx_index)
                 FROM address_transactions WHERE chain_id = $1
             ) s ORDER BY t, h, i, k",
        )
        .bind(chain.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(lines)
    }
}
