//! Prometheus metrics: the recorder every crate's `metrics` calls report to, each metric's HELP
//! text, and the `/metrics` route.
//!
//! Names follow `chainwatch_<subsystem>_<thing>_<unit>`; labels are `chain`, `provider` (the
//! configured label, never a URL), `method`, `finality`, `reason`, `table`: never hashes,
//! addresses or heights.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Every metric chainwatch records, with its type and HELP text.
const METRICS: &[(&str, &str, &str)] = &[
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
];

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
