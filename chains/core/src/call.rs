//! Calls that an adapter makes itself (gRPC, say) through the pool's provider choice, health
//! scores, circuit breaker, rate limits, retry budget, metrics and URL redaction.
//!
//! The pool picks the provider and books the outcome; the adapter only turns one provider index
//! into one call over its own transport ([`EndpointPool::provider_url`] gives the address to
//! connect to, a secret the adapter must not log).

use std::{
    future::Future,
    time::{Duration, Instant},
};

use tracing::{debug, warn};

use super::{Attempt, EndpointPool, ewma};
use crate::{FetchError, RpcError, TRACE_TARGET};

/// How one adapter-made call to one provider failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The provider failed (unavailable, timed out, internal error, undecodable answer): the
    /// pool counts it against the provider and fails over.
    Transient {
        /// Short machine-readable reason (`unavailable`, `timeout`, `decode`, …).
        reason: &'static str,
        /// What happened; the pool scrubs the provider's URL out of it.
        message: String,
    },
    /// The answer is final (an invalid argument, say): another provider would say the same. No
    /// failover, no health penalty.
    Permanent {
        /// Short machine-readable reason.
        reason: &'static str,
        /// What happened; scrubbed like transient messages.
        message: String,
    },
}

impl EndpointPool {
    /// The URL of the provider at configuration index `idx`, for an adapter that opens its own
    /// connection (gRPC). A secret: never log it or put it in an error.
    pub fn provider_url(&self, idx: usize) -> Option<&str> {
        self.providers.get(idx).map(|p| p.url.as_str())
    }

    /// Removes the provider's URL, host and path from `text` (for a transport error message the
    /// adapter formats itself).
    pub fn scrub(&self, idx: usize, text: &str) -> String {
        match self.providers.get(idx) {
            Some(p) => p.redactor.scrub(text),
            None => text.to_owned(),
        }
    }

    /// Makes a call with failover: `call(idx)` is the adapter's call to the provider at
    /// configuration index `idx`. Same policy as [`Self::request`]: the healthiest following
    /// provider first, each transient failure booked against its provider (circuit breaker
    /// included) and retried on the next one, a backoff after each full round, at most
    /// `max_attempts` in all; a permanent answer is returned at once. Each attempt is bounded by
    /// `request_timeout`. `method` names the call in metrics and logs (a fixed name).
    pub async fn call<T, F, Fut>(&self, method: &'static str, call: F) -> Result<T, FetchError>
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let call = &call;
        self.failover(method, |idx| async move {
            self.call_on(idx, method, call(idx))
                .await
                .map_err(|(e, transient)| {
                    if transient {
                        Attempt::Transient(e)
                    } else {
                        Attempt::Permanent(e)
                    }
                })
        })
        .await
    }

    /// Runs one adapter-made call on provider `idx` (no failover) after its rate-limit slot and
    /// books the outcome: duration histogram, error counter, latency and error averages,
    /// circuit breaker. The error says whether it was transient (`true`). Used by
    /// [`Self::call`], and directly for per-provider checks (chain id, head).
    pub async fn call_on<T>(
        &self,
        idx: usize,
        method: &'static str,
        call: impl Future<Output = Result<T, CallError>>,
    ) -> Result<T, (RpcError, bool)> {
        let Some(p) = self.providers.get(idx) else {
            return Err((
                RpcError {
                    provider: String::new(),
                    reason: "no_such_provider",
                    code: None,
                    message: format!("no provider at index {idx}"),
                    data: None,
                },
                false,
            ));
        };
        let err = |reason: &'static str, message: String| RpcError {
            provider: p.label.clone(),
            reason,
            code: None,
            message: p.redactor.scrub(&message),
            data: None,
        };
        let timeout = self.cfg.request_timeout;
        let attempt = async {
            match tokio::time::timeout(timeout, call).await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(CallError::Transient { reason, message })) => {
                    Err(Attempt::Transient(err(reason, message)))
                }
                Ok(Err(CallError::Permanent { reason, message })) => {
                    Err(Attempt::Permanent(err(reason, message)))
                }
                Err(_) => Err(Attempt::Transient(err(
                    "timeout",
                    format!("no answer within {} ms", timeout.as_millis()),
                ))),
            }
        };
        self.observe(idx, method, attempt)
            .await
            .map_err(|e| match e {
                Attempt::Transient(e) => (e, true),
                Attempt::Permanent(e) => (e, false),
            })
    }

    /// Books one call's outcome against provider `idx` (`transient` = the failure reason, `None`
    /// for a success or a permanent answer): the duration histogram, the error counter, the
    /// provider's latency and error averages and its circuit breaker. Every request (JSON-RPC,
    /// REST, adapter-made) is booked here.
    pub(super) fn book(
        &self,
        idx: usize,
        method: &'static str,
        elapsed: Duration,
        transient: Option<&'static str>,
    ) {
        let p = &self.providers[idx];
        metrics::histogram!(
            "chainwatch_rpc_request_duration_seconds",
            "chain" => self.chain.to_string(),
            "provider" => p.label.clone(),
            "method" => method,
        )
        .record(elapsed.as_secs_f64());
        let mut h = p.health();
        h.requests += 1;
        let now = Instant::now();
        let error_rate = h.error_rate(now, self.cfg.breaker_cooldown);
        h.sampled_at = now;
        h.latency_ewma = ewma(h.latency_ewma, elapsed.as_secs_f64(), h.requests);
        match transient {
            None => {
                h.error_ewma = ewma(error_rate, 0.0, h.requests);
                if h.open_until.is_some() {
                    debug!(target: TRACE_TARGET, chain = %self.chain, provider = %p.label, "circuit closed");
                }
                h.consecutive_failures = 0;
                h.open_until = None;
                h.cooldown = self.cfg.breaker_cooldown;
            }
            Some(reason) => {
                h.failures += 1;
                h.error_ewma = ewma(error_rate, 1.0, h.requests);
                h.consecutive_failures += 1;
                metrics::counter!(
                    "chainwatch_rpc_errors_total",
                    "chain" => self.chain.to_string(),
                    "provider" => p.label.clone(),
                    "reason" => reason,
                )
                .increment(1);
                if h.consecutive_failures >= self.cfg.breaker_threshold {
                    if h.open_until.is_some() {
                        h.cooldown = (h.cooldown * 2).min(self.cfg.breaker_max_cooldown);
                    }
                    h.open_until = Some(Instant::now() + h.cooldown);
                    warn!(
                        target: TRACE_TARGET,
                        chain = %self.chain,
                        provider = %p.label,
                        consecutive_failures = h.consecutive_failures,
                        cooldown_ms = h.cooldown.as_millis() as u64,
                        "circuit opened for provider"
                    );
                }
            }
        }
    }
}
