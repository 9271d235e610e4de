//! A call fails over from a provider that fails in each way real providers do to a healthy one.

use std::time::{Duration, Instant};

use chainwatch_chain_core::{PoolConfig, RpcError};
use chainwatch_testkit::{Fault, FaultProxy, RpcStub};
use serde_json::json;

use crate::common::{block_number, fast_cfg, health, pool, provider};

/// `bad` (preferred by weight) injects `fault`; `good` answers. The call must succeed through
/// `good`, the failure must be recorded against `bad`, and a direct call to `bad` must fail with
/// `reason`.
async fn fails_over_from(fault: Fault, reason: &str) {
    let stub = RpcStub::eth().await;
    let bad = FaultProxy::start(stub.url()).await;
    bad.set(fault).await;
    let pool = pool(
        vec![
            provider("bad", bad.url(), 2),
            provider("good", stub.url(), 1),
        ],
        fast_cfg(),
    );

    let started = Instant::now();
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    // One request timeout at most (the hanging case), not the whole attempt budget.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let (b, g) = (health(&pool, "bad"), health(&pool, "good"));
    assert_eq!((b.requests, b.failures), (1, 1), "{b:?}");
    // The error rate fades with a half-life of `breaker_cooldown` (1 s) once idle.
    assert!(b.error_rate > 0.5, "{b:?}");
    assert!(b.score < g.score, "{b:?} {g:?}");
    assert_eq!((g.requests, g.failures), (1, 0), "{g:?}");
    assert_eq!(bad.requests(), 0, "the fault proxy forwarded a request");
    let reached = u64::from(fault != Fault::Down);
    assert_eq!(bad.received(), reached);

    // The next call goes straight to the healthy provider.
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert_eq!(health(&pool, "bad").requests, 1);
    assert_eq!(health(&pool, "good").requests, 2);

    let err: RpcError = pool
        .request_on::<String>(0, "eth_blockNumber", json!([]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.provider.as_str(), err.reason),
        ("bad", reason),
        "{err}"
    );
    assert_eq!(health(&pool, "bad").failures, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_over_from_http_500() {
    fails_over_from(Fault::Http500, "http_5xx").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_over_from_http_429() {
    fails_over_from(Fault::Http429, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_over_from_garbage_body() {
    fails_over_from(Fault::Garbage, "decode").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_over_from_hanging_provider() {
    fails_over_from(Fault::Hang, "timeout").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_over_from_refused_connection() {
    fails_over_from(Fault::Down, "connect").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fails_over_from_json_rpc_server_error() {
    let flaky = RpcStub::start(|_, _| Err((-32000, "header not found".to_owned()))).await;
    let stub = RpcStub::eth().await;
    let pool = pool(
        vec![
            provider("flaky", flaky.url(), 2),
            provider("good", stub.url(), 1),
        ],
        fast_cfg(),
    );
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert_eq!(health(&pool, "flaky").failures, 1);
    let err = pool
        .request_on::<String>(0, "eth_blockNumber", json!([]))
        .await
        .unwrap_err();
    assert_eq!((err.reason, err.code), ("rpc_error", Some(-32000)), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_that_goes_down_mid_session_fails_over() {
    // Pooled keep-alive connections to a provider that then closes its port must not wedge calls.
    let stub = RpcStub::eth().await;
    let flaky = FaultProxy::start(stub.url()).await;
    let pool = pool(
        vec![
            provider("flaky", flaky.url(), 2),
            provider("good", stub.url(), 1),
        ],
        fast_cfg(),
    );
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert_eq!(flaky.requests(), 1);

    flaky.set(Fault::Down).await;
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert_eq!(health(&pool, "flaky").failures, 1);
    assert_eq!(health(&pool, "good").requests, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn null_result_decodes_only_into_option() {
    let stub = RpcStub::start(|_, _| Ok(serde_json::Value::Null)).await;
    let pool = pool(vec![provider("only", stub.url(), 1)], fast_cfg());
    let none: Option<String> = pool
        .request("eth_getBlockByNumber", json!(["0x99", false]))
        .await
        .unwrap();
    assert_eq!(none, None);
    let err = pool
        .request_on::<String>(0, "eth_getBlockByNumber", json!(["0x99", false]))
        .await
        .unwrap_err();
    assert_eq!(err.reason, "decode", "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recovered_provider_regains_preference() {
    // One failure must not demote the preferred provider for good: its error rate fades while
    // it is idle, and it is tried again.
    let stub = RpcStub::eth().await;
    let main = FaultProxy::start(stub.url()).await;
    main.set(Fault::Http500).await;
    let cfg = PoolConfig {
        breaker_cooldown: Duration::from_millis(600),
        ..fast_cfg()
    };
    let pool = pool(
        vec![
            provider("main", main.url(), 2),
            provider("backup", stub.url(), 1),
        ],
        cfg,
    );
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    main.set(Fault::None).await;
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    assert_eq!(
        main.requests(),
        0,
        "a provider that just failed was preferred"
    );

    // Two half-lives later its error rate is a quarter: weight 2 × 0.75 beats 1 again, and a
    // success only lowers it further.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for _ in 0..3 {
        assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    }
    assert_eq!(main.requests(), 3);
    assert_eq!(health(&pool, "backup").requests, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_failing_mid_stream_hands_over() {
    let stub = RpcStub::eth().await;
    let main = FaultProxy::start(stub.url()).await;
    main.set(Fault::FailAfter(2)).await;
    let pool = pool(
        vec![
            provider("main", main.url(), 2),
            provider("backup", stub.url(), 1),
        ],
        fast_cfg(),
    );
    // Every call succeeds. `main` has a clean record, so it keeps its preference through its
    // first failures (the error rate is a moving average) until `breaker_threshold` (3) failures
    // in a row open its circuit; from then on only `backup` is asked.
    for _ in 0..8 {
        assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    }
    assert_eq!((main.requests(), main.received()), (2, 5));
    let (m, b) = (health(&pool, "main"), health(&pool, "backup"));
    assert_eq!(
        (m.requests, m.failures, m.circuit_open),
        (5, 3, true),
        "{m:?}"
    );
    assert_eq!((b.requests, b.failures), (6, 0), "{b:?}");
}

#[tokio::test]
async fn providers_set_aside_by_the_quorum_get_no_requests() {
    use chainwatch_schema::ProviderState;
    let stub = RpcStub::eth().await;
    let fork = FaultProxy::start(stub.url()).await;
    let pool = pool(
        vec![
            provider("fork", fork.url(), 5),
            provider("good", stub.url(), 1),
        ],
        fast_cfg(),
    );
    pool.set_states(&[Some(ProviderState::Divergent), None]);
    assert_eq!(
        pool.states(),
        [ProviderState::Divergent, ProviderState::Following]
    );
    for _ in 0..5 {
        assert_eq!(block_number(&pool).await.unwrap(), "0x10");
    }
    assert_eq!(fork.received(), 0, "a divergent provider was asked");
    // A per-provider call still reaches it, so that the next quorum round can hear it.
    pool.request_on::<String>(0, "eth_blockNumber", json!([]))
        .await
        .unwrap();
    assert_eq!(fork.received(), 1);
    // Back in agreement: it is preferred again (by weight).
    pool.set_states(&[Some(ProviderState::Following), None]);
    block_number(&pool).await.unwrap();
    assert_eq!(fork.received(), 2);
}

/// Solana: "node is behind" (-32005) fails over to the next provider under its own reason; a
/// skipped slot (-32007, -32009) is an answer, returned at once as a permanent `slot_skipped`
/// with no retry, no failover and no mark against the provider.
#[tokio::test]
async fn solana_node_behind_fails_over_and_skipped_slots_are_answers() {
    let behind =
        RpcStub::start(|_, _| Err((-32005, "Node is behind by 42 slots".to_owned()))).await;
    let good = RpcStub::eth().await;
    let p = pool(
        vec![
            provider("behind", behind.url(), 2),
            provider("good", good.url(), 1),
        ],
        fast_cfg(),
    );
    assert_eq!(block_number(&p).await.unwrap(), "0x10");
    assert_eq!(health(&p, "behind").failures, 1);
    let err = p
        .request_on::<String>(0, "eth_blockNumber", json!([]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.reason, err.code),
        ("node_behind", Some(-32005)),
        "{err}"
    );

    for code in [-32007, -32009] {
        let skipped = RpcStub::start(move |_, _| {
            Err((
                code,
                "Slot 5 was skipped, or missing in long-term storage".to_owned(),
            ))
        })
        .await;
        let other = RpcStub::start(move |_, _| Err((code, "Slot 5 was skipped".to_owned()))).await;
        let p = pool(
            vec![
                provider("a", skipped.url(), 2),
                provider("b", other.url(), 1),
            ],
            fast_cfg(),
        );
        let e = p
            .request::<serde_json::Value>("getBlock", json!([5]))
            .await
            .unwrap_err();
        assert_eq!(e.reason(), "slot_skipped", "{e}");
        assert!(!e.is_retryable());
        assert_eq!(
            (skipped.requests(), other.requests()),
            (1, 0),
            "code {code}"
        );
        assert_eq!(health(&p, "a").failures, 0);
    }
    // "Block not available for slot": an answer too (the adapter retries it later); EIP-1474's
    // -32004 "method not supported" of an EVM node is not matched.
    let not_yet =
        RpcStub::start(|_, _| Err((-32004, "Block not available for slot 5".to_owned()))).await;
    let p = pool(vec![provider("a", not_yet.url(), 1)], fast_cfg());
    let e = p
        .request::<serde_json::Value>("getBlock", json!([5]))
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "block_not_available", "{e}");
    assert_eq!((not_yet.requests(), health(&p, "a").failures), (1, 0));
    let evm = RpcStub::start(|_, _| Err((-32004, "method not supported".to_owned()))).await;
    let p = pool(vec![provider("a", evm.url(), 1)], fast_cfg());
    let e = p
        .request::<serde_json::Value>("eth_foo", json!([]))
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "rpc_error", "{e}");
}
