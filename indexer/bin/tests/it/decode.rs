//! `chainwatch decode --chain ID FILE…`: raw RPC files of any supported shape → the normalized
//! JSON of `decode_files`, offline; and a clear error, with its exit code, for each way the input
//! can be wrong.

use std::{path::PathBuf, process::Output};

use serde_json::Value;

use crate::support::{bin, scratch};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../chains/evm/testdata");

fn fixture(name: &str) -> String {
    format!("{TESTDATA}/{name}")
}

fn golden(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("golden/decode/{name}.json"))).unwrap()
}

fn decode<S: AsRef<std::ffi::OsStr>>(chain: &str, files: &[S]) -> Output {
    bin()
        .args(["decode", "--chain", chain])
        .args(files)
        .output()
        .unwrap()
}

fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The exit code and the stderr of a failed run; nothing on stdout.
fn failure(out: &Output) -> (i32, String) {
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A file with `text` in a scratch directory.
fn file(name: &str, text: &str) -> String {
    let path: PathBuf = scratch("decode").join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const BLOCK: &str = "mainnet-block-11098450";

fn block_files() -> Vec<String> {
    ["full", "receipts", "calltracer"]
        .iter()
        .map(|k| fixture(&format!("{BLOCK}-{k}.json")))
        .collect()
}

#[test]
fn block_receipts_and_traces_in_any_order() {
    let want = golden(BLOCK);
    let files = block_files();
    assert_eq!(stdout_ok(&decode("evm:1", &files)), want);
    // Shapes, not names or positions, say what each file is.
    let reversed: Vec<String> = files.iter().rev().cloned().collect();
    assert_eq!(stdout_ok(&decode("evm:1", &reversed)), want);
    let v: Value = serde_json::from_str(&want).unwrap();
    let failed: Vec<&Value> = v["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "FAILED")
        .collect();
    assert_eq!(failed.len(), 7);
    assert_eq!(failed[2]["failure"]["kind"], "REVERTED");
    assert_eq!(
        failed[2]["failure"]["message"],
        "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT"
    );
}

#[test]
fn block_and_receipts_without_traces_give_receipt_facts() {
    let files = &block_files()[..2];
    let v: Value = serde_json::from_str(&stdout_ok(&decode("evm:1", files))).unwrap();
    let tx = v["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["hash"] == "0xa36bb155c78dfc3ac94b7f5ec73d7b95741ef35a501ab850b2b7cf64f0f62d66")
        .unwrap();
    assert_eq!(tx["status"], "FAILED");
    assert_eq!(tx["failure"]["kind"], "OTHER");
    assert_eq!(
        tx["failure"]["message"],
        "execution failed (receipt status 0) after using 34,108 of 217,569 gas"
    );
}

#[test]
fn transaction_receipt_and_trace_files() {
    let hash = "0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee";
    let files: Vec<String> = ["calltrace-failed", "failed", "receipt-failed"]
        .iter()
        .map(|k| fixture(&format!("mainnet-tx-{hash}-{k}.json")))
        .collect();
    assert_eq!(
        stdout_ok(&decode("evm:1", &files)),
        golden("mainnet-tx-0xbb054950")
    );
    // With JSON-RPC envelopes, and a trace_replayTransaction result.
    let hash = "0xd0735ead9772e2e6a72d8fabc90f718beba823f52158c96f648f8bfe460d15f0";
    let files = [
        fixture(&format!("mainnet-tx-{hash}.json")),
        fixture(&format!("mainnet-tx-{hash}-receipt.json")),
        fixture(&format!("mainnet-tx-{hash}-trace-replay.json")),
    ];
    assert_eq!(
        stdout_ok(&decode("evm:1", &files)),
        golden("mainnet-tx-0xd0735ead")
    );
}

#[test]
fn receipts_alone_and_a_pending_transaction() {
    // A receipts array alone: every transaction, from what its receipt says.
    let out = stdout_ok(&decode(
        "evm:1",
        &[fixture(&format!("{BLOCK}-receipts.json"))],
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["blocks"].as_array().unwrap().len(), 0);
    let txs = v["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 185);
    assert_eq!(txs.iter().filter(|t| t["status"] == "FAILED").count(), 7);
    assert_eq!(txs[0]["block"]["height"], 11_098_450);
    // A transaction in no block yet (blockHash null) is pending; it needs no receipt.
    let tx = std::fs::read_to_string(fixture(
        "mainnet-tx-0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee-failed.json",
    ))
    .unwrap();
    let mut tx: Value = serde_json::from_str(&tx).unwrap();
    tx["blockHash"] = Value::Null;
    tx["blockNumber"] = Value::Null;
    tx["transactionIndex"] = Value::Null;
    let pending = file("pending.json", &tx.to_string());
    let v: Value = serde_json::from_str(&stdout_ok(&decode("evm:1", &[pending]))).unwrap();
    assert_eq!(v["transactions"][0]["status"], "PENDING");
    assert!(v["transactions"][0].get("block").is_none());
}

#[test]
fn unknown_shape_not_json_and_rpc_errors_name_the_file() {
    let odd = file("odd.json", r#"{"foo": 1, "bar": [2]}"#);
    let (code, err) = failure(&decode("evm:1", &[&odd]));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "{odd}: unrecognized JSON: an object with keys bar, foo; expected an EVM block with \
             full transactions (eth_getBlockByNumber(N, true)), a transaction"
        )),
        "{err}"
    );
    assert!(err.contains("callTracer trace"), "{err}");

    let text = file("notes.txt", "block 7 had 3 transactions\n");
    let (code, err) = failure(&decode("evm:1", &[&text]));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "{text}: not JSON: expected value at line 1 column 1"
        )),
        "{err}"
    );

    let rpc = file(
        "error.json",
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}}"#,
    );
    let (code, err) = failure(&decode("evm:1", &[&rpc]));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "{rpc}: a JSON-RPC error response, not data: error -32000: header not found"
        )),
        "{err}"
    );

    let null = file("null.json", r#"{"jsonrpc":"2.0","id":1,"result":null}"#);
    let (_, err) = failure(&decode("evm:1", &[&null]));
    assert!(
        err.contains(&format!("{null}: the JSON-RPC result is null")),
        "{err}"
    );

    // A block with transaction hashes only.
    let mut block: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("mainnet-block-13998626-full.json")).unwrap(),
    )
    .unwrap();
    let hashes: Vec<Value> = block["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["hash"].clone())
        .collect();
    block["transactions"] = Value::Array(hashes);
    let header = file("header.json", &block.to_string());
    let (_, err) = failure(&decode("evm:1", &[&header]));
    assert!(
        err.contains(&format!(
            "{header}: block 13998626 lists transaction hashes only; decode needs the full \
             transaction objects of eth_getBlockByNumber(N, true)"
        )),
        "{err}"
    );
}

#[test]
fn files_that_do_not_join() {
    // A block without its receipts.
    let (code, err) = failure(&decode("evm:1", &block_files()[..1]));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "block 11098450 has 185 transactions but no receipt was given for 185 of them \
             (first: 0xde6e1087048f7abe6cef88eaf784f73f300fde402b02531210ed956d3b3f52f8)"
        ),
        "{err}"
    );
    // The traces of another block.
    let files = [
        fixture("mainnet-block-13998626-full.json"),
        fixture("mainnet-block-13998626-receipts.json"),
        fixture(&format!("{BLOCK}-calltracer.json")),
    ];
    let (_, err) = failure(&decode("evm:1", &files));
    assert!(
        err.contains(&format!(
            "{}: 185 traces that name no transaction (txHash) join a block's transactions by \
             position, but no block given has 185 transactions",
            files[2]
        )),
        "{err}"
    );
    // Receipts that disagree with the block.
    let files = [
        fixture("mainnet-block-13998626-full.json"),
        fixture(&format!("{BLOCK}-receipts.json")),
    ];
    let (_, err) = failure(&decode("evm:1", &files));
    assert!(
        err.contains("block 13998626 has 7 transactions but no receipt was given for 7"),
        "{err}"
    );
}

#[test]
fn wrong_chain_and_missing_file() {
    // A family this build does not have is a usage error (exit 2).
    let (code, err) = failure(&decode("cosmos:hub", &block_files()));
    assert_eq!(code, 2);
    assert!(
        err.contains("--chain cosmos:hub: chain family `cosmos` is not supported by this build (supported: evm"),
        "{err}"
    );
    let (code, err) = failure(&decode("evm1", &block_files()));
    assert_eq!(code, 2);
    assert!(
        err.contains("--chain: chain id `evm1` is not of the form"),
        "{err}"
    );
    // Base mainnet transactions (chainId 8453) decoded as Ethereum mainnet.
    let hash = "0xc6c2898ddc2d2165bc6c018ec6ebf58d99922c74b9a0e323b50c029d10b09858";
    let files = [
        fixture(&format!("base-mainnet-tx-{hash}.json")),
        fixture(&format!("base-mainnet-tx-{hash}-receipt.json")),
    ];
    let (code, err) = failure(&decode("evm:1", &files));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "transaction {hash} has chainId 8453, but the chain is evm:1"
        )),
        "{err}"
    );
    assert!(stdout_ok(&decode("evm:8453", &files)).contains(hash));
    // A missing file is named, and nothing is decoded.
    let missing = format!("{TESTDATA}/no-such-file.json");
    let mut files = block_files();
    files.insert(1, missing.clone());
    let (code, err) = failure(&decode("evm:1", &files));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("cannot read {missing}: No such file or directory")),
        "{err}"
    );
    // No file at all: clap's usage error.
    let (code, err) = failure(&decode::<&str>("evm:1", &[]));
    assert_eq!(code, 2);
    assert!(err.contains("<FILE>"), "{err}");
}

#[test]
fn help_describes_the_shapes() {
    let out = bin().args(["decode", "--help"]).output().unwrap();
    let help = stdout_ok(&out);
    for needle in [
        "--chain <ID>",
        "eth_getBlockByNumber(N, true)",
        "eth_getBlockReceipts",
        "debug_traceBlockByNumber",
        "trace_replayTransaction",
        "Exit codes:",
    ] {
        assert!(help.contains(needle), "{needle} not in:\n{help}");
    }
}

#[test]
fn abi_dir_names_custom_errors() {
    // The 0xbb05… transaction's trace with its revert data replaced by the custom error
    // `TooLate(uint256 deadline)` (selector 0x691e5682 = keccak-256("TooLate(uint256)")[..4]),
    // argument 42.
    let hash = "0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee";
    let mut trace: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("mainnet-tx-{hash}-calltrace-failed.json")))
            .unwrap(),
    )
    .unwrap();
    trace["output"] = Value::String(format!("0x691e5682{:064x}", 42));
    trace["calls"] = Value::Array(Vec::new());
    let files = [
        fixture(&format!("mainnet-tx-{hash}-failed.json")),
        fixture(&format!("mainnet-tx-{hash}-receipt-failed.json")),
        file("trace.json", &trace.to_string()),
    ];
    let failure_json = |out: &Output| {
        let v: Value = serde_json::from_str(&stdout_ok(out)).unwrap();
        v["transactions"][0]["failure"].clone()
    };
    let f = failure_json(&decode("evm:1", &files));
    assert_eq!(f["kind"], "CUSTOM_ERROR");
    assert_eq!(f["code"], "0x691e5682");
    assert_eq!(
        f["message"],
        format!(
            "custom error 0x691e5682 (unknown selector) with arguments 0x{:064x}",
            42
        )
    );
    let dir = scratch("abi");
    std::fs::write(
        dir.join("Auction.json"),
        r#"{"abi": [{"type": "error", "name": "TooLate",
                     "inputs": [{"name": "deadline", "type": "uint256"}]}]}"#,
    )
    .unwrap();
    let out = bin()
        .args(["decode", "--chain", "evm:1", "--abi-dir"])
        .arg(&dir)
        .args(&files)
        .output()
        .unwrap();
    let f = failure_json(&out);
    assert_eq!(f["message"], "TooLate(deadline: 42)");
    assert_eq!(f["code"], "0x691e5682");
    // A directory that cannot be read is named.
    let out = bin()
        .args([
            "decode",
            "--chain",
            "evm:1",
            "--abi-dir",
            "/no/such/abi-dir",
        ])
        .args(&files)
        .output()
        .unwrap();
    let (code, err) = failure(&out);
    assert_eq!(code, 1);
    assert!(
        err.contains("custom-error ABIs not loaded: cannot read ABI path `/no/such/abi-dir`"),
        "{err}"
    );
}

const APTOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../chains/aptos/testdata");

#[test]
fn decodes_aptos_files_like_the_crate_golden() {
    for fixture in [
        "mainnet-txn-3556737308-failed-move-abort.json",
        "mainnet-block-10000-with-txns.json",
        "mainnet-txn-308783012-grpc-protobuf-json.json",
    ] {
        let out = bin()
            .args(["decode", "--chain", "aptos:1"])
            .arg(format!("{APTOS}/{fixture}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{fixture}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let golden = std::fs::read_to_string(format!("{APTOS}/golden/{fixture}")).unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), golden, "{fixture}");
    }
}

#[test]
fn decodes_several_aptos_files_and_rejects_an_error_body() {
    let out = bin()
        .args(["decode", "--chain", "aptos:1"])
        .arg(format!("{APTOS}/mainnet-block-10001-header.json"))
        .arg(format!("{APTOS}/mainnet-block-10000-header.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["blocks"][1]["ref"]["height"], 10_001);
    assert_eq!(v["blocks"][1]["parent_hash"], v["blocks"][0]["ref"]["hash"]);

    let out = bin()
        .args(["decode", "--chain", "aptos:1"])
        .arg(format!(
            "{APTOS}/mainnet-submit-error-invalid-transaction.json"
        ))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("an Aptos API error body, not a transaction: vm_error")
            && err.contains("MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS"),
        "{err}"
    );
}

/// `--chain solana:…` goes to the Solana decoder through the registry: the same output as its
/// golden file, and the preflight error refused with the simulated failure spelled out.
#[cfg(feature = "solana")]
#[test]
fn solana_block_transactions_and_preflight_error() {
    const SOLANA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../chains/solana/testdata");
    let out = decode(
        "solana:mainnet",
        &[format!(
            "{SOLANA}/mainnet-getBlock-100000000-jsonParsed-trimmed.json"
        )],
    );
    let want = std::fs::read_to_string(format!(
        "{SOLANA}/golden/decode/mainnet-block-100000000-jsonParsed.json"
    ))
    .unwrap();
    assert_eq!(stdout_ok(&out), want);
    let v: Value = serde_json::from_str(&want).unwrap();
    assert_eq!(v["transactions"][8]["failure"]["kind"], "PROGRAM_ERROR");

    let (code, err) = failure(&decode(
        "solana:mainnet",
        &[format!(
            "{SOLANA}/mainnet-sendTransaction-preflight-error-custom-0x1771.json"
        )],
    ));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "mainnet-sendTransaction-preflight-error-custom-0x1771.json: a sendTransaction \
             preflight failure"
        ) && err.contains("PROGRAM_ERROR (code 6001): instruction 3 (program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4)"),
        "{err}"
    );
}
