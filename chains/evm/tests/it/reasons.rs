//! Failure reasons against a real anvil: one contract per way to fail, each called in its own
//! transaction, then the block read through the adapter, both with anvil's debug API (trace)
//! and through a proxy that hides it (replay with `eth_call`), and with neither.

use std::path::PathBuf;

use alloy_primitives::keccak256;
use chainwatch_chain_core::ChainAdapter;
use chainwatch_chain_evm::{EvmAdapter, EvmOptions};
use chainwatch_schema::{Failure, FailureKind, TxStatus};
use chainwatch_testkit::{Anvil, evm};
use serde_json::{Value, json};

use crate::{
    proxy::{Faults, Proxy},
    support::{ANVIL_CHAIN, pool, qty, send},
};

fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// One failing transaction and the failure expected for it.
#[derive(Debug)]
struct Case {
    name: &'static str,
    hash: String,
    height: u64,
    kind: FailureKind,
    code: Option<String>,
    /// The message through a trace.
    message: String,
    /// The message through a replay, when it differs.
    replay_message: Option<String>,
    /// The deepest failing frame's address.
    location: String,
    /// What a replay reports as the location (the called contract) when it differs.
    replay_location: Option<String>,
}

/// An address passed as a custom error's argument.
const HOLDER: &str = "0x00000000000000000000000000000000000000aa";

/// Deploys one contract per failure and calls each with a 100,000 gas limit.
async fn failing_calls(anvil: &Anvil) -> Vec<Case> {
    let from = anvil.accounts().await.remove(0);
    let custom = evm::custom_error_data(
        selector("ERC20InsufficientBalance(address,uint256,uint256)"),
        &[evm::address_word(HOLDER), evm::word(5), evm::word(10)],
    );
    let too_late = evm::custom_error_data(selector("TooLate(uint256)"), &[evm::word(42)]);
    let runtimes: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "error string",
            evm::reverting_runtime(&evm::error_string("chainwatch: not allowed")),
        ),
        ("panic 0x11", evm::reverting_runtime(&evm::panic_data(0x11))),
        ("panic 0x12", evm::reverting_runtime(&evm::panic_data(0x12))),
        ("custom error", evm::reverting_runtime(&custom)),
        ("abi error", evm::reverting_runtime(&too_late)),
        ("bare revert", evm::BARE_REVERT_RUNTIME.to_vec()),
        ("out of gas", evm::GAS_BURNER_RUNTIME.to_vec()),
        ("invalid opcode", evm::INVALID_OPCODE_RUNTIME.to_vec()),
        ("invalid jump", evm::INVALID_JUMP_RUNTIME.to_vec()),
    ];
    let mut cases = Vec::new();
    let mut custom_address = String::new();
    for (name, runtime) in runtimes {
        let address = evm::deploy(anvil, &from, &runtime).await;
        if name == "custom error" {
            custom_address = address.clone();
        }
        cases.push(call(anvil, name, &address).await);
    }
    let forwarder = evm::deploy(anvil, &from, &evm::forwarding_runtime(&custom_address)).await;
    cases.push(call(anvil, "nested", &forwarder).await);

    let too_late_code: String = selector("TooLate(uint256)")
        .iter()
        .fold("0x".to_owned(), |s, b| s + &format!("{b:02x}"));
    let custom_message =
        format!("ERC20InsufficientBalance(sender: {HOLDER}, balance: 5, needed: 10)");
    for c in &mut cases {
        let (kind, code, message, replay_message): (_, Option<&str>, String, Option<String>) =
            match c.name {
                "error string" => (
                    FailureKind::Reverted,
                    None,
                    "chainwatch: not allowed".into(),
                    None,
                ),
                "panic 0x11" => (
                    FailureKind::Panic,
                    Some("0x11"),
                    "arithmetic overflow or underflow".into(),
                    None,
                ),
                "panic 0x12" => (
                    FailureKind::Panic,
                    Some("0x12"),
                    "division or modulo by zero".into(),
                    None,
                ),
                "custom error" | "nested" => (
                    FailureKind::CustomError,
                    Some("0xe450d38c"),
                    custom_message.clone(),
                    None,
                ),
                "abi error" => (
                    FailureKind::CustomError,
                    Some(too_late_code.as_str()),
                    "TooLate(deadline: 42)".into(),
                    None,
                ),
                "bare revert" => (
                    FailureKind::Reverted,
                    None,
                    "reverted without a reason".into(),
                    None,
                ),
                "out of gas" => (FailureKind::OutOfGas, None, "ran out of gas".into(), None),
                "invalid opcode" | "invalid jump" => (
                    FailureKind::InvalidOpcode,
                    None,
                    if c.name == "invalid opcode" {
                        "invalid opcode: INVALID".into()
                    } else {
                        "invalid jump destination".into()
                    },
                    Some(
                        "invalid opcode or invalid jump: all gas was consumed, also when replayed \
                         with"
                            .into(),
                    ),
                ),
                other => unreachable!("{other}"),
            };
        c.kind = kind;
        c.code = code.map(str::to_owned);
        c.message = message;
        c.replay_message = replay_message;
        if c.name == "nested" {
            c.replay_location = Some(c.location.clone());
            c.location = custom_address.clone();
        }
    }
    cases
}

/// Calls `address` with a 100,000 gas limit; the transaction must fail.
async fn call(anvil: &Anvil, name: &'static str, address: &str) -> Case {
    let r = send(anvil, json!({"to": address, "gas": "0x186a0"})).await;
    assert_eq!(r["status"], "0x0", "{name} should fail: {r}");
    Case {
        name,
        hash: r["transactionHash"].as_str().unwrap().to_owned(),
        height: u64::try_from(qty(&r["blockNumber"])).unwrap(),
        kind: FailureKind::Other,
        code: None,
        message: String::new(),
        replay_message: None,
        location: address.to_owned(),
        replay_location: None,
    }
}

/// An ABI directory declaring `TooLate(uint256 deadline)`, as a Foundry artifact.
fn abi_dir() -> PathBuf {
    // One directory per call: tests may run as threads of one process (`cargo test`).
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cw-it-abi-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Auction.json"),
        r#"{"abi":[{"type":"error","name":"TooLate","inputs":[{"name":"deadline","type":"uint256","internalType":"uint256"}]}]}"#,
    )
    .unwrap();
    dir
}

async fn adapter_at(url: &str) -> EvmAdapter {
    EvmAdapter::connect(
        ANVIL_CHAIN.parse().unwrap(),
        pool(ANVIL_CHAIN, &[("local", url)]),
        EvmOptions {
            abi_dir: Some(abi_dir()),
            ..EvmOptions::default()
        },
    )
    .await
    .unwrap()
}

async fn failure_of(a: &EvmAdapter, c: &Case) -> Failure {
    let block = a.block(c.height).await.unwrap().unwrap();
    let tx = block.txs.iter().find(|t| t.hash == c.hash).unwrap();
    assert_eq!(tx.status, TxStatus::Failed, "{}", c.name);
    tx.failure.clone().unwrap()
}

fn raw(f: &Failure) -> Value {
    serde_json::from_str(&f.raw).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_from_traces() {
    let anvil = Anvil::spawn(&[]).await;
    let cases = failing_calls(&anvil).await;
    let a = adapter_at(&anvil.url()).await;
    for c in &cases {
        let f = failure_of(&a, c).await;
        assert_eq!(
            (f.kind, &f.code, &f.message),
            (c.kind, &c.code, &c.message),
            "{}",
            c.name
        );
        assert_eq!(
            f.location.as_deref(),
            Some(c.location.as_str()),
            "{}",
            c.name
        );
        let raw = raw(&f);
        assert_eq!(raw["source"], "trace", "{}", c.name);
        assert_eq!(raw["status"], "0x0");
        assert_eq!(raw["gas"], "0x186a0");
        assert!(
            raw["gasUsed"].is_string() && raw["error"].is_string(),
            "{raw}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_from_replays_without_debug_api() {
    let anvil = Anvil::spawn(&[]).await;
    let cases = failing_calls(&anvil).await;
    let proxy = Proxy::start(
        anvil.url(),
        Faults {
            no_debug: true,
            ..Faults::default()
        },
    )
    .await;
    let a = adapter_at(&proxy.url).await;
    for c in &cases {
        let f = failure_of(&a, c).await;
        assert_eq!((f.kind, &f.code), (c.kind, &c.code), "{}: {f:?}", c.name);
        match &c.replay_message {
            Some(prefix) => assert!(
                f.message.starts_with(prefix.as_str()),
                "{}: {}",
                c.name,
                f.message
            ),
            None => assert_eq!(f.message, c.message, "{}", c.name),
        }
        let location = c.replay_location.as_ref().unwrap_or(&c.location);
        assert_eq!(f.location.as_deref(), Some(location.as_str()), "{}", c.name);
        let raw = raw(&f);
        assert_eq!(raw["source"], "replay", "{}", c.name);
        assert_eq!(raw["gas"], "0x186a0");
    }
    // The debug API was asked once, then left alone.
    assert_eq!(proxy.calls("debug_traceTransaction"), 1);
    assert!(proxy.calls("eth_call") >= cases.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipt_facts_remain_when_no_lookup_works() {
    let anvil = Anvil::spawn(&[]).await;
    let from = anvil.accounts().await.remove(0);
    let contract = evm::deploy(
        &anvil,
        &from,
        &evm::reverting_runtime(&evm::error_string("hidden")),
    )
    .await;
    let proxy = Proxy::start(
        anvil.url(),
        Faults {
            no_debug: true,
            no_state_override: true,
            ..Faults::default()
        },
    )
    .await;
    let a = adapter_at(&proxy.url).await;
    let mut heights = Vec::new();
    for _ in 0..2 {
        let r = send(&anvil, json!({"to": contract, "gas": "0x186a0"})).await;
        assert_eq!(r["status"], "0x0");
        heights.push(u64::try_from(qty(&r["blockNumber"])).unwrap());
    }
    for h in heights {
        let block = a.block(h).await.unwrap().unwrap();
        let f = block.txs[0].failure.as_ref().unwrap();
        assert_eq!(f.kind, FailureKind::Other);
        assert!(
            f.message
                .starts_with("execution failed (receipt status 0) after using "),
            "{}",
            f.message
        );
        assert_eq!(f.location.as_deref(), Some(contract.as_str()));
        assert!(raw(f).get("source").is_none(), "{}", f.raw);
    }
    // Each refused lookup was tried once, not once per failed transaction.
    assert_eq!(proxy.calls("debug_traceTransaction"), 1);
    assert_eq!(proxy.calls("eth_call"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_loop_is_out_of_gas_in_a_trace() {
    let anvil = Anvil::spawn(&[]).await;
    let from = anvil.accounts().await.remove(0);
    let looper = evm::deploy(&anvil, &from, evm::ENDLESS_LOOP_RUNTIME).await;
    let c = call(&anvil, "loop", &looper).await;
    let f = failure_of(&adapter_at(&anvil.url()).await, &c).await;
    assert_eq!(
        (f.kind, f.message.as_str()),
        (FailureKind::OutOfGas, "ran out of gas")
    );
    assert_eq!(f.location.as_deref(), Some(looper.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_abi_dir_is_invalid_config_naming_the_file() {
    let anvil = Anvil::spawn(&[]).await;
    let dir = std::env::temp_dir().join(format!("cw-it-bad-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Broken.json"), "[{").unwrap();
    let e = EvmAdapter::connect(
        ANVIL_CHAIN.parse().unwrap(),
        pool(ANVIL_CHAIN, &[("local", &anvil.url())]),
        EvmOptions {
            abi_dir: Some(dir.clone()),
            ..EvmOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.reason(), "invalid_config");
    let text = chainwatch_chain_core::ErrorChain(&e).to_string();
    assert!(
        text.contains("Broken.json") && text.contains("not valid JSON"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_failures_in_one_block_ask_a_refusing_provider_once() {
    let anvil = Anvil::spawn(&[]).await;
    let accounts = anvil.accounts().await;
    let panics = evm::deploy(
        &anvil,
        &accounts[0],
        &evm::reverting_runtime(&evm::panic_data(0x32)),
    )
    .await;
    let proxy = Proxy::start(
        anvil.url(),
        Faults {
            no_debug: true,
            ..Faults::default()
        },
    )
    .await;
    let a = adapter_at(&proxy.url).await;
    anvil.rpc("evm_setAutomine", json!([false])).await;
    let mut hashes = Vec::new();
    for from in &accounts[1..5] {
        hashes.push(evm::send(&anvil, from, json!({"to": panics, "gas": "0x186a0"})).await);
    }
    anvil.mine(1).await;
    let r = evm::receipt(&anvil, &hashes[0]).await;
    let block = a
        .block(u64::try_from(qty(&r["blockNumber"])).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block.txs.len(), 4);
    for tx in &block.txs {
        let f = tx.failure.as_ref().unwrap();
        assert_eq!(
            (f.kind, f.code.as_deref(), f.message.as_str()),
            (
                FailureKind::Panic,
                Some("0x32"),
                "array index out of bounds"
            ),
            "{}",
            tx.hash
        );
        assert_eq!(raw(f)["source"], "replay");
    }
    assert_eq!(proxy.calls("debug_traceTransaction"), 1);
}
