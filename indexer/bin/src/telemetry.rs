//! Prometheus metrics: the recorder every crate's `metrics` calls report to, each metric's HELP
//! text, and the `/metrics` route.
//!
//! Names follow `chainwatch_<subsystem>_<thing>_<unit>`; labels are `chain`, `provider` (the
//! configured label, never a URL), `method`, `finality`, `level`, `reason`, `table`: never
//! hashes, addresses or heights.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Every metric chainwatch records, with its type and HELP text.
const METRICS: &[(&str, &str, &str)] = &[
    (
        "gauge",
        "chainwatch_chain_lag_blocks",
        "Best provider head minus the indexed height, from the database (refreshed every 5 s, also while nothing is indexed).",
    ),
    (
        "gauge",
        "chainwatch_chain_lag_seconds",
        "Now minus the block time of the indexed head, from the database (refreshed every 5 s, also while nothing is indexed).",
    ),
    (
        "gauge",
        "chainwatch_chain_indexed_height",
        "Height of the indexed head in the database.",
    ),
    (
        "gauge",
        "chainwatch_chain_head_height",
        "Best provider head of the last heartbeat (the last known one while every provider is down).",
    ),
    (
        "gauge",
        "chainwatch_chain_safe_height",
        "Latest safe height the chain reported, as stored.",
    ),
    (
        "gauge",
        "chainwatch_chain_finalized_height",
        "Latest finalized height the chain reported, as stored.",
    ),
    (
        "gauge",
        "chainwatch_chain_finality_lag_blocks",
        "Indexed height minus the safe or finalized height, by level (safe, finalized).",
    ),
    (
        "gauge",
        "chainwatch_chain_heartbeat_age_seconds",
        "Seconds since ingest last published provider heads for the chain: grows when ingest is down.",
    ),
    (
        "gauge",
        "chainwatch_provider_head_height",
        "Last head height the provider reported (kept while it does not answer), by provider label.",
    ),
    (
        "gauge",
        "chainwatch_provider_head_age_seconds",
        "Seconds since the provider's head last changed: grows for every provider when the chain halts, for none when only the indexer is stuck.",
    ),
    (
        "gauge",
        "chainwatch_provider_up",
        "1 when the provider answered the last heartbeat with a head, else 0.",
    ),
    (
        "gauge",
        "chainwatch_provider_divergent",
        "1 when the head quorum found the provider on another fork (another block hash at a height the others agree on) and ingest stopped using it, else 0.",
    ),
    (
        "gauge",
        "chainwatch_provider_lagging",
        "1 when the head quorum found the provider too many blocks behind the agreeing providers and ingest stopped using it, else 0.",
    ),
    (
        "counter",
        "chainwatch_rpc_hedged_requests_total",
        "Requests also sent to a second provider because the first had not answered within [pool] hedge_after_ms, by the second provider's label.",
    ),
    (
        "histogram",
        "chainwatch_rpc_request_duration_seconds",
        "Duration of one RPC request to one provider, by chain, provider label and method.",
    ),
    (
        "counter",
        "chainwatch_rpc_errors_total",
        "Failed RPC requests by chain, provider label and reason (timeout, connect, http_5xx, rate_limited, decode, rpc_error, ...).",
    ),
    (
        "gauge",
        "chainwatch_ingest_head_height",
        "Chain head seen by ingest, by finality (latest, safe, finalized).",
    ),
    (
        "gauge",
        "chainwatch_ingest_published_height",
        "Height of the last block ingest published to the bus.",
    ),
    (
        "counter",
        "chainwatch_ingest_reorgs_total",
        "Reorgs detected and reverted by ingest.",
    ),
    (
        "histogram",
        "chainwatch_ingest_reorg_depth",
        "Depth in blocks of each reorg ingest reverted.",
    ),
    (
        "counter",
        "chainwatch_ingest_reorg_below_finality_total",
        "Reorgs below the finalized height; that chain's ingest stops (critical).",
    ),
    (
        "gauge",
        "chainwatch_consume_watermark_height",
        "Height of the last block written to Postgres.",
    ),
    (
        "gauge",
        "chainwatch_consume_lag_seconds",
        "Now minus the block time of the last block written to Postgres.",
    ),
    (
        "counter",
        "chainwatch_consume_rows_written_total",
        "Rows written to Postgres by table.",
    ),
    (
        "counter",
        "chainwatch_bus_published_total",
        "Envelopes handed to the Kafka producer, by chain.",
    ),
    (
        "counter",
        "chainwatch_bus_split_envelopes_total",
        "Envelopes larger than the message limit, sent as several records.",
    ),
    (
        "counter",
        "chainwatch_bus_delivery_errors_total",
        "Kafka deliveries that failed for good (ingest of that chain stops).",
    ),
    (
        "gauge",
        "chainwatch_consume_kafka_lag_messages",
        "Records of the chain's topic not yet read by this consumer (from librdkafka statistics).",
    ),
    (
        "counter",
        "chainwatch_consume_dead_letters_total",
        "Poison records copied to the dead-letter topic, by chain.",
    ),
    (
        "gauge",
        "chainwatch_consume_chain_stopped",
        "1 when this consumer stopped reading the chain at a poison record.",
    ),
    (
        "counter",
        "chainwatch_consume_commit_errors_total",
        "Kafka offset commits that failed (retried with the next batch).",
    ),
    (
        "counter",
        "chainwatch_consume_kafka_errors_total",
        "Errors reported by the Kafka consumer while reading (librdkafka retries them).",
    ),
];

/// Readiness of an `ingest` or `consume` process, as `/readyz` reports it.
#[derive(Debug, Clone)]
pub(crate) struct Readiness(std::sync::Arc<std::sync::Mutex<Result<(), String>>>);

impl Readiness {
    /// Not ready yet, for `reason`.
    pub(crate) fn new(reason: &str) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(Err(
            reason.to_owned()
        ))))
    }

    /// Ready.
    pub(crate) fn ready(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Ok(());
    }

    /// Not ready, for `reason`.
    pub(crate) fn not_ready(&self, reason: impl Into<String>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Err(reason.into());
    }

    fn get(&self) -> Result<(), String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Serves `/healthz` (200 while the process runs), `/readyz` (200 when `readiness` is ready,
/// else 503 with the reason) and `/metrics` on `addr` until `cancel` fires.
pub(crate) async fn serve_ops(
    addr: &str,
    handle: PrometheusHandle,
    readiness: Readiness,
    cancel: tokio_util::sync::CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    use anyhow::Context as _;
    use axum::{http::StatusCode, routing::get};
    let addr: std::net::SocketAddr = addr.parse().map_err(|_| {
        crate::config::ConfigError(format!(
            "--listen {addr}: expected HOST:PORT, e.g. 127.0.0.1:9100"
        ))
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let router = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let r = readiness.get();
                async move {
                    match r {
                        Ok(()) => (StatusCode::OK, "ready".to_owned()),
                        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
                    }
                }
            }),
        );
    let router = route(router, handle);
    tracing::info!(target: "chainwatch::bin", %addr, "health and metrics endpoints listening");
    Ok(tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await
    }))
}

/// Installs the process-wide Prometheus recorder and returns the handle that renders it.
pub(crate) fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            &[
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ],
        )?
        .set_buckets_for_metric(
            Matcher::Full("chainwatch_ingest_reorg_depth".into()),
            &[1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 64.0, 128.0],
        )?
        .install_recorder()?;
    for (kind, name, help) in METRICS {
        match *kind {
            "histogram" => metrics::describe_histogram!(*name, *help),
            "counter" => metrics::describe_counter!(*name, *help),
            _ => metrics::describe_gauge!(*name, *help),
        }
    }
    Ok(handle)
}

/// Adds `GET /metrics` (Prometheus text format) to `router`.
pub(crate) fn route(router: axum::Router, handle: PrometheusHandle) -> axum::Router {
    router.route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move { handle.render() }
        }),
    )
}
