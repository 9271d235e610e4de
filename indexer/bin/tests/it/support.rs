//! Running the binary, waiting for it, reading its logs.

use std::{
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use chainwatch_schema::ChainId;
use chainwatch_store::Store;
use chainwatch_testkit::{Anvil, free_port, http_post};
use serde_json::{Value, json};

static RUN: AtomicU32 = AtomicU32::new(0);

/// A scratch directory for one test run.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "chainwatch-it-{}-{}-{name}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary under test.
pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chainwatch"))
}

/// A running `chainwatch dev`; killed on drop if not stopped.
#[derive(Debug)]
pub(crate) struct Dev {
    child: Option<Child>,
    pub(crate) listen: String,
    log: PathBuf,
}

impl Dev {
    /// Starts `chainwatch dev` with `args` (plus `--listen` on a free port), logging to a file.
    pub(crate) fn start(args: &[String]) -> Self {
        Self::start_cmd("dev", args, &[])
    }

    /// Starts `chainwatch <command>` with `args` and `env` (plus `--listen` on a free port:
    /// the API of `dev`, the health and metrics endpoints of `ingest` and `consume`).
    pub(crate) fn start_cmd(command: &str, args: &[String], env: &[(&str, &str)]) -> Self {
        let dir = scratch(command);
        let log = dir.join("chainwatch.log");
        let listen = format!("127.0.0.1:{}", free_port());
        let child = bin()
            .arg(command)
            .env("RUST_LOG", "info,chainwatch=debug,sqlx=warn")
            // Tests read the logs as text; `auto` would pick JSON for a file.
            .env("CHAINWATCH_LOG_FORMAT", "text")
            .envs(env.iter().copied())
            .args(args)
            .args(["--listen", &listen])
            .env_remove("DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            child: Some(child),
            listen,
            log,
        }
    }

    /// Everything the process logged so far.
    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
            panic!("chainwatch exited early ({status}); logs:\n{}", self.logs());
        }
    }

    /// GETs `path` from this process; returns the raw HTTP response (status line, headers, body).
    pub(crate) async fn get(&self, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(&self.listen).await.unwrap();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.listen
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.unwrap();
        buf
    }

    /// Waits until `/readyz` answers 200.
    pub(crate) async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.assert_running();
            if let Ok(mut s) = tokio::net::TcpStream::connect(&self.listen).await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let req = format!(
                    "GET /readyz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    self.listen
                );
                if s.write_all(req.as_bytes()).await.is_ok() {
                    let mut buf = String::new();
                    let _ = s.read_to_string(&mut buf).await;
                    if buf.starts_with("HTTP/1.1 200") {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "chainwatch not ready; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the indexed head of `chain` is `anvil`'s current head.
    pub(crate) async fn wait_indexed(&mut self, store: &Store, chain: &ChainId, anvil: &Anvil) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            self.assert_running();
            let head = anvil
                .rpc("eth_getBlockByNumber", json!(["latest", false]))
                .await;
            let hash = head["hash"].as_str().unwrap().to_owned();
            if let Some(wm) = store.watermark(chain).await.unwrap()
                && wm.head.is_some_and(|h| h.hash == hash)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "head {hash} not indexed in time; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 90 s) until the chain's finalized watermark reaches `height`.
    pub(crate) async fn wait_finalized(&mut self, store: &Store, chain: &ChainId, height: u64) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            self.assert_running();
            let wm = store.watermark(chain).await.unwrap();
            if wm
                .and_then(|w| w.finalized_height)
                .is_some_and(|f| f >= height)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "finalized height did not reach {height} in time; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the process with SIGKILL: no clean shutdown.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether the process is still running (false once stopped or killed).
    pub(crate) fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "chainwatch did not stop within 30 s of SIGTERM; logs:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs a GraphQL query against this process.
    pub(crate) async fn graphql(&self, query: &str) -> Value {
        let body = json!({ "query": query }).to_string();
        let (status, text) = http_post(&format!("http://{}/graphql", self.listen), &body)
            .await
            .unwrap();
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The database URL of the pool a `#[sqlx::test]` handed us.
pub(crate) async fn url_of(pool: &sqlx::PgPool) -> String {
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    chainwatch_store::testing::url_for_database(&std::env::var("DATABASE_URL").unwrap(), &db)
}

/// anvil's chain.
pub(crate) fn anvil_chain() -> ChainId {
    "evm:31337".parse().unwrap()
}

/// `dev` args for one anvil provider from genesis into `db_url`.
pub(crate) fn dev_args(anvil_url: &str, db_url: &str) -> Vec<String> {
    vec![
        "--chain".into(),
        format!("evm:31337=anvil={anvil_url}"),
        "--database-url".into(),
        db_url.into(),
        "--start-height".into(),
        "0".into(),
    ]
}

/// Indexes `anvil`'s current chain from scratch into a new database and returns its snapshot.
pub(crate) async fn clean_snapshot(anvil: &Anvil, hint: &str) -> Vec<String> {
    let db = chainwatch_store::testing::TempDatabase::create(hint)
        .await
        .unwrap();
    let mut dev = Dev::start(&dev_args(&anvil.url(), &db.url));
    dev.wait_ready().await;
    dev.wait_indexed(&db.store, &anvil_chain(), anvil).await;
    assert!(dev.stop().success());
    let snap = db.store.snapshot(&anvil_chain()).await.unwrap();
    db.drop_db().await;
    snap
}

/// The value of the Prometheus sample `name` whose labels include every `labels` pair, in the
/// text exposition `metrics` (the body of `/metrics`, headers allowed before it).
pub(crate) fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        if line.starts_with('#') {
            return None;
        }
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, l)) => (n, l),
            None => (series, ""),
        };
        (series_name == name
            && labels
                .iter()
                .all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\""))))
        .then(|| value.parse().ok())
        .flatten()
    })
}
