//! HTTP: routes, health endpoints and the server loop.

use std::time::Duration;

use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse},
    routing::get,
};
use chainwatch_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::{ApiConfig, ApiSchema, TRACE_TARGET, build_schema};

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
struct AppState {
    schema: ApiSchema,
    store: Store,
}

/// The API's routes over `store`: `POST /graphql` (queries), `GET /graphql` (GraphiQL),
/// `GET /healthz` and `GET /readyz`.
pub fn router(store: Store, cfg: ApiConfig) -> Router {
    let schema = build_schema(store.clone(), cfg);
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState { schema, store })
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
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    info!(target: TRACE_TARGET, "api stopped");
    Ok(())
}

async fn graphql(State(st): State<AppState>, req: GraphQLRequest) -> GraphQLResponse {
    st.schema.execute(req.into_inner()).await.into()
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
