//! Protection of the HTTP endpoint: per-client rate limit, and the error bodies the HTTP layer
//! answers with before GraphQL runs (oversized body, not a GraphQL request, rate limited, query
//! timeout). Every such body is a GraphQL response whose error carries `extensions.code`.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;

/// A per-client request rate limit (token bucket).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests per second a client may sustain.
    pub per_second: f64,
    /// Requests a client may send at once after being idle.
    pub burst: u32,
}

/// The GraphQL-shaped error body the HTTP layer answers with.
pub(crate) fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    let body =
        json!({"data": null, "errors": [{"message": message, "extensions": {"code": code}}]});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Client buckets, keyed by client address.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    /// Take the client address from the last value of this header (set by a trusted proxy).
    client_header: Option<String>,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets kept before idle ones are dropped.
const MAX_CLIENTS: usize = 10_000;

impl Limiter {
    pub(crate) fn new(limit: RateLimit, client_header: Option<String>) -> Arc<Self> {
        Arc::new(Self {
            limit,
            client_header: client_header.map(|h| h.to_ascii_lowercase()),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// The client's key: the last value of the configured header (the one the trusted proxy
    /// appended; earlier values are the client's own claims), else the peer address.
    fn client(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
        if let Some(name) = &self.client_header
            && let Some(v) = headers.get(name.as_str()).and_then(|v| v.to_str().ok())
            && let Some(last) = v
                .rsplit(',')
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty())
        {
            return last.to_owned();
        }
        peer.map_or_else(|| "unknown".to_owned(), |p| p.ip().to_string())
    }

    /// Takes a token for `client`; `Err(wait)` when it has none left.
    fn take(&self, client: String, now: Instant) -> Result<(), Duration> {
        let RateLimit { per_second, burst } = self.limit;
        let burst = f64::from(burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            // Buckets idle long enough to be full again carry no state: drop them.
            let full_after = Duration::from_secs_f64(burst / per_second);
            buckets.retain(|_, (_, at)| now.duration_since(*at) < full_after);
        }
        let (tokens, at) = buckets.entry(client).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_second))
        }
    }
}

/// Middleware: answers `429` with code `RATE_LIMITED` and `Retry-After` when the client is over
/// its rate.
pub(crate) async fn rate_limit(
    State(limiter): State<Arc<Limiter>>,
    req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(p)| *p);
    let client = limiter.client(req.headers(), peer);
    match limiter.take(client, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            metrics::counter!("chainwatch_api_rate_limited_total").increment(1);
            let secs = wait.as_secs().max(1);
            let mut resp = error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                format!(
                    "too many requests from this client (limit {} per second, burst {}); retry in {secs} s",
                    limiter.limit.per_second, limiter.limit.burst
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

/// The code for an error async-graphql raised without one (parse and validation errors).
pub(crate) fn code_for(message: &str) -> &'static str {
    if message.contains("too deep") {
        "QUERY_TOO_DEEP"
    } else if message.contains("too complex") {
        "QUERY_TOO_COMPLEX"
    } else if message.contains("-->") {
        "GRAPHQL_PARSE_FAILED"
    } else {
        "GRAPHQL_VALIDATION_FAILED"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refill_at_the_rate_and_are_per_client() {
        let l = Limiter::new(
            RateLimit {
                per_second: 10.0,
                burst: 3,
            },
            Some("X-Forwarded-For".into()),
        );
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take("a".into(), t0).is_ok());
        }
        let wait = l.take("a".into(), t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert!(
            l.take("b".into(), t0).is_ok(),
            "another client has its own bucket"
        );
        assert!(l.take("a".into(), t0 + Duration::from_millis(100)).is_ok());

        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 10.0.0.7".parse().unwrap());
        assert_eq!(l.client(&h, None), "10.0.0.7");
        let peer: SocketAddr = "192.0.2.1:5555".parse().unwrap();
        assert_eq!(l.client(&HeaderMap::new(), Some(peer)), "192.0.2.1");
    }
}
