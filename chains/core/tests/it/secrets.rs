//! Provider URLs are secrets: no API key, user info or `host:port` in logs, errors or `Debug`
//! output, whatever way the provider fails. The label is what identifies a provider.

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

use chainwatch_chain_core::{ErrorChain, PoolConfig, ProviderConfig};
use chainwatch_testkit::{Fault, FaultProxy, RpcStub};
use serde_json::{Value, json};
use tracing_subscriber::util::SubscriberInitExt;

use crate::common::{block_number, fast_cfg, pool, provider};

const PATH_KEY: &str = "SECRETKEY_abcdef123456";
const USER: &str = "apiuser_77";
const PASSWORD: &str = "USERINFOPASS_9876";

/// Everything every subscriber layer wrote, one JSON object per line.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Installs, once per process, a global subscriber that records every event at every level as
/// JSON, `log` records (reqwest's) included. nextest runs each test in its own process.
fn capture() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish()
            .try_init()
            .expect("install the log-capturing subscriber");
        logs
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_urls_never_leak() {
    let logs = capture();
    let stub = RpcStub::eth().await;
    let keyed = FaultProxy::start(stub.url()).await;
    let userinfo = FaultProxy::start(stub.url()).await;
    let keyed_url = keyed.url_with_path(&format!("/v2/{PATH_KEY}"));
    let userinfo_url = format!("http://{USER}:{PASSWORD}@{}/rpc", userinfo.addr());
    let secrets = [
        PATH_KEY.to_owned(),
        USER.to_owned(),
        PASSWORD.to_owned(),
        keyed.addr().to_string(),
        userinfo.addr().to_string(),
    ];
    let keys = &secrets[..3];
    let leaks = |text: &str| -> Vec<String> {
        secrets
            .iter()
            .filter(|s| text.contains(s.as_str()))
            .cloned()
            .collect()
    };

    let configs = vec![
        provider("keyed", keyed_url.clone(), 2),
        provider("userinfo", userinfo_url.clone(), 1),
    ];
    for c in &configs {
        let debug = format!("{c:?}");
        assert!(
            leaks(&debug).is_empty(),
            "ProviderConfig Debug leaks: {debug}"
        );
        assert!(debug.contains(&c.label), "{debug}");
    }
    let cfg = PoolConfig {
        max_attempts: 2,
        breaker_threshold: 100,
        ..fast_cfg()
    };
    let pool = pool(configs, cfg);
    let debug = format!("{pool:?}");
    assert!(
        leaks(&debug).is_empty(),
        "EndpointPool Debug leaks: {debug}"
    );

    // The providers work through their secret URLs (the key and user info are accepted).
    assert_eq!(block_number(&pool).await.unwrap(), "0x10");

    let mut errors = Vec::new();
    for fault in [
        Fault::Down,
        Fault::Http500,
        Fault::Http429,
        Fault::Garbage,
        Fault::Hang,
    ] {
        keyed.set(fault).await;
        userinfo.set(fault).await;
        let err = block_number(&pool).await.unwrap_err();
        errors.push((fault, ErrorChain(&err).to_string(), format!("{err:?}")));
        for idx in 0..2 {
            let err = pool
                .request_on::<String>(idx, "eth_blockNumber", json!([]))
                .await
                .unwrap_err();
            errors.push((fault, err.to_string(), format!("{err:?}")));
        }
        keyed.set(Fault::None).await;
        userinfo.set(Fault::None).await;
    }
    for (fault, display, debug) in &errors {
        assert!(
            leaks(display).is_empty(),
            "{fault:?}: error leaks {:?}: {display}",
            leaks(display)
        );
        assert!(
            leaks(debug).is_empty(),
            "{fault:?}: error Debug leaks {:?}: {debug}",
            leaks(debug)
        );
        assert!(
            display.contains("provider `keyed`") || display.contains("provider `userinfo`"),
            "{fault:?}: error does not name the provider: {display}"
        );
    }
    let health = format!("{:?}", pool.health());
    assert!(leaks(&health).is_empty(), "{health}");

    let lines = logs.lines();
    let ours: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("chainwatch"))
        })
        .collect();
    assert!(
        ours.iter().any(|l| l.to_string().contains("\"keyed\"")),
        "no log line names the provider label"
    );
    for line in &ours {
        let text = line.to_string();
        assert!(
            leaks(&text).is_empty(),
            "chainwatch log leaks {:?}: {text}",
            leaks(&text)
        );
    }
    assert!(
        ours.len() < lines.len(),
        "no log line from reqwest or hyper-util was captured: the check below would be vacuous"
    );
    // Other crates (reqwest, hyper-util) log at every level too. No key or user info may reach
    // them, and nothing at INFO or above may name the host:port; at DEBUG and below hyper-util
    // logs the socket address it connects to, which production filters out.
    for line in &lines {
        let text = line.to_string();
        let keys_leaked: Vec<_> = keys.iter().filter(|k| text.contains(k.as_str())).collect();
        assert!(keys_leaked.is_empty(), "log leaks {keys_leaked:?}: {text}");
        if matches!(line["level"].as_str(), Some("INFO" | "WARN" | "ERROR")) {
            assert!(
                leaks(&text).is_empty(),
                "log leaks {:?}: {text}",
                leaks(&text)
            );
        }
    }
}

#[test]
fn provider_config_debug_hides_the_url() {
    let c = ProviderConfig::new("alchemy", format!("https://eth.example.com/v2/{PATH_KEY}"));
    let debug = format!("{c:?}");
    assert!(
        !debug.contains(PATH_KEY) && !debug.contains("eth.example.com"),
        "{debug}"
    );
    assert!(debug.contains("alchemy"), "{debug}");
}
