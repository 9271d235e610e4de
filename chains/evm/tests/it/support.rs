//! Shared helpers: an adapter over anvil, transactions and the reverting contract.

use std::{sync::Arc, time::Duration};

use chainwatch_chain_core::{EndpointPool, FetchError, PoolConfig, ProviderConfig};
use chainwatch_chain_evm::{EvmAdapter, EvmOptions};
use chainwatch_testkit::{Anvil, evm};
use serde_json::{Value, json};

/// Anvil's chain id.
pub(crate) const ANVIL_CHAIN: &str = "evm:31337";

/// A pool over `(label, url)` providers with short timeouts, for `chain`.
pub(crate) fn pool(chain: &str, providers: &[(&str, &str)]) -> Arc<EndpointPool> {
    let cfg = PoolConfig {
        request_timeout: Duration::from_secs(5),
        ..PoolConfig::default()
    };
    let providers = providers
        .iter()
        .map(|(label, url)| ProviderConfig::new(*label, *url))
        .collect();
    Arc::new(EndpointPool::new(chain.parse().unwrap(), providers, cfg).unwrap())
}

/// Connects an adapter for `chain` over the given providers.
pub(crate) async fn connect(
    chain: &str,
    providers: &[(&str, &str)],
) -> Result<EvmAdapter, FetchError> {
    EvmAdapter::connect(
        chain.parse().unwrap(),
        pool(chain, providers),
        EvmOptions::default(),
    )
    .await
}

/// An adapter over one anvil provider labelled `local`.
pub(crate) async fn adapter(anvil: &Anvil) -> EvmAdapter {
    connect(ANVIL_CHAIN, &[("local", &anvil.url())])
        .await
        .unwrap()
}

/// A JSON-RPC quantity as u128.
pub(crate) fn qty(v: &Value) -> u128 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}"));
    u128::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// Sends `tx` from the first dev account and returns its mined receipt (anvil automines).
pub(crate) async fn send(anvil: &Anvil, tx: Value) -> Value {
    let from = anvil.accounts().await.remove(0);
    let hash = evm::send(anvil, &from, tx).await;
    evm::receipt(anvil, &hash).await
}

/// Waits for the receipt of `hash`.
pub(crate) async fn receipt(anvil: &Anvil, hash: &Value) -> Value {
    evm::receipt(anvil, hash.as_str().unwrap()).await
}

/// Deploys a contract whose every call reverts; returns the deployment receipt.
pub(crate) async fn deploy_reverter(anvil: &Anvil) -> Value {
    // Error(string) selector and an arbitrary short payload.
    let payload = [0x08, 0xc3, 0x79, 0xa0, 0xde, 0xad, 0xbe, 0xef];
    let receipt = send(
        anvil,
        json!({"data": evm::init_returning(&evm::reverting_runtime(&payload))}),
    )
    .await;
    assert_eq!(receipt["status"], "0x1", "deployment failed: {receipt}");
    receipt
}
