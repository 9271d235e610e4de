//! `REPLACED` and `DROPPED`: what a trace says of a transaction no provider knows any more,
//! from what the watch list remembers of it ([`SeenTx`]).

use alloy_primitives::{Address, B256, U256, keccak256};
use chainwatch_chain_core::FetchError;
use chainwatch_schema::{BlockRef, ReplacementKind, SeenTx, TraceFacts, TraceStatus, TxTrace};
use serde_json::json;

use super::{FullBlock, TxObject, wei};
use crate::{
    EvmAdapter,
    rpc::{hex, quantity},
};

/// How far below the head a replacement is searched for when the watch list does not know
/// where the transaction was last seen.
const DEFAULT_SEARCH_DEPTH: u64 = 256;

/// How many times the replacement search steps [`DEFAULT_SEARCH_DEPTH`] further back when the
/// nonce was already used where the transaction was last seen.
const MAX_STEPS_BACK: u32 = 4;

/// How a replacement relates to the transaction it replaced.
fn classify(seen: &SeenTx, r: &TxObject) -> ReplacementKind {
    let value = r.value.unwrap_or_default();
    let sender = seen.sender.to_ascii_lowercase();
    if r.to.map(hex).as_deref() == Some(sender.as_str()) && value.is_zero() && r.input.is_empty() {
        return ReplacementKind::Cancel;
    }
    let same_to = r.to.map(hex) == seen.to;
    let same_value = seen.value.as_deref().is_none_or(|v| v == value.to_string());
    let same_input = seen
        .input_hash
        .as_deref()
        .is_none_or(|h| h == hex(keccak256(&r.input)));
    if same_to && same_value && same_input {
        ReplacementKind::SpeedUp
    } else {
        ReplacementKind::Other
    }
}

/// The replacement described for a message.
fn describe_replacement(kind: ReplacementKind, seen: &SeenTx, r: &TxObject) -> String {
    let fee = |v: Option<U256>| v.map_or_else(|| "unknown".to_owned(), wei);
    let old_fee = seen.max_fee.as_deref().and_then(|f| f.parse::<U256>().ok());
    match kind {
        ReplacementKind::SpeedUp => format!(
            "a speed-up: the same call with a max fee of {} instead of {}",
            fee(r.fee_cap()),
            fee(old_fee)
        ),
        ReplacementKind::Cancel => {
            "a cancel: a zero-value transfer from the sender to itself with no data".to_owned()
        }
        ReplacementKind::Other => "a different transaction with the same nonce".to_owned(),
    }
}

impl EvmAdapter {
    /// No provider knows `hash`, which was seen as `seen` before: replaced or dropped.
    pub(super) async fn forgotten(
        &self,
        hash: B256,
        seen: &SeenTx,
        head: Option<u64>,
    ) -> Result<TxTrace, FetchError> {
        let sender: Address = seen.sender.parse().map_err(|_| {
            FetchError::permanent(
                "invalid_seen",
                format!("remembered sender {:?} is not an EVM address", seen.sender),
            )
        })?;
        let account = self.nonce_at(sender, "latest").await?;
        if account > seen.nonce {
            return self.replaced(hash, seen, account, head).await;
        }
        let mut facts = TraceFacts {
            sender: Some(hex(sender)),
            nonce: Some(seen.nonce),
            account_nonce: Some(account),
            to: seen.to.clone(),
            value: seen.value.clone(),
            input_hash: seen.input_hash.clone(),
            max_fee: seen.max_fee.clone(),
            ..TraceFacts::default()
        };
        if let Some(r) = self
            .mempool_of(sender)
            .await
            .and_then(|mut p| p.remove(&seen.nonce))
            .filter(|r| r.hash != hash)
        {
            let kind = classify(seen, &r);
            let mut t = TxTrace::new(
                TraceStatus::Replaced,
                format!(
                    "replaced: nonce {} of {} now belongs to {}, {}, which is pending in the \
                     mempool",
                    seen.nonce,
                    hex(sender),
                    hex(r.hash),
                    describe_replacement(kind, seen, &r)
                ),
            );
            facts.replaced_by = Some(hex(r.hash));
            facts.replacement = Some(kind);
            t.facts = facts;
            return Ok(t);
        }
        let mut t = TxTrace::new(
            TraceStatus::Dropped,
            format!(
                "dropped: no provider knows it any more and nonce {} of {} is still unused (the \
                 sender's next nonce is {account}); it will not be mined unless it is sent again",
                seen.nonce,
                hex(sender)
            ),
        );
        t.facts = facts;
        Ok(t)
    }

    /// The sender's nonce `account` has passed `seen.nonce`: finds the mined transaction that
    /// took it.
    pub(super) async fn replaced(
        &self,
        hash: B256,
        seen: &SeenTx,
        account: u64,
        head: Option<u64>,
    ) -> Result<TxTrace, FetchError> {
        let sender: Address = seen.sender.parse().map_err(|_| {
            FetchError::permanent(
                "invalid_seen",
                format!("remembered sender {:?} is not an EVM address", seen.sender),
            )
        })?;
        let found = match head {
            Some(head) => self.find_replacement(sender, seen, head).await,
            None => None,
        };
        let mut facts = TraceFacts {
            sender: Some(hex(sender)),
            nonce: Some(seen.nonce),
            account_nonce: Some(account),
            to: seen.to.clone(),
            value: seen.value.clone(),
            input_hash: seen.input_hash.clone(),
            max_fee: seen.max_fee.clone(),
            ..TraceFacts::default()
        };
        let message = match &found {
            Some((r, block)) if r.hash != hash => {
                let kind = classify(seen, r);
                facts.replaced_by = Some(hex(r.hash));
                facts.replacement = Some(kind);
                facts.extra = json!({"replaced_in_block": block});
                format!(
                    "replaced: nonce {} of {} was used by {}, {}, mined in block {} ({})",
                    seen.nonce,
                    hex(sender),
                    hex(r.hash),
                    describe_replacement(kind, seen, r),
                    block.height,
                    block.hash
                )
            }
            _ => format!(
                "replaced: nonce {} of {} was used by another transaction (the sender's next nonce \
                 is {account}), which chainwatch could not find in the blocks since this one was \
                 last seen",
                seen.nonce,
                hex(sender)
            ),
        };
        let mut t = TxTrace::new(TraceStatus::Replaced, message);
        t.facts = facts;
        Ok(t)
    }

    /// The mined transaction of `sender` with `seen.nonce` and its block: the lowest height in
    /// (last seen, head] where the sender's nonce exceeds it (binary search), then that block.
    /// `None` when the state or block cannot be read (pruned history) or nothing matches.
    async fn find_replacement(
        &self,
        sender: Address,
        seen: &SeenTx,
        head: u64,
    ) -> Option<(TxObject, BlockRef)> {
        let mut lo = seen
            .seen_height
            .unwrap_or_else(|| head.saturating_sub(DEFAULT_SEARCH_DEPTH))
            .min(head);
        // Invariant: the nonce at `lo` is not past `seen.nonce`, the nonce at `hi` is.
        let mut steps_back = 0;
        while lo > 0 && self.nonce_at(sender, &quantity(lo)).await.ok()? > seen.nonce {
            // Mined at or before where it was last seen (a lagging provider): look a little
            // further back, not through the whole history.
            steps_back += 1;
            if steps_back > MAX_STEPS_BACK {
                return None;
            }
            lo = lo.saturating_sub(DEFAULT_SEARCH_DEPTH);
        }
        let mut hi = head;
        if self.nonce_at(sender, &quantity(hi)).await.ok()? <= seen.nonce {
            return None;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.nonce_at(sender, &quantity(mid)).await.ok()? > seen.nonce {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let block: Option<FullBlock> = self
            .pool
            .request("eth_getBlockByNumber", json!([quantity(hi), true]))
            .await
            .ok()?;
        let block = block?;
        let block_ref = BlockRef::new(hi, hex(block.hash));
        block
            .transactions
            .into_iter()
            .find(|t| t.from == sender && t.nonce() == seen.nonce)
            .map(|t| (t, block_ref))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen() -> SeenTx {
        SeenTx {
            sender: "0x00000000000000000000000000000000000000aa".into(),
            nonce: 3,
            to: Some("0x00000000000000000000000000000000000000bb".into()),
            value: Some("5".into()),
            input_hash: Some(hex(keccak256([1u8, 2]))),
            max_fee: Some("2000000000".into()),
            seen_height: Some(10),
        }
    }

    fn obj(to: &str, value: u64, input: &[u8]) -> TxObject {
        serde_json::from_value(json!({
            "hash": B256::ZERO, "from": "0x00000000000000000000000000000000000000aa",
            "to": to, "nonce": "0x3", "value": format!("0x{value:x}"),
            "input": format!("0x{}", input.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            "maxFeePerGas": "0xb2d05e00",
        }))
        .unwrap()
    }

    #[test]
    fn replacements_are_classified() {
        let s = seen();
        let bb = "0x00000000000000000000000000000000000000bb";
        let aa = "0x00000000000000000000000000000000000000aa";
        assert_eq!(classify(&s, &obj(bb, 5, &[1, 2])), ReplacementKind::SpeedUp);
        assert_eq!(classify(&s, &obj(aa, 0, &[])), ReplacementKind::Cancel);
        assert_eq!(classify(&s, &obj(bb, 6, &[1, 2])), ReplacementKind::Other);
        assert_eq!(classify(&s, &obj(bb, 5, &[1])), ReplacementKind::Other);
        let m = describe_replacement(ReplacementKind::SpeedUp, &s, &obj(bb, 5, &[1, 2]));
        assert!(
            m.contains("3000000000 wei (3 gwei)") && m.contains("2000000000 wei (2 gwei)"),
            "{m}"
        );
    }
}
