//! Starting a real anvil node for a test.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::rpc;

/// A running anvil process on a free local port; killed on drop.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
}

impl Anvil {
    /// The anvil binary: `$ANVIL`, else `anvil` on `PATH`, else the copy `.ci/run` installs
    /// under `/opt/chainwatch-tools`.
    pub fn binary() -> PathBuf {
        if let Ok(p) = std::env::var("ANVIL") {
            return p.into();
        }
        if let Ok(path) = std::env::var("PATH") {
            for dir in std::env::split_paths(&path) {
                let c = dir.join("anvil");
                if c.is_file() {
                    return c;
                }
            }
        }
        let tools =
            std::env::var("CHAINWATCH_TOOLS").unwrap_or_else(|_| "/opt/chainwatch-tools".into());
        PathBuf::from(tools).join("node_modules/.bin/anvil")
    }

    /// Starts anvil with `--slots-in-an-epoch 2` (so `safe` trails `latest` by 2 and
    /// `finalized` by 4, unless `extra` sets its own) plus `extra` args, and waits until it
    /// answers.
    pub async fn spawn(extra: &[&str]) -> Self {
        let port = free_port();
        let bin = Self::binary();
        let child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            .args(if extra.contains(&"--slots-in-an-epoch") {
                &[][..]
            } else {
                &["--slots-in-an-epoch", "2"][..]
            })
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start anvil at {} ({e}); run .ci/run or set ANVIL",
                    bin.display()
                )
            });
        let me = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if crate::http_post(
                &me.url(),
                r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#,
            )
            .await
            .is_ok_and(|(s, _)| s == 200)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "anvil did not answer on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        me
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Calls a JSON-RPC method on this node.
    pub async fn rpc(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        rpc(&self.url(), method, params).await
    }

    /// The node's dev accounts.
    pub async fn accounts(&self) -> Vec<String> {
        let v = self.rpc("eth_accounts", serde_json::json!([])).await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    }

    /// Mines `n` blocks.
    pub async fn mine(&self, n: u64) {
        self.rpc("anvil_mine", serde_json::json!([format!("0x{n:x}")]))
            .await;
    }

    /// The latest block number.
    pub async fn block_number(&self) -> u64 {
        let v = self.rpc("eth_blockNumber", serde_json::json!([])).await;
        u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }

    /// Stops the node.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}
