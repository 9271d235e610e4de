//! The circuit breaker: open after `breaker_threshold` consecutive failures, skip while open,
//! probe once the cooldown has passed, close on a successful probe.

use std::time::Duration;

use chainwatch_chain_core::{EndpointPool, PoolConfig};
use chainwatch_testkit::{Fault, FaultProxy, RpcStub};
use serde_json::json;

use crate::common::{block_number, fast_cfg, health, pool, provider};

/// Cooldown of the breaker tests: long enough that a handful of local calls fit in it on a
/// loaded machine.
const COOLDOWN: Duration = Duration::from_millis(500);

/// A little more than one cooldown.
const PAST_COOLDOWN: Duration = Duration::from_millis(550);

/// A pool of `bad` (behind a proxy failing with HTTP 500, preferred by weight) and `good`.
async fn setup() -> (RpcStub, FaultProxy, EndpointPool) {
    let stub = RpcStub::eth().await;
    let bad = FaultProxy::start(stub.url()).await;
    bad.set(Fault::Http500).await;
    let pool = pool(
        vec![
            provider("bad", bad.url(), 2),
            provider("good", stub.url(), 1),
        ],
        PoolConfig {
            breaker_cooldown: COOLDOWN,
            ..fast_cfg()
        },
    );
    (stub, bad, pool)
}

/// Fails `bad` (index 0) `n` times with direct calls, as a per-provider head check would.
async fn fail_directly(pool: &EndpointPool, n: u32) {
    for _ in 0..n {
        let e = pool
            .request_on::<String>(0, "eth_blockNumber", json!([]))
            .await
            .unwrap_err();
        assert_eq!(e.reason, "http_5xx", "{e}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn opens_after_threshold_skips_then_probes_and_closes() {
    let (_stub, bad, pool) = setup().await;
    fail_directly(&pool, 2).await;
    assert!(
        !health(&pool, "bad").circuit_open,
        "opened before the threshold"
    );
    fail_directly(&pool, 1).await;
    let h = health(&pool, "bad");
    assert!(h.circuit_open, "{h:?}");
    assert_eq!(h.score, 0.0);

    // While open, `bad` gets nothing.
    for _ in 0..5 {
        assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    }
    assert_eq!(bad.received(), 3);
    assert_eq!(health(&pool, "bad").requests, 3);
    assert_eq!(health(&pool, "good").requests, 5);

    // After the cooldown the next call probes `bad`, which has recovered.
    bad.set(Fault::None).await;
    tokio::time::sleep(PAST_COOLDOWN).await;
    assert!(!health(&pool, "bad").circuit_open);
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert_eq!(bad.requests(), 1, "the half-open provider was not probed");
    let h = health(&pool, "bad");
    assert_eq!(
        (h.requests, h.failures, h.circuit_open),
        (4, 3, false),
        "{h:?}"
    );
    assert_eq!(health(&pool, "good").requests, 5);

    // Closed means the failure streak restarted: one failure does not reopen it.
    bad.set(Fault::Http500).await;
    fail_directly(&pool, 1).await;
    assert!(!health(&pool, "bad").circuit_open);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_probe_reopens_with_doubled_cooldown() {
    let (_stub, bad, pool) = setup().await;
    fail_directly(&pool, 3).await;
    assert!(health(&pool, "bad").circuit_open);

    tokio::time::sleep(PAST_COOLDOWN).await;
    // The probe fails; the call still succeeds through `good`.
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert_eq!(bad.received(), 4, "the half-open provider was not probed");
    assert!(health(&pool, "bad").circuit_open);

    // The cooldown is now doubled: still open after one cooldown, and skipped.
    tokio::time::sleep(PAST_COOLDOWN).await;
    assert!(health(&pool, "bad").circuit_open);
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert_eq!(bad.received(), 4);

    tokio::time::sleep(COOLDOWN).await;
    assert!(!health(&pool, "bad").circuit_open);
    bad.set(Fault::None).await;
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert_eq!(bad.requests(), 1);
    assert!(!health(&pool, "bad").circuit_open);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_one_call_probes_a_half_open_provider() {
    let (_stub, bad, pool) = setup().await;
    bad.set(Fault::Hang).await;
    let pool = std::sync::Arc::new(pool);
    for _ in 0..3 {
        let e = pool
            .request_on::<String>(0, "eth_blockNumber", json!([]))
            .await
            .unwrap_err();
        assert_eq!(e.reason, "timeout", "{e}");
    }
    assert!(health(&pool, "bad").circuit_open);
    tokio::time::sleep(PAST_COOLDOWN).await;

    // Four concurrent calls while `bad` is half-open: one probe (which hangs and times out),
    // the rest go to `good`.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let pool = pool.clone();
        calls.spawn(async move { block_number(&pool).await });
    }
    while let Some(r) = calls.join_next().await {
        assert_eq!(r.unwrap().unwrap(), "0x10");
    }
    assert_eq!(
        bad.received(),
        4,
        "more than one call probed the half-open provider"
    );
    assert!(health(&pool, "bad").circuit_open);
}

#[tokio::test(flavor = "multi_thread")]
async fn all_circuits_open_still_sends_and_recovers() {
    // Both providers fail until both circuits are open; then `b` recovers. Calls must still go
    // out (to the circuit that reopens soonest) and find `b`.
    let stub = RpcStub::eth().await;
    let a = FaultProxy::start(stub.url()).await;
    let b = FaultProxy::start(stub.url()).await;
    a.set(Fault::Http500).await;
    b.set(Fault::Http500).await;
    let mut cfg = fast_cfg();
    cfg.max_attempts = 2;
    cfg.breaker_threshold = 2;
    cfg.breaker_cooldown = Duration::from_secs(5);
    let pool = pool(
        vec![provider("a", a.url(), 2), provider("b", b.url(), 1)],
        cfg,
    );
    for _ in 0..2 {
        let e = block_number(&pool).await.unwrap_err();
        assert_eq!(e.reason(), "http_5xx");
    }
    assert!(
        pool.health().iter().all(|h| h.circuit_open),
        "{:?}",
        pool.health()
    );
    assert_eq!((a.received(), b.received()), (2, 2));

    b.set(Fault::None).await;
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert!(!health(&pool, "b").circuit_open);
    assert!(health(&pool, "a").circuit_open);
}
