//! Starting a real Kafka-protocol broker (tansu, SQLite storage) for a test.

use std::{
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::free_port;

/// A running tansu broker on a free local port, storing into a temporary directory; killed (and
/// the directory removed) on drop. [`Tansu::kill`] and [`Tansu::restart`] simulate a crash: the
/// broker comes back on the same port with the same storage.
#[derive(Debug)]
pub struct Tansu {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Tansu {
    /// The tansu binary: `$TANSU`, else `tansu` on `PATH`, else the copy `.ci/run` builds under
    /// `/opt/chainwatch-tools/bin`.
    pub fn binary() -> PathBuf {
        if let Ok(p) = std::env::var("TANSU") {
            return p.into();
        }
        if let Ok(path) = std::env::var("PATH") {
            for dir in std::env::split_paths(&path) {
                let c = dir.join("tansu");
                if c.is_file() {
                    return c;
                }
            }
        }
        let tools =
            std::env::var("CHAINWATCH_TOOLS").unwrap_or_else(|_| "/opt/chainwatch-tools".into());
        PathBuf::from(tools).join("bin/tansu")
    }

    /// Starts a broker and waits until its port accepts connections.
    pub async fn spawn() -> Self {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("chainwatch-tansu-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut me = Self {
            child: None,
            port,
            dir,
        };
        me.start().await;
        me
    }

    fn command(bin: &Path, port: u16, dir: &Path) -> Command {
        let url = format!("tcp://127.0.0.1:{port}");
        let mut c = Command::new(bin);
        c.args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "sqlite://tansu.db"])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(
            std::fs::File::create(dir.join("tansu.log"))
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
        );
        c
    }

    async fn start(&mut self) {
        let bin = Self::binary();
        let child = Self::command(&bin, self.port, &self.dir)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start tansu at {} ({e}); run .ci/run or set TANSU",
                    bin.display()
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(self.dir.join("tansu.log")).unwrap_or_default();
                panic!("tansu exited with {status} on port {}: {log}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on port {} within 30 s",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers` / `--brokers`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker with SIGKILL (no clean shutdown), keeping its storage.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the broker again on the same port and storage (after [`Tansu::kill`]).
    pub async fn restart(&mut self) {
        self.kill();
        self.start().await;
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
