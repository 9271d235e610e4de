//! Shared plumbing of the local HTTP/1.1 test servers: binding a port that can be re-bound, and
//! an accept loop whose connections can all be dropped at once.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{
    net::{TcpListener, TcpSocket},
    task::{JoinHandle, JoinSet},
};

/// A response body.
pub(crate) type Body = Full<Bytes>;

/// Live connection tasks of one server; aborting them closes their sockets.
pub(crate) type Conns = Arc<Mutex<JoinSet<()>>>;

/// Binds `addr` with `SO_REUSEADDR`, so that a port closed a moment ago (its accepted connections
/// still in `TIME_WAIT`) can be bound again. Retries briefly: the kernel may need a moment.
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let mut tries = 0;
    loop {
        let res = (|| {
            let socket = TcpSocket::new_v4()?;
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(1024)
        })();
        match res {
            Ok(l) => return Ok(l),
            Err(e) if tries < 50 && e.kind() == std::io::ErrorKind::AddrInUse => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Accepts connections on `listener` until aborted, serving each with `handle` (HTTP/1.1 with
/// keep-alive). A handler that returns `None` makes the server drop the connection without an
/// answer. Each connection task is spawned into `conns`.
pub(crate) fn spawn_accept<H, F>(listener: TcpListener, conns: Conns, handle: H) -> JoinHandle<()>
where
    H: Fn(Bytes) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Option<Response<Body>>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // EMFILE and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handle = handle.clone();
            let svc = service_fn(move |req: Request<Incoming>| {
                let handle = handle.clone();
                async move {
                    let body = match req.into_body().collect().await {
                        Ok(b) => b.to_bytes(),
                        Err(e) => return Err(std::io::Error::other(e)),
                    };
                    handle(body)
                        .await
                        .ok_or_else(|| std::io::Error::other("connection dropped by fault"))
                }
            });
            let conn = async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            };
            let mut set = conns.lock().unwrap_or_else(|p| p.into_inner());
            while set.try_join_next().is_some() {}
            set.spawn(conn);
        }
    })
}

/// Aborts every connection task in `conns` and waits until all are gone (their sockets closed).
pub(crate) async fn drop_connections(conns: &Conns) {
    let mut set = std::mem::take(&mut *conns.lock().unwrap_or_else(|p| p.into_inner()));
    set.abort_all();
    while set.join_next().await.is_some() {}
}

/// Aborts the accept loop and waits until its listener is closed.
pub(crate) async fn stop_accept(task: JoinHandle<()>) {
    task.abort();
    let _ = task.await;
}

/// A response with `status`, a content type and `body`.
pub(crate) fn response(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}
