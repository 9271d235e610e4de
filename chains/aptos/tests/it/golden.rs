//! `decode_files` on every recorded fixture, compared with golden JSON
//! (`testdata/golden/<fixture>.json`; `UPDATE_GOLDEN=1` rewrites them), plus the facts each
//! fixture is there for, checked against the raw JSON by hand.

use std::path::PathBuf;

use chainwatch_chain_aptos::{DecodeError, api_error_failure, decode_files};
use chainwatch_chain_core::ErrorChain;
use chainwatch_schema::{ChainId, Decoded, DecodedTransaction, FailureKind, TxStatus};

pub(crate) fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn aptos1() -> ChainId {
    "aptos:1".parse().unwrap()
}

fn files(names: &[&str]) -> Vec<(String, Vec<u8>)> {
    names
        .iter()
        .map(|n| ((*n).to_owned(), std::fs::read(testdata(n)).unwrap()))
        .collect()
}

/// Decodes `testdata/<fixture>` and checks it against `golden/<fixture>`.
fn golden(fixture: &str) -> Decoded {
    let decoded = decode_files(&aptos1(), &files(&[fixture]))
        .unwrap_or_else(|e| panic!("{fixture}: {}", ErrorChain(&e)));
    let text = serde_json::to_string_pretty(&decoded).unwrap() + "\n";
    chainwatch_testkit::golden::check(&testdata(&format!("golden/{fixture}")), &text);
    decoded
}

fn only_tx(d: &Decoded) -> &DecodedTransaction {
    assert_eq!(d.transactions.len(), 1, "{d:?}");
    &d.transactions[0]
}

#[test]
fn block_10000_system_transactions() {
    let d = golden("mainnet-block-10000-with-txns.json");
    assert_eq!(d.blocks.len(), 1);
    let b = &d.blocks[0];
    assert_eq!(b.block_ref.height, 10_000);
    assert_eq!(
        b.block_ref.hash,
        "0x7eee0512cef0754f58890802a6c3ba1e1032bb1820f45b825adbbee4f10d9d71"
    );
    // block_timestamp 1665614928907827 µs.
    assert_eq!(b.timestamp_ms, 1_665_614_928_907);
    assert_eq!(b.tx_count, 2);
    assert_eq!(b.parent_hash, "", "block 9999 is not among the files");
    let kinds: Vec<&str> = d
        .transactions
        .iter()
        .map(|t| t.tx.extra["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["block_metadata", "state_checkpoint"]);
    for (i, t) in d.transactions.iter().enumerate() {
        // System transactions: no sender, no `to`, no fee: kept out of address queries.
        assert_eq!(t.tx.index as usize, i);
        assert_eq!((t.tx.sender.as_ref(), t.tx.to.as_ref()), (None, None));
        assert_eq!(t.tx.fee, None);
        assert_eq!(t.tx.status, TxStatus::Succeeded);
        assert_eq!(t.tx.extra["version"], 20_083 + i as u64);
    }
    let meta = &d.transactions[0].tx;
    assert_eq!(meta.extra["epoch"], 2);
    assert_eq!(meta.extra["round"], 10_014);
    // The REST answer trims the proposer's leading zero (63 digits): canonical form pads it.
    assert_eq!(
        meta.extra["proposer"],
        "0x0324df1e27c4129a58d73851ae0e9366064dc666a73e747051e203694a4cb257"
    );
}

#[test]
fn block_headers_alone_and_parent_hash_from_the_previous_file() {
    golden("mainnet-block-10000-header.json");
    let d = golden("mainnet-block-10001-header.json");
    assert_eq!(d.blocks[0].tx_count, 2);
    assert!(d.transactions.is_empty());
    let both = decode_files(
        &aptos1(),
        &files(&[
            "mainnet-block-10001-header.json",
            "mainnet-block-10000-header.json",
        ]),
    )
    .unwrap();
    let heights: Vec<u64> = both.blocks.iter().map(|b| b.block_ref.height).collect();
    assert_eq!(heights, [10_000, 10_001]);
    assert_eq!(
        both.blocks[1].parent_hash,
        "0x7eee0512cef0754f58890802a6c3ba1e1032bb1820f45b825adbbee4f10d9d71"
    );
}

#[test]
fn trimmed_fee_payer_block() {
    let d = golden("mainnet-block-84219770-fee-payer-trimmed.json");
    // Versions 236728774..=236728778: five transactions, one recorded.
    assert_eq!(d.blocks[0].tx_count, 5);
    let t = &only_tx(&d).tx;
    assert_eq!(t.index, 1, "version 236728775 is the block's second");
    assert_eq!(
        t.sender.as_deref(),
        Some("0xca79adb0e3c2dc08728cb6baca0b55c21e9543860af5e4944cb15c65f6743e22")
    );
    assert_eq!(t.nonce, Some(0));
    // gas_used 24 × gas_unit_price 100.
    assert_eq!(t.fee.as_deref(), Some("2400"));
    assert_eq!(
        t.to.as_deref(),
        Some("0x120845781465940bd1d09aa73a55352594f7e7c4942a9550cd23919bdc3f6efc")
    );
    assert_eq!(
        t.extra["fee_payer"],
        "0xf5feedac06f7fa0d8a0de62ce00ec66bd0aaf3fb56c2ac9f986eda2efac65062"
    );
    assert_eq!(t.extra["kind"], "user");
}

#[test]
fn failed_move_abort_e_no_profit() {
    let d = golden("mainnet-txn-3556737308-failed-move-abort.json");
    let t = &only_tx(&d).tx;
    assert_eq!(
        t.hash,
        "0x4c3248d4c2f3a5ca1617e43e69332c66586478871ee44634cdb4554fe537dff6"
    );
    assert_eq!(t.status, TxStatus::Failed);
    // The raw vm_status: "Move abort in 0x31deb490…08a0::fa: E_NO_PROFIT(0x385): ".
    let f = t.failure.as_ref().unwrap();
    assert_eq!(f.kind, FailureKind::MoveAbort);
    assert_eq!(
        f.location.as_deref(),
        Some("0x31deb490728ae8e1a89675ee4c1877af8e5849c526d2c9a64238c49d8ece08a0::fa")
    );
    assert_eq!(f.code.as_deref(), Some("0x385"));
    assert!(f.message.starts_with("E_NO_PROFIT "), "{}", f.message);
    assert_eq!(
        f.raw,
        r#"{"vm_status":"Move abort in 0x31deb490728ae8e1a89675ee4c1877af8e5849c526d2c9a64238c49d8ece08a0::fa: E_NO_PROFIT(0x385): "}"#
    );
    let abort = &t.extra["abort"];
    assert_eq!(abort["name"], "E_NO_PROFIT");
    assert_eq!(
        (
            abort["code"].as_u64(),
            abort["category"].as_u64(),
            abort["reason"].as_u64()
        ),
        (Some(0x385), Some(0), Some(0x385))
    );
    assert_eq!(abort["description"], "");
    // Gas is charged on failure: 195 × 100.
    assert_eq!(t.fee.as_deref(), Some("19500"));
    assert_eq!(t.nonce, Some(1679));
}

#[test]
fn committed_user_transactions() {
    for (fixture, hash, fee, nonce, function) in [
        (
            "mainnet-txn-3517584511-stake-delegate.json",
            "0x130cc74c1a768780ca062a97bc833a01dec85b2d315484869559b7cdee4d0e75",
            "142400",
            8,
            "0x1::delegation_pool::add_stake",
        ),
        (
            "mainnet-txn-3521662834.json",
            "0x6a43e0034486583a30cff449c03c4d882c641b351e392096272496168240de8e",
            "1800",
            102,
            "0x1::aptos_account::transfer_coins",
        ),
        (
            "mainnet-txn-4120398629-swap-panora.json",
            "0xf1c24162c08b6b8b452c00adad1836d72949902a8701611479d4e49fec0a9e3c",
            "142600",
            4,
            "0x1c3206329806286fd2223647c9f9b130e66baeb6d7224a18c1f642ffe48f3b4c::panora_swap::router_entry",
        ),
    ] {
        let d = golden(fixture);
        let t = only_tx(&d);
        assert!(t.block.is_none(), "{fixture}");
        let t = &t.tx;
        assert_eq!(t.hash, hash, "{fixture}");
        assert_eq!(t.status, TxStatus::Succeeded, "{fixture}");
        assert!(t.failure.is_none(), "{fixture}");
        assert_eq!(t.fee.as_deref(), Some(fee), "{fixture}");
        assert_eq!(t.nonce, Some(nonce), "{fixture}");
        assert_eq!(t.extra["function"], function, "{fixture}");
    }
}

#[test]
fn grpc_stream_message_normalizes_like_rest() {
    let d = golden("mainnet-txn-308783012-grpc-protobuf-json.json");
    let t = only_tx(&d);
    let t = &t.tx;
    // info.hash is base64 in the stream: the same 0x hex as REST.
    assert_eq!(
        t.hash,
        "0x65248c3677626d63100a660cc5fa6e64c93d57d098e4de18ec0a9f42b7a97a82"
    );
    assert_eq!(t.status, TxStatus::Succeeded);
    assert_eq!(t.nonce, Some(15_108));
    // gasUsed 520 × gasUnitPrice 100.
    assert_eq!(t.fee.as_deref(), Some("52000"));
    assert_eq!(
        t.sender.as_deref(),
        Some("0x28f87126ce5c2ead81ec4fef494c73d545757a9a634eb54d36ae5a9737f4f287")
    );
    assert_eq!(t.extra["block_height"], 106_350_614);
    assert_eq!(t.extra["version"], 308_783_012);
    assert_eq!(t.extra["events"], 3);
    assert_eq!(t.extra["storage_fee_refund_octas"], 0);
    // The same keys a REST user transaction has (plus the stream's block height and epoch).
    let rest = decode_files(&aptos1(), &files(&["mainnet-txn-3521662834.json"])).unwrap();
    let mut rest_keys: Vec<&String> = rest.transactions[0]
        .tx
        .extra
        .as_object()
        .unwrap()
        .keys()
        .collect();
    rest_keys.retain(|k| *k != "fee_payer");
    let mut grpc_keys: Vec<&String> = t.extra.as_object().unwrap().keys().collect();
    grpc_keys.retain(|k| *k != "block_height" && *k != "epoch");
    assert_eq!(rest_keys, grpc_keys);

    // With the stream's envelope, and a chainId that must match.
    let msg =
        std::fs::read_to_string(testdata("mainnet-txn-308783012-grpc-protobuf-json.json")).unwrap();
    let env = format!(r#"{{"transactions":[{msg}],"chainId":"1"}}"#);
    let enveloped =
        decode_files(&aptos1(), &[("env.json".into(), env.clone().into_bytes())]).unwrap();
    assert_eq!(enveloped, d);
    let mainnet = decode_files(
        &"aptos:mainnet".parse().unwrap(),
        &[("env.json".into(), env.clone().into_bytes())],
    )
    .unwrap();
    assert_eq!(mainnet.transactions, d.transactions);
    let e = decode_files(
        &"aptos:2".parse().unwrap(),
        &[("env.json".into(), env.into_bytes())],
    )
    .unwrap_err();
    assert_eq!(
        ErrorChain(&e).to_string(),
        "env.json: the stream response has chainId 1 but the chain is aptos:2"
    );
}

#[test]
fn submission_error_body_is_classified_not_decoded() {
    let body = std::fs::read(testdata("mainnet-submit-error-invalid-transaction.json")).unwrap();
    let f = api_error_failure(&body).unwrap();
    assert_eq!(f.kind, FailureKind::ExecutionError);
    assert_eq!(
        f.code.as_deref(),
        Some("MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS")
    );
    assert_eq!(
        f.message,
        "rejected at validation: MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS"
    );
    assert_eq!(f.raw.as_bytes(), body.as_slice());
    let e = decode_files(
        &aptos1(),
        &files(&["mainnet-submit-error-invalid-transaction.json"]),
    )
    .unwrap_err();
    let DecodeError::File { source, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(matches!(**source, DecodeError::ApiError { .. }), "{e:?}");
    assert_eq!(
        ErrorChain(&e).to_string(),
        "mainnet-submit-error-invalid-transaction.json: an Aptos API error body, not a \
         transaction: vm_error: Invalid transaction: Type: Validation Code: \
         MAX_GAS_UNITS_BELOW_MIN_TRANSACTION_GAS_UNITS (EXECUTION_ERROR)"
    );
}

#[test]
fn bad_input_names_the_file_and_field() {
    let chain = aptos1();
    let cases: [(&str, &str); 5] = [
        (
            "{nope",
            "f.json: not JSON: key must be a string at line 1 column 2",
        ),
        (
            r#"{"block_height":"x","block_hash":"0x1","block_timestamp":"1","first_version":"1","last_version":"1"}"#,
            "f.json: malformed REST block at `block_height`: invalid value: string \"x\", expected a decimal u64 in a string",
        ),
        (
            r#"{"type":"user_transaction","hash":"0x12","version":"1","success":true}"#,
            "f.json: a user_transaction: `hash`: hash \"0x12\" is not 0x followed by 64 hex digits",
        ),
        (
            r#"[{"a":1}]"#,
            "f.json: element 0 is an object with keys a: expected an Aptos REST block (/v1/blocks/by_height), a REST transaction or transaction list (/v1/transactions), or indexer gRPC stream transactions (protobuf-JSON, bare or as {\"transactions\": […]})",
        ),
        (
            r#"{"type":"user_transaction","hash":"0x4c3248d4c2f3a5ca1617e43e69332c66586478871ee44634cdb4554fe537dff6","version":"1","success":true,"sender":"alice"}"#,
            "f.json: transaction 0x4c3248d4c2f3a5ca1617e43e69332c66586478871ee44634cdb4554fe537dff6: `sender`: address \"alice\" does not start with 0x",
        ),
    ];
    for (json, want) in cases {
        let e = decode_files(&chain, &[("f.json".into(), json.as_bytes().to_vec())]).unwrap_err();
        assert_eq!(ErrorChain(&e).to_string(), want);
    }
    let e = decode_files(&"evm:1".parse().unwrap(), &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "chain evm:1 is not an Aptos chain (expected aptos:<chain id>, e.g. aptos:1)"
    );
}

#[test]
fn truncated_block_is_completed_from_a_transactions_page() {
    // Block 10000 as a node would send it with its list truncated to one transaction, plus the
    // `/v1/transactions?start=20084&limit=1` page: the same result as the whole block.
    let whole: serde_json::Value = serde_json::from_slice(
        &std::fs::read(testdata("mainnet-block-10000-with-txns.json")).unwrap(),
    )
    .unwrap();
    let mut truncated = whole.clone();
    let rest = truncated["transactions"]
        .as_array_mut()
        .unwrap()
        .split_off(1);
    let page = serde_json::Value::Array(rest);
    let d = decode_files(
        &aptos1(),
        &[
            ("page.json".into(), page.to_string().into_bytes()),
            ("block.json".into(), truncated.to_string().into_bytes()),
        ],
    )
    .unwrap();
    let want = decode_files(&aptos1(), &[("b".into(), whole.to_string().into_bytes())]).unwrap();
    assert_eq!(d, want);
}

/// A recorded user transaction turned into another form by editing its JSON: the node's
/// `pending_transaction` form (request fields only), or an orderless transaction (AIP-123:
/// `replay_protection_nonce` set).
fn edited(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<(String, Vec<u8>)> {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(testdata(name)).unwrap()).unwrap();
    edit(&mut v);
    vec![("edited.json".into(), v.to_string().into_bytes())]
}

#[test]
fn pending_and_orderless_forms() {
    let pending = edited("mainnet-txn-3521662834.json", |v| {
        let o = v.as_object_mut().unwrap();
        o.retain(|k, _| {
            [
                "hash",
                "sender",
                "sequence_number",
                "max_gas_amount",
                "gas_unit_price",
                "expiration_timestamp_secs",
                "payload",
                "signature",
            ]
            .contains(&k.as_str())
        });
        o.insert("type".into(), "pending_transaction".into());
    });
    let d = decode_files(&aptos1(), &pending).unwrap();
    let t = &only_tx(&d).tx;
    assert_eq!(t.status, TxStatus::Pending);
    assert!(t.failure.is_none() && t.fee.is_none());
    assert_eq!(t.nonce, Some(102));
    assert_eq!(t.extra["kind"], "pending");

    let orderless = edited("mainnet-txn-3521662834.json", |v| {
        v["replay_protection_nonce"] = "77".into();
    });
    let d = decode_files(&aptos1(), &orderless).unwrap();
    let t = &only_tx(&d).tx;
    assert_eq!(
        t.nonce, None,
        "orderless transactions have no sequence-number nonce"
    );
    assert_eq!(t.extra["replay_protection_nonce"], 77);
}
