//! `decode_files` on every recorded EVM fixture, one decode per group of files that belong
//! together (block + receipts + callTracer traces; transaction + receipt + trace), compared with
//! golden JSON (`testdata/golden/decode/<group>.json`; `UPDATE_GOLDEN=1` rewrites them), plus
//! the failure of every failed transaction spelled out, and the failure-classification table.

use std::{collections::BTreeMap, path::PathBuf};

use chainwatch_chain_evm::decode_files;
use chainwatch_schema::{ChainId, Decoded, DecodedTransaction, FailureKind, TxStatus};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// Compares `text` with `testdata/golden/decode/<name>`, or rewrites it with `UPDATE_GOLDEN=1`.
fn check_golden(name: &str, text: &str) {
    chainwatch_testkit::golden::check(&testdata(&format!("golden/decode/{name}")), text);
}

/// A group of fixture files decoded together, and its golden file.
struct Group {
    golden: &'static str,
    chain: &'static str,
    files: &'static [&'static str],
}

const B11098450: &str = "mainnet-block-11098450";

/// Every EVM fixture file, in the groups they join in.
const GROUPS: &[Group] = &[
    Group {
        golden: "mainnet-block-11098450",
        chain: "evm:1",
        files: &[
            "mainnet-block-11098450-full.json",
            "mainnet-block-11098450-receipts.json",
            "mainnet-block-11098450-calltracer.json",
        ],
    },
    Group {
        golden: "mainnet-block-16899757",
        chain: "evm:1",
        files: &[
            "mainnet-block-16899757-full.json",
            "mainnet-block-16899757-receipts.json",
            "mainnet-block-16899757-calltracer.json",
        ],
    },
    Group {
        golden: "mainnet-block-4404763",
        chain: "evm:1",
        files: &[
            "mainnet-block-4404763-full.json",
            "mainnet-block-4404763-receipts.json",
            "mainnet-block-4404763-calltracer.json",
        ],
    },
    Group {
        golden: "mainnet-block-13998626",
        chain: "evm:1",
        files: &[
            "mainnet-block-13998626-full.json",
            "mainnet-block-13998626-receipts.json",
            "mainnet-block-13998626-calltracer.json",
        ],
    },
    Group {
        golden: "mainnet-block-468179",
        chain: "evm:1",
        files: &[
            "mainnet-block-468179-full.json",
            "mainnet-block-468179-receipts.json",
            "mainnet-block-468179-calltracer.json",
        ],
    },
    Group {
        golden: "base-goerli-block-1041847",
        chain: "evm:84531",
        files: &[
            "base-goerli-block-1041847-full.json",
            "base-goerli-block-1041847-receipts.json",
            "base-goerli-block-1041847-calltracer.json",
        ],
    },
    // The shared `arbitrum-mainnet-block-18413839-header.json` is byte for byte the same file
    // as `-full.json` here; its receipt is the single-receipt file.
    Group {
        golden: "arbitrum-mainnet-block-18413839",
        chain: "evm:42161",
        files: &[
            "arbitrum-mainnet-block-18413839-full.json",
            "arbitrum-mainnet-tx-0xbb26d13b553e57c8e72d4bac393c340066f96fe68a0a3af4781514b1dd121b49-receipt.json",
        ],
    },
    Group {
        golden: "mainnet-tx-0x500915b2",
        chain: "evm:1",
        files: &[
            "mainnet-tx-0x500915b2e5360f21b2b33267aea6c8a361a512236b90924b220fa9466e325ff1-failed.json",
            "mainnet-tx-0x500915b2e5360f21b2b33267aea6c8a361a512236b90924b220fa9466e325ff1-receipt-failed.json",
            "mainnet-tx-0x500915b2e5360f21b2b33267aea6c8a361a512236b90924b220fa9466e325ff1-calltrace-failed.json",
        ],
    },
    Group {
        golden: "mainnet-tx-0xbb054950",
        chain: "evm:1",
        files: &[
            "mainnet-tx-0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee-failed.json",
            "mainnet-tx-0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee-receipt-failed.json",
            "mainnet-tx-0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee-calltrace-failed.json",
        ],
    },
    Group {
        golden: "mainnet-tx-0xd0735ead",
        chain: "evm:1",
        files: &[
            "mainnet-tx-0xd0735ead9772e2e6a72d8fabc90f718beba823f52158c96f648f8bfe460d15f0.json",
            "mainnet-tx-0xd0735ead9772e2e6a72d8fabc90f718beba823f52158c96f648f8bfe460d15f0-receipt.json",
            "mainnet-tx-0xd0735ead9772e2e6a72d8fabc90f718beba823f52158c96f648f8bfe460d15f0-trace-replay.json",
        ],
    },
    Group {
        golden: "base-mainnet-tx-0xc6c2898d",
        chain: "evm:8453",
        files: &[
            "base-mainnet-tx-0xc6c2898ddc2d2165bc6c018ec6ebf58d99922c74b9a0e323b50c029d10b09858.json",
            "base-mainnet-tx-0xc6c2898ddc2d2165bc6c018ec6ebf58d99922c74b9a0e323b50c029d10b09858-receipt.json",
        ],
    },
];

fn decode(chain: &str, files: &[&str]) -> Decoded {
    let chain: ChainId = chain.parse().unwrap();
    let files: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| ((*f).to_owned(), std::fs::read(testdata(f)).unwrap()))
        .collect();
    decode_files(&chain, &files)
        .unwrap_or_else(|e| panic!("{}", chainwatch_chain_core::ErrorChain(&e)))
}

fn group(golden: &str) -> &'static Group {
    GROUPS.iter().find(|g| g.golden == golden).unwrap()
}

/// Decodes a group and checks it against its golden file.
fn decode_group(golden: &str) -> Decoded {
    let g = group(golden);
    let d = decode(g.chain, g.files);
    check_golden(
        &format!("{golden}.json"),
        &(serde_json::to_string_pretty(&d).unwrap() + "\n"),
    );
    d
}

fn tx<'a>(d: &'a Decoded, hash: &str) -> &'a DecodedTransaction {
    d.transactions
        .iter()
        .find(|t| t.tx.hash == hash)
        .unwrap_or_else(|| panic!("no tx {hash}"))
}

/// The expected failure of one failed transaction.
#[derive(Debug)]
struct Want {
    hash: &'static str,
    kind: FailureKind,
    code: Option<&'static str>,
    message: &'static str,
    location: &'static str,
}

/// Checks that exactly the `want` transactions failed, each with its failure.
fn check_failures(d: &Decoded, want: &[Want]) {
    let failed: Vec<&str> = d
        .transactions
        .iter()
        .filter(|t| t.tx.status == TxStatus::Failed)
        .map(|t| t.tx.hash.as_str())
        .collect();
    let hashes: Vec<&str> = want.iter().map(|w| w.hash).collect();
    assert_eq!(failed, hashes);
    for w in want {
        let f = tx(d, w.hash).tx.failure.as_ref().unwrap();
        assert_eq!(f.kind, w.kind, "{}", w.hash);
        assert_eq!(f.code.as_deref(), w.code, "{}", w.hash);
        assert_eq!(f.message, w.message, "{}", w.hash);
        assert_eq!(f.location.as_deref(), Some(w.location), "{}", w.hash);
        let raw: serde_json::Value = serde_json::from_str(&f.raw).unwrap();
        assert_eq!(raw["source"], "trace", "{}", w.hash);
    }
    assert!(
        d.transactions
            .iter()
            .all(|t| (t.tx.status == TxStatus::Failed) == t.tx.failure.is_some())
    );
}

#[test]
fn every_fixture_group_decodes_like_its_golden() {
    for g in GROUPS {
        decode_group(g.golden);
    }
}

#[test]
fn every_fixture_file_is_in_a_group() {
    let mut files: Vec<String> = std::fs::read_dir(testdata(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        // The arbitrum receipts array is the single receipt wrapped for `normalize_block`.
        .filter(|n| n != "arbitrum-mainnet-block-18413839-receipts.json")
        .collect();
    files.sort();
    let mut grouped: Vec<String> = GROUPS
        .iter()
        .flat_map(|g| g.files.iter().map(|f| (*f).to_owned()))
        .collect();
    grouped.sort();
    assert_eq!(files, grouped);
}

const UNI_V2_ROUTER: &str = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d";
const UNIVERSAL_ROUTER: &str = "0xef1c6e67703c7bd7107eed8303fbe6ec2554bf6b";

// Each expected failure below was checked by hand against the fixture's callTracer trace: the
// chain of failed frames, which frame's revert data its caller passed on, and the revert data
// decoded independently of this crate (Error(string) text, selectors by keccak-256).

#[test]
fn mainnet_11098450_failures_from_traces() {
    let d = decode_group(B11098450);
    assert_eq!(d.blocks.len(), 1);
    assert_eq!(d.blocks[0].tx_count, 185);
    assert_eq!(d.transactions.len(), 185);
    check_failures(
        &d,
        &[
            // Top call (0x0e2d…) reverted without data after its call to 0x1df6… reverted
            // without data: the bare revert is passed on from the inner frame.
            Want {
                hash: "0xde6e1087048f7abe6cef88eaf784f73f300fde402b02531210ed956d3b3f52f8",
                kind: FailureKind::Reverted,
                code: None,
                message: "reverted without a reason",
                location: "0x1df6f1bb7454e5e4ba3bca882d3148fbf9b5697a",
            },
            // The token's inner call (0x49e8…) reverted without data; the token itself then
            // reverted with its own Error(string).
            Want {
                hash: "0xd50e93a9d9523db48fd5e0d34ac0778ae69f2d6aa91d100cdf29524bf0a5ee86",
                kind: FailureKind::Reverted,
                code: None,
                message: "ERC20: transfer amount exceeds balance",
                location: "0xcec03a960ea678a2b6ea350fe0dbd1807b22d875",
            },
            Want {
                hash: "0xa36bb155c78dfc3ac94b7f5ec73d7b95741ef35a501ab850b2b7cf64f0f62d66",
                kind: FailureKind::Reverted,
                code: None,
                message: "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT",
                location: UNI_V2_ROUTER,
            },
            Want {
                hash: "0x4bea168ff5ff8bf2434e1d0cd679a4e758476ab1c0ab1e2c3cc9b4914ef7a49f",
                kind: FailureKind::Reverted,
                code: None,
                message: "UniswapV2Router: EXCESSIVE_INPUT_AMOUNT",
                location: UNI_V2_ROUTER,
            },
            Want {
                hash: "0xd76abc8edab6d48796836fbb37f11e153a012641da68ae048df6a8c390c9a43d",
                kind: FailureKind::Reverted,
                code: None,
                message: "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT",
                location: UNI_V2_ROUTER,
            },
            Want {
                hash: "0x245cdd83ec8be1dca0ca714cfc73574d498390d1689544913a5e370058190da3",
                kind: FailureKind::Reverted,
                code: None,
                message: "UniswapV2: INVALID_SIGNATURE",
                location: UNI_V2_ROUTER,
            },
            Want {
                hash: "0xaeed06ca2c7415f4c604ed0845ddc7ba3eb57bcc17435e98eca23a014a9d8d0c",
                kind: FailureKind::Reverted,
                code: None,
                message: "ds-math-sub-underflow",
                location: "0x669bffac935be666219c68d20931cbf677b8fa1c",
            },
        ],
    );
    // The raw keeps the receipt's facts and the trace's own words and data.
    let f = tx(
        &d,
        "0xaeed06ca2c7415f4c604ed0845ddc7ba3eb57bcc17435e98eca23a014a9d8d0c",
    )
    .tx
    .failure
    .clone()
    .unwrap();
    let raw: serde_json::Value = serde_json::from_str(&f.raw).unwrap();
    assert_eq!(raw["status"], "0x0");
    assert_eq!(raw["error"], "execution reverted");
    assert_eq!(raw["gasUsed"], "0x1696c");
    assert!(
        raw["revertData"]
            .as_str()
            .unwrap()
            .starts_with("0x08c379a0")
    );
}

/// The five failures of block 16,899,757 (two of them also given as transaction files).
fn want_16899757() -> Vec<Want> {
    vec![
        // Universal Router's own revert: V2TooLittleReceived() (0x849eaf98 = keccak-256 of
        // the signature), i.e. slippage on a V2 swap.
        Want {
            hash: "0x500915b2e5360f21b2b33267aea6c8a361a512236b90924b220fa9466e325ff1",
            kind: FailureKind::CustomError,
            code: Some("0x849eaf98"),
            message: "V2TooLittleReceived()",
            location: UNIVERSAL_ROUTER,
        },
        // The DELEGATECALL reverted with Error("T"); the bot re-raised those bytes as the text
        // of its own Error(string).
        Want {
            hash: "0xfee1cee2cf4e24fe7dabb650a8089c1672d47b2d1b65fc85fdbfd79018ac4124",
            kind: FailureKind::Reverted,
            code: None,
            message: "T",
            location: "0x820fbab984bed73ece56592f8fee5e1d1ceed5c0",
        },
        // The trace's own `revertReason` says the same.
        Want {
            hash: "0xbb0549503594a4ca59dab8a3f7c940bce31254abc4f592ab905a789bada4d2ee",
            kind: FailureKind::Reverted,
            code: None,
            message: "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT",
            location: UNI_V2_ROUTER,
        },
        // The proxy's DELEGATECALL ran out of gas (93,429 of 93,429); the proxy reverted
        // without data. The receipt alone (123,629 of 125,068 gas) does not show it.
        Want {
            hash: "0x94be556069476c8af9675049cb97b438c4cd0d2c808e13e07aa52abcb75e892d",
            kind: FailureKind::OutOfGas,
            code: None,
            message: "ran out of gas",
            location: "0xc796a402e1b26ecd2cd38f23e05a2f904504ec89",
        },
        Want {
            hash: "0x701b10637a2ca8b9026a926e764b4a65cfe7797d070bbf63902aa85cd15645c4",
            kind: FailureKind::CustomError,
            code: Some("0x849eaf98"),
            message: "V2TooLittleReceived()",
            location: UNIVERSAL_ROUTER,
        },
    ]
}

#[test]
fn mainnet_16899757_failures_from_traces() {
    let d = decode_group("mainnet-block-16899757");
    assert_eq!(d.transactions.len(), 147);
    check_failures(&d, &want_16899757());
}

#[test]
fn mainnet_4404763_invalid_jumps() {
    let d = decode_group("mainnet-block-4404763");
    // Early Byzantium: Solidity's `throw` was a jump to an invalid destination, which burns all
    // gas (250,000 of 250,000 in the first three).
    let jump = |hash, location| Want {
        hash,
        kind: FailureKind::InvalidOpcode,
        code: None,
        message: "invalid jump destination",
        location,
    };
    let token = "0x8d12a197cb00d4747a1fe03395095ce2a5cc6819";
    check_failures(
        &d,
        &[
            jump(
                "0x544bc103dec20a0f4d028d284b43602661ed005de83cf5a83f3d711b4a85dee1",
                token,
            ),
            jump(
                "0xa0cc5f0f750ce0e6f4104981c0c6e8cfd3967750242d6ff38dda854c78ea874b",
                token,
            ),
            jump(
                "0xa0a5e34b9b19b398c5a073513ecb461899ceb45246f51e6d470ae0cf23b39075",
                token,
            ),
            // Called through 0x5ae9…, which reverted without data after the token's invalid
            // jump: not all gas was used (218,063 of 220,000).
            jump(
                "0x74563aa2f2bcabd1d2dd1e6da5e2e6fb0441af053022a3ce58bb07d8e53c302b",
                token,
            ),
        ],
    );
}

#[test]
fn blocks_without_failures() {
    for (golden, txs) in [
        ("mainnet-block-13998626", 7),
        ("mainnet-block-468179", 1),
        ("base-goerli-block-1041847", 50),
        ("arbitrum-mainnet-block-18413839", 1),
    ] {
        let d = decode_group(golden);
        assert_eq!(d.transactions.len(), txs, "{golden}");
        assert_eq!(d.blocks[0].tx_count, txs, "{golden}");
        check_failures(&d, &[]);
    }
    // Pre-Byzantium: no status in the receipt, reported as succeeded with a null status.
    let d = decode_group("mainnet-block-468179");
    assert!(d.transactions[0].tx.extra["receipt_status"].is_null());
    // The single receipt file joins the block's one transaction.
    let d = decode_group("arbitrum-mainnet-block-18413839");
    assert_eq!(d.transactions[0].tx.extra["gas_used"], 0xa816d);
}

#[test]
fn single_transaction_files_join_their_receipt_and_trace() {
    let want = want_16899757();
    let block = decode_group("mainnet-block-16899757");
    for (golden, hash) in [
        ("mainnet-tx-0x500915b2", want[0].hash),
        ("mainnet-tx-0xbb054950", want[2].hash),
    ] {
        let d = decode_group(golden);
        assert!(d.blocks.is_empty());
        let w = want.iter().find(|w| w.hash == hash).unwrap();
        check_failures(
            &d,
            &[Want {
                hash: w.hash,
                kind: w.kind,
                code: w.code,
                message: w.message,
                location: w.location,
            }],
        );
        // The same normalized transaction as in the whole block, and the same block.
        let alone = &d.transactions[0];
        let in_block = tx(&block, hash);
        assert_eq!(alone, in_block, "{golden}");
    }
}

#[test]
fn envelopes_and_a_trace_replay() {
    // Files with the JSON-RPC envelope; the replay's `trace` is empty and the transaction
    // succeeded.
    let d = decode_group("mainnet-tx-0xd0735ead");
    let t = &d.transactions[0];
    assert_eq!(
        t.tx.hash,
        "0xd0735ead9772e2e6a72d8fabc90f718beba823f52158c96f648f8bfe460d15f0"
    );
    assert_eq!(t.tx.status, TxStatus::Succeeded);
    assert_eq!(t.block.as_ref().unwrap().height, 0x15c632a);
    let d = decode_group("base-mainnet-tx-0xc6c2898d");
    let t = &d.transactions[0];
    assert_eq!(t.tx.status, TxStatus::Succeeded);
    assert_eq!(t.block.as_ref().unwrap().height, 0x1d8dcb7);
    assert!(t.tx.extra.get("l1_fee").is_some());
}

/// Acceptance 6 of issue 5: failed transactions by failure kind over every EVM fixture (each
/// transaction once, though some are in two groups), rendered as a Markdown table and kept in
/// `testdata/golden/decode/failure-table.md`.
#[test]
fn failure_classification_table() {
    let mut seen = std::collections::HashSet::new();
    let mut by_kind: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut total = 0;
    for g in GROUPS {
        let d = decode(g.chain, g.files);
        for t in &d.transactions {
            if !seen.insert((d.chain.clone(), t.tx.hash.clone())) {
                continue;
            }
            total += 1;
            if let Some(f) = &t.tx.failure {
                let short = format!("{}…", &t.tx.hash[..10]);
                by_kind.entry(f.kind.as_str()).or_default().push(short);
            }
        }
    }
    let failed: usize = by_kind.values().map(Vec::len).sum();
    let mut table = format!(
        "Failure kinds of the failed transactions in every EVM fixture ({total} transactions, \
         {failed} failed), from `decode_files`.\n\
         Regenerate: `UPDATE_GOLDEN=1 cargo nextest run -p chainwatch-chain-evm failure_classification_table`.\n\n\
         | kind | count | transactions |\n|---|---|---|\n"
    );
    for (kind, hashes) in &by_kind {
        table.push_str(&format!(
            "| {kind} | {} | {} |\n",
            hashes.len(),
            hashes.join(", ")
        ));
    }
    table.push_str(&format!("| total | {failed} | |\n"));
    println!("{table}");
    check_golden("failure-table.md", &table);
    let counts: Vec<(&str, usize)> = by_kind.iter().map(|(k, v)| (*k, v.len())).collect();
    assert_eq!(
        counts,
        [
            ("CUSTOM_ERROR", 2),
            ("INVALID_OPCODE", 4),
            ("OUT_OF_GAS", 1),
            ("REVERTED", 9),
        ]
    );
}
