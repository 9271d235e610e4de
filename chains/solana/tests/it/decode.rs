//! `decode_files` on every recorded Solana fixture, compared with golden JSON
//! (`testdata/golden/decode/<name>.json`; `UPDATE_GOLDEN=1` rewrites them), each failure spelled
//! out, and the failure-classification table.

use std::{collections::BTreeMap, path::PathBuf};

use chainwatch_chain_solana::{DecodeFilesError, decode_files};
use chainwatch_schema::{ChainId, Decoded, FailureKind, TxStatus};

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

/// Every Solana fixture that decodes to transactions or blocks (the preflight error is tested
/// on its own below).
const GROUPS: &[Group] = &[
    Group {
        golden: "mainnet-block-100000000-json",
        chain: "solana:mainnet",
        files: &["mainnet-getBlock-100000000-json-trimmed.json"],
    },
    Group {
        golden: "mainnet-block-100000000-jsonParsed",
        chain: "solana:mainnet",
        files: &["mainnet-getBlock-100000000-jsonParsed-trimmed.json"],
    },
    Group {
        golden: "mainnet-block-100000000-100000001-headers",
        chain: "solana:mainnet",
        files: &[
            "mainnet-getBlock-100000001-no-txs.json",
            "mainnet-getBlock-100000000-no-txs.json",
        ],
    },
    Group {
        golden: "mainnet-block-154808473-versioned-tx",
        chain: "solana:mainnet",
        files: &["mainnet-getBlock-154808473-jsonParsed-trimmed-versioned-tx.json"],
    },
    Group {
        golden: "mainnet-block-195545750-account-deletion",
        chain: "solana:mainnet",
        files: &["mainnet-getBlock-195545750-jsonParsed-trimmed-account-deletion.json"],
    },
    Group {
        golden: "mainnet-block-195545750-new-token-account",
        chain: "solana:mainnet",
        files: &["mainnet-getBlock-195545750-jsonParsed-trimmed-new-token-account.json"],
    },
    Group {
        golden: "mainnet-transactions",
        chain: "solana:mainnet",
        files: &[
            "mainnet-getTransaction-nft-transfer-slot352272976.json",
            "mainnet-getTransaction-swap-sol-to-token-v0-slot343286716.json",
            "mainnet-getTransaction-transfer-sol-compute-budget-slot349179820.json",
            "mainnet-getTransaction-transfer-sol-v0-slot350464523.json",
            "mainnet-getTransaction-usdc-transfer-slot355393521.json",
        ],
    },
    Group {
        golden: "devnet-transaction-5iBYjBYC",
        chain: "solana:devnet",
        files: &[
            "devnet-getTransaction-5iBYjBYCphzjHKfmPwddMWpV2RNssmzk9Z8NNmV9Rei71pZKBTEVdkmUeyXfn7eWbV8932uSsPfBxgA7UgERNTvq.json",
        ],
    },
];

fn decode(chain: &str, files: &[&str]) -> Result<Decoded, DecodeFilesError> {
    let chain: ChainId = chain.parse().unwrap();
    let loaded: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| ((*f).to_owned(), std::fs::read(testdata(f)).unwrap()))
        .collect();
    decode_files(&chain, &loaded)
}

fn decoded(g: &Group) -> Decoded {
    decode(g.chain, g.files)
        .unwrap_or_else(|e| panic!("{}: {}", g.golden, chainwatch_chain_core::ErrorChain(&e)))
}

#[test]
fn every_fixture_matches_its_golden_file() {
    for g in GROUPS {
        let d = decoded(g);
        check_golden(
            &format!("{}.json", g.golden),
            &(serde_json::to_string_pretty(&d).unwrap() + "\n"),
        );
    }
}

#[test]
fn every_fixture_is_covered() {
    let mut covered: Vec<&str> = GROUPS
        .iter()
        .flat_map(|g| g.files.iter().copied())
        .collect();
    covered.push("mainnet-sendTransaction-preflight-error-custom-0x1771.json");
    covered.sort_unstable();
    let mut present: Vec<String> = std::fs::read_dir(testdata(""))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.ends_with(".json").then_some(name)
        })
        .collect();
    present.sort_unstable();
    assert_eq!(covered, present);
}

/// The two failed vote transactions of slot 100000000, in both encodings: the Vote program's
/// `Custom(0)` is `VoteTooOld`.
#[test]
fn slot_100000000_vote_failures() {
    for g in &GROUPS[..2] {
        let d = decoded(g);
        assert_eq!(d.blocks.len(), 1);
        let b = &d.blocks[0];
        assert_eq!(b.block_ref.height, 100_000_000);
        assert_eq!(
            b.block_ref.hash,
            "GdY1gj7F8vq1nCy4dgCZK42WV19bkfQ4cp2e9evK18ry"
        );
        assert_eq!(
            b.parent_hash,
            "7KpgQJdgXdPhzj69gCnyvyBiw9s6DZ5gmfNrhQr3XW1t"
        );
        assert_eq!(b.timestamp_ms, 1_633_504_705_000);
        assert_eq!(b.tx_count, 10);
        let failed: Vec<_> = d
            .transactions
            .iter()
            .filter(|t| t.tx.status == TxStatus::Failed)
            .collect();
        let sigs: Vec<&str> = failed.iter().map(|t| t.tx.hash.as_str()).collect();
        assert_eq!(
            sigs,
            [
                "xjUw3f94FvbbGkhkokevTUn6aY4bHPcbnkF7ybe3MnM6a9DEEbkrURT5DP4JtnFJtpE7nLeX4qF27inBxXxnqi6",
                "57VvLyUYMWpLb3n63LXNWZb1KQW1n9o6r9HGYuvi5BW7Futd9BMVwChyemyMawKUbU8n3J5vSaMwBEADgYQ29GTQ",
            ],
            "{}",
            g.golden
        );
        let senders: Vec<&str> = failed
            .iter()
            .map(|t| t.tx.sender.as_deref().unwrap())
            .collect();
        assert_eq!(
            senders,
            [
                "2ZjcDzwmkptGyD43siZDf4wCjM3NL7pQksmwbsKvYF1N",
                "VymDdiepH77edNcNcKBKtRUb3gbQPtPyGh5NLcWaynj"
            ]
        );
        for t in failed {
            assert_eq!(t.tx.fee.as_deref(), Some("5000"));
            let f = t.tx.failure.as_ref().unwrap();
            assert_eq!(f.kind, FailureKind::ProgramError);
            assert_eq!(f.code.as_deref(), Some("0"));
            assert_eq!(
                f.location.as_deref(),
                Some("Vote111111111111111111111111111111111111111")
            );
            assert_eq!(
                f.message,
                "instruction 0 (Vote Program Vote111111111111111111111111111111111111111) \
                 failed: VoteTooOld: vote already recorded or not in slot hashes history \
                 (custom program error 0, 0x0)"
            );
            let raw: serde_json::Value = serde_json::from_str(&f.raw).unwrap();
            assert_eq!(
                raw["err"],
                serde_json::json!({"InstructionError": [0, {"Custom": 0}]})
            );
            assert_eq!(raw["instruction"], 0);
            assert_eq!(
                raw["failedLog"],
                "Program Vote111111111111111111111111111111111111111 failed: custom program error: 0x0"
            );
        }
    }
    // Both encodings give the same transactions apart from `extra.version` (absent in the
    // `json` capture, which predates versioned transactions: "legacy" either way).
    let a = decoded(&GROUPS[0]);
    let b = decoded(&GROUPS[1]);
    assert_eq!(a.transactions, b.transactions);
}

/// The v0 transaction with address-lookup-table loads: the account keys include the loaded
/// addresses, and the fee payer is the first static key.
#[test]
fn versioned_transaction_with_loaded_addresses() {
    let d = decoded(&GROUPS[3]);
    let t = &d.transactions[0].tx;
    assert_eq!(t.status, TxStatus::Succeeded);
    assert_eq!(
        t.sender.as_deref(),
        Some("JARehRjGUkkEShpjzfuV4ERJS25j8XhamL776FAktNGm")
    );
    assert_eq!(t.extra["version"], 0);
    assert!(t.extra["loaded_addresses"].as_u64().unwrap() > 0);
}

/// Compute units and fees of the `getTransaction` captures.
#[test]
fn transactions_carry_fee_and_compute_units() {
    let d = decoded(&GROUPS[6]);
    let got: Vec<(u64, &str, u64)> = d
        .transactions
        .iter()
        .map(|t| {
            (
                t.tx.extra["slot"].as_u64().unwrap(),
                t.tx.fee.as_deref().unwrap(),
                t.tx.extra["compute_units_consumed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (352_272_976, "80000", 130_396),
            (343_286_716, "57500", 211_069),
            (349_179_820, "7500", 450),
            (350_464_523, "5000", 150),
            (355_393_521, "5500", 28_694),
        ]
    );
    assert!(
        d.transactions
            .iter()
            .all(|t| t.tx.status == TxStatus::Succeeded && t.block.is_none())
    );
}

/// The `sendTransaction` preflight error: nothing landed, so decode refuses it with the
/// simulated failure classified: Jupiter v6 (`JUP6…`, from the logs: the 4th top-level
/// `invoke [1]`) at instruction 3 returned `Custom(6001)` = 0x1771, with no AnchorError line.
#[test]
fn preflight_error_is_a_specific_error() {
    let e = decode(
        "solana:mainnet",
        &["mainnet-sendTransaction-preflight-error-custom-0x1771.json"],
    )
    .unwrap_err();
    let DecodeFilesError::File { file, source } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        file,
        "mainnet-sendTransaction-preflight-error-custom-0x1771.json"
    );
    let DecodeFilesError::Preflight { failure } = source.as_ref() else {
        panic!("{source:?}")
    };
    assert_eq!(failure.kind, FailureKind::ProgramError);
    assert_eq!(failure.code.as_deref(), Some("6001"));
    assert_eq!(
        failure.location.as_deref(),
        Some("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4")
    );
    assert_eq!(
        failure.message,
        "instruction 3 (program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4) failed: custom \
         program error 6001 (0x1771); if the program is built with Anchor, this is error #1 of \
         its IDL's errors (Anchor numbers them from 6000); its last log: \"Instruction: Route\""
    );
    let text = chainwatch_chain_core::ErrorChain(&e).to_string();
    assert!(
        text.starts_with(
            "mainnet-sendTransaction-preflight-error-custom-0x1771.json: a sendTransaction \
             preflight failure: the transaction was simulated and rejected before it was sent"
        ),
        "{text}"
    );
}

#[test]
fn bad_inputs_are_named() {
    let chain: ChainId = "solana:mainnet".parse().unwrap();
    let cases: &[(&str, &str)] = &[
        ("{", "x.json: not JSON"),
        (
            "{\"note\":1}",
            "x.json: not a Solana getBlock or getTransaction result",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"result":null}"#,
            "x.json: the result is null",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32007,"message":"Slot 5 was skipped, or missing due to ledger jump to recent snapshot"}}"#,
            "x.json: a JSON-RPC error response, not a result: code -32007: Slot 5 was skipped",
        ),
        (
            r#"{"blockhash":"x","previousBlockhash":"y","parentSlot":1,"blockTime":null,"blockHeight":null,"transactions":[{"transaction":{"signatures":[],"message":{"header":{"numRequiredSignatures":1,"numReadonlySignedAccounts":0,"numReadonlyUnsignedAccounts":0},"accountKeys":[],"recentBlockhash":"z","instructions":[]}},"meta":null}]}"#,
            "x.json: transaction 0 of slot 2 has no signature",
        ),
    ];
    for (json, want) in cases {
        let e = decode_files(&chain, &[("x.json", *json)]).unwrap_err();
        let text = chainwatch_chain_core::ErrorChain(&e).to_string();
        assert!(text.starts_with(want), "{text}");
    }
    let e = decode_files(&"evm:1".parse().unwrap(), &[("x.json", "{}")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "chain evm:1 is not a Solana chain: expected solana:<cluster>, e.g. solana:mainnet"
    );
}

/// Failure classification over every fixture: kind × count, printed (run with
/// `--nocapture`) and checked.
#[test]
fn failure_classification_table() {
    let mut table: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0usize;
    for g in GROUPS {
        for t in decoded(g).transactions {
            total += 1;
            let key = match &t.tx.failure {
                None => "SUCCEEDED".to_owned(),
                Some(f) => f.kind.as_str().to_owned(),
            };
            *table.entry(key).or_default() += 1;
        }
    }
    if let Err(DecodeFilesError::File { source, .. }) = decode(
        "solana:mainnet",
        &["mainnet-sendTransaction-preflight-error-custom-0x1771.json"],
    ) && let DecodeFilesError::Preflight { failure } = *source
    {
        *table
            .entry(format!("{} (preflight)", failure.kind.as_str()))
            .or_default() += 1;
    }
    println!("kind                        count");
    for (k, n) in &table {
        println!("{k:<28}{n}");
    }
    println!("transactions decoded: {total}");
    let want: BTreeMap<String, usize> = [
        ("SUCCEEDED".to_owned(), 25),
        ("PROGRAM_ERROR".to_owned(), 4),
        ("PROGRAM_ERROR (preflight)".to_owned(), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(table, want);
}

/// Account indexes count the addresses loaded from lookup tables after the static keys: the
/// recorded v0 transaction of slot 154808473 (6 static keys, 24 loaded writable, 11 loaded
/// readonly) with its `meta.err` replaced by `InsufficientFundsForRent` on account 10 names
/// the 5th loaded writable address.
#[test]
fn account_index_reaches_loaded_addresses() {
    let mut doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(testdata(
            "mainnet-getBlock-154808473-jsonParsed-trimmed-versioned-tx.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let err = serde_json::json!({"InsufficientFundsForRent": {"account_index": 10}});
    let meta = &mut doc["transactions"][0]["meta"];
    meta["err"] = err.clone();
    meta["status"] = serde_json::json!({ "Err": err });
    let want = meta["loadedAddresses"]["writable"][4]
        .as_str()
        .unwrap()
        .to_owned();
    let d = decode_files(
        &"solana:mainnet".parse().unwrap(),
        &[("x.json", doc.to_string())],
    )
    .unwrap();
    let f = d.transactions[0].tx.failure.as_ref().unwrap();
    assert_eq!(f.kind, FailureKind::InsufficientFunds);
    assert_eq!(f.code.as_deref(), Some("InsufficientFundsForRent"));
    assert_eq!(f.location.as_deref(), Some(want.as_str()));
    assert_eq!(
        f.message,
        format!(
            "Transaction results in an account (10) with insufficient funds for rent (account {want})"
        )
    );
}

/// A `meta.err` newer than this build's Solana types (a future runtime error) fails neither the
/// block nor its other transactions: that transaction is `FAILED` with kind `OTHER`, the
/// variant's name as code and the error kept in `raw`.
#[test]
fn unknown_error_variant_does_not_fail_the_block() {
    let mut doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(testdata("mainnet-getBlock-100000000-json-trimmed.json")).unwrap(),
    )
    .unwrap();
    let err = serde_json::json!({"SomeFutureError": {"account_index": 3}});
    let meta = &mut doc["transactions"][2]["meta"];
    meta["err"] = err.clone();
    meta["status"] = serde_json::json!({ "Err": err });
    let d = decode_files(
        &"solana:mainnet".parse().unwrap(),
        &[("x.json", doc.to_string())],
    )
    .unwrap();
    assert_eq!(d.transactions.len(), 10);
    let f = d.transactions[2].tx.failure.as_ref().unwrap();
    assert_eq!(d.transactions[2].tx.status, TxStatus::Failed);
    assert_eq!(
        (f.kind, f.code.as_deref()),
        (FailureKind::Other, Some("SomeFutureError"))
    );
    assert!(f.raw.contains("SomeFutureError"), "{}", f.raw);
    // The known failures around it are classified as before.
    let kinds: Vec<_> = d
        .transactions
        .iter()
        .filter_map(|t| t.tx.failure.as_ref().map(|f| f.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            FailureKind::Other,
            FailureKind::ProgramError,
            FailureKind::ProgramError
        ]
    );
}
