//! `trace` of Solana signatures against the mock node: failed (with the reason from the logs),
//! included at each commitment, unknown, malformed.

use std::sync::Arc;

use chainwatch_chain_core::{ChainAdapter, EndpointPool, PoolConfig, ProviderConfig};
use chainwatch_chain_solana::{SolanaAdapter, SolanaOptions};
use chainwatch_schema::{FailureKind, Finality, TraceStatus};
use chainwatch_testkit::solana::{MockNode, standard_chain};

const FAILED: &str =
    "xjUw3f94FvbbGkhkokevTUn6aY4bHPcbnkF7ybe3MnM6a9DEEbkrURT5DP4JtnFJtpE7nLeX4qF27inBxXxnqi6";
const V0: &str =
    "5X7cr7bxjwoWvWFvSmVfmF3PhYcid4ojtNGYiDsRRP6P5cfzkahxbZfwH4YDdhy9RnSEyaT255aDw14vis5Qxvqh";
const IN_1003: &str =
    "4H6uGfHviqT87Au64fv9t7AQHYd75SZPa7NMsX2fZixdcwZgpPB11b4cQq65JVM4EzppLmNPt2d8cGeFY9ys1dBH";

#[tokio::test]
async fn trace_signatures() {
    let node = MockNode::start(standard_chain()).await;
    let id: chainwatch_schema::ChainId = "solana:mainnet".parse().unwrap();
    let pool = Arc::new(
        EndpointPool::new(
            id.clone(),
            vec![ProviderConfig::new("mock", node.url())],
            PoolConfig::default(),
        )
        .unwrap(),
    );
    let a = SolanaAdapter::connect(id, pool, SolanaOptions::default())
        .await
        .unwrap();

    let t = a.trace(FAILED).await.unwrap();
    assert_eq!(t.status, TraceStatus::Failed);
    assert_eq!(t.finality, Some(Finality::Finalized));
    assert_eq!(t.block.as_ref().map(|b| b.height), Some(1000));
    let f = t.failure.as_ref().unwrap();
    assert_eq!(
        (f.kind, f.code.as_deref()),
        (FailureKind::ProgramError, Some("0"))
    );
    assert!(f.message.contains("VoteTooOld"), "{}", f.message);
    assert_eq!(
        t.facts.sender.as_deref(),
        Some("2ZjcDzwmkptGyD43siZDf4wCjM3NL7pQksmwbsKvYF1N")
    );
    assert!(
        t.message
            .starts_with("landed in slot 1000 (finalized) and failed: instruction 0"),
        "{}",
        t.message
    );

    let t = a.trace(V0).await.unwrap();
    assert_eq!(
        (t.status, t.finality),
        (TraceStatus::Included, Some(Finality::Finalized))
    );
    assert_eq!(t.block.unwrap().hash, node.with(|c| c.hash(1002)));

    let t = a.trace(IN_1003).await.unwrap();
    assert_eq!(
        (t.status, t.finality),
        (TraceStatus::Included, Some(Finality::Safe))
    );
    node.with(|c| c.confirmed = 1002);
    let t = a.trace(IN_1003).await.unwrap();
    assert_eq!(
        (t.status, t.finality),
        (TraceStatus::Included, Some(Finality::Included))
    );

    // A well-formed signature nobody knows.
    let unknown = format!("{}{}", &FAILED[..80], "11111111");
    let t = a.trace(&unknown).await.unwrap();
    assert_eq!(t.status, TraceStatus::NotFound);
    assert!(
        t.message.contains("more than 150 blocks old"),
        "{}",
        t.message
    );

    let e = a.trace("0xabc").await.unwrap_err();
    assert_eq!(e.reason(), "invalid_hash");
}
