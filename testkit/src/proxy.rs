//! [`FaultProxy`]: a local HTTP proxy in front of a JSON-RPC node that can be told, at run time,
//! to fail in the ways real providers do.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use hyper::{Response, StatusCode};
use tokio::task::JoinHandle;

use crate::serve::{self, Body, Conns};

/// What a [`FaultProxy`] does with the requests it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward the body to the upstream and relay its status and body.
    None,
    /// Answer `500 Internal Server Error` with a plain-text body.
    Http500,
    /// Answer `429 Too Many Requests` with `Retry-After: 1`.
    Http429,
    /// Answer `200 OK`, `content-type: application/json`, with a body that is not JSON.
    Garbage,
    /// Read the request and never answer (until the proxy is dropped or set to [`Fault::Down`]).
    Hang,
    /// Close the port: open connections are dropped and new ones refused until the proxy is set
    /// to another fault, when it listens on the same port again.
    Down,
    /// Forward the next `n` requests, then answer `500` to every later one.
    FailAfter(u64),
}

/// State the request handlers share.
#[derive(Debug)]
struct Shared {
    upstream: String,
    /// The fault, and for [`Fault::FailAfter`] how many requests are still forwarded.
    mode: Mutex<(Fault, u64)>,
    received: AtomicU64,
    forwarded: AtomicU64,
}

/// A local HTTP/1.1 proxy on `127.0.0.1` that forwards POST bodies to an upstream URL (a JSON-RPC
/// node) or injects a [`Fault`].
///
/// It accepts any path, so [`FaultProxy::url_with_path`] can give a provider URL that carries a
/// fake API key; the upstream always receives the body at its own URL. Forwarding opens one
/// connection per request ([`crate::http_post`]). Everything stops when the proxy is dropped.
///
/// ```no_run
/// # async fn f() {
/// use chainwatch_testkit::{Fault, FaultProxy};
/// let proxy = FaultProxy::start("http://127.0.0.1:8545").await;
/// let url = proxy.url_with_path("/v2/FAKEKEY123456789");
/// proxy.set(Fault::Down).await; // connections to `url` are now refused
/// proxy.set(Fault::None).await; // and accepted again, on the same port
/// # }
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    conns: Conns,
    /// The accept loop; `None` while [`Fault::Down`]. The lock also serializes [`Self::set`].
    accept: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://host:port/path`) on a free port, in [`Fault::None`]
    /// mode. Must be called within a tokio runtime.
    pub async fn start(upstream: impl Into<String>) -> Self {
        let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind a local port for the fault proxy");
        let addr = listener
            .local_addr()
            .expect("local address of the fault proxy");
        let shared = Arc::new(Shared {
            upstream: upstream.into(),
            mode: Mutex::new((Fault::None, 0)),
            received: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
        });
        let conns = Conns::default();
        let task = Self::accept(listener, &shared, &conns);
        Self {
            addr,
            shared,
            conns,
            accept: tokio::sync::Mutex::new(Some(task)),
        }
    }

    fn accept(
        listener: tokio::net::TcpListener,
        shared: &Arc<Shared>,
        conns: &Conns,
    ) -> JoinHandle<()> {
        let shared = shared.clone();
        serve::spawn_accept(listener, conns.clone(), move |body| {
            handle(shared.clone(), body)
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT` followed by `path` (a leading `/` is added if missing), e.g.
    /// `/v2/FAKEKEY123456789`. The proxy ignores the path.
    pub fn url_with_path(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("http://{}{path}", self.addr)
        } else {
            format!("http://{}/{path}", self.addr)
        }
    }

    /// The address the proxy listens on (also while [`Fault::Down`], when it does not).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The current fault.
    pub fn fault(&self) -> Fault {
        lock(&self.shared.mode).0
    }

    /// Switches to `fault`. When this returns the switch is complete: after [`Fault::Down`] the
    /// port is closed and every open connection dropped (hanging requests included); after any
    /// other fault the port accepts connections again. [`Fault::FailAfter`] starts counting now.
    ///
    /// Panics if the port cannot be bound again after [`Fault::Down`] (another process took it).
    pub async fn set(&self, fault: Fault) {
        let mut accept = self.accept.lock().await;
        *lock(&self.shared.mode) = match fault {
            Fault::FailAfter(n) => (fault, n),
            _ => (fault, 0),
        };
        match (fault, accept.take()) {
            (Fault::Down, Some(task)) => {
                serve::stop_accept(task).await;
                serve::drop_connections(&self.conns).await;
            }
            (Fault::Down, None) => {}
            (_, Some(task)) => *accept = Some(task),
            (_, None) => {
                let listener = serve::bind(self.addr).await.unwrap_or_else(|e| {
                    panic!("fault proxy cannot listen on {} again: {e}", self.addr)
                });
                *accept = Some(Self::accept(listener, &self.shared, &self.conns));
            }
        }
    }

    /// Requests forwarded to the upstream so far.
    pub fn requests(&self) -> u64 {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Requests received so far, whatever the fault (forwarded or not).
    pub fn received(&self) -> u64 {
        self.shared.received.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = self.accept.get_mut().take() {
            task.abort();
        }
        lock(&self.conns).abort_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn handle(shared: Arc<Shared>, body: Bytes) -> Option<Response<Body>> {
    shared.received.fetch_add(1, Ordering::SeqCst);
    let fault = {
        let mut mode = lock(&shared.mode);
        match mode.0 {
            Fault::FailAfter(_) if mode.1 > 0 => {
                mode.1 -= 1;
                Fault::None
            }
            Fault::FailAfter(_) => Fault::Http500,
            f => f,
        }
    };
    let text = |status, body: &'static str| serve::response(status, "text/plain", body);
    Some(match fault {
        Fault::None | Fault::FailAfter(_) => {
            shared.forwarded.fetch_add(1, Ordering::SeqCst);
            match crate::http_post(&shared.upstream, &String::from_utf8_lossy(&body)).await {
                Ok((status, body)) => serve::response(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                    "application/json",
                    body,
                ),
                Err(e) => serve::response(
                    StatusCode::BAD_GATEWAY,
                    "text/plain",
                    format!("upstream: {e}"),
                ),
            }
        }
        Fault::Http500 => text(StatusCode::INTERNAL_SERVER_ERROR, "internal server error"),
        Fault::Http429 => {
            let mut r = text(StatusCode::TOO_MANY_REQUESTS, "too many requests");
            r.headers_mut().insert(
                hyper::header::RETRY_AFTER,
                hyper::header::HeaderValue::from_static("1"),
            );
            r
        }
        Fault::Garbage => serve::response(
            StatusCode::OK,
            "application/json",
            "<html><body>502 upstream sent garbage {\"jsonrpc\":",
        ),
        Fault::Hang => std::future::pending().await,
        // A request on a connection accepted just before the switch: drop it unanswered.
        Fault::Down => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{RpcStub, http_post};

    const CALL: &str = r#"{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[]}"#;

    #[tokio::test(flavor = "multi_thread")]
    async fn forwards_and_injects_each_fault() {
        let stub = RpcStub::eth().await;
        let proxy = FaultProxy::start(stub.url()).await;
        let url = proxy.url_with_path("/v2/FAKEKEY123456789");
        assert!(url.ends_with("/v2/FAKEKEY123456789"), "{url}");

        let (status, body) = http_post(&url, CALL).await.unwrap();
        assert_eq!(status, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["result"], "0x10");
        assert_eq!(v["id"], 7);
        assert_eq!(
            (proxy.requests(), proxy.received(), stub.requests()),
            (1, 1, 1)
        );

        proxy.set(Fault::Http500).await;
        assert_eq!(http_post(&url, CALL).await.unwrap().0, 500);
        proxy.set(Fault::Http429).await;
        assert_eq!(http_post(&url, CALL).await.unwrap().0, 429);
        proxy.set(Fault::Garbage).await;
        let (status, body) = http_post(&url, CALL).await.unwrap();
        assert_eq!(status, 200);
        assert!(
            serde_json::from_str::<serde_json::Value>(&body).is_err(),
            "{body}"
        );
        assert_eq!(
            (proxy.requests(), proxy.received(), stub.requests()),
            (1, 4, 1)
        );

        proxy.set(Fault::Hang).await;
        let hung = tokio::time::timeout(Duration::from_millis(300), http_post(&url, CALL)).await;
        assert!(hung.is_err(), "a hanging proxy answered: {hung:?}");

        proxy.set(Fault::FailAfter(2)).await;
        assert_eq!(http_post(&url, CALL).await.unwrap().0, 200);
        assert_eq!(http_post(&url, CALL).await.unwrap().0, 200);
        assert_eq!(http_post(&url, CALL).await.unwrap().0, 500);
        assert_eq!(proxy.requests(), 3);
        assert_eq!(stub.requests(), 3);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn down_closes_the_port_and_reopens_it() {
        let stub = RpcStub::eth().await;
        let proxy = FaultProxy::start(stub.url()).await;
        let url = proxy.url();
        // A request hanging on an open connection is cut off when the port goes down.
        proxy.set(Fault::Hang).await;
        let hung = tokio::spawn({
            let url = url.clone();
            async move { http_post(&url, CALL).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;

        proxy.set(Fault::Down).await;
        assert_eq!(proxy.fault(), Fault::Down);
        let cut = tokio::time::timeout(Duration::from_secs(2), hung)
            .await
            .unwrap()
            .unwrap();
        assert!(cut.is_err(), "hanging request was not dropped: {cut:?}");
        let e = tokio::net::TcpStream::connect(proxy.addr())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");

        proxy.set(Fault::None).await;
        assert_eq!(http_post(&url, CALL).await.unwrap().0, 200);
        // Going down twice and up twice is harmless.
        proxy.set(Fault::Down).await;
        proxy.set(Fault::Down).await;
        assert!(http_post(&url, CALL).await.is_err());
        proxy.set(Fault::Http500).await;
        proxy.set(Fault::None).await;
        assert_eq!(http_post(&url, CALL).await.unwrap().0, 200);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn drop_frees_the_port() {
        let stub = RpcStub::eth().await;
        let proxy = FaultProxy::start(stub.url()).await;
        proxy.set(Fault::Hang).await;
        let addr = proxy.addr();
        drop(proxy);
        // The listener closes once the aborted accept task is dropped by the runtime.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "port still open after drop"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
