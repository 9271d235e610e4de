//! HTTP: routes, health endpoints and the server loop.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{HeaderValue, Method, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use chainwatch_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{
    ApiConfig, ApiSchema, TRACE_TARGET, build_schema,
    limits::{self, Limiter, error_response},
    timing,
};

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
struct AppState {
    schema: ApiSchema,
    store: Store,
    query_timeout: Duration,
    max_body_bytes: usize,
}

/// The API's routes over `store`: `GET /` (the support console), `POST /graphql` (queries),
/// `GET /graphql` (GraphiQL), `GET /graphql/ws` (subscriptions over graphql-ws), `GET /healthz`
/// and `GET /readyz`, with `cfg`'s protections: the body limit and query
/// timeout on `/graphql`, the per-client rate limit on `/graphql` (not on health checks), and
/// CORS for the configured origins.
pub fn router(store: Store, cfg: ApiConfig) -> Router {
    let state = AppState {
        schema: build_schema(store.clone(), cfg.clone()),
        store,
        query_timeout: cfg.query_timeout,
        max_body_bytes: cfg.max_body_bytes,
    };
    let mut gql = Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route_service(
            "/graphql/ws",
            async_graphql_axum::GraphQLSubscription::new(state.schema.clone()),
        )
        // The handler reads the body itself to answer an oversized one with a coded error.
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes));
    if let Some(limit) = cfg.rate_limit {
        let limiter = Limiter::new(limit, cfg.client_ip_header.clone());
        gql = gql.layer(axum::middleware::from_fn_with_state(
            limiter,
            limits::rate_limit,
        ));
    }
    let mut router = gql
        .route("/", get(console))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state);
    if !cfg.cors_allowed_origins.is_empty() {
        router = router.layer(cors(&cfg.cors_allowed_origins));
    }
    router
}

/// CORS for `origins` (`*` allows any): GET and POST with a JSON body.
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600))
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then stops accepting and waits
/// for in-flight requests to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        info!(target: TRACE_TARGET, %addr, "api listening");
    }
    // The peer address feeds the per-client rate limit.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await?;
    info!(target: TRACE_TARGET, "api stopped");
    Ok(())
}

/// `POST /graphql`: one GraphQL request as JSON. An oversized body is `413`
/// `PAYLOAD_TOO_LARGE`, a body that is not a GraphQL request `400` `BAD_REQUEST`, a query that
/// runs longer than the timeout `TIMEOUT`; every error of the response carries a code.
async fn graphql(State(st): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!(
                    "request body is larger than the API's limit of {} bytes",
                    st.max_body_bytes
                ),
            );
        }
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("cannot read the request body: {}", e.body_text()),
            );
        }
    };
    let mut req = match parse_request(&body) {
        Ok(r) => r,
        Err(why) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!(
                    "the body is not a GraphQL request: expected a JSON object with a \"query\" \
                     string (and optional \"variables\" object and \"operationName\"); {why}"
                ),
            );
        }
    };
    let started = Instant::now();
    // Parsed here once for the duration label; execution reuses the document. A query that does
    // not parse is parsed again by `execute`, which reports the error.
    let operation = req
        .parsed_query()
        .map_or_else(|_| "invalid".to_owned(), timing::operation_label);
    let executed = tokio::time::timeout(st.query_timeout, st.schema.execute(req)).await;
    timing::record(operation, started);
    let Ok(mut resp) = executed else {
        return error_response(
            StatusCode::OK,
            "TIMEOUT",
            format!(
                "the query ran longer than the API's limit of {} ms; ask for less (a smaller `first`, fewer fields)",
                st.query_timeout.as_millis()
            ),
        );
    };
    for e in &mut resp.errors {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", limits::code_for(&e.message));
        }
    }
    let body = serde_json::to_string(&resp).unwrap_or_else(|_| "{}".into());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The GraphQL request in `body`, or why it is not one.
fn parse_request(body: &[u8]) -> Result<async_graphql::Request, String> {
    // The common case in one pass. async-graphql defaults a missing `query` to "", so an empty
    // query takes the slow path below, which tells a missing query from an empty one.
    if let Ok(req) = serde_json::from_slice::<async_graphql::Request>(body)
        && !req.query.is_empty()
    {
        return Ok(req);
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if !value.get("query").is_some_and(serde_json::Value::is_string) {
        let got = match &value {
            serde_json::Value::Array(_) => "got an array (batches are not accepted)",
            serde_json::Value::Object(_) => "got an object without a \"query\" string",
            _ => "got another JSON value",
        };
        return Err(got.to_owned());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// The support console: search any hash, chains and reorgs (plain HTML and JS, no build step).
async fn console() -> Html<&'static str> {
    Html(include_str!("../console/index.html"))
}

async fn graphiql() -> Html<&'static str> {
    Html(GRAPHIQL_HTML)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    match tokio::time::timeout(READY_TIMEOUT, st.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            warn!(target: TRACE_TARGET, error = %e, "not ready: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            warn!(target: TRACE_TARGET, timeout_s = READY_TIMEOUT.as_secs(), "not ready: database timed out");
            (StatusCode::SERVICE_UNAVAILABLE, "database timed out")
        }
    }
}

/// GraphiQL, loaded by the browser from a CDN, querying this page's own path.
const GRAPHIQL_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>chainwatch GraphiQL</title>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css">
</head>
<body style="margin: 0">
  <div id="graphiql" style="height: 100vh"></div>
  <script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
    ReactDOM.createRoot(document.getElementById("graphiql"))
      .render(React.createElement(GraphiQL, { fetcher }));
  </script>
</body>
</html>
"#;
