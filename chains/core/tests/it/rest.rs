//! REST GETs through the pool (`EndpointPool::get_json`): failover on the faults real providers
//! show, 404 as an answer, 400 as permanent, no URL in errors.

use chainwatch_chain_core::{ErrorChain, FetchError};
use chainwatch_testkit::{Fault, RestStub};
use serde_json::Value;

use crate::common::{fast_cfg, health, pool, provider};

/// A node whose `/v1/thing/<n>` is `{"n": "<n>"}`, `/v1/missing` a JSON 404, `/v1/bad` a JSON 400.
async fn node() -> RestStub {
    RestStub::start("/v1", |path, query| match path {
        "/missing" => (
            404,
            r#"{"message":"Block height 99 not found","error_code":"block_not_found","vm_error_code":null}"#.into(),
        ),
        "/bad" => (
            400,
            r#"{"message":"failed to parse path `txn_hash`","error_code":"web_framework_error","vm_error_code":null}"#.into(),
        ),
        p if p.starts_with("/thing/") => (
            200,
            format!(r#"{{"n":"{}","query":"{query}"}}"#, &p["/thing/".len()..]),
        ),
        _ => (500, "{}".into()),
    })
    .await
}

#[tokio::test]
async fn fails_over_on_429_5xx_garbage_hang_and_down() {
    for (fault, reason) in [
        (Fault::Http429, "rate_limited"),
        (Fault::Http500, "http_5xx"),
        (Fault::Garbage, "decode"),
        (Fault::Hang, "timeout"),
        (Fault::Down, "request"),
    ] {
        let (bad, good) = (node().await, node().await);
        bad.set(fault);
        let pool = pool(
            vec![
                provider("bad", bad.url(), 2),
                provider("good", good.url(), 1),
            ],
            fast_cfg(),
        );
        let v: Value = pool
            .get_json("GET /v1/thing", "/thing/7?x=1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v["n"], "7", "{fault:?}");
        assert_eq!(v["query"], "x=1", "{fault:?}");
        let (b, g) = (health(&pool, "bad"), health(&pool, "good"));
        assert_eq!((b.requests, b.failures), (1, 1), "{fault:?} {b:?}");
        assert_eq!((g.requests, g.failures), (1, 0), "{fault:?} {g:?}");
        assert_eq!(bad.requests(), ["/thing/7?x=1"], "{fault:?}");
        let e = pool
            .get_json_on::<Value>(0, "GET /v1/thing", "/thing/7")
            .await
            .unwrap_err();
        assert_eq!(
            (e.provider.as_str(), e.reason),
            ("bad", reason),
            "{fault:?}: {e}"
        );
    }
}

#[tokio::test]
async fn not_found_with_a_json_body_is_an_answer() {
    let (a, b) = (node().await, node().await);
    let pool = pool(
        vec![provider("a", a.url(), 2), provider("b", b.url(), 1)],
        fast_cfg(),
    );
    let v: Option<Value> = pool.get_json("GET /v1/missing", "/missing").await.unwrap();
    assert!(v.is_none());
    // Asked once, of one provider, with no health penalty.
    assert_eq!(a.requests().len() + b.requests().len(), 1);
    assert_eq!(health(&pool, "a").failures, 0);
}

#[tokio::test]
async fn not_found_without_a_json_body_fails_over() {
    // `wrong` is configured without the `/v1` prefix: its server answers a plain-text 404.
    let (wrong, good) = (node().await, node().await);
    let wrong_url = wrong.url().trim_end_matches("/v1").to_owned() + "/api";
    let pool = pool(
        vec![
            provider("wrong", wrong_url, 2),
            provider("good", good.url(), 1),
        ],
        fast_cfg(),
    );
    let v: Value = pool
        .get_json("GET /v1/thing", "/thing/1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["n"], "1");
    let h = health(&pool, "wrong");
    assert_eq!((h.requests, h.failures), (1, 1));
}

#[tokio::test]
async fn bad_request_is_permanent_and_quotes_the_node() {
    let n = node().await;
    let pool = pool(vec![provider("only", n.url(), 1)], fast_cfg());
    let e = pool
        .get_json::<Value>("GET /v1/bad", "/bad")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::Permanent {
                reason: "invalid_request",
                ..
            }
        ),
        "{e:?}"
    );
    let text = ErrorChain(&e).to_string();
    assert!(text.contains("failed to parse path `txn_hash`"), "{text}");
    assert!(text.contains("provider `only`"), "{text}");
    assert_eq!(n.requests().len(), 1, "a 400 must not be retried");
}

#[tokio::test]
async fn all_failing_is_transient_and_never_shows_the_url() {
    let n = node().await;
    n.set(Fault::Http500);
    let url = n.url_with_secret("SECRETKEY0123456789");
    let pool = pool(vec![provider("keyed", url, 1)], fast_cfg());
    let e = pool
        .get_json::<Value>("GET /v1/thing", "/thing/1")
        .await
        .unwrap_err();
    assert_eq!(e.reason(), "http_5xx");
    let text = format!("{} {e:?}", ErrorChain(&e));
    assert!(!text.contains("SECRETKEY"), "{text}");
    assert!(!text.contains("127.0.0.1"), "{text}");
    assert!(text.contains("keyed"), "{text}");
    // The budget: max(3, 2 × providers) attempts.
    assert_eq!(n.requests().len(), 3);
    assert!(n.requests().iter().all(|r| r == "/thing/1"));
}
