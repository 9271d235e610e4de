//! [`RestStub`]: a scripted REST server (GET by path) for adapters of REST chains (Aptos), with
//! the same provider faults as [`crate::FaultProxy`].

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

use crate::{Fault, serve};

/// Answers one GET: `(path, query)` (query without `?`, empty if none) to `(status, JSON body)`.
type Handler = dyn Fn(&str, &str) -> (u16, String) + Send + Sync;

/// What the handlers share.
struct Shared {
    handler: Box<Handler>,
    /// The fault and, for [`Fault::FailAfter`], how many requests still get through.
    fault: Mutex<(Fault, u64)>,
    /// `path?query` of every request received, in order.
    log: Mutex<Vec<String>>,
}

/// A local HTTP/1.1 server on `127.0.0.1` that answers GETs with a handler, or injects a
/// [`Fault`]: `Http500`, `Http429`, `Garbage` (200 with a body that is not JSON), `Hang` (never
/// answers), `Down` (drops the connection without an answer) and `FailAfter(n)`. Any path prefix
/// works as a provider URL (`url_with_path`), so a fake API key in the path can be checked for
/// leaks; the handler sees the path with the prefix given to [`RestStub::start`] removed. Stops
/// when dropped.
pub struct RestStub {
    addr: SocketAddr,
    prefix: String,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for RestStub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestStub")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RestStub {
    /// Starts a server on a free port. `prefix` (e.g. `/v1`) is stripped from request paths
    /// before `handler` sees them; a request outside it gets a plain-text 404. Must be called
    /// within a tokio runtime.
    pub async fn start(
        prefix: &str,
        handler: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind a local port for the rest stub");
        let addr = listener
            .local_addr()
            .expect("local address of the rest stub");
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            fault: Mutex::new((Fault::None, 0)),
            log: Mutex::new(Vec::new()),
        });
        let prefix = prefix.trim_end_matches('/').to_owned();
        let (s, p) = (shared.clone(), prefix.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let (s, p) = (s.clone(), p.clone());
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (s, p) = (s.clone(), p.clone());
                    async move { answer(&s, &p, &req).await }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self {
            addr,
            prefix,
            shared,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT<prefix>`, the provider URL.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.prefix)
    }

    /// A provider URL whose path carries `secret` (e.g. a fake API key) before the prefix:
    /// `http://127.0.0.1:PORT/<secret><prefix>`. The handler still sees paths without either.
    pub fn url_with_secret(&self, secret: &str) -> String {
        format!("http://{}/{}{}", self.addr, secret, self.prefix)
    }

    /// Sets the fault for the next requests.
    pub fn set(&self, fault: Fault) {
        let n = match fault {
            Fault::FailAfter(n) => n,
            _ => 0,
        };
        *self.shared.fault.lock().unwrap() = (fault, n);
    }

    /// `path?query` (prefix removed) of every request received, faulted ones included.
    pub fn requests(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }
}

impl Drop for RestStub {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn answer(
    s: &Shared,
    prefix: &str,
    req: &Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let full_path = req.uri().path();
    let query = req.uri().query().unwrap_or_default();
    // Strip anything before the prefix (a secret path segment) and the prefix itself.
    let path = match full_path.find(prefix).filter(|_| !prefix.is_empty()) {
        Some(at) => &full_path[at + prefix.len()..],
        None if prefix.is_empty() => full_path,
        None => {
            return Ok(serve::response(
                StatusCode::NOT_FOUND,
                "text/plain",
                "no such path",
            ));
        }
    };
    let path = if path.is_empty() { "/" } else { path };
    s.log.lock().unwrap().push(if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    });
    let fault = {
        let mut f = s.fault.lock().unwrap();
        match f.0 {
            Fault::FailAfter(_) if f.1 > 0 => {
                f.1 -= 1;
                Fault::None
            }
            Fault::FailAfter(_) => Fault::Http500,
            other => other,
        }
    };
    match fault {
        Fault::None | Fault::FailAfter(_) => {}
        Fault::Http500 => {
            return Ok(serve::response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                "internal error",
            ));
        }
        Fault::Http429 => {
            return Ok(serve::response(
                StatusCode::TOO_MANY_REQUESTS,
                "application/json",
                r#"{"message":"rate limited","error_code":"web_framework_error"}"#,
            ));
        }
        Fault::Garbage => {
            return Ok(serve::response(
                StatusCode::OK,
                "application/json",
                "<html>not json",
            ));
        }
        Fault::Hang => std::future::pending::<()>().await,
        Fault::Down => return Err(std::io::Error::other("connection dropped by fault")),
    }
    let (status, body) = (s.handler)(path, query);
    Ok(serve::response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "application/json",
        body,
    ))
}
