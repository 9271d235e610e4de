//! `decode_files` on every recorded Sui fixture (JSON-RPC), and on the same data converted into
//! gRPC protobuf JSON (`testdata/grpc/`, written by `jsonrpc_to_grpc_json`), compared with
//! golden JSON (`testdata/golden/decode/<group>.json`; `UPDATE_GOLDEN=1` rewrites them), plus the
//! failure-classification table over the fixtures.

use std::{collections::BTreeMap, path::PathBuf};

use chainwatch_chain_sui::{DecodeError, decode_files, jsonrpc_to_grpc_json};
use chainwatch_schema::{ChainId, Decoded, TxStatus};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn update() -> bool {
    chainwatch_testkit::golden::updating()
}

/// Compares `text` with `testdata/<path>`, or rewrites it with `UPDATE_GOLDEN=1`.
fn check_golden(path: &str, text: &str) {
    chainwatch_testkit::golden::check(&testdata(path), text);
}

/// Files decoded together, and their golden file.
struct Group {
    golden: &'static str,
    chain: &'static str,
    files: &'static [&'static str],
}

/// Every Sui fixture but the not-found error (see `not_found_error_is_specific`).
const GROUPS: &[Group] = &[
    Group {
        golden: "testnet-checkpoint-1953362",
        chain: "sui:testnet",
        files: &[
            "testnet-checkpoint-1953362.json",
            "testnet-tx-J2Vkui75vgoLvCmNiREVKwpeTVPCq5EQ71i2ETahP6R9.json",
        ],
    },
    Group {
        golden: "testnet-getCheckpoints-page-1969067",
        chain: "sui:testnet",
        files: &["testnet-getCheckpoints-page-1969067.json"],
    },
    Group {
        golden: "testnet-tx-7ur5hCsS-input-events",
        chain: "sui:testnet",
        files: &["testnet-tx-7ur5hCsSxn5TmG92JDfeBKenjLh5xJPqs8XdJBSnnzqm-input-events.json"],
    },
    Group {
        golden: "mainnet-tx-38FsSDjA-swap",
        chain: "sui:mainnet",
        files: &["mainnet-tx-38FsSDjA7PGrmFFhNWSH8kFXoTmLvsGukDFoe3S7AUvp-swap.json"],
    },
    Group {
        golden: "mainnet-tx-4MjZc5Gr-transfer-token",
        chain: "sui:mainnet",
        files: &["mainnet-tx-4MjZc5GrgP6peCwbA1LyS5rXNdJxKjWbd2TrSDZQBXKf-transfer-token.json"],
    },
    Group {
        golden: "mainnet-tx-CJ16PEqq-transfer-sui",
        chain: "sui:mainnet",
        files: &["mainnet-tx-CJ16PEqq49KFp758iEVwxEkd3CwP7zDfqGYLuLuu9Z63-transfer-sui.json"],
    },
];

fn decode_group(g: &Group, dir: &str) -> Decoded {
    let chain: ChainId = g.chain.parse().unwrap();
    let files: Vec<(String, Vec<u8>)> = g
        .files
        .iter()
        .map(|f| {
            let name = format!("{dir}{f}");
            let bytes = std::fs::read(testdata(&name)).unwrap();
            (name, bytes)
        })
        .collect();
    decode_files(&chain, &files)
        .unwrap_or_else(|e| panic!("{}: {}", g.golden, chainwatch_chain_core::ErrorChain(&e)))
}

fn decode_all() -> Vec<(&'static str, Decoded)> {
    GROUPS
        .iter()
        .map(|g| (g.golden, decode_group(g, "")))
        .collect()
}

#[test]
fn every_fixture_decodes_to_its_golden() {
    for (name, d) in decode_all() {
        let text = serde_json::to_string_pretty(&d).unwrap() + "\n";
        check_golden(&format!("golden/decode/{name}.json"), &text);
    }
}

/// The gRPC form of every fixture is the golden `testdata/grpc/<file>`, and decodes to exactly
/// what the JSON-RPC form decodes to.
#[test]
fn grpc_json_decodes_the_same() {
    for g in GROUPS {
        for f in g.files {
            let raw = std::fs::read(testdata(f)).unwrap();
            let grpc = jsonrpc_to_grpc_json(&raw).unwrap();
            check_golden(
                &format!("grpc/{f}"),
                &(serde_json::to_string_pretty(&grpc).unwrap() + "\n"),
            );
        }
        if update() {
            continue;
        }
        let jsonrpc = decode_group(g, "");
        let grpc = decode_group(g, "grpc/");
        assert_eq!(jsonrpc, grpc, "{}", g.golden);
    }
}

#[test]
fn not_found_error_is_specific() {
    let chain: ChainId = "sui:testnet".parse().unwrap();
    let name = "testnet-getTransactionBlock-not-found-error.json";
    let bytes = std::fs::read(testdata(name)).unwrap();
    let err = decode_files(&chain, &[(name, bytes)]).unwrap_err();
    let DecodeError::File { file, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(file, name);
    assert!(
        matches!(&**source, DecodeError::TransactionNotFound { digest, .. }
            if digest == "7xZ5AAjrybwwPjXh7ojKert5v7eSYgzWEREtKrhSGQ7d"),
        "{source:?}"
    );
    assert_eq!(
        chainwatch_chain_core::ErrorChain(&err).to_string(),
        "testnet-getTransactionBlock-not-found-error.json: the file is a JSON-RPC error, not a \
         transaction: transaction 7xZ5AAjrybwwPjXh7ojKert5v7eSYgzWEREtKrhSGQ7d was not found \
         (Could not find the referenced transaction \
         [TransactionDigest(7xZ5AAjrybwwPjXh7ojKert5v7eSYgzWEREtKrhSGQ7d)].)"
    );
}

#[test]
fn bad_input_is_named() {
    let chain: ChainId = "sui:testnet".parse().unwrap();
    let err = decode_files(&chain, &[("a.json", br#"{"foo": 1}"#.to_vec())]).unwrap_err();
    assert_eq!(
        chainwatch_chain_core::ErrorChain(&err).to_string(),
        "a.json: expected a Sui checkpoint, checkpoint page or transaction block (JSON-RPC or \
         gRPC JSON), found an object with keys [foo]"
    );
    let err = decode_files(
        &chain,
        &[(
            "b.json",
            br#"{"digest":"x","effects":{"status":{"status":"weird"}}}"#.to_vec(),
        )],
    )
    .unwrap_err();
    assert!(
        chainwatch_chain_core::ErrorChain(&err)
            .to_string()
            .contains(r#"effects field `status`: expected {"status": "success"}"#),
        "{err}"
    );
    let evm: ChainId = "evm:1".parse().unwrap();
    assert!(matches!(
        decode_files(&evm, &[("a.json", b"{}".to_vec())]),
        Err(DecodeError::NotSui(_))
    ));
}

/// Facts checked by hand against the raw files.
#[test]
fn hand_checked_facts() {
    let all = decode_all();
    let get = |name: &str| &all.iter().find(|(n, _)| *n == name).unwrap().1;
    // Checkpoint 1953362 lists 9 digests; J2Vk… is the 9th (index 8).
    let d = get("testnet-checkpoint-1953362");
    assert_eq!(d.blocks.len(), 1);
    assert_eq!(d.blocks[0].block_ref.height, 1_953_362);
    assert_eq!(
        d.blocks[0].block_ref.hash,
        "BHeEq9rUuc2kdh1k7vk4oN22oK7TtpTpVuaM32fs6UrB"
    );
    assert_eq!(
        d.blocks[0].parent_hash,
        "QnwDCY5dJgpY9rRGbYseG8pQgdacHGtXgjC9TPVyKh8"
    );
    assert_eq!(d.blocks[0].timestamp_ms, 1_683_124_849_673);
    assert_eq!(d.blocks[0].tx_count, 9);
    let t = &d.transactions[0];
    assert_eq!(t.tx.hash, "J2Vkui75vgoLvCmNiREVKwpeTVPCq5EQ71i2ETahP6R9");
    assert_eq!(t.tx.index, 8);
    assert_eq!(t.block.as_ref().unwrap().height, 1_953_362);
    // 1_000_000 + 1_976_000 − 978_120
    assert_eq!(t.tx.fee.as_deref(), Some("1997880"));
    // CJ16…: the sender's SUI balance change is −101_744_880 for a 100_000_000 transfer, so
    // the gas paid is 1_744_880 = 747_000 + 1_976_000 − 978_120 (non-refundable fee not added).
    let t = &get("mainnet-tx-CJ16PEqq-transfer-sui").transactions[0].tx;
    assert_eq!(t.fee.as_deref(), Some("1744880"));
    assert_eq!(
        t.extra["gas_owner"],
        "0x93f65b8c16c263343bbf66cf9f8eef69cb1dbc92d13f0c331b0dcaeb76b4aab6"
    );
    // 4MjZ…: the rebate exceeds the costs: 740_000 + 3_632_800 − 4_574_592.
    let t = &get("mainnet-tx-4MjZc5Gr-transfer-token").transactions[0].tx;
    assert_eq!(t.fee.as_deref(), Some("-201792"));
    // 7ur5…: no effects; 1 event, so it succeeded; the sender is the transaction's.
    let t = &get("testnet-tx-7ur5hCsS-input-events").transactions[0].tx;
    assert_eq!(t.status, TxStatus::Succeeded);
    assert_eq!(t.extra["status_source"], "events");
    assert_eq!(
        t.sender.as_deref(),
        Some("0x76e4c5c9bbe09d271f305f843db9184eef9948e0002d0e8cbe76faac64f0dc6b")
    );
    assert_eq!(t.fee, None);
}

/// The failure-classification table over every Sui fixture (kind × count), written to
/// `testdata/golden/failure-table.md`. No recorded Sui fixture holds a failed transaction; the
/// failure mappings are tested on the documented error shapes in `src/failure.rs`.
#[test]
fn failure_classification_table() {
    let mut table: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for (_, d) in decode_all() {
        for t in &d.transactions {
            total += 1;
            let key = match &t.tx.failure {
                Some(f) => format!("FAILED / {}", f.kind.as_str()),
                None => t.tx.status.as_str().to_owned(),
            };
            *table.entry(key).or_default() += 1;
        }
    }
    let mut text = String::from(
        "# Sui fixtures: failure classification\n\n\
         Written by `tests/it/decode.rs::failure_classification_table`.\n\n\
         | status / failure kind | transactions |\n|---|---|\n",
    );
    for (k, n) in &table {
        text += &format!("| {k} | {n} |\n");
    }
    text += &format!("| total | {total} |\n");
    text += "\nNo recorded Sui fixture holds a failed transaction: each failure mapping \
             (MOVE_ABORT, INSUFFICIENT_FUNDS, OUT_OF_GAS, EXECUTION_ERROR) is tested on the \
             documented error shapes in `src/failure.rs`.\n";
    check_golden("golden/failure-table.md", &text);
}
