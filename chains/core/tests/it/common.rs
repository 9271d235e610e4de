//! Helpers shared by the pool tests.

use std::time::Duration;

use chainwatch_chain_core::{EndpointPool, FetchError, PoolConfig, ProviderConfig, ProviderHealth};
use chainwatch_schema::ChainId;

/// The chain every test pool serves.
pub(crate) fn chain() -> ChainId {
    ChainId::new("evm:1").unwrap()
}

/// A pool configuration with short timeouts so that tests stay quick. The 1 s cooldown (also the
/// half-life of an idle provider's error rate) leaves scheduling slack on a loaded machine;
/// breaker tests shorten it.
pub(crate) fn fast_cfg() -> PoolConfig {
    PoolConfig {
        request_timeout: Duration::from_millis(300),
        max_attempts: 0,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_secs(1),
        breaker_max_cooldown: Duration::from_secs(2),
        ..PoolConfig::default()
    }
}

/// A provider with a weight, so that which one is tried first does not rest on a tie.
pub(crate) fn provider(label: &str, url: String, weight: u32) -> ProviderConfig {
    let mut p = ProviderConfig::new(label, url);
    p.weight = weight;
    p
}

/// A pool over `providers` with `cfg`.
pub(crate) fn pool(providers: Vec<ProviderConfig>, cfg: PoolConfig) -> EndpointPool {
    EndpointPool::new(chain(), providers, cfg).unwrap()
}

/// `eth_blockNumber` through the pool (the stubs answer `0x10`).
pub(crate) async fn block_number(pool: &EndpointPool) -> Result<String, FetchError> {
    pool.request("eth_blockNumber", serde_json::json!([])).await
}

/// The health of the provider labelled `label`.
pub(crate) fn health(pool: &EndpointPool, label: &str) -> ProviderHealth {
    pool.health()
        .into_iter()
        .find(|h| h.label == label)
        .unwrap_or_else(|| panic!("no provider `{label}`"))
}
