//! The Python reference decoder on envelopes from the Rust encoder, valid and invalid.

use chainwatch_schema::{Envelope, EnvelopeError};
use serde_json::Value;

use crate::{
    golden_block, run_decoder, stderr_of, stdout_of, stream, write_envelopes, write_lines,
};

#[test]
fn python_decoder_accepts_every_event_type_from_the_rust_encoder() {
    let envelopes = stream();
    let file = write_envelopes("accepts-every-event-type", &envelopes);
    let out = run_decoder(&file);
    let (stdout, stderr) = (stdout_of(&out), stderr_of(&out));
    assert!(
        out.status.success(),
        "decode.py failed ({}):\n{stderr}\n{stdout}",
        out.status
    );

    let golden = golden_block();
    let lines: Vec<&str> = stdout.lines().collect();
    let expected_summaries = [
        format!(
            "seq=1 chain=evm:1 type=apply height={} txs={}",
            golden.block_ref.height,
            golden.txs.len()
        ),
        format!(
            "seq=2 chain=evm:1 type=apply height={} txs=3",
            golden.block_ref.height + 1
        ),
        "seq=3 chain=evm:1 type=revert".to_owned(),
        "seq=4 chain=evm:1 type=finality".to_owned(),
        "seq=5 chain=evm:1 type=heartbeat".to_owned(),
        "seq=1 chain=solana:mainnet-beta type=finality".to_owned(),
    ];
    assert_eq!(lines.len(), expected_summaries.len() + 1, "{stdout}");
    assert_eq!(lines[..expected_summaries.len()], expected_summaries[..]);
    assert_eq!(
        lines[0],
        "seq=1 chain=evm:1 type=apply height=11098450 txs=185"
    );

    let counts: Value = serde_json::from_str(lines[expected_summaries.len()])
        .unwrap_or_else(|e| panic!("last line is not JSON ({e}): {stdout}"));
    assert_eq!(
        counts,
        serde_json::json!({"apply": 2, "revert": 1, "finality": 2, "heartbeat": 1})
    );
    // The counts agree with the Rust view of the same stream.
    for kind in ["apply", "revert", "finality", "heartbeat"] {
        let n = envelopes.iter().filter(|e| e.event.kind() == kind).count();
        assert_eq!(counts[kind], n, "{kind}");
    }
}

/// What the Rust decoder makes of a line decode.py must reject.
#[derive(Debug, Clone, Copy)]
enum Rust {
    /// Rejects it; the function checks the error.
    Rejects(fn(EnvelopeError)),
    /// Accepts it (serde is lenient there), though the Rust encoder never writes it.
    Accepts,
}

/// The valid stream with line `at` (1-based) replaced by `bad`: checks what the Rust decoder
/// makes of `bad`, and that decode.py exits 1 with one line naming line `at` and containing
/// every string of `reasons`, after summarizing only the lines before it.
fn assert_rejected_at(test: &str, at: usize, bad: Vec<u8>, rust: Rust, reasons: &[&str]) {
    let envelopes = stream();
    assert!((2..=envelopes.len()).contains(&at));
    // The lines before the bad one are valid and round-trip.
    write_envelopes(&format!("{test}-prefix"), &envelopes[..at - 1]);
    match (Envelope::decode(&bad), rust) {
        (Err(e), Rust::Rejects(check)) => check(e),
        (Ok(_), Rust::Accepts) => {}
        (res, _) => panic!("{test}: unexpected Rust decoder result {res:?}"),
    }

    let mut lines: Vec<Vec<u8>> = envelopes.iter().map(Envelope::encode).collect();
    lines[at - 1] = bad;
    let file = write_lines(test, &lines);
    let out = run_decoder(&file);
    let (stdout, stderr) = (stdout_of(&out), stderr_of(&out));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{test}: decode.py must reject the envelope (exit 1)\nstderr: {stderr}\nstdout: {stdout}"
    );
    let message = stderr.trim_end();
    assert_eq!(message.lines().count(), 1, "{test}: one line: {stderr}");
    assert!(
        message.contains(&format!(" line {at}: ")),
        "{test}: must name line {at}: {message}"
    );
    for reason in reasons {
        assert!(
            message.contains(reason),
            "{test}: must say {reason:?}: {message}"
        );
    }
    assert_eq!(
        stdout.lines().count(),
        at - 1,
        "{test}: only the lines before the bad one are summarized, and no counts: {stdout}"
    );
}

/// The envelope at line `at` of the stream as a JSON value, to be broken by hand.
fn line_value(at: usize) -> Value {
    serde_json::from_slice(&stream()[at - 1].encode()).unwrap()
}

fn malformed(e: EnvelopeError) {
    assert!(matches!(e, EnvelopeError::Malformed(_)), "{e}");
}

#[test]
fn python_decoder_rejects_an_unknown_version() {
    let env = Envelope {
        v: 2,
        ..stream().swap_remove(1)
    };
    assert_rejected_at(
        "unknown-version",
        2,
        env.encode(),
        Rust::Rejects(|e| {
            assert!(
                matches!(e, EnvelopeError::UnknownVersion { found: 2 }),
                "{e}"
            );
        }),
        &[
            "unknown envelope version 2",
            "schema path: properties/v/const",
        ],
    );
}

#[test]
fn python_decoder_rejects_a_negative_seq() {
    let mut v = line_value(3);
    v["seq"] = serde_json::json!(-1);
    assert_rejected_at(
        "negative-seq",
        3,
        serde_json::to_vec(&v).unwrap(),
        Rust::Rejects(malformed),
        &[
            "at $.seq: -1 is less than the minimum of 0",
            "schema path: properties/seq/minimum",
        ],
    );
}

#[test]
fn python_decoder_rejects_an_unknown_event_type() {
    let mut v = line_value(4);
    v["event"]["type"] = "rollback".into();
    assert_rejected_at(
        "unknown-event-type",
        4,
        serde_json::to_vec(&v).unwrap(),
        Rust::Rejects(malformed),
        &[
            "at $.event.type: 'rollback' is not one of ['apply', 'revert', 'finality', 'heartbeat']",
            "schema path: properties/event/properties/type/enum",
        ],
    );
}

#[test]
fn python_decoder_rejects_a_missing_chain() {
    let mut v = line_value(5);
    assert!(v.as_object_mut().unwrap().remove("chain").is_some());
    assert_rejected_at(
        "missing-chain",
        5,
        serde_json::to_vec(&v).unwrap(),
        Rust::Rejects(malformed),
        &[
            "at $: 'chain' is a required property",
            "schema path: required",
        ],
    );
}

/// Where a stock JSON Schema validator in Python, or serde, is looser than the contract,
/// decode.py is not.
#[test]
fn python_decoder_rejects_what_a_lenient_decoder_would_pass() {
    type Break = fn(&mut Value);
    let malformed = Rust::Rejects(malformed);
    let cases: [(&str, Break, Rust, &[&str]); 4] = [
        (
            // JSON Schema counts 3.0 as an integer; serde does not.
            "float-seq",
            |v| v["seq"] = serde_json::json!(3.0),
            malformed,
            &["at $.seq: 3.0 is not of type 'integer'"],
        ),
        (
            // Python's `$` matches before a final newline; ChainId::new rejects it.
            "chain-trailing-newline",
            |v| v["chain"] = "evm:1\n".into(),
            malformed,
            &["at $.chain: ", "schema path: properties/chain/not"],
        ),
        (
            // serde reads `null` as None, but the encoder omits absent fields.
            "null-optional-field",
            |v| v["event"]["block"]["txs"][1]["to"] = Value::Null,
            Rust::Accepts,
            &["at $.event.block.txs[1].to: None is not of type 'string'"],
        ),
        (
            "tx-index-above-u32",
            |v| v["event"]["block"]["txs"][0]["index"] = serde_json::json!(1_u64 << 32),
            malformed,
            &[
                "at $.event.block.txs[0].index: 4294967296 is greater than the maximum of 4294967295",
            ],
        ),
    ];
    for (name, break_it, rust, reasons) in cases {
        let mut v = line_value(2);
        assert_eq!(v["event"]["type"], "apply");
        break_it(&mut v);
        assert_rejected_at(name, 2, serde_json::to_vec(&v).unwrap(), rust, reasons);
    }
}
