//! REST GETs through the same providers, failover, health scores, circuit breaker, rate limits,
//! metrics and URL redaction as JSON-RPC calls (Aptos speaks REST).
//!
//! A child module of `pool` so that it shares the pool's private bookkeeping
//! (`EndpointPool::observe`, `pick`) instead of copying it.

use serde::de::DeserializeOwned;
use tracing::warn;

use super::{Attempt, EndpointPool, Provider, classify_reqwest};
use crate::{Backoff, FetchError, RpcError, TRACE_TARGET};

/// How much of an error body an error message quotes.
const MAX_BODY_SHOWN: usize = 300;

impl EndpointPool {
    /// `GET <provider URL><path_and_query>` with failover, decoded from JSON into `T`.
    ///
    /// - `route` is a fixed name for metrics and logs, e.g. `GET /v1/blocks/by_height`: it is the
    ///   `method` label of `chainwatch_rpc_request_duration_seconds`, so it must never hold values
    ///   (heights, hashes, addresses).
    /// - `path_and_query` starts with `/` and is appended to the provider's URL (a query string
    ///   in the provider's URL, such as an API key, is kept and merged); `""` or `/` asks for the
    ///   provider URL itself (the Aptos ledger info at `/v1`).
    /// - `Ok(None)`: the provider answered **404 with a JSON error body** (Aptos `block_not_found`,
    ///   `transaction_not_found`, `account_not_found` …): the thing does not exist there (yet).
    ///   That is an answer, not a provider fault, like a JSON-RPC `null` result. A 404 without
    ///   a JSON body (a wrong base path, a proxy's page) is a provider fault and fails over.
    /// - HTTP 400 is returned at once as [`FetchError::Permanent`] `invalid_request`: another
    ///   provider would reject the same request.
    /// - Timeouts, connection errors, HTTP 429 (`rate_limited`), 5xx (`http_5xx`), 410
    ///   (`pruned`: another provider may keep older data), other 4xx (`http_4xx`) and
    ///   undecodable bodies (`decode`) are transient: recorded against the provider, the call
    ///   fails over, backs off and goes round again up to the attempt budget, then returns
    ///   [`FetchError::Transient`] with the last reason.
    ///
    /// Errors name providers by label; the URL (host, path, key) never appears.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path_and_query: &str,
    ) -> Result<Option<T>, FetchError> {
        let n = self.providers.len();
        let max_attempts = if self.cfg.max_attempts == 0 {
            (2 * n as u32).max(3)
        } else {
            self.cfg.max_attempts
        };
        let mut tried = vec![false; n];
        let mut backoff = Backoff::new(self.cfg.backoff_base, self.cfg.backoff_max);
        let mut last: Option<RpcError> = None;
        for attempt in 0..max_attempts {
            let idx = match self.pick(&tried) {
                Some(i) => i,
                None => {
                    tokio::time::sleep(backoff.next_delay()).await;
                    tried.iter_mut().for_each(|t| *t = false);
                    self.pick(&tried).unwrap_or(0)
                }
            };
            tried[idx] = true;
            let p = &self.providers[idx];
            match self
                .observe(idx, route, self.get_inner::<T>(p, path_and_query))
                .await
            {
                Ok(v) => return Ok(v),
                Err(Attempt::Permanent(e)) => {
                    return Err(FetchError::Permanent {
                        reason: e.reason,
                        source: Box::new(e),
                    });
                }
                Err(Attempt::Transient(e)) => {
                    warn!(
                        target: TRACE_TARGET,
                        chain = %self.chain,
                        provider = %e.provider,
                        method = route,
                        reason = e.reason,
                        error = %e.message,
                        remaining_attempts = max_attempts - attempt - 1,
                        "rest request failed; failing over"
                    );
                    last = Some(e);
                }
            }
        }
        let e = last.unwrap_or_else(|| RpcError {
            provider: String::new(),
            reason: "no_attempt",
            code: None,
            message: "no attempt was made".into(),
            data: None,
        });
        Err(FetchError::Transient {
            reason: e.reason,
            source: Box::new(e),
        })
    }

    /// [`EndpointPool::get_json`] on one provider (by configuration index), with no failover:
    /// for per-provider checks such as its chain id or head. Health and metrics are booked as
    /// for any request.
    pub async fn get_json_on<T: DeserializeOwned>(
        &self,
        idx: usize,
        route: &'static str,
        path_and_query: &str,
    ) -> Result<Option<T>, RpcError> {
        let Some(p) = self.providers.get(idx) else {
            return Err(RpcError {
                provider: String::new(),
                reason: "no_such_provider",
                code: None,
                message: format!("no provider at index {idx}"),
                data: None,
            });
        };
        self.observe(idx, route, self.get_inner::<T>(p, path_and_query))
            .await
            .map_err(|e| match e {
                Attempt::Permanent(e) | Attempt::Transient(e) => e,
            })
    }

    async fn get_inner<T: DeserializeOwned>(
        &self,
        p: &Provider,
        path_and_query: &str,
    ) -> Result<Option<T>, Attempt> {
        let err = |reason: &'static str, code: Option<i64>, message: String| RpcError {
            provider: p.label.clone(),
            reason,
            code,
            message: p.redactor.scrub(&message),
            data: None,
        };
        let url = join_url(&p.url, path_and_query);
        let resp = self
            .client
            .get(&url)
            .timeout(self.cfg.request_timeout)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| Attempt::Transient(classify_reqwest(&e, &err)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Attempt::Transient(classify_reqwest(&e, &err)))?;
        if status.is_success() {
            return serde_json::from_slice::<T>(&bytes).map(Some).map_err(|e| {
                Attempt::Transient(err("decode", None, format!("undecodable response: {e}")))
            });
        }
        // An error body: Aptos sends `{"message", "error_code", "vm_error_code"}`.
        let body: Option<serde_json::Value> = serde_json::from_slice(&bytes)
            .ok()
            .filter(serde_json::Value::is_object);
        let described = |what: &str| match &body {
            Some(b) => format!(
                "HTTP {status}{what}: {}",
                shorten(
                    b.get("message")
                        .and_then(|m| m.as_str())
                        .unwrap_or_default()
                )
            ),
            None => format!("HTTP {status}{what}"),
        };
        let code = body
            .as_ref()
            .and_then(|b| b.get("vm_error_code"))
            .and_then(serde_json::Value::as_i64);
        let with_body = |mut e: RpcError| {
            e.data = body.clone();
            e
        };
        Err(match status.as_u16() {
            404 if body.is_some() => return Ok(None),
            404 => Attempt::Transient(err(
                "http_4xx",
                None,
                format!("HTTP {status} without a JSON error body (is the URL the API root?)"),
            )),
            400 => Attempt::Permanent(with_body(err(
                "invalid_request",
                code,
                described(" (request rejected)"),
            ))),
            410 => Attempt::Transient(with_body(err("pruned", code, described(" (pruned)")))),
            429 => Attempt::Transient(err("rate_limited", code, described(""))),
            s if (500..600).contains(&s) => {
                Attempt::Transient(err("http_5xx", code, described("")))
            }
            _ => Attempt::Transient(with_body(err("http_4xx", code, described("")))),
        })
    }
}

/// `base` (a provider URL, maybe with a query such as an API key) joined with `path_and_query`.
fn join_url(base: &str, path_and_query: &str) -> String {
    let (base, base_query) = base.split_once('?').unwrap_or((base, ""));
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let path = path.trim_start_matches('/');
    let mut url = base.trim_end_matches('/').to_owned();
    if !path.is_empty() {
        url.push('/');
        url.push_str(path);
    }
    let queries: Vec<&str> = [query, base_query]
        .into_iter()
        .filter(|q| !q.is_empty())
        .collect();
    if !queries.is_empty() {
        url.push('?');
        url.push_str(&queries.join("&"));
    }
    url
}

/// At most [`MAX_BODY_SHOWN`] characters of `s`.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(MAX_BODY_SHOWN) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::join_url;

    #[test]
    fn joins_paths_and_keeps_the_key_query() {
        assert_eq!(
            join_url(
                "https://n.example/v1",
                "/blocks/by_height/5?with_transactions=true"
            ),
            "https://n.example/v1/blocks/by_height/5?with_transactions=true"
        );
        assert_eq!(
            join_url("https://n.example/v1/", "/"),
            "https://n.example/v1"
        );
        assert_eq!(join_url("https://n.example/v1", ""), "https://n.example/v1");
        assert_eq!(
            join_url(
                "https://n.example/v1?apikey=K",
                "/transactions?start=1&limit=2"
            ),
            "https://n.example/v1/transactions?start=1&limit=2&apikey=K"
        );
    }
}
