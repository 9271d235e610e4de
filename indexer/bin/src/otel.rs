//! OpenTelemetry trace export (cargo feature `otel`).
//!
//! Off unless the standard OTLP variables name a collector: `OTEL_EXPORTER_OTLP_ENDPOINT` (the
//! base URL, `/v1/traces` is appended) or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL).
//! `OTEL_EXPORTER_OTLP_PROTOCOL` picks `http/protobuf` (default) or `http/json`;
//! `OTEL_EXPORTER_OTLP_HEADERS` carries credentials; `OTEL_SERVICE_NAME` overrides the service
//! name (default `chainwatch-<subcommand>`), `OTEL_RESOURCE_ATTRIBUTES` adds attributes. Every
//! `tracing` span the `RUST_LOG` filter lets through is exported (ingest's `block`, consume's
//! `batch`, the pool's `rpc` with chain, provider label and method), in batches from a
//! background thread; [`Guard`] flushes what is left when the process ends. Spans carry
//! labels, heights and hashes, never provider URLs.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{Layer, registry::LookupSpan};

/// Whether the environment names an OTLP collector.
pub(crate) fn configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Flushes and stops the exporter when dropped.
#[derive(Debug)]
pub(crate) struct Guard(SdkTracerProvider);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = self.0.shutdown() {
            eprintln!("warning: OpenTelemetry export did not finish: {e}");
        }
    }
}

/// The tracing layer that exports spans, and its guard; `Ok(None)` when no collector is
/// configured. An unusable configuration (e.g. `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, which this
/// build does not include) is an error naming the variable.
pub(crate) fn layer<S>(service: &str) -> Result<Option<(impl Layer<S>, Guard)>, String>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    if !configured() {
        return Ok(None);
    }
    if let Ok(p) = std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL")
        && !matches!(p.as_str(), "http/protobuf" | "http/json")
    {
        return Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={p:?}: expected \"http/protobuf\" or \"http/json\" \
             (this build exports over HTTP only)"
        ));
    }
    // reqwest is built without a bundled crypto provider (https collectors need one).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| format!("OpenTelemetry exporter: {e}"))?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service.to_owned());
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("chainwatch");
    Ok(Some((
        tracing_opentelemetry::layer().with_tracer(tracer),
        Guard(provider),
    )))
}
