//! What a call returns when it cannot succeed: a transient error after the attempt budget, or a
//! permanent one at once when another provider would answer the same.

use std::time::{Duration, Instant};

use chainwatch_chain_core::{ErrorChain, FetchError};
use chainwatch_testkit::{Fault, FaultProxy, RpcStub};
use serde_json::json;

use crate::common::{block_number, fast_cfg, health, pool, provider};

#[tokio::test(flavor = "multi_thread")]
async fn all_providers_failing_is_transient_after_the_attempt_budget() {
    let stub = RpcStub::eth().await;
    let a = FaultProxy::start(stub.url()).await;
    let b = FaultProxy::start(stub.url()).await;
    a.set(Fault::Http500).await;
    b.set(Fault::Garbage).await;
    // Default budget: max(3, 2 × providers) = 4 attempts.
    let pool = pool(
        vec![provider("a", a.url(), 1), provider("b", b.url(), 1)],
        fast_cfg(),
    );

    let started = Instant::now();
    let err = block_number(&pool).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let FetchError::Transient { reason, .. } = &err else {
        panic!("expected a transient error, got {err:?}");
    };
    assert!(["http_5xx", "decode"].contains(reason), "{reason}");
    assert!(err.is_retryable());
    assert_eq!(a.received() + b.received(), 4);
    assert_eq!(
        (a.received(), b.received()),
        (2, 2),
        "both providers share the budget"
    );
    let text = ErrorChain(&err).to_string();
    assert!(text.starts_with("transient fetch error ("), "{text}");
    assert!(
        text.contains("provider `a`") || text.contains("provider `b`"),
        "{text}"
    );

    let total: u64 = pool.health().iter().map(|h| h.failures).sum();
    assert_eq!(total, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn explicit_attempt_budget_is_respected() {
    let stub = RpcStub::eth().await;
    let a = FaultProxy::start(stub.url()).await;
    a.set(Fault::Http429).await;
    let mut cfg = fast_cfg();
    cfg.max_attempts = 5;
    cfg.breaker_threshold = 100;
    let pool = pool(vec![provider("a", a.url(), 1)], cfg);
    let err = block_number(&pool).await.unwrap_err();
    assert_eq!(err.reason(), "rate_limited");
    assert_eq!(a.received(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn method_not_found_is_permanent_without_failover() {
    let first = RpcStub::eth().await;
    let second = RpcStub::eth().await;
    let pool = pool(
        vec![
            provider("first", first.url(), 2),
            provider("second", second.url(), 1),
        ],
        fast_cfg(),
    );
    let err = pool
        .request::<serde_json::Value>("eth_noSuchMethod", json!([]))
        .await
        .unwrap_err();
    let FetchError::Permanent { reason, .. } = &err else {
        panic!("expected a permanent error, got {err:?}");
    };
    assert_eq!(*reason, "method_not_found");
    assert!(!err.is_retryable());
    assert_eq!(
        (first.requests(), second.requests()),
        (1, 0),
        "failed over on -32601"
    );
    let text = ErrorChain(&err).to_string();
    assert!(
        text.contains("provider `first`") && text.contains("-32601"),
        "{text}"
    );
    // A provider that answered is healthy, even if the answer is an error.
    let h = health(&pool, "first");
    assert_eq!(
        (h.requests, h.failures, h.circuit_open),
        (1, 0, false),
        "{h:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_params_is_permanent_without_failover() {
    let first = RpcStub::start(|_, _| Err((-32602, "invalid argument 0".to_owned()))).await;
    let second = RpcStub::eth().await;
    let pool = pool(
        vec![
            provider("first", first.url(), 2),
            provider("second", second.url(), 1),
        ],
        fast_cfg(),
    );
    let err = block_number(&pool).await.unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::Permanent {
                reason: "invalid_params",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(second.requests(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_rpc_rate_limit_errors_are_transient() {
    let limited =
        RpcStub::start(|_, _| Err((-32005, "daily request count exceeded".to_owned()))).await;
    let worded =
        RpcStub::start(|_, _| Err((-32000, "Too Many Requests, slow down".to_owned()))).await;
    let pool = pool(
        vec![
            provider("limited", limited.url(), 2),
            provider("worded", worded.url(), 1),
        ],
        fast_cfg(),
    );
    for idx in 0..2 {
        let e = pool
            .request_on::<String>(idx, "eth_blockNumber", json!([]))
            .await
            .unwrap_err();
        assert_eq!(e.reason, "rate_limited", "{e}");
    }
    let err = block_number(&pool).await.unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::Transient {
                reason: "rate_limited",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn request_on_unknown_index_is_an_error() {
    let stub = RpcStub::eth().await;
    let pool = pool(vec![provider("only", stub.url(), 1)], fast_cfg());
    let e = pool
        .request_on::<String>(1, "eth_blockNumber", json!([]))
        .await
        .unwrap_err();
    assert_eq!(e.reason, "no_such_provider");
    assert_eq!(stub.requests(), 0);
}

/// A reverted `eth_call` (anvil answers code 3 with the revert data) is the node's answer, not a
/// provider fault: permanent, no failover, the provider stays healthy, and `data` keeps the
/// revert bytes for the caller to decode.
#[tokio::test(flavor = "multi_thread")]
async fn execution_reverted_is_an_answer_with_its_data() {
    use chainwatch_chain_core::RpcError;
    use chainwatch_testkit::{
        Anvil,
        evm::{deploy, error_string, reverting_runtime},
    };
    let anvil = Anvil::spawn(&[]).await;
    let second = RpcStub::eth().await;
    let from = anvil.accounts().await[0].clone();
    let payload = error_string("nope");
    let reverter = deploy(&anvil, &from, &reverting_runtime(&payload)).await;
    let pool = pool(
        vec![
            provider("anvil", anvil.url(), 2),
            provider("second", second.url(), 1),
        ],
        fast_cfg(),
    );
    let err = pool
        .request::<serde_json::Value>(
            "eth_call",
            json!([{"to": reverter, "data": "0x"}, "latest"]),
        )
        .await
        .unwrap_err();
    let FetchError::Permanent { reason, source } = &err else {
        panic!("expected a permanent error, got {err:?}");
    };
    assert_eq!(*reason, "execution_reverted");
    let rpc = source.downcast_ref::<RpcError>().expect("an RpcError");
    let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(rpc.data, Some(json!(format!("0x{hex}"))), "{rpc:?}");
    assert_eq!(second.requests(), 0, "failed over on a revert");
    let h = health(&pool, "anvil");
    assert_eq!((h.failures, h.circuit_open), (0, false), "{h:?}");
}
