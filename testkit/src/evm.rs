//! Real EVM traffic for tests: transfers, a contract that always reverts with
//! `Error(string)`, a contract that succeeds and emits a log, from anvil's dev accounts; and
//! hand-assembled runtimes that fail in each way the EVM can (revert payloads for
//! `Panic(uint256)` and custom errors, out of gas, invalid opcode and jump, a nested call).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Anvil;

/// Init code that deploys `runtime` (CODECOPY + RETURN).
pub fn init_returning(runtime: &[u8]) -> String {
    let n = u8::try_from(runtime.len()).expect("runtime under 256 bytes");
    let mut code = vec![
        0x60, n, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, n, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(runtime);
    format!("0x{}", hex(&code))
}

/// Runtime code that reverts with `payload` as return data.
pub fn reverting_runtime(payload: &[u8]) -> Vec<u8> {
    let n = u8::try_from(payload.len()).expect("payload under 256 bytes");
    let mut code = vec![
        0x60, n, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, n, 0x60, 0x00, 0xfd,
    ];
    code.extend_from_slice(payload);
    code
}

/// ABI encoding of `Error(string)` revert data.
pub fn error_string(msg: &str) -> Vec<u8> {
    let mut out = vec![0x08, 0xc3, 0x79, 0xa0];
    let mut word = |v: usize| {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&(v as u64).to_be_bytes());
        out.extend_from_slice(&w);
    };
    word(32);
    word(msg.len());
    let mut s = msg.as_bytes().to_vec();
    s.resize(msg.len().div_ceil(32) * 32, 0);
    out.extend_from_slice(&s);
    out
}

/// ABI encoding of `Panic(uint256)` revert data with `code` (`0x11` overflow, `0x12` division
/// by zero, …).
pub fn panic_data(code: u8) -> Vec<u8> {
    let mut out = vec![0x4e, 0x48, 0x7b, 0x71];
    out.extend_from_slice(&word(u64::from(code)));
    out
}

/// Revert data of a custom error: its 4-byte `selector` followed by 32-byte argument words.
pub fn custom_error_data(selector: [u8; 4], args: &[[u8; 32]]) -> Vec<u8> {
    let mut out = selector.to_vec();
    for a in args {
        out.extend_from_slice(a);
    }
    out
}

/// A 32-byte big-endian ABI word holding `v`.
pub fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// A 32-byte ABI word holding the address `0x…` (20 bytes, left-padded).
pub fn address_word(address: &str) -> [u8; 32] {
    let hex = address.trim_start_matches("0x");
    assert_eq!(hex.len(), 40, "not an address: {address}");
    let mut w = [0u8; 32];
    for (i, byte) in w[12..].iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex address");
    }
    w
}

/// Runtime that reverts with no data (`REVERT(0, 0)`).
pub const BARE_REVERT_RUNTIME: &[u8] = &[0x60, 0x00, 0x60, 0x00, 0xfd];

/// Runtime that executes the designated invalid opcode `0xfe`, consuming all gas.
pub const INVALID_OPCODE_RUNTIME: &[u8] = &[0xfe];

/// Runtime that jumps to offset 5, which is not a `JUMPDEST`.
pub const INVALID_JUMP_RUNTIME: &[u8] = &[0x60, 0x05, 0x56];

/// Runtime that loops 8,192 times (about 213,000 gas) and then stops: it runs out of gas with
/// a 100,000 gas limit and succeeds with 300,000.
pub const GAS_BURNER_RUNTIME: &[u8] = &[
    0x61, 0x20, 0x00, // PUSH2 0x2000
    0x5b, // JUMPDEST (3)
    0x60, 0x01, 0x90, 0x03, // counter - 1
    0x80, 0x60, 0x03, 0x57, // DUP1 PUSH1 3 JUMPI
    0x00, // STOP
];

/// Runtime that loops forever (`JUMPDEST PUSH1 0 JUMP`), so it always runs out of gas.
pub const ENDLESS_LOOP_RUNTIME: &[u8] = &[0x5b, 0x60, 0x00, 0x56];

/// Runtime that calls `inner` (an address, `0x…`) with all its gas and no data, and when that
/// call fails reverts with the inner revert data unchanged, as Solidity bubbles errors up.
pub fn forwarding_runtime(inner: &str) -> Vec<u8> {
    let mut code = vec![
        0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x60, 0x00, 0x73,
    ];
    code.extend_from_slice(&address_word(inner)[12..]);
    code.extend_from_slice(&[
        0x5a, 0xf1, // GAS CALL
        0x60, 0x2e, 0x57, // PUSH1 ok JUMPI
        0x3d, 0x60, 0x00, 0x60, 0x00, 0x3e, // RETURNDATACOPY(0, 0, RETURNDATASIZE)
        0x3d, 0x60, 0x00, 0xfd, // REVERT(0, RETURNDATASIZE)
        0x5b, 0x00, // ok (0x2e): JUMPDEST STOP
    ]);
    assert_eq!(code[0x2e], 0x5b, "jump target moved");
    code
}

/// Runtime that emits one `LOG1` with topic 0x01 and stops.
pub const LOGGER_RUNTIME: &[u8] = &[0x60, 0x01, 0x60, 0x00, 0x60, 0x00, 0xa1, 0x00];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Sends `tx` (gas given explicitly so that failing calls are still mined) and returns its hash.
pub async fn send(anvil: &Anvil, from: &str, mut tx: Value) -> String {
    tx["from"] = json!(from);
    if tx.get("gas").is_none() {
        tx["gas"] = json!("0x30d40");
    }
    let hash = anvil.rpc("eth_sendTransaction", json!([tx])).await;
    hash.as_str().unwrap().to_owned()
}

/// Waits for and returns the receipt of `hash`.
pub async fn receipt(anvil: &Anvil, hash: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = anvil.rpc("eth_getTransactionReceipt", json!([hash])).await;
        if !r.is_null() {
            return r;
        }
        assert!(Instant::now() < deadline, "no receipt for {hash}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Deploys `runtime` and returns the contract address.
pub async fn deploy(anvil: &Anvil, from: &str, runtime: &[u8]) -> String {
    let hash = send(anvil, from, json!({"data": init_returning(runtime)})).await;
    let r = receipt(anvil, &hash).await;
    r["contractAddress"].as_str().unwrap().to_owned()
}

/// Hashes of mined traffic, by outcome.
#[derive(Debug, Default, Clone)]
pub struct Traffic {
    /// Transactions that succeeded.
    pub succeeded: Vec<String>,
    /// Transactions that reverted.
    pub failed: Vec<String>,
}

/// With automine on: `transfers` ETH transfers, a logger and a reverter deployment, and
/// `calls` calls to each (one block per transaction). Every receipt is checked.
pub async fn mixed_traffic(anvil: &Anvil, transfers: usize, calls: usize) -> Traffic {
    let accts = anvil.accounts().await;
    let mut t = Traffic::default();
    for i in 0..transfers {
        let to = &accts[1 + i % (accts.len() - 1)];
        t.succeeded.push(
            send(
                anvil,
                &accts[0],
                json!({"to": to, "value": format!("0x{:x}", 1000 + i)}),
            )
            .await,
        );
    }
    let logger = deploy(anvil, &accts[0], LOGGER_RUNTIME).await;
    let reverter = deploy(
        anvil,
        &accts[0],
        &reverting_runtime(&error_string("chainwatch test: always reverts")),
    )
    .await;
    for _ in 0..calls {
        t.succeeded
            .push(send(anvil, &accts[1], json!({"to": logger})).await);
        t.failed
            .push(send(anvil, &accts[2], json!({"to": reverter})).await);
    }
    for h in &t.succeeded {
        assert_eq!(
            receipt(anvil, h).await["status"],
            "0x1",
            "{h} should succeed"
        );
    }
    for h in &t.failed {
        assert_eq!(
            receipt(anvil, h).await["status"],
            "0x0",
            "{h} should revert"
        );
    }
    t
}
