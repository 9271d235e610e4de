//! The API over real HTTP: GraphQL, GraphiQL, health, readiness and graceful shutdown.

use std::net::SocketAddr;

use chainwatch_api::{ApiConfig, router, serve};
use chainwatch_store::Store;
use chainwatch_testkit::http_post;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{CHAIN, broken_store, http_get, populate};

struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(store: Store) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(
            listener,
            router(store, ApiConfig::default()),
            shutdown.clone(),
        ));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

#[sqlx::test(migrator = "chainwatch_store::MIGRATOR")]
async fn serves_graphql_health_and_readiness_over_http(pool: PgPool) {
    let store = Store::from_pool(pool);
    let blocks = populate(&store).await;
    let server = Server::start(store).await;
    let gql = server.url("/graphql");

    let t = &blocks[3].txs[3];
    let body = json!({
        "query": "query ($c: String!, $h: String!) { transaction(chain: $c, hash: $h) { status blockHeight finality failure { kind message } } }",
        "variables": {"c": CHAIN, "h": t.hash},
    });
    let (status, text) = http_post(&gql, &body.to_string()).await.unwrap();
    assert_eq!(status, 200, "{text}");
    let resp: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        resp,
        json!({"data": {"transaction": {"status": "FAILED", "blockHeight": 3, "finality": "SAFE",
               "failure": {"kind": "REVERTED", "message": "scripted revert"}}}})
    );

    // Bad input: still HTTP 200, with a field error.
    let body = json!({"query": format!("{{ transaction(chain: \"{CHAIN}\", hash: \"0x12\") {{ hash }} }}")});
    let (status, text) = http_post(&gql, &body.to_string()).await.unwrap();
    assert_eq!(status, 200, "{text}");
    let resp: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(resp["data"], json!({"transaction": null}), "{resp:#}");
    assert_eq!(resp["errors"][0]["path"], json!(["transaction"]));
    assert_eq!(
        resp["errors"][0]["extensions"],
        json!({"code": "BAD_REQUEST", "argument": "hash"})
    );

    // A body that is not a GraphQL request: 400, not 500.
    let (status, _) = http_post(&gql, "{not json").await.unwrap();
    assert_eq!(status, 400);
    // A query that does not parse: a GraphQL error.
    let (status, text) = http_post(&gql, &json!({"query": "{ transaction("}).to_string())
        .await
        .unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("errors"), "{text}");

    let (status, page) = http_get(&gql).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("GraphiQL") && page.contains("createFetcher"),
        "{page}"
    );
    assert_eq!(http_get(&server.url("/healthz")).await, (200, "ok".into()));
    assert_eq!(
        http_get(&server.url("/readyz")).await,
        (200, "ready".into())
    );
    assert_eq!(http_get(&server.url("/nope")).await.0, 404);

    server.stop().await;
}

#[tokio::test]
async fn readyz_is_503_while_the_database_is_down() {
    let server = Server::start(broken_store()).await;
    assert_eq!(http_get(&server.url("/healthz")).await, (200, "ok".into()));
    assert_eq!(
        http_get(&server.url("/readyz")).await,
        (503, "database unavailable".into())
    );
    server.stop().await;
}
