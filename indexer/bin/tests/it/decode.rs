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
