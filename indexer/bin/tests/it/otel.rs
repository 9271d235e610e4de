//! OpenTelemetry export (cargo feature `otel`): `chainwatch dev` indexing anvil sends its spans
//! to a local OTLP/HTTP receiver, with the service name and the chain, height and provider label
//! on them, and never a provider URL.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, evm::mixed_traffic};
use serde_json::Value;
use sqlx::PgPool;

use crate::support::{Dev, anvil_chain, dev_args, url_of};

/// Every span the receiver got: (name, attributes as `key=value`), plus the resources seen.
#[derive(Debug, Default)]
struct Received {
    spans: Vec<(String, Vec<String>)>,
    services: Vec<String>,
    bodies: Vec<String>,
}

async fn traces(State(r): State<Arc<Mutex<Received>>>, body: Bytes) -> &'static str {
    let text = String::from_utf8_lossy(&body).into_owned();
    let v: Value = serde_json::from_str(&text).expect("OTLP/JSON body");
    let mut r = r.lock().unwrap();
    for rs in v["resourceSpans"].as_array().into_iter().flatten() {
        for a in rs["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if a["key"] == "service.name" {
                r.services
                    .push(a["value"]["stringValue"].as_str().unwrap_or("").to_owned());
            }
        }
        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
            for s in ss["spans"].as_array().into_iter().flatten() {
                let attrs = s["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        let v = &a["value"];
                        let v = v["stringValue"]
                            .as_str()
                            .map(str::to_owned)
                            .or_else(|| v["intValue"].as_str().map(str::to_owned))
                            .or_else(|| v["intValue"].as_i64().map(|i| i.to_string()))
                            .unwrap_or_else(|| v.to_string());
                        format!("{}={v}", a["key"].as_str().unwrap_or(""))
                    })
                    .collect();
                r.spans
                    .push((s["name"].as_str().unwrap_or("").to_owned(), attrs));
            }
        }
    }
    r.bodies.push(text);
    "{}"
}

#[sqlx::test(migrations = false)]
async fn dev_exports_spans_over_otlp(pool: PgPool) {
    let received = Arc::new(Mutex::new(Received::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/traces", post(traces))
        .with_state(Arc::clone(&received));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let anvil = Anvil::spawn(&[]).await;
    mixed_traffic(&anvil, 3, 1).await;
    let url = url_of(&pool).await;
    let mut dev = Dev::start_cmd(
        "dev",
        &dev_args(&anvil.url(), &url),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ],
    );
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;
    let head = anvil.block_number().await;
    // SIGTERM: the exporter flushes on the way out.
    assert!(dev.stop().success(), "{}", dev.logs());
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().unwrap().spans.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.abort();

    let r = received.lock().unwrap();
    assert!(
        r.services.iter().all(|s| s == "chainwatch-dev") && !r.services.is_empty(),
        "{:?}",
        r.services
    );
    let has = |name: &str, attrs: &[String]| {
        r.spans
            .iter()
            .any(|(n, a)| n == name && attrs.iter().all(|want| a.contains(want)))
    };
    let chain = "chain=evm:31337".to_owned();
    assert!(
        has("block", &[chain.clone(), format!("height={head}")]),
        "no block span for the head {head}: {:?}",
        r.spans
    );
    assert!(
        has("batch", std::slice::from_ref(&chain)),
        "no batch span: {:?}",
        r.spans
    );
    assert!(
        has(
            "rpc",
            &[
                chain,
                "provider=anvil".into(),
                "method=eth_getBlockByNumber".into()
            ]
        ),
        "no rpc span: {:?}",
        r.spans
    );
    let port = anvil.port().to_string();
    assert!(
        r.bodies.iter().all(|b| !b.contains(&port)),
        "a provider URL was exported"
    );
}
