//! The scripted Aptos node of `chainwatch-testkit` ([`AptosNode`]) over this crate's
//! `testdata/`: block 10000 as recorded, then blocks 10001–10004 holding one recorded user
//! transaction each (3517584511, 3521662834, 3556737308 (failed), 4120398629) under made-up
//! headers; block 9999's header is made up too (see `testkit/src/aptos.rs`).

use chainwatch_testkit::{AptosNode, aptos_chain};

pub(crate) use chainwatch_testkit::{
    APTOS_USER_TXNS as USER_TXNS, aptos_made_up_hash as made_up_hash,
};

/// A node of `aptos:1` serving the scripted chain at head `head`.
pub(crate) async fn start(head: u64) -> AptosNode {
    AptosNode::start(aptos_chain(&crate::golden::testdata("")), head).await
}
