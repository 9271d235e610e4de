//! `EndpointPool`: several providers per chain with health scores, failover, a circuit breaker
//! and per-provider rate limits.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chainwatch_schema::{ChainId, ProviderState};
use serde::{Deserialize, de::DeserializeOwned};
use tracing::{Instrument as _, debug, info, warn};

use crate::{Backoff, FetchError, QuorumConfig, Redactor, RpcError, TRACE_TARGET};

/// One provider of a chain, as configured. The URL is a secret: `Debug` hides it.
#[derive(Clone, Deserialize)]
pub struct ProviderConfig {
    /// Name used in logs, metrics and the API.
    pub label: String,
    /// Endpoint URL; may carry an API key.
    pub url: String,
    /// Relative preference among healthy providers (default 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Requests per second this provider may receive from chainwatch; unlimited if absent.
    #[serde(default)]
    pub max_rps: Option<f64>,
}

fn default_weight() -> u32 {
    1
}

impl ProviderConfig {
    /// A provider with weight 1 and no rate limit.
    pub fn new(label: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            url: url.into(),
            weight: 1,
            max_rps: None,
        }
    }
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("label", &self.label)
            .field("url", &"<redacted>")
            .field("weight", &self.weight)
            .field("max_rps", &self.max_rps)
            .finish()
    }
}

/// Timeouts, retry budget and circuit-breaker settings of a pool.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Deadline for one request to one provider, body included.
    pub request_timeout: Duration,
    /// Attempts per call across all providers before giving up with a transient error. `0`
    /// means `max(3, 2 × providers)`.
    pub max_attempts: u32,
    /// First backoff after every provider failed once in a call.
    pub backoff_base: Duration,
    /// Longest backoff within a call.
    pub backoff_max: Duration,
    /// Consecutive failures that open a provider's circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit stays open before a probe; doubles on each failed probe. Also
    /// the half-life over which an idle provider's error rate fades, so that a provider that
    /// failed once is tried again rather than passed over for good.
    pub breaker_cooldown: Duration,
    /// Cap on the cooldown.
    pub breaker_max_cooldown: Duration,
    /// Hedged reads: when the chosen provider has not answered after this long, the same
    /// request also goes to the next-best provider and the first good answer wins. `None`
    /// (the default) turns hedging off. Each hedge costs one extra request; the slow provider's
    /// latency is recorded, so it loses its place to the faster one.
    pub hedge_after: Option<Duration>,
    /// How the providers must agree on the head (used by adapters with several providers).
    pub quorum: QuorumConfig,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            max_attempts: 0,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(5),
            breaker_max_cooldown: Duration::from_secs(60),
            hedge_after: None,
            quorum: QuorumConfig::default(),
        }
    }
}

/// A provider's health as the pool sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderHealth {
    /// The provider's label.
    pub label: String,
    /// Score in `[0, 1]`: 0 when the circuit is open.
    pub score: f64,
    /// Whether the circuit breaker is open (requests skip this provider until its probe).
    pub circuit_open: bool,
    /// Latency moving average, milliseconds.
    pub latency_ms: f64,
    /// Error-rate moving average in `[0, 1]`; fades while the provider is idle, halving every
    /// `breaker_cooldown`.
    pub error_rate: f64,
    /// Requests sent.
    pub requests: u64,
    /// Requests failed.
    pub failures: u64,
}

#[derive(Debug)]
struct Health {
    latency_ewma: f64,
    error_ewma: f64,
    /// When `error_ewma` last took a sample.
    sampled_at: Instant,
    consecutive_failures: u32,
    open_until: Option<Instant>,
    cooldown: Duration,
    requests: u64,
    failures: u64,
}

const EWMA_ALPHA: f64 = 0.2;

impl Health {
    /// `None` while the circuit is open.
    fn score(&self, weight: u32, now: Instant, half_life: Duration) -> Option<f64> {
        if self.open_until.is_some_and(|t| now < t) {
            return None;
        }
        let latency_ms = self.latency_ewma * 1000.0;
        let error = self.error_rate(now, half_life);
        Some(f64::from(weight.max(1)) * (1.0 - error) / (1.0 + latency_ms / 100.0))
    }

    /// The error-rate average, halved for every `half_life` without a sample. Without this fading
    /// a provider whose last request failed would score 0 and, as long as another provider
    /// answers, never be tried again.
    fn error_rate(&self, now: Instant, half_life: Duration) -> f64 {
        if half_life.is_zero() {
            return self.error_ewma;
        }
        let idle = now.saturating_duration_since(self.sampled_at);
        self.error_ewma * 0.5f64.powf(idle.as_secs_f64() / half_life.as_secs_f64())
    }

    /// Whether the circuit was open and its cooldown has passed: the next call should probe.
    fn half_open(&self, now: Instant) -> bool {
        self.open_until.is_some_and(|t| now >= t)
    }
}

struct Provider {
    label: String,
    url: String,
    redactor: Redactor,
    weight: u32,
    min_interval: Option<Duration>,
    next_slot: Mutex<Instant>,
    health: Mutex<Health>,
    /// Set by the head quorum; only `Following` providers receive requests.
    state: Mutex<ProviderState>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL is a secret; the pool's `Debug` must not show it.
        f.debug_struct("Provider")
            .field("label", &self.label)
            .field("url", &"<redacted>")
            .field("weight", &self.weight)
            .field("min_interval", &self.min_interval)
            .finish_non_exhaustive()
    }
}

impl Provider {
    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state(&self) -> ProviderState {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this provider's rate-limit slot.
    async fn rate_limit(&self) {
        let Some(interval) = self.min_interval else {
            return;
        };
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + interval;
            slot
        };
        let wait = slot.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The providers of one chain.
///
/// Each call goes to the healthiest available provider. A transient failure (timeout,
/// connection error, HTTP 429 or 5xx, an undecodable body, a JSON-RPC server error) is recorded
/// against that provider and the call fails over to the next one; after every provider was tried
/// the call backs off and goes round again, up to the attempt budget. A provider that fails
/// `breaker_threshold` times in a row is skipped (circuit open) until its cooldown ends; the next
/// call then probes it. A JSON-RPC "method not found" or "invalid params" answer is returned at
/// once as [`FetchError::Permanent`]: another provider would say the same; so are Solana's "slot
/// was skipped" (-32007, -32009: reason `slot_skipped`) and "block not available for slot"
/// (-32004, -32014: reason `block_not_available`), which are answers, not provider faults. Solana's "node is behind" / "node is
/// unhealthy" (-32005) fails over with reason `node_behind`.
#[derive(Debug)]
pub struct EndpointPool {
    chain: ChainId,
    providers: Vec<Provider>,
    client: reqwest::Client,
    cfg: PoolConfig,
    next_id: AtomicU64,
}

#[derive(Deserialize)]
struct RpcResponse<T> {
    #[serde(default = "Option::default")]
    result: Option<T>,
    #[serde(default)]
    error: Option<RpcErrorObject>,
}

#[derive(Deserialize)]
struct RpcErrorObject {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

impl EndpointPool {
    /// A pool over `providers`. Fails if the list is empty, a label is empty or repeats, a URL is
    /// not a valid `http(s)://` URL with a host, or `max_rps` is not a positive number. The error
    /// never quotes a URL.
    pub fn new(
        chain: ChainId,
        providers: Vec<ProviderConfig>,
        cfg: PoolConfig,
    ) -> Result<Self, FetchError> {
        if providers.is_empty() {
            return Err(FetchError::permanent(
                "invalid_config",
                format!("chain {chain} has an empty provider list"),
            ));
        }
        let invalid = |msg: String| FetchError::permanent("invalid_config", msg);
        let mut seen = std::collections::HashSet::new();
        let mut min_intervals = Vec::with_capacity(providers.len());
        for p in &providers {
            if p.label.trim().is_empty() {
                return Err(invalid(format!(
                    "chain {chain}: a provider has an empty label"
                )));
            }
            if !seen.insert(p.label.as_str()) {
                return Err(invalid(format!(
                    "chain {chain}: provider label `{}` is used twice",
                    p.label
                )));
            }
            if !(p.url.starts_with("http://") || p.url.starts_with("https://")) {
                return Err(invalid(format!(
                    "chain {chain}: provider `{}` URL must start with http:// or https://",
                    p.label
                )));
            }
            // `url::ParseError` messages do not quote the input.
            match reqwest::Url::parse(&p.url) {
                Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => {}
                Ok(_) => {
                    return Err(invalid(format!(
                        "chain {chain}: provider `{}` URL has no host",
                        p.label
                    )));
                }
                Err(e) => {
                    return Err(invalid(format!(
                        "chain {chain}: provider `{}` URL is invalid: {e}",
                        p.label
                    )));
                }
            }
            let min_interval = match p.max_rps {
                None => None,
                Some(r) => match Some(r)
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .and_then(|r| Duration::try_from_secs_f64(1.0 / r).ok())
                {
                    Some(i) => Some(i),
                    None => {
                        return Err(invalid(format!(
                            "chain {chain}: provider `{}` max_rps must be a positive number of \
                             requests per second, got {r}",
                            p.label
                        )));
                    }
                },
            };
            min_intervals.push(min_interval);
        }
        if let Some(q) = cfg.quorum.quorum
            && (q == 0 || q > providers.len())
        {
            return Err(invalid(format!(
                "chain {chain}: quorum must be between 1 and the number of providers ({}), got {q}",
                providers.len()
            )));
        }
        // reqwest is built without a bundled crypto provider; install ring's once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| {
                FetchError::permanent(
                    "invalid_config",
                    format!("http client: {}", e.without_url()),
                )
            })?;
        let now = Instant::now();
        let providers = providers
            .into_iter()
            .zip(min_intervals)
            .map(|(p, min_interval)| Provider {
                redactor: Redactor::new(&p.url, &p.label),
                min_interval,
                next_slot: Mutex::new(now),
                health: Mutex::new(Health {
                    latency_ewma: 0.0,
                    error_ewma: 0.0,
                    sampled_at: now,
                    consecutive_failures: 0,
                    open_until: None,
                    cooldown: cfg.breaker_cooldown,
                    requests: 0,
                    failures: 0,
                }),
                state: Mutex::new(ProviderState::Following),
                label: p.label,
                url: p.url,
                weight: p.weight,
            })
            .collect();
        Ok(Self {
            chain,
            providers,
            client,
            cfg,
            next_id: AtomicU64::new(1),
        })
    }

    /// The chain this pool serves.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// The pool's settings.
    pub fn config(&self) -> &PoolConfig {
        &self.cfg
    }

    /// Provider labels in configuration order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.providers.iter().map(|p| p.label.as_str())
    }

    /// Number of providers.
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    /// Always false: a pool has at least one provider.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// Health of every provider, in configuration order.
    pub fn health(&self) -> Vec<ProviderHealth> {
        let now = Instant::now();
        self.providers
            .iter()
            .map(|p| {
                let h = p.health();
                let score = h.score(p.weight, now, self.cfg.breaker_cooldown);
                ProviderHealth {
                    label: p.label.clone(),
                    score: score.map_or(0.0, |s| (s / f64::from(p.weight.max(1))).clamp(0.0, 1.0)),
                    circuit_open: score.is_none(),
                    latency_ms: h.latency_ewma * 1000.0,
                    error_rate: h.error_rate(now, self.cfg.breaker_cooldown),
                    requests: h.requests,
                    failures: h.failures,
                }
            })
            .collect()
    }

    /// Each provider's state as last set by [`Self::set_states`], in configuration order.
    pub fn states(&self) -> Vec<ProviderState> {
        self.providers.iter().map(Provider::state).collect()
    }

    /// Records the outcome of a head quorum round ([`crate::quorum::agree`]): `Some(state)` for
    /// each provider that took part, `None` to leave a provider as it was. Providers that are
    /// not [`ProviderState::Following`] receive no [`Self::request`] until they are again (a
    /// per-provider [`Self::request_on`] still reaches them, so that the next round can hear
    /// them). Each change is logged with the provider's label.
    pub fn set_states(&self, states: &[Option<ProviderState>]) {
        for (p, new) in self.providers.iter().zip(states) {
            let Some(new) = *new else { continue };
            let mut cur = p.state.lock().unwrap_or_else(|e| e.into_inner());
            if *cur != new {
                if new.is_following() {
                    info!(target: TRACE_TARGET, chain = %self.chain, provider = %p.label, was = cur.as_str(), "provider agrees with the quorum again; following it");
                } else {
                    warn!(target: TRACE_TARGET, chain = %self.chain, provider = %p.label, state = new.as_str(), "provider set aside by the head quorum; not following it");
                }
                *cur = new;
            }
        }
    }

    /// Calls `method` with failover across providers (see the type's docs). A `null` result
    /// decodes only into a `T` that accepts null, such as `Option<_>`.
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> Result<T, FetchError> {
        self.failover(method, |idx| self.send::<T>(idx, method, &params))
            .await
    }

    /// The failover loop every call goes through (JSON-RPC and REST): `call(idx)` makes one
    /// request to provider `idx` (booking its health and metrics). Picks the healthiest untried
    /// provider, hedges a slow attempt (see [`PoolConfig::hedge_after`]), fails over on transient
    /// errors, backs off once every provider was tried, and gives up after the attempt budget
    /// with the last transient error. A permanent answer is returned at once.
    async fn failover<T, F, Fut>(&self, method: &'static str, call: F) -> Result<T, FetchError>
    where
        F: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
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
            match self.hedged(idx, &mut tried, method, &call).await {
                Ok(v) => return Ok(v),
                Err(Attempt::Permanent(e)) => {
                    return Err(FetchError::Permanent {
                        reason: e.reason,
                        source: Box::new(e),
                    });
                }
                Err(Attempt::Transient(e)) => {
                    let remaining = max_attempts - attempt - 1;
                    warn!(
                        target: TRACE_TARGET,
                        chain = %self.chain,
                        provider = %e.provider,
                        method,
                        reason = e.reason,
                        error = %e.message,
                        remaining_attempts = remaining,
                        "request failed; failing over"
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

    /// Calls `method` on one provider (by configuration index) with no failover: used for
    /// per-provider checks such as its chain id or head.
    pub async fn request_on<T: DeserializeOwned>(
        &self,
        idx: usize,
        method: &'static str,
        params: serde_json::Value,
    ) -> Result<T, RpcError> {
        if idx >= self.providers.len() {
            return Err(RpcError {
                provider: String::new(),
                reason: "no_such_provider",
                code: None,
                message: format!("no provider at index {idx}"),
                data: None,
            });
        }
        self.send(idx, method, &params).await.map_err(|e| match e {
            Attempt::Permanent(e) | Attempt::Transient(e) => e,
        })
    }

    /// The provider to try next among those not yet tried in this round, or `None` if all were
    /// tried. A provider whose circuit cooldown has passed comes first: this call probes it, and
    /// its circuit counts as open again until the probe's outcome is known, so that concurrent
    /// calls do not probe it too. Then the best score. Providers with an open circuit come last,
    /// soonest-to-reopen first, so that a call still goes out when every circuit is open.
    fn pick(&self, tried: &[bool]) -> Option<usize> {
        let now = Instant::now();
        let half_life = self.cfg.breaker_cooldown;
        let mut best: Option<(usize, f64)> = None;
        let mut fallback: Option<(usize, Instant)> = None;
        let any_following = self.providers.iter().any(|p| p.state().is_following());
        for (i, p) in self.providers.iter().enumerate() {
            if tried[i] || (any_following && !p.state().is_following()) {
                continue;
            }
            let mut h = p.health();
            if h.half_open(now) {
                h.open_until = Some(now + h.cooldown);
                debug!(target: TRACE_TARGET, chain = %self.chain, provider = %p.label, "probing provider with open circuit");
                return Some(i);
            }
            match h.score(p.weight, now, half_life) {
                Some(s) if best.is_none_or(|(_, b)| s > b) => best = Some((i, s)),
                Some(_) => {}
                None => {
                    let until = h.open_until.unwrap_or(now);
                    if fallback.is_none_or(|(_, f)| until < f) {
                        fallback = Some((i, until));
                    }
                }
            }
        }
        best.map(|(i, _)| i).or(fallback.map(|(i, _)| i))
    }

    /// One attempt on provider `idx`, hedged on the next-best untried provider when
    /// [`PoolConfig::hedge_after`] passes without an answer. The first good (or permanent)
    /// answer wins; when both fail transiently, the later error is returned.
    async fn hedged<T, F, Fut>(
        &self,
        idx: usize,
        tried: &mut [bool],
        method: &'static str,
        call: &F,
    ) -> Result<T, Attempt>
    where
        F: Fn(usize) -> Fut,
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
        let Some(after) = self.cfg.hedge_after.filter(|_| self.providers.len() > 1) else {
            return call(idx).await;
        };
        let started = Instant::now();
        let first = call(idx);
        tokio::pin!(first);
        tokio::select! {
            r = &mut first => return r,
            () = tokio::time::sleep(after) => {}
        }
        let Some(hedge) = self.pick(tried) else {
            return first.await;
        };
        tried[hedge] = true;
        metrics::counter!(
            "chainwatch_rpc_hedged_requests_total",
            "chain" => self.chain.to_string(),
            "provider" => self.providers[hedge].label.clone(),
            "method" => method,
        )
        .increment(1);
        debug!(target: TRACE_TARGET, chain = %self.chain, slow = %self.providers[idx].label, hedge = %self.providers[hedge].label, method, "hedging a slow request");
        let second = call(hedge);
        tokio::pin!(second);
        tokio::select! {
            r = &mut first => match r {
                Err(Attempt::Transient(_)) => second.await,
                r => r,
            },
            r = &mut second => match r {
                Err(Attempt::Transient(_)) => first.await,
                Ok(v) => {
                    // The slow request is dropped unanswered: record how long it had taken, so
                    // that its provider stops being the first choice.
                    self.record_latency(idx, started.elapsed());
                    Ok(v)
                }
                r => r,
            },
        }
    }

    /// Adds a latency sample to a provider's average without counting a request or an error.
    fn record_latency(&self, idx: usize, elapsed: Duration) {
        let mut h = self.providers[idx].health();
        let n = h.requests.max(2);
        h.latency_ewma = ewma(h.latency_ewma, elapsed.as_secs_f64(), n);
    }

    async fn send<T: DeserializeOwned>(
        &self,
        idx: usize,
        method: &'static str,
        params: &serde_json::Value,
    ) -> Result<T, Attempt> {
        let p = &self.providers[idx];
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.observe(idx, method, self.send_inner::<T>(p, &body))
            .await
    }

    /// Runs one request to provider `idx` (a JSON-RPC call or a REST GET) after its rate-limit
    /// slot, and books its outcome: the duration histogram (`method` is a fixed name, never a
    /// path with values), the error counter, the provider's latency and error averages and its
    /// circuit breaker. Success and permanent answers count as healthy.
    async fn observe<T>(
        &self,
        idx: usize,
        method: &'static str,
        call: impl std::future::Future<Output = Result<T, Attempt>>,
    ) -> Result<T, Attempt> {
        let p = &self.providers[idx];
        p.rate_limit().await;
        let started = Instant::now();
        // Log lines (and exported spans) of this request carry the chain, provider label and
        // method; never the URL.
        let span = tracing::info_span!("rpc", chain = %self.chain, provider = %p.label, method);
        let result = call.instrument(span).await;
        let transient = match &result {
            Err(Attempt::Transient(e)) => Some(e.reason),
            _ => None,
        };
        self.book(idx, method, started.elapsed(), transient);
        result
    }

    async fn send_inner<T: DeserializeOwned>(
        &self,
        p: &Provider,
        body: &serde_json::Value,
    ) -> Result<T, Attempt> {
        let err = |reason: &'static str, code: Option<i64>, message: String| RpcError {
            provider: p.label.clone(),
            reason,
            code,
            message: p.redactor.scrub(&message),
            data: None,
        };
        let resp = self
            .client
            .post(&p.url)
            .timeout(self.cfg.request_timeout)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap_or_default())
            .send()
            .await
            .map_err(|e| Attempt::Transient(classify_reqwest(&e, &err)))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Attempt::Transient(classify_reqwest(&e, &err)))?;
        if status.as_u16() == 429 {
            return Err(Attempt::Transient(err(
                "rate_limited",
                None,
                format!("HTTP {status}"),
            )));
        }
        if status.is_server_error() {
            return Err(Attempt::Transient(err(
                "http_5xx",
                None,
                format!("HTTP {status}"),
            )));
        }
        if !status.is_success() {
            return Err(Attempt::Transient(err(
                "http_4xx",
                None,
                format!("HTTP {status}"),
            )));
        }
        let parsed: RpcResponse<T> = serde_json::from_slice(&bytes).map_err(|e| {
            Attempt::Transient(err("decode", None, format!("undecodable response: {e}")))
        })?;
        if let Some(e) = parsed.error {
            let msg = format!("JSON-RPC error {}: {}", e.code, e.message);
            let lower = e.message.to_ascii_lowercase();
            // The node executed the call and it reverted: that is the answer, not a provider
            // fault (no failover, no health penalty), and `data` holds the revert bytes.
            if e.code == 3 || lower.contains("execution reverted") {
                let mut reverted = err("execution_reverted", Some(e.code), msg);
                reverted.data = e.data;
                return Err(Attempt::Permanent(reverted));
            }
            return Err(match e.code {
                -32601 => Attempt::Permanent(err("method_not_found", Some(e.code), msg)),
                -32602 => Attempt::Permanent(err("invalid_params", Some(e.code), msg)),
                // Solana's -32005 is "Node is unhealthy" / "Node is behind by N slots": fail
                // over, under its own label (elsewhere -32005 is a request limit).
                -32005 if lower.contains("behind") || lower.contains("unhealthy") => {
                    Attempt::Transient(err("node_behind", Some(e.code), msg))
                }
                -32005 | -32029 | 429 => Attempt::Transient(err("rate_limited", Some(e.code), msg)),
                // Solana: "Slot N was skipped, or missing due to ledger jump to recent snapshot"
                // (-32007) / "… or missing in long-term storage" (-32009). A skipped slot is the
                // answer, not a fault: no retry, no failover, no health penalty. The adapter
                // tells the two meanings apart with `getBlocks`.
                -32007 | -32009 => Attempt::Permanent(err("slot_skipped", Some(e.code), msg)),
                // Solana: "Block not available for slot N" (-32004), "Block status not yet
                // available for slot N" (-32014): not there yet on this node. Also an answer:
                // the adapter retries later (as `NotFound`) rather than count it against the
                // provider, whose circuit would otherwise open at every new slot. Matched on
                // the message too: EIP-1474 uses -32004 for "method not supported".
                -32004 | -32014 if lower.contains("for slot") => {
                    Attempt::Permanent(err("block_not_available", Some(e.code), msg))
                }
                _ if lower.contains("rate limit") || lower.contains("too many requests") => {
                    Attempt::Transient(err("rate_limited", Some(e.code), msg))
                }
                _ => Attempt::Transient(err("rpc_error", Some(e.code), msg)),
            });
        }
        match parsed.result {
            Some(v) => Ok(v),
            None => T::deserialize(serde_json::Value::Null).map_err(|_| {
                Attempt::Transient(err(
                    "decode",
                    None,
                    "response has a null or no result".into(),
                ))
            }),
        }
    }
}

enum Attempt {
    Transient(RpcError),
    Permanent(RpcError),
}

#[path = "rest.rs"]
mod rest;

fn ewma(prev: f64, sample: f64, n: u64) -> f64 {
    if n <= 1 {
        sample
    } else {
        prev + EWMA_ALPHA * (sample - prev)
    }
}

fn classify_reqwest(
    e: &reqwest::Error,
    err: &impl Fn(&'static str, Option<i64>, String) -> RpcError,
) -> RpcError {
    let reason = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    };
    // `without_url` drops the URL reqwest puts in its message; the redactor scrubs the rest.
    let mut msg = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = None;
    let stripped = format!("{}", ReqwestNoUrl(e));
    msg.push_str(&stripped);
    if let Some(src) = std::error::Error::source(e) {
        cur = Some(src);
    }
    while let Some(s) = cur {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        cur = s.source();
    }
    err(reason, None, msg)
}

struct ReqwestNoUrl<'a>(&'a reqwest::Error);

impl std::fmt::Display for ReqwestNoUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = self.0;
        let what = if e.is_timeout() {
            "request timed out"
        } else if e.is_connect() {
            "could not connect"
        } else if e.is_body() {
            "failed reading the response body"
        } else if e.is_decode() {
            "failed decoding the response"
        } else {
            "request failed"
        };
        f.write_str(what)
    }
}

/// Calls made by adapters over their own transport (gRPC) through the pool.
#[path = "call.rs"]
mod call;
pub use call::CallError;
