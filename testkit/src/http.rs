//! A minimal HTTP/1.1 client over tokio, enough for JSON-RPC to local test peers.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// GETs `url` (`http://host:port/path`) and returns the status and response body.
pub async fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    request("GET", url, "").await
}

/// POSTs `body` to `url` (`http://host:port/path`) and returns the status and response body.
pub async fn http_post(url: &str, body: &str) -> std::io::Result<(u16, String)> {
    request("POST", url, body).await
}

async fn request(method: &str, url: &str, body: &str) -> std::io::Result<(u16, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other("only http:// URLs"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let fut = async {
        let mut s = TcpStream::connect(authority).await?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("no header end"))?;
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("bad status line"))?;
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Ok((status, body))
    };
    tokio::time::timeout(Duration::from_secs(60), fut)
        .await
        .map_err(|_| std::io::Error::other("http timeout"))?
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Calls a JSON-RPC method and returns its `result`; panics on an RPC error (tests only).
pub async fn rpc(url: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (status, text) = http_post(url, &body.to_string())
        .await
        .unwrap_or_else(|e| panic!("{method} to {url}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method}: HTTP {status}, undecodable body {text:?}: {e}"));
    if let Some(err) = v.get("error") {
        panic!("{method} failed: {err}");
    }
    v["result"].clone()
}
