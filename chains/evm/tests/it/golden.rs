//! `normalize_block` on real recorded blocks, compared with golden JSON
//! (`testdata/golden/<block>.json`; `UPDATE_GOLDEN=1` rewrites them), plus specific facts.

use std::path::PathBuf;

use chainwatch_chain_evm::normalize_block;
use chainwatch_schema::{Block, ChainId, FailureKind, Transaction, TxStatus};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Normalizes `testdata/<name>-{full,receipts}.json` and checks it against its golden file.
fn golden(chain: &str, name: &str) -> Block {
    let chain: ChainId = chain.parse().unwrap();
    let block = std::fs::read(testdata(&format!("{name}-full.json"))).unwrap();
    let receipts = std::fs::read(testdata(&format!("{name}-receipts.json"))).unwrap();
    let normalized = normalize_block(&chain, &block, &receipts)
        .unwrap_or_else(|e| panic!("{name}: {}", chainwatch_chain_core::ErrorChain(&e)));
    let text = serde_json::to_string_pretty(&normalized).unwrap() + "\n";
    chainwatch_testkit::golden::check(&testdata(&format!("golden/{name}.json")), &text);
    normalized
}

fn tx<'a>(block: &'a Block, hash: &str) -> &'a Transaction {
    block
        .txs
        .iter()
        .find(|t| t.hash == hash)
        .unwrap_or_else(|| panic!("no tx {hash}"))
}

fn failed(block: &Block) -> Vec<&str> {
    block
        .txs
        .iter()
        .filter(|t| t.status == TxStatus::Failed)
        .map(|t| t.hash.as_str())
        .collect()
}

#[test]
fn mainnet_11098450_seven_failures() {
    let b = golden("evm:1", "mainnet-block-11098450");
    assert_eq!(b.block_ref.height, 11_098_450);
    assert_eq!(
        b.block_ref.hash,
        "0x394c2fd2da46d076b800b24eef6ae5d52e5f0f19a6d1704c1e98229139410a2c"
    );
    assert_eq!(b.timestamp_ms, 1_603_269_185_000);
    assert_eq!(b.txs.len(), 185);
    assert_eq!(
        failed(&b),
        [
            "0xde6e1087048f7abe6cef88eaf784f73f300fde402b02531210ed956d3b3f52f8",
            "0xd50e93a9d9523db48fd5e0d34ac0778ae69f2d6aa91d100cdf29524bf0a5ee86",
            "0xa36bb155c78dfc3ac94b7f5ec73d7b95741ef35a501ab850b2b7cf64f0f62d66",
            "0x4bea168ff5ff8bf2434e1d0cd679a4e758476ab1c0ab1e2c3cc9b4914ef7a49f",
            "0xd76abc8edab6d48796836fbb37f11e153a012641da68ae048df6a8c390c9a43d",
            "0x245cdd83ec8be1dca0ca714cfc73574d498390d1689544913a5e370058190da3",
            "0xaeed06ca2c7415f4c604ed0845ddc7ba3eb57bcc17435e98eca23a014a9d8d0c",
        ]
    );
    // Pre-London: no effectiveGasPrice, so fee = gasUsed × gasPrice = 24,581 × 180 gwei.
    let t = tx(
        &b,
        "0xde6e1087048f7abe6cef88eaf784f73f300fde402b02531210ed956d3b3f52f8",
    );
    assert_eq!(t.index, 0);
    assert_eq!(t.fee.as_deref(), Some("4424580000000000"));
    assert_eq!(
        t.sender.as_deref(),
        Some("0x3bcbd698b591468dcc31aa13969f2e7f8259f409")
    );
    let f = t.failure.as_ref().unwrap();
    assert_eq!(f.kind, FailureKind::Other);
    assert_eq!(
        f.message,
        "execution failed (receipt status 0) after using 24,581 of 300,000 gas"
    );
    assert_eq!(
        f.location.as_deref(),
        Some("0x0e2d66def0d0c00eb6164f532ba206a33a5e63a0")
    );
    assert_eq!(
        f.raw,
        r#"{"status":"0x0","gasUsed":"0x6005","gas":"0x493e0"}"#
    );
    assert_eq!(t.extra["gas_used"], 24_581);
    assert_eq!(t.extra["gas_limit"], 300_000);
    assert_eq!(t.extra["effective_gas_price"], 180_000_000_000u64);
    assert_eq!(t.extra["type"], 0);
    assert!(
        b.txs
            .iter()
            .all(|t| (t.status == TxStatus::Failed) == t.failure.is_some())
    );
}

#[test]
fn mainnet_13998626_eip1559_fees() {
    let b = golden("evm:1", "mainnet-block-13998626");
    assert_eq!(b.txs.len(), 7);
    assert!(failed(&b).is_empty());
    let legacy = tx(
        &b,
        "0xf121c8c07ed51b6ac2d11fe3f0892bff2221ec9168280d12581ea8ff45e71421",
    );
    assert_eq!(legacy.fee.as_deref(), Some("7770000000000000"));
    assert_eq!(legacy.value.as_deref(), Some("502800000000000000"));
    // Type 2: the receipt's effectiveGasPrice, not the transaction's gasPrice, prices the fee.
    let t = tx(
        &b,
        "0xef0748860f1c1ba28a5ae3ae9d2d1133940f7c8090fc862acf48de42b00ae2b5",
    );
    assert_eq!(t.extra["type"], 2);
    assert_eq!(t.fee.as_deref(), Some("10118257943749976"));
}

#[test]
fn mainnet_4404763_out_of_gas_hint() {
    let b = golden("evm:1", "mainnet-block-4404763");
    assert_eq!(b.txs.len(), 95);
    assert_eq!(failed(&b).len(), 4);
    let all_gas = tx(
        &b,
        "0x544bc103dec20a0f4d028d284b43602661ed005de83cf5a83f3d711b4a85dee1",
    );
    assert_eq!(
        all_gas.failure.as_ref().unwrap().message,
        "execution failed (receipt status 0) after using 250,000 of 250,000 gas; \
         all gas was used, which suggests it ran out of gas"
    );
    let some_gas = tx(
        &b,
        "0x74563aa2f2bcabd1d2dd1e6da5e2e6fb0441af053022a3ce58bb07d8e53c302b",
    );
    assert_eq!(
        some_gas.failure.as_ref().unwrap().message,
        "execution failed (receipt status 0) after using 218,063 of 220,000 gas"
    );
}

#[test]
fn mainnet_468179_pre_byzantium_receipt() {
    let b = golden("evm:1", "mainnet-block-468179");
    let t = &b.txs[0];
    assert_eq!(t.status, TxStatus::Succeeded);
    assert!(t.failure.is_none());
    assert!(t.extra["receipt_status"].is_null());
    assert!(t.extra.as_object().unwrap().contains_key("receipt_status"));
    assert_eq!(t.nonce, Some(0x58));
}

#[test]
fn base_goerli_deposit_and_l1_fee() {
    let b = golden("evm:84531", "base-goerli-block-1041847");
    assert_eq!(b.txs.len(), 50);
    assert!(failed(&b).is_empty());
    let deposit = &b.txs[0];
    assert_eq!(deposit.extra["type"], 0x7e);
    assert_eq!(deposit.fee.as_deref(), Some("0"));
    assert!(deposit.extra.get("l1_fee").is_none());
    let t = tx(
        &b,
        "0x381b1f2f61d006e67e116ed7ca273df9832d1302a2f4d9df2b37b015854c7383",
    );
    // The L1 data fee is reported beside the fee, not added to it.
    assert_eq!(t.fee.as_deref(), Some("118576000000000"));
    assert_eq!(t.extra["l1_fee"], 103_293_999_423_780u64);
}

#[test]
fn arbitrum_legacy_type() {
    let b = golden("evm:42161", "arbitrum-mainnet-block-18413839");
    let t = &b.txs[0];
    assert_eq!(t.extra["type"], 0x78);
    assert_eq!(t.fee.as_deref(), Some("80789777642574"));
    assert_eq!(t.extra["logs"], 8);
    assert_eq!(t.status, TxStatus::Succeeded);
}

#[test]
fn receipts_of_another_block_are_rejected() {
    let chain: ChainId = "evm:1".parse().unwrap();
    let block = std::fs::read(testdata("mainnet-block-13998626-full.json")).unwrap();
    let receipts = std::fs::read(testdata("mainnet-block-11098450-receipts.json")).unwrap();
    let e = normalize_block(&chain, &block, &receipts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "block 13998626 has 7 transactions but 185 receipts"
    );
}
