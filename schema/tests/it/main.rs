//! The envelope contract seen from outside: envelopes encoded by this crate's own types are
//! validated by `schema/envelope.schema.json` through the Python reference decoder
//! (`schema/contract/decode.py`, which knows nothing of the Rust code), and envelopes the
//! contract forbids are rejected by both decoders.
//!
//! Needs `python3` with the `jsonschema` package (`scripts/install.sh`:
//! `install_python_jsonschema`).

mod decoder;
mod schema_file;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use chainwatch_schema::{
    Block, BlockRef, ChainEvent, ChainId, Envelope, Failure, FailureKind, ProviderHead,
    Transaction, TxStatus,
};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// A real normalized EVM block (mainnet 11098450: 185 transactions, 7 of them failed).
const GOLDEN_BLOCK: &str = "../chains/evm/testdata/golden/mainnet-block-11098450.json";

fn chain_id(s: &str) -> ChainId {
    s.parse().unwrap()
}

fn manifest_path(rel: &str) -> PathBuf {
    Path::new(MANIFEST_DIR).join(rel)
}

/// The golden block, deserialized as this crate's `Block`.
fn golden_block() -> Block {
    let path = manifest_path(GOLDEN_BLOCK);
    let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A block on top of `parent` with a failed call (with a `Failure`), a contract creation
/// (`to: None`) and a transaction with only the required fields (and a `u64::MAX` nonce).
fn synthetic_block(parent: &BlockRef) -> Block {
    let chain = chain_id("evm:1");
    Block {
        chain,
        block_ref: BlockRef::new(
            parent.height + 1,
            "0x5d1b0b5b8a4c7f5e6d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6",
        ),
        parent_hash: parent.hash.clone(),
        timestamp_ms: 1_603_269_198_000,
        txs: vec![
            Transaction {
                hash: "0x1111111111111111111111111111111111111111111111111111111111111111".into(),
                index: 0,
                sender: Some("0x3bcbd698b591468dcc31aa13969f2e7f8259f409".into()),
                to: Some("0x7a250d5630b4cf539739df2c5dacb4c659f2488d".into()),
                nonce: Some(45),
                value: Some("1000000000000000000".into()),
                fee: Some("4424580000000000".into()),
                status: TxStatus::Failed,
                failure: Some(Failure {
                    kind: FailureKind::Reverted,
                    code: Some("0x08c379a0".into()),
                    message: "UniswapV2Router: EXPIRED".into(),
                    location: Some("0x7a250d5630b4cf539739df2c5dacb4c659f2488d".into()),
                    raw: r#"{"status":"0x0","output":"0x08c379a0"}"#.into(),
                }),
                extra: serde_json::json!({"gas_used": 24_581, "gas_limit": 300_000, "type": 2}),
            },
            Transaction {
                hash: "0x2222222222222222222222222222222222222222222222222222222222222222".into(),
                index: 1,
                sender: Some("0xa50595b2ef5c1a010a1781be32f35dffb3e5bc70".into()),
                to: None,
                nonce: Some(0),
                value: Some("0".into()),
                fee: Some("21000000000000000".into()),
                status: TxStatus::Succeeded,
                failure: None,
                extra: serde_json::json!({
                    "contract_created": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                    "gas_used": 1_500_000,
                }),
            },
            Transaction {
                hash: "0x3333333333333333333333333333333333333333333333333333333333333333".into(),
                index: 2,
                sender: None,
                to: None,
                nonce: Some(u64::MAX),
                value: None,
                fee: None,
                status: TxStatus::Succeeded,
                failure: None,
                extra: serde_json::Value::Null,
            },
        ],
    }
}

/// A plausible stream covering every event type: the golden block, a block on top of it, a
/// revert of that block, finality with `finalized: null`, a heartbeat with a failing provider,
/// and on a second chain finality with `safe: null`.
fn stream() -> Vec<Envelope> {
    let evm = chain_id("evm:1");
    let golden = golden_block();
    let golden_ref = golden.block_ref.clone();
    let next = synthetic_block(&golden_ref);
    let next_ref = next.block_ref.clone();
    vec![
        Envelope::new(evm.clone(), 1, ChainEvent::Apply { block: golden }),
        Envelope::new(evm.clone(), 2, ChainEvent::Apply { block: next }),
        Envelope::new(
            evm.clone(),
            3,
            ChainEvent::Revert {
                to: golden_ref.clone(),
                from: next_ref.clone(),
                new_head: BlockRef::new(next_ref.height + 1, "0xfeed"),
            },
        ),
        Envelope::new(
            evm.clone(),
            4,
            ChainEvent::Finality {
                safe: Some(golden_ref),
                finalized: None,
            },
        ),
        Envelope::new(
            evm,
            5,
            ChainEvent::Heartbeat {
                at_ms: 1_603_269_200_123,
                heads: vec![
                    ProviderHead {
                        provider: "alchemy".into(),
                        height: Some(next_ref.height + 1),
                        error: None,
                        health: 0.93,
                        state: Default::default(),
                    },
                    ProviderHead {
                        provider: "public-node".into(),
                        height: None,
                        error: Some("timeout".into()),
                        health: 0.0,
                        state: Default::default(),
                    },
                ],
            },
        ),
        Envelope::new(
            chain_id("solana:mainnet-beta"),
            1,
            ChainEvent::Finality {
                safe: None,
                finalized: Some(BlockRef::new(
                    301_000_000,
                    "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d",
                )),
            },
        ),
    ]
}

/// A file in cargo's per-target temporary dir, unique to the test and process, removed on
/// drop (kept when the test panics, to look at).
#[derive(Debug)]
struct TempFile(PathBuf);

impl TempFile {
    fn new(test: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(dir).unwrap();
        Self(dir.join(format!(
            "schema-contract-{test}-{}.ndjson",
            std::process::id()
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Writes `lines` as NDJSON, one per line.
fn write_lines(test: &str, lines: &[Vec<u8>]) -> TempFile {
    let file = TempFile::new(test);
    let mut out = Vec::new();
    for line in lines {
        assert!(
            !line.contains(&b'\n'),
            "an encoded envelope must fit on one line"
        );
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    std::fs::write(&file.0, out).unwrap();
    file
}

/// Writes `envelopes` with `Envelope::encode` as NDJSON, then reads the file back and checks
/// that every line decodes with `Envelope::decode` to the envelope written.
fn write_envelopes(test: &str, envelopes: &[Envelope]) -> TempFile {
    let lines: Vec<Vec<u8>> = envelopes.iter().map(Envelope::encode).collect();
    let file = write_lines(test, &lines);
    assert_round_trip(&file.0, envelopes);
    file
}

fn assert_round_trip(path: &Path, envelopes: &[Envelope]) {
    let text = std::fs::read(path).unwrap();
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), envelopes.len(), "{}", path.display());
    for (i, (line, env)) in lines.iter().zip(envelopes).enumerate() {
        let back = Envelope::decode(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        assert_eq!(&back, env, "line {} does not round-trip", i + 1);
    }
}

/// Runs `python3 schema/contract/decode.py FILE`.
fn run_decoder(file: &TempFile) -> Output {
    let script = manifest_path("contract/decode.py");
    Command::new("python3")
        .arg(&script)
        .arg(&file.0)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script.display()))
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn golden_block_is_a_real_block_with_failures() {
    let block = golden_block();
    assert_eq!(block.chain, chain_id("evm:1"));
    assert_eq!(block.block_ref.height, 11_098_450);
    assert_eq!(block.txs.len(), 185);
    let failed: Vec<&Transaction> = block
        .txs
        .iter()
        .filter(|t| t.status == TxStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 7);
    assert!(failed.iter().all(|t| t.failure.is_some()));
}

#[test]
fn every_envelope_round_trips_through_encode_and_decode() {
    let envelopes = stream();
    // write_envelopes decodes every line it wrote back and compares.
    let file = write_envelopes("round-trip", &envelopes);
    // Field presence on the wire is what the schema describes: omitted, never null.
    let text = std::fs::read_to_string(&file.0).unwrap();
    let minimal_tx = r#"{"hash":"0x3333333333333333333333333333333333333333333333333333333333333333","index":2,"nonce":18446744073709551615,"status":"SUCCEEDED"}"#;
    assert!(text.contains(minimal_tx), "{text}");
    assert!(
        text.contains(r#""safe":null"#) && text.contains(r#""finalized":null"#),
        "{text}"
    );
}
