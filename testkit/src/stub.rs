//! [`RpcStub`]: a scripted JSON-RPC server for tests that need an upstream but not a real node.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::serve::{self, Conns};

/// Answers one JSON-RPC call: the method and params to a result or an error `(code, message)`.
type Handler = dyn Fn(&str, &Value) -> Result<Value, (i64, String)> + Send + Sync;

/// A local HTTP/1.1 JSON-RPC server on `127.0.0.1` that answers every call (batches too) with a
/// handler. It accepts any path. Stops when dropped.
pub struct RpcStub {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    conns: Conns,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for RpcStub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcStub")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RpcStub {
    /// Starts a server on a free port that answers with `handler`. Must be called within a tokio
    /// runtime.
    pub async fn start(
        handler: impl Fn(&str, &Value) -> Result<Value, (i64, String)> + Send + Sync + 'static,
    ) -> Self {
        let handler: Arc<Handler> = Arc::new(handler);
        let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind a local port for the rpc stub");
        let addr = listener
            .local_addr()
            .expect("local address of the rpc stub");
        let requests = Arc::new(AtomicU64::new(0));
        let conns = Conns::default();
        let counter = requests.clone();
        let accept = serve::spawn_accept(listener, conns.clone(), move |body: Bytes| {
            counter.fetch_add(1, Ordering::SeqCst);
            let out = answer(&*handler, &body);
            async move { Some(serve::response(StatusCode::OK, "application/json", out)) }
        });
        Self {
            addr,
            requests,
            conns,
            accept,
        }
    }

    /// A stub of an EVM node: `eth_chainId` is `0x1`, `eth_blockNumber` is `0x10`,
    /// `net_version` is `"1"`; any other method is JSON-RPC error -32601 (method not found).
    pub async fn eth() -> Self {
        Self::start(|method, _| match method {
            "eth_chainId" => Ok(json!("0x1")),
            "eth_blockNumber" => Ok(json!("0x10")),
            "net_version" => Ok(json!("1")),
            _ => Err((
                -32601,
                format!("the method {method} does not exist/is not available"),
            )),
        })
        .await
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// HTTP requests answered so far (a batch counts once).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for RpcStub {
    fn drop(&mut self) {
        self.accept.abort();
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abort_all();
    }
}

/// The response body for one request body.
fn answer(handler: &Handler, body: &[u8]) -> String {
    let one = |call: &Value| {
        let id = call.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = call.get("method").and_then(Value::as_str) else {
            return json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32600, "message": "invalid request"}});
        };
        let params = call.get("params").cloned().unwrap_or(Value::Null);
        match handler(method, &params) {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
            }
        }
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(calls)) => Value::Array(calls.iter().map(one).collect()).to_string(),
        Ok(call) => one(&call).to_string(),
        Err(_) => json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error"}})
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_post;

    #[tokio::test(flavor = "multi_thread")]
    async fn answers_calls_batches_and_errors() {
        let stub = RpcStub::eth().await;
        let url = format!("{}/any/path", stub.url());
        let (status, body) = http_post(&url, r#"{"jsonrpc":"2.0","id":3,"method":"eth_chainId"}"#)
            .await
            .unwrap();
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (v["id"].clone(), v["result"].clone()),
            (json!(3), json!("0x1"))
        );

        let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"nope"}]"#;
        let v: Value = serde_json::from_str(&http_post(&url, batch).await.unwrap().1).unwrap();
        assert_eq!(v[0]["result"], "0x10");
        assert_eq!(v[1]["error"]["code"], -32601);

        let v: Value = serde_json::from_str(&http_post(&url, "not json").await.unwrap().1).unwrap();
        assert_eq!(v["error"]["code"], -32700);
        assert_eq!(stub.requests(), 3);
    }
}
