//! Issue 6, acceptance 4: a graphql-ws client (protocol `graphql-transport-ws`) subscribed to
//! `transactionStatus` sees a transaction sent to anvil go INCLUDED, SAFE, FINALIZED (then the
//! subscription completes), and another one go REORGED_OUT when `anvil_reorg` removes it;
//! `chainStatus` pushes the indexed head as it moves. Updates reach the API through Postgres
//! LISTEN/NOTIFY written by consume.

use std::time::Duration;

use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, evm};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _, http::HeaderValue};

use crate::support::{Dev, anvil_chain, dev_args, url_of};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws connection with one subscription.
struct Sub {
    ws: Ws,
}

impl Sub {
    async fn start(listen: &str, query: &str) -> Self {
        let mut req = format!("ws://{listen}/graphql/ws")
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(
            resp.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        let mut me = Self { ws };
        me.send(json!({"type": "connection_init", "payload": {}}))
            .await;
        assert_eq!(me.recv().await["type"], "connection_ack");
        me.send(json!({"id": "1", "type": "subscribe", "payload": {"query": query}}))
            .await;
        me
    }

    async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next protocol message (answering pings).
    async fn recv(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(60), self.ws.next())
                .await
                .expect("no message within 60 s")
                .expect("connection closed")
                .unwrap();
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "ping" {
                self.send(json!({"type": "pong"})).await;
                continue;
            }
            return v;
        }
    }

    /// The next `next` payload's data, or `None` at `complete`.
    async fn next(&mut self) -> Option<Value> {
        let v = self.recv().await;
        match v["type"].as_str() {
            Some("next") => {
                assert!(v["payload"]["errors"].is_null(), "{v}");
                Some(v["payload"]["data"].clone())
            }
            Some("complete") => None,
            _ => panic!("unexpected message {v}"),
        }
    }
}

fn tx_status(hash: &str) -> String {
    format!(
        "subscription {{ transactionStatus(chain: \"evm:31337\", hash: \"{hash}\") \
         {{ lifecycle isFinal transaction {{ status blockHeight finality }} }} }}"
    )
}

#[sqlx::test(migrations = false)]
async fn transaction_status_goes_included_safe_finalized_and_reorged_out(pool: PgPool) {
    // safe = latest − 2, finalized = latest − 4.
    let anvil = Anvil::spawn(&[]).await;
    let accts = anvil.accounts().await;
    anvil.mine(5).await;
    let url = url_of(&pool).await;
    let mut dev = Dev::start(&dev_args(&anvil.url(), &url));
    dev.wait_ready().await;
    let store = Store::from_pool(pool.clone());
    dev.wait_indexed(&store, &anvil_chain(), &anvil).await;

    let mut chain = Sub::start(
        &dev.listen,
        "subscription { chainStatus(id: \"evm:31337\") { indexedHeight safeHeight finalizedHeight } }",
    )
    .await;
    let first = chain.next().await.unwrap();
    let h0 = first["chainStatus"]["indexedHeight"].as_u64().unwrap();

    // Subscribed before the transaction exists: NOT_INDEXED first.
    anvil.rpc("evm_setAutomine", json!([false])).await;
    let hash = evm::send(&anvil, &accts[0], json!({"to": accts[1], "value": "0x1"})).await;
    let mut sub = Sub::start(&dev.listen, &tx_status(&hash)).await;
    let u = sub.next().await.unwrap();
    assert_eq!(u["transactionStatus"]["lifecycle"], "NOT_INDEXED", "{u}");
    assert!(u["transactionStatus"]["transaction"].is_null());

    let mut seen = Vec::new();
    anvil.mine(1).await;
    let included_at = anvil.block_number().await;
    // A block every 300 ms moves safe and finalized on.
    let miner = {
        let url = anvil.url();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                chainwatch_testkit::rpc(&url, "evm_mine", json!([])).await;
            }
        })
    };
    while let Some(u) = sub.next().await {
        let s = &u["transactionStatus"];
        seen.push(s["lifecycle"].as_str().unwrap().to_owned());
        if s["lifecycle"] == "INCLUDED" {
            assert_eq!(s["transaction"]["status"], "SUCCEEDED");
            assert_eq!(s["transaction"]["blockHeight"], included_at);
        }
        assert_eq!(s["isFinal"], s["lifecycle"] == "FINALIZED", "{u}");
    }
    miner.abort();
    assert_eq!(seen, ["INCLUDED", "SAFE", "FINALIZED"]);

    // The chain subscription saw the head move.
    let mut last = h0;
    while last < included_at {
        let c = chain.next().await.unwrap();
        last = c["chainStatus"]["indexedHeight"].as_u64().unwrap();
    }

    // Another transaction, removed by a reorg of its block.
    let hash = evm::send(&anvil, &accts[2], json!({"to": accts[3], "value": "0x2"})).await;
    anvil.mine(1).await;
    let mut sub = Sub::start(&dev.listen, &tx_status(&hash)).await;
    let mut u = sub.next().await.unwrap();
    while u["transactionStatus"]["lifecycle"] == "NOT_INDEXED" {
        u = sub.next().await.unwrap();
    }
    assert_eq!(u["transactionStatus"]["lifecycle"], "INCLUDED", "{u}");
    anvil.rpc("anvil_reorg", json!([1, []])).await;
    anvil.mine(1).await;
    let u = sub.next().await.unwrap();
    assert_eq!(u["transactionStatus"]["lifecycle"], "REORGED_OUT", "{u}");
    assert_eq!(
        u["transactionStatus"]["transaction"]["status"],
        "REORGED_OUT"
    );
    assert!(dev.stop().success());
}

#[sqlx::test(migrations = false)]
async fn a_bad_subscription_gets_a_coded_error(pool: PgPool) {
    let anvil = Anvil::spawn(&[]).await;
    let url = url_of(&pool).await;
    let mut dev = Dev::start(&dev_args(&anvil.url(), &url));
    dev.wait_ready().await;
    let mut sub = Sub::start(&dev.listen, &tx_status("0x1234")).await;
    // A field-level error in the result, then the end of the subscription.
    let v = sub.recv().await;
    assert_eq!(v["type"], "next", "{v}");
    let e = &v["payload"]["errors"][0];
    assert_eq!(e["extensions"]["code"], "BAD_REQUEST", "{v}");
    assert_eq!(e["extensions"]["argument"], "hash", "{v}");
    assert_eq!(e["path"][0], "transactionStatus", "{v}");
    assert!(e["message"].as_str().unwrap().contains("0x1234"), "{v}");
    assert_eq!(sub.recv().await["type"], "complete");
}
