//! `EndpointPool::call`: calls an adapter makes over its own transport (gRPC) get the pool's
//! provider choice, failover, health booking, breaker and URL redaction.

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use chainwatch_chain_core::{CallError, ErrorChain, FetchError, PoolConfig};

use crate::common::{fast_cfg, health, pool, provider};

const BAD_URL: &str = "http://secret-host.example:1/key-abc123";

#[tokio::test]
async fn fails_over_and_books_health() {
    let pool = pool(
        vec![
            provider("bad", BAD_URL.into(), 2),
            provider("good", "http://good.example:2/".into(), 1),
        ],
        fast_cfg(),
    );
    let calls = AtomicU32::new(0);
    let got = pool
        .call("GetCheckpoint", |idx| {
            calls.fetch_add(1, Ordering::Relaxed);
            let url = pool.provider_url(idx).unwrap().to_owned();
            async move {
                if idx == 0 {
                    Err(CallError::Transient {
                        reason: "unavailable",
                        message: format!("connection refused by {url}"),
                    })
                } else {
                    Ok(idx)
                }
            }
        })
        .await
        .unwrap();
    assert_eq!(got, 1);
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    let (b, g) = (health(&pool, "bad"), health(&pool, "good"));
    assert_eq!((b.requests, b.failures), (1, 1), "{b:?}");
    assert_eq!((g.requests, g.failures), (1, 0), "{g:?}");
    assert!(b.score < g.score, "{b:?} {g:?}");
    // The next call goes to the healthy provider first.
    let first = pool
        .call(
            "GetCheckpoint",
            |idx| async move { Ok::<_, CallError>(idx) },
        )
        .await
        .unwrap();
    assert_eq!(first, 1);
}

#[tokio::test]
async fn permanent_answer_is_not_retried_and_url_is_scrubbed() {
    let pool = pool(
        vec![
            provider("bad", BAD_URL.into(), 2),
            provider("good", "http://good.example:2/".into(), 1),
        ],
        fast_cfg(),
    );
    let calls = AtomicU32::new(0);
    let err = pool
        .call("GetCheckpoint", |idx| {
            calls.fetch_add(1, Ordering::Relaxed);
            let url = pool.provider_url(idx).unwrap().to_owned();
            async move {
                Err::<(), _>(CallError::Permanent {
                    reason: "invalid_argument",
                    message: format!("bad request to {url}"),
                })
            }
        })
        .await
        .unwrap_err();
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert!(matches!(
        err,
        FetchError::Permanent {
            reason: "invalid_argument",
            ..
        }
    ));
    let text = ErrorChain(&err).to_string();
    assert!(
        !text.contains("secret-host") && !text.contains("abc123"),
        "{text}"
    );
    assert!(text.contains("provider `bad`"), "{text}");
    // A permanent answer is not the provider's fault.
    assert_eq!(health(&pool, "bad").failures, 0);
}

#[tokio::test]
async fn every_provider_failing_is_transient_after_the_budget_and_opens_circuits() {
    let cfg = PoolConfig {
        max_attempts: 6,
        request_timeout: Duration::from_millis(50),
        ..fast_cfg()
    };
    let pool = pool(
        vec![
            provider("a", "http://a.example/".into(), 1),
            provider("b", "http://b.example/".into(), 1),
        ],
        cfg,
    );
    let calls = AtomicU32::new(0);
    let err = pool
        .call("GetServiceInfo", |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            // Never answers: each attempt ends at the request timeout.
            std::future::pending::<Result<(), CallError>>()
        })
        .await
        .unwrap_err();
    assert_eq!(calls.load(Ordering::Relaxed), 6);
    assert!(
        matches!(
            err,
            FetchError::Transient {
                reason: "timeout",
                ..
            }
        ),
        "{err:?}"
    );
    for label in ["a", "b"] {
        let h = health(&pool, label);
        assert_eq!((h.requests, h.failures), (3, 3), "{h:?}");
        assert!(h.circuit_open, "{h:?}");
    }
}
