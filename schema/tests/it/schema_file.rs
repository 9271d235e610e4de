//! `schema/envelope.schema.json` against the Rust types it describes.

use std::{io::Write, process::Stdio};

use chainwatch_schema::{ChainId, ENVELOPE_VERSION, FailureKind, TxStatus};
use serde_json::Value;

use crate::{manifest_path, stream};

fn schema() -> Value {
    let path = manifest_path("envelope.schema.json");
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn names<T: serde::Serialize>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .map(|v| match serde_json::to_value(v).unwrap() {
            Value::String(s) => s,
            other => panic!("not a string: {other}"),
        })
        .collect()
}

#[test]
fn version_and_enums_match_the_rust_types() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["properties"]["v"]["const"], ENVELOPE_VERSION);

    let statuses = [
        TxStatus::Pending,
        TxStatus::Succeeded,
        TxStatus::Failed,
        TxStatus::Dropped,
        TxStatus::Replaced,
        TxStatus::ReorgedOut,
    ];
    let in_schema = strings(&schema["$defs"]["TxStatus"]["enum"]);
    assert_eq!(in_schema, names(&statuses));
    for name in &in_schema {
        assert!(TxStatus::parse(name).is_some(), "{name}");
    }

    let kinds = [
        FailureKind::Reverted,
        FailureKind::Panic,
        FailureKind::CustomError,
        FailureKind::OutOfGas,
        FailureKind::InvalidOpcode,
        FailureKind::InsufficientFunds,
        FailureKind::BadNonce,
        FailureKind::ProgramError,
        FailureKind::MoveAbort,
        FailureKind::ExecutionError,
        FailureKind::Expired,
        FailureKind::Other,
    ];
    let in_schema = strings(&schema["$defs"]["FailureKind"]["anyOf"][0]["enum"]);
    assert_eq!(in_schema, names(&kinds));
    for name in &in_schema {
        // A known name must not fall into the `#[serde(other)]` catch-all.
        let kind: FailureKind = serde_json::from_value(Value::String(name.clone())).unwrap();
        assert_eq!(kind.as_str(), name);
    }

    let mut kinds_in_stream: Vec<&str> = stream().iter().map(|e| e.event.kind()).collect();
    kinds_in_stream.sort_unstable();
    kinds_in_stream.dedup();
    let mut types = strings(&schema["$defs"]["ChainEvent"]["properties"]["type"]["enum"]);
    types.sort();
    assert_eq!(types, kinds_in_stream);
    // One oneOf branch per type, each pinning its `type`.
    let mut consts: Vec<String> = schema["$defs"]["ChainEvent"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let name = b["$ref"].as_str().unwrap().trim_start_matches("#/$defs/");
            let def = &schema["$defs"][name];
            assert_eq!(def["additionalProperties"], false, "{name}");
            def["properties"]["type"]["const"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    consts.sort();
    assert_eq!(consts, types);
}

#[test]
fn every_property_is_documented() {
    fn walk(v: &Value, path: &str, missing: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (name, prop) in props {
                        if prop.get("description").is_none() {
                            missing.push(format!("{path}/properties/{name}"));
                        }
                    }
                }
                for (k, child) in map {
                    walk(child, &format!("{path}/{k}"), missing);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}/{i}"), missing);
                }
            }
            _ => {}
        }
    }
    let schema = schema();
    let mut missing = Vec::new();
    walk(&schema, "#", &mut missing);
    for (name, def) in schema["$defs"].as_object().unwrap() {
        if def.get("description").is_none() {
            missing.push(format!("#/$defs/{name}"));
        }
    }
    assert!(missing.is_empty(), "no description: {missing:#?}");
}

/// The schema's chain id pattern, as Python's jsonschema applies it, accepts exactly the ids
/// `ChainId::new` accepts.
#[test]
fn chain_id_pattern_agrees_with_chain_id_new() {
    let long_ok = format!("evm:{}", "a".repeat(64));
    let too_long = format!("evm:{}", "a".repeat(65));
    let candidates = [
        "evm:1",
        "evm:137",
        "solana:mainnet-beta",
        "sui:mainnet",
        "a1:_",
        "evm1:x_Y-z",
        long_ok.as_str(),
        too_long.as_str(),
        "evm",
        ":1",
        "EVM:1",
        "e-vm:1",
        "evm:",
        "evm:1 2",
        "evm:1:2",
        "evm:1\n",
        "\nevm:1",
        "evm:é",
        "évm:1",
        "",
    ];
    let rust: Vec<bool> = candidates
        .iter()
        .map(|c| ChainId::new(*c).is_ok())
        .collect();
    assert!(rust.iter().any(|ok| *ok) && rust.iter().any(|ok| !*ok));

    let script = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1], encoding="utf-8"))
validator = Draft202012Validator(schema["$defs"]["ChainId"])
print(json.dumps([validator.is_valid(c) for c in json.load(sys.stdin)]))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(manifest_path("envelope.schema.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(&candidates).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    let disagree: Vec<_> = candidates
        .iter()
        .zip(rust.iter().zip(&python))
        .filter(|(_, (r, p))| r != p)
        .map(|(c, (r, p))| format!("{c:?}: ChainId::new ok={r}, schema ok={p}"))
        .collect();
    assert!(disagree.is_empty(), "{disagree:#?}");
}
