//! `EndpointPool::new` rejects bad provider lists with a clear message that quotes no URL.

use chainwatch_chain_core::{EndpointPool, ErrorChain, FetchError, ProviderConfig};

use crate::common::{chain, fast_cfg};

const KEY: &str = "CONFIGKEY_0123456789";

/// The error `new` returns for `providers`, formatted with its sources.
fn new_error(providers: Vec<ProviderConfig>) -> String {
    let err = EndpointPool::new(chain(), providers, fast_cfg()).unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::Permanent {
                reason: "invalid_config",
                ..
            }
        ),
        "{err:?}"
    );
    let text = ErrorChain(&err).to_string();
    assert!(
        !text.contains(KEY) && !text.contains("example.com"),
        "quotes the URL: {text}"
    );
    let debug = format!("{err:?}");
    assert!(!debug.contains(KEY), "Debug quotes the URL: {debug}");
    text
}

fn url() -> String {
    format!("https://eth.example.com/v2/{KEY}")
}

#[test]
fn empty_provider_list() {
    let text = new_error(vec![]);
    assert!(
        text.contains("evm:1") && text.contains("empty provider list"),
        "{text}"
    );
}

#[test]
fn duplicate_labels() {
    let text = new_error(vec![
        ProviderConfig::new("main", url()),
        ProviderConfig::new("main", "http://127.0.0.1:1"),
    ]);
    assert!(text.contains("`main`") && text.contains("twice"), "{text}");
}

#[test]
fn non_http_urls() {
    for bad in [
        format!("wss://eth.example.com/v2/{KEY}"),
        format!("eth.example.com/v2/{KEY}"),
        format!("ftp://user:{KEY}@eth.example.com/"),
    ] {
        let text = new_error(vec![ProviderConfig::new("ws", bad)]);
        assert!(text.contains("`ws`") && text.contains("http://"), "{text}");
    }
}

#[test]
fn unparseable_http_urls() {
    for bad in [
        format!("http://eth example.com/v2/{KEY}"),
        format!("http://:8545/{KEY}"),
        format!("http://eth.example.com:99999/{KEY}"),
    ] {
        let text = new_error(vec![ProviderConfig::new("broken", bad)]);
        assert!(text.contains("`broken`"), "{text}");
    }
}

#[test]
fn empty_label() {
    let text = new_error(vec![ProviderConfig::new("", url())]);
    assert!(text.contains("label"), "{text}");
}

#[test]
fn invalid_rate_limits() {
    for rps in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-30] {
        let mut p = ProviderConfig::new("limited", url());
        p.max_rps = Some(rps);
        let text = new_error(vec![p]);
        assert!(
            text.contains("`limited`") && text.contains("max_rps"),
            "{rps}: {text}"
        );
    }
}

#[test]
fn valid_pool() {
    let mut p = ProviderConfig::new("limited", url());
    p.max_rps = Some(0.5);
    let pool = EndpointPool::new(
        chain(),
        vec![p, ProviderConfig::new("local", "http://127.0.0.1:8545")],
        fast_cfg(),
    )
    .unwrap();
    assert_eq!(pool.labels().collect::<Vec<_>>(), ["limited", "local"]);
    assert_eq!((pool.len(), pool.is_empty()), (2, false));
    assert_eq!(pool.chain().to_string(), "evm:1");
}

#[test]
fn quorum_out_of_range() {
    for q in [0, 3] {
        let cfg = chainwatch_chain_core::PoolConfig {
            quorum: chainwatch_chain_core::QuorumConfig {
                quorum: Some(q),
                max_lag_blocks: 10,
            },
            ..fast_cfg()
        };
        let providers = vec![
            ProviderConfig::new("a", url()),
            ProviderConfig::new("b", url()),
        ];
        let err = EndpointPool::new(chain(), providers, cfg).unwrap_err();
        let text = ErrorChain(&err).to_string();
        assert!(
            text.contains("quorum must be between 1 and the number of providers (2)")
                && text.contains(&format!("got {q}")),
            "{text}"
        );
    }
}
