//! `chainwatch decode`: the same normalized output as the adapter, offline.

use crate::support::bin;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../chains/evm/testdata");

#[test]
fn decodes_an_evm_block_like_the_adapter() {
    let out = bin()
        .args(["decode", "--chain", "evm:1"])
        .arg(format!("{TESTDATA}/mainnet-block-11098450-full.json"))
        .arg("--receipts")
        .arg(format!("{TESTDATA}/mainnet-block-11098450-receipts.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let golden =
        std::fs::read_to_string(format!("{TESTDATA}/golden/mainnet-block-11098450.json")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), golden);
}

#[test]
fn mismatched_receipts_are_a_clear_error() {
    let out = bin()
        .args(["decode", "--chain", "evm:1"])
        .arg(format!("{TESTDATA}/mainnet-block-13998626-full.json"))
        .arg("--receipts")
        .arg(format!("{TESTDATA}/mainnet-block-11098450-receipts.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("7 transactions but 185 receipts"), "{err}");
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
