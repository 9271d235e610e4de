//! Fetching a block's receipts: `eth_getBlockReceipts` by block hash, or one
//! `eth_getTransactionReceipt` per transaction when the providers lack it.

use std::sync::atomic::Ordering;

use chainwatch_chain_core::FetchError;
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::json;
use tracing::warn;

use crate::{
    EvmAdapter, TRACE_TARGET,
    rpc::{RpcBlock, RpcReceipt, RpcTransaction, hex},
};

impl EvmAdapter {
    /// The receipts of `block`, index-aligned with its transactions (not yet checked against
    /// them; [`crate::normalize::check_receipts`] does that).
    ///
    /// Asked by block hash, so a reorg between the block read and this one shows up as `null`
    /// or as receipts of another block, never as a silent mix of two blocks.
    pub(crate) async fn receipts(&self, block: &RpcBlock) -> Result<Vec<RpcReceipt>, FetchError> {
        if !self.per_tx_receipts.load(Ordering::Relaxed) {
            let answer = self
                .pool
                .request::<Option<Vec<RpcReceipt>>>("eth_getBlockReceipts", json!([block.hash]))
                .await;
            match answer {
                Ok(Some(receipts)) => return Ok(receipts),
                Ok(None) => {
                    return Err(reorged(
                        block,
                        "eth_getBlockReceipts returned null for its hash",
                    ));
                }
                Err(FetchError::Permanent {
                    reason: "method_not_found",
                    ..
                }) => {
                    if !self.per_tx_receipts.swap(true, Ordering::Relaxed) {
                        warn!(
                            target: TRACE_TARGET,
                            chain = %self.chain,
                            concurrency = self.opts.receipt_concurrency.max(1),
                            "a provider lacks eth_getBlockReceipts; reading receipts one \
                             transaction at a time from now on"
                        );
                    }
                }
                Err(e) => return Err(e),
            }
        }
        self.receipts_per_tx(block).await
    }

    /// One `eth_getTransactionReceipt` per transaction, `receipt_concurrency` at a time, in
    /// block order. A missing receipt means the block left the canonical chain (or the
    /// provider asked has not seen it yet): [`FetchError::Transient`] `reorged_during_fetch`.
    pub(crate) async fn receipts_per_tx(
        &self,
        block: &RpcBlock,
    ) -> Result<Vec<RpcReceipt>, FetchError> {
        // The futures are built before the stream: with the closure inside the stream, the
        // compiler cannot show the future is `Send` for every lifetime, as `async_trait` needs.
        let fetches: Vec<_> = block
            .transactions
            .iter()
            .map(|tx| self.receipt(block, tx))
            .collect();
        stream::iter(fetches)
            .buffered(self.opts.receipt_concurrency.max(1))
            .try_collect()
            .await
    }

    async fn receipt(
        &self,
        block: &RpcBlock,
        tx: &RpcTransaction,
    ) -> Result<RpcReceipt, FetchError> {
        self.pool
            .request::<Option<RpcReceipt>>("eth_getTransactionReceipt", json!([tx.hash]))
            .await?
            .ok_or_else(|| {
                reorged(
                    block,
                    &format!("transaction {} has no receipt", hex(tx.hash)),
                )
            })
    }
}

/// The block changed while its receipts were read; the caller retries.
fn reorged(block: &RpcBlock, detail: &str) -> FetchError {
    FetchError::transient(
        "reorged_during_fetch",
        format!(
            "block {} ({}) changed while its receipts were read: {detail}",
            block.number.to::<u64>(),
            hex(block.hash)
        ),
    )
}
