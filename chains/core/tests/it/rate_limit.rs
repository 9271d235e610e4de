//! Per-provider rate limits (`max_rps`). Bounded correctness checks of the limiter, not
//! benchmarks: 6 requests at 20 rps must take at least 5 × 50 ms.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chainwatch_testkit::RpcStub;

use crate::common::{block_number, fast_cfg, pool, provider};

const RPS: f64 = 20.0;
const N: u32 = 6;

fn min_elapsed() -> Duration {
    Duration::from_secs_f64(f64::from(N - 1) / RPS)
}

#[tokio::test(flavor = "multi_thread")]
async fn sequential_requests_are_spaced() {
    let stub = RpcStub::eth().await;
    let mut p = provider("limited", stub.url(), 1);
    p.max_rps = Some(RPS);
    let pool = pool(vec![p], fast_cfg());

    let started = Instant::now();
    for _ in 0..N {
        assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= min_elapsed(),
        "{N} requests at {RPS} rps took {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "limiter far too slow: {elapsed:?}"
    );
    assert_eq!(stub.requests(), u64::from(N));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_are_spaced() {
    let stub = RpcStub::eth().await;
    let mut p = provider("limited", stub.url(), 1);
    p.max_rps = Some(RPS);
    let pool = Arc::new(pool(vec![p], fast_cfg()));

    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..N {
        let pool = pool.clone();
        calls.spawn(async move {
            block_number(&pool).await.unwrap();
            Instant::now()
        });
    }
    let mut done = Vec::new();
    while let Some(t) = calls.join_next().await {
        done.push(t.unwrap());
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= min_elapsed(),
        "{N} concurrent requests at {RPS} rps took {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "limiter far too slow: {elapsed:?}"
    );
    // No burst: by 120 ms in, at most 3 requests (t = 0, 50, 100 ms) can have finished.
    let early = done
        .iter()
        .filter(|t| t.duration_since(started) < Duration::from_millis(120))
        .count();
    assert!(early <= 3, "{early} requests finished in the first 120 ms");
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_is_per_provider() {
    // An unlimited provider is not slowed down by another provider's limit.
    let stub = RpcStub::eth().await;
    let mut limited = provider("limited", stub.url(), 1);
    limited.max_rps = Some(1.0);
    let free = provider("free", stub.url(), 2);
    let pool = pool(vec![limited, free], fast_cfg());
    let started = Instant::now();
    for _ in 0..N {
        block_number(&pool).await.unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}
