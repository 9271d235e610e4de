//! Why a transaction failed, from a `callTracer` trace or from a replay's output. Pure: the
//! adapter fetches (`reasons.rs`), this turns what it got into a [`Failure`].

use alloy_primitives::{Address, Bytes, U256};
use chainwatch_schema::{Failure, FailureKind};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    abi::ErrorRegistry,
    revert::{self, Reason, hex_bytes},
    rpc::hex,
};

/// What the receipt says about a failed transaction; kept in `Failure.raw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReceiptFacts {
    /// The transaction's gas limit.
    pub(crate) gas: Option<U256>,
    /// Gas used, from the receipt.
    pub(crate) gas_used: U256,
    /// The receipt predates Byzantium: it has no `status`, and the failure is known from a
    /// trace only (`raw.status` is then `null`).
    pub(crate) pre_byzantium: bool,
}

impl ReceiptFacts {
    /// Whether all gas was used: the top frame halted exceptionally (out of gas, invalid opcode
    /// or jump, …), since a revert returns the gas left.
    pub(crate) fn all_gas_used(&self) -> bool {
        self.gas == Some(self.gas_used)
    }

    /// `{"status":"0x0","gasUsed":…,"gas":…}` plus `extra`.
    fn raw(&self, extra: Map<String, Value>) -> String {
        let mut m = Map::new();
        let status = if self.pre_byzantium {
            Value::Null
        } else {
            json!("0x0")
        };
        m.insert("status".into(), status);
        m.insert("gasUsed".into(), json!(hex(self.gas_used)));
        if let Some(g) = self.gas {
            m.insert("gas".into(), json!(hex(g)));
        }
        m.extend(extra);
        Value::Object(m).to_string()
    }
}

/// One frame of a `callTracer` result; only the fields used here.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CallFrame {
    /// `CALL`, `DELEGATECALL`, `CREATE`, …
    #[serde(default, rename = "type")]
    pub(crate) call_type: Option<String>,
    /// The caller (for the top frame, the transaction's sender).
    #[serde(default)]
    pub(crate) from: Option<Address>,
    /// The called (or created) address.
    #[serde(default)]
    pub(crate) to: Option<Address>,
    /// Return or revert data.
    #[serde(default)]
    pub(crate) output: Option<Bytes>,
    /// Why the frame failed; absent when it succeeded.
    #[serde(default)]
    pub(crate) error: Option<String>,
    /// Sub-calls, in execution order.
    #[serde(default)]
    pub(crate) calls: Vec<Self>,
}

impl CallFrame {
    fn output(&self) -> &[u8] {
        self.output.as_ref().map_or(&[][..], |b| &b[..])
    }

    /// The frame the failure comes from: starting at this (failed) frame, step into the last
    /// failed sub-call as long as this frame reverted with exactly that sub-call's output, i.e.
    /// passed its failure on (Solidity bubbles a failed call's revert data up unchanged; a
    /// sub-call that ran out of gas leaves empty data, which a bare bubbling revert passes on),
    /// or with that output wrapped as the text of an `Error(string)` (as some routers and bots
    /// re-raise what they caught).
    fn origin(&self) -> &Self {
        let mut cur = self;
        while let Some(child) = cur.calls.iter().rev().find(|c| c.error.is_some()) {
            let passed_on = cur.error.as_deref().is_some_and(is_revert)
                && (child.output() == cur.output()
                    || (!child.output().is_empty()
                        && revert::error_string_bytes(cur.output()).as_deref()
                            == Some(child.output())));
            if !passed_on {
                break;
            }
            cur = child;
        }
        cur
    }
}

fn is_revert(error: &str) -> bool {
    error.to_ascii_lowercase().contains("revert")
}

/// Classifies a trace error string (geth, erigon, reth and anvil wordings, and the Parity /
/// OpenEthereum words of `trace_replayTransaction`: "Reverted", "Out of gas", "Bad
/// instruction", "Bad jump destination").
fn classify_error(error: &str, output: &[u8], errors: &ErrorRegistry) -> Reason {
    let lower = error.to_ascii_lowercase();
    let reason = |kind, message: String| Reason {
        kind,
        code: None,
        message,
    };
    if lower.contains("revert") {
        revert::decode(output, errors)
    } else if lower.contains("out of gas") || lower.contains("outofgas") {
        reason(FailureKind::OutOfGas, "ran out of gas".into())
    } else if lower.contains("invalid opcode")
        || lower.contains("invalidfeopcode")
        || lower.contains("opcodenotfound")
        || lower.contains("invalid jump")
        || lower.contains("invalidjump")
        || lower.contains("bad instruction")
        || lower.contains("bad jump")
    {
        reason(FailureKind::InvalidOpcode, error.to_owned())
    } else if lower.contains("insufficient balance") || lower.contains("outoffunds") {
        reason(FailureKind::InsufficientFunds, error.to_owned())
    } else {
        reason(FailureKind::Other, format!("execution failed: {error}"))
    }
}

/// The failure a `callTracer` trace of the transaction shows, or `None` when the trace shows
/// no failure (it then disagrees with the receipt and is not trusted).
pub(crate) fn from_trace(
    top: &CallFrame,
    facts: ReceiptFacts,
    errors: &ErrorRegistry,
) -> Option<Failure> {
    top.error.as_ref()?;
    let frame = top.origin();
    let error = frame.error.as_deref().unwrap_or_default();
    let r = classify_error(error, frame.output(), errors);
    let mut extra = Map::new();
    extra.insert("source".into(), json!("trace"));
    extra.insert("error".into(), json!(error));
    if frame.output.is_some() {
        extra.insert("revertData".into(), json!(hex_bytes(frame.output())));
    }
    if let Some(t) = &frame.call_type {
        extra.insert("callType".into(), json!(t));
    }
    Some(Failure {
        kind: r.kind,
        code: r.code,
        message: r.message,
        location: frame.to.map(hex),
        raw: facts.raw(extra),
    })
}

/// Runtime code for an `eth_call` replay, installed at the sender with a state override.
///
/// Calling it with the transaction's data and value makes it `CALL` `to` with exactly
/// `inner_gas` (or `CREATE` with the data as init code when `to` is `None`), so that the callee
/// sees the same `msg.sender`, `tx.origin`, value and data as the transaction did. It returns
/// normally, so the revert data arrives as an ordinary `eth_call` result rather than as a
/// JSON-RPC error: `success ‖ gas after ‖ gas before ‖ return data` (three 32-byte words, then
/// the callee's return or revert data).
pub(crate) fn replay_code(to: Option<Address>, inner_gas: u64) -> Vec<u8> {
    // CALLDATACOPY(0, 0, CALLDATASIZE); GAS
    let mut code = vec![0x36, 0x60, 0x00, 0x60, 0x00, 0x37, 0x5a];
    match to {
        Some(to) => {
            // CALL(inner_gas, to, CALLVALUE, 0, CALLDATASIZE, 0, 0)
            code.extend([0x60, 0x00, 0x60, 0x00, 0x36, 0x60, 0x00, 0x34, 0x73]);
            code.extend_from_slice(to.as_slice());
            code.push(0x67);
            code.extend(inner_gas.to_be_bytes());
            code.push(0xf1);
        }
        // CREATE(CALLVALUE, 0, CALLDATASIZE), then the address as a bool.
        None => code.extend([0x36, 0x60, 0x00, 0x34, 0xf0, 0x15, 0x15]),
    }
    code.extend([
        0x5a, 0x60, 0x20, 0x52, // MSTORE(0x20, GAS)
        0x60, 0x00, 0x52, // MSTORE(0, success)
        0x60, 0x40, 0x52, // MSTORE(0x40, gas before)
        0x3d, 0x60, 0x00, 0x60, 0x60, 0x3e, // RETURNDATACOPY(0x60, 0, RETURNDATASIZE)
        0x3d, 0x60, 0x60, 0x01, 0x60, 0x00, 0xf3, // RETURN(0, 0x60 + RETURNDATASIZE)
    ]);
    code
}

/// The gas a transaction's first frame starts with: the limit minus the intrinsic cost of its
/// data (21,000 plus 4 per zero byte and 16 per other byte; access lists are not counted).
pub(crate) fn execution_gas(gas_limit: u64, input: &[u8]) -> u64 {
    gas_limit.saturating_sub(intrinsic_gas(input))
}

/// 21,000 plus 4 gas per zero byte and 16 per other byte of `input`.
pub(crate) fn intrinsic_gas(input: &[u8]) -> u64 {
    21_000
        + input
            .iter()
            .map(|b| if *b == 0 { 4 } else { 16 })
            .sum::<u64>()
}

/// One replay's output, as [`replay_code`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replay {
    /// Whether the callee succeeded (the replay did not reproduce the failure).
    pub(crate) success: bool,
    /// Gas the call consumed, the callee's share plus a fixed overhead.
    pub(crate) consumed: u64,
    /// The callee's revert (or return) data.
    pub(crate) data: Vec<u8>,
}

impl Replay {
    /// Parses the replay output; `None` if it does not have the expected shape.
    pub(crate) fn parse(out: &[u8]) -> Option<Self> {
        let word = |i: usize| out.get(32 * i..32 * (i + 1)).map(U256::from_be_slice);
        let success = match u64::try_from(word(0)?).ok()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let after = u64::try_from(word(1)?).ok()?;
        let before = u64::try_from(word(2)?).ok()?;
        Some(Self {
            success,
            consumed: before.checked_sub(after)?,
            data: out.get(96..)?.to_vec(),
        })
    }
}

/// The failure replays show. `first` ran with the transaction's own execution gas `gas`; when
/// it failed without data and the receipt says all gas was used (an exceptional halt), `more`
/// is a second replay with `more_gas` > `gas`: if that one also consumed all its gas the
/// callee hit an invalid opcode or jump (or loops without end), otherwise it ran out of gas.
/// `None` when the replays do not reproduce the failure or cannot tell.
pub(crate) fn from_replay(
    first: &Replay,
    more: Option<(&Replay, u64, u64)>,
    location: Option<Address>,
    facts: ReceiptFacts,
    errors: &ErrorRegistry,
) -> Option<Failure> {
    if first.success {
        return None;
    }
    let mut extra = Map::new();
    extra.insert("source".into(), json!("replay"));
    extra.insert("revertData".into(), json!(hex_bytes(&first.data)));
    let r = if !first.data.is_empty() || !facts.all_gas_used() {
        revert::decode(&first.data, errors)
    } else {
        let (second, gas, more_gas) = more?;
        let extra_gas = more_gas.checked_sub(gas).filter(|g| *g > 0)?;
        let still_all = second.consumed.saturating_sub(first.consumed) >= extra_gas;
        extra.insert("replayGas".into(), json!([gas, more_gas]));
        if still_all && !second.success && second.data.is_empty() {
            Reason {
                kind: FailureKind::InvalidOpcode,
                code: None,
                message: format!(
                    "invalid opcode or invalid jump: all gas was consumed, also when replayed \
                     with {more_gas} instead of {gas} gas (without a trace this cannot be told \
                     from an endless loop)"
                ),
            }
        } else {
            Reason {
                kind: FailureKind::OutOfGas,
                code: None,
                message: "ran out of gas".into(),
            }
        }
    };
    Some(Failure {
        kind: r.kind,
        code: r.code,
        message: r.message,
        location: location.map(hex),
        raw: facts.raw(extra),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(gas: u64, used: u64) -> ReceiptFacts {
        ReceiptFacts {
            gas: Some(U256::from(gas)),
            gas_used: U256::from(used),
            pre_byzantium: false,
        }
    }

    fn frame(json: &str) -> CallFrame {
        serde_json::from_str(json).unwrap()
    }

    // Traces recorded from anvil 1.7.1 (`debug_traceTransaction(h, {"tracer":"callTracer"})`).
    const CUSTOM: &str = r#"{"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","gas":"0x13498","gasUsed":"0x5226","to":"0x5fbdb2315678afecb367f032d93f642f64180aa3","input":"0x","output":"0xcafebabe0000000000000000000000000000000000000000000000000000000000000001","error":"execution reverted","value":"0x0","type":"CALL"}"#;
    const OUT_OF_GAS: &str = r#"{"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","gas":"0x13498","gasUsed":"0x186a0","to":"0xe7f1725e7734ce288f8367e1bb143e90bb3f0512","input":"0x","error":"out of gas","value":"0x0","type":"CALL"}"#;
    const INVALID: &str = r#"{"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","gas":"0x13498","gasUsed":"0x186a0","to":"0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0","input":"0x","error":"invalid opcode: INVALID","value":"0x0","type":"CALL"}"#;
    const BAD_JUMP: &str = r#"{"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","gas":"0x13498","gasUsed":"0x186a0","to":"0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9","input":"0x","error":"invalid jump destination","value":"0x0","type":"CALL"}"#;
    const BARE: &str = r#"{"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","gas":"0x13498","gasUsed":"0x520e","to":"0xdc64a140aa3e981100a9beca4e685f962f0cf6c9","input":"0x","error":"execution reverted","value":"0x0","type":"CALL"}"#;
    const NESTED: &str = r#"{"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","gas":"0x13498","gasUsed":"0x5c8b","to":"0x5fc8d32690cc91d4c39d9d3abcbd16989f875707","input":"0x","output":"0xcafebabe0000000000000000000000000000000000000000000000000000000000000001","error":"execution reverted","calls":[{"from":"0x5fc8d32690cc91d4c39d9d3abcbd16989f875707","gas":"0x125b3","gasUsed":"0x1e","to":"0x5fbdb2315678afecb367f032d93f642f64180aa3","input":"0x","output":"0xcafebabe0000000000000000000000000000000000000000000000000000000000000001","error":"execution reverted","value":"0x0","type":"CALL"}],"value":"0x0","type":"CALL"}"#;

    fn explain(json: &str, f: ReceiptFacts) -> Failure {
        from_trace(&frame(json), f, &ErrorRegistry::built_in()).unwrap()
    }

    #[test]
    fn trace_kinds_and_locations() {
        let f = explain(CUSTOM, facts(100_000, 0x5226));
        assert_eq!(f.kind, FailureKind::CustomError);
        assert_eq!(f.code.as_deref(), Some("0xcafebabe"));
        assert_eq!(
            f.location.as_deref(),
            Some("0x5fbdb2315678afecb367f032d93f642f64180aa3")
        );
        let raw: Value = serde_json::from_str(&f.raw).unwrap();
        assert_eq!(
            raw,
            json!({"status": "0x0", "gasUsed": "0x5226", "gas": "0x186a0", "source": "trace",
                   "error": "execution reverted", "callType": "CALL",
                   "revertData": format!("0xcafebabe{:064x}", 1)})
        );

        let f = explain(OUT_OF_GAS, facts(100_000, 100_000));
        assert_eq!(
            (f.kind, f.message.as_str()),
            (FailureKind::OutOfGas, "ran out of gas")
        );
        let f = explain(INVALID, facts(100_000, 100_000));
        assert_eq!(
            (f.kind, f.message.as_str()),
            (FailureKind::InvalidOpcode, "invalid opcode: INVALID")
        );
        let f = explain(BAD_JUMP, facts(100_000, 100_000));
        assert_eq!(
            (f.kind, f.message.as_str()),
            (FailureKind::InvalidOpcode, "invalid jump destination")
        );
        let f = explain(BARE, facts(100_000, 0x520e));
        assert_eq!(
            (f.kind, f.message.as_str()),
            (FailureKind::Reverted, "reverted without a reason")
        );
        assert!(!f.raw.contains("revertData"), "{}", f.raw);
    }

    #[test]
    fn nested_failure_is_located_in_the_inner_frame() {
        let f = explain(NESTED, facts(100_000, 0x5c8b));
        assert_eq!(f.kind, FailureKind::CustomError);
        assert_eq!(
            f.location.as_deref(),
            Some("0x5fbdb2315678afecb367f032d93f642f64180aa3")
        );
        // An outer frame that reverts with its own data after a failed sub-call is the origin.
        let own = NESTED.replacen(
            r#""output":"0xcafebabe0000000000000000000000000000000000000000000000000000000000000001""#,
            r#""output":"0x""#,
            1,
        );
        let f = explain(&own, facts(100_000, 0x5c8b));
        assert_eq!(f.message, "reverted without a reason");
        assert_eq!(
            f.location.as_deref(),
            Some("0x5fc8d32690cc91d4c39d9d3abcbd16989f875707")
        );
        // A sub-call that ran out of gas, passed on as an empty revert.
        let oog = r#"{"type":"CALL","to":"0x00000000000000000000000000000000000000a1","error":"execution reverted","calls":[
            {"type":"CALL","to":"0x00000000000000000000000000000000000000b2","error":"out of gas"},
            {"type":"STATICCALL","to":"0x00000000000000000000000000000000000000c3","output":"0x"}]}"#;
        let f = explain(oog, facts(100_000, 90_000));
        assert_eq!(f.kind, FailureKind::OutOfGas);
        assert_eq!(
            f.location.as_deref(),
            Some("0x00000000000000000000000000000000000000b2")
        );
    }

    #[test]
    fn revert_data_wrapped_by_the_caller_is_located_in_the_callee() {
        // Mainnet transaction 0xfee1cee2… (block 16,899,757), trimmed: the DELEGATECALL
        // reverted with Error("T"), and its caller re-raised those bytes as the text of its
        // own Error(string).
        let inner = concat!(
            "0x08c379a0",
            "0000000000000000000000000000000000000000000000000000000000000020",
            "0000000000000000000000000000000000000000000000000000000000000001",
            "5400000000000000000000000000000000000000000000000000000000000000"
        );
        let outer = concat!(
            "0x08c379a0",
            "0000000000000000000000000000000000000000000000000000000000000020",
            "0000000000000000000000000000000000000000000000000000000000000064",
            "08c379a000000000000000000000000000000000000000000000000000000000",
            "0000002000000000000000000000000000000000000000000000000000000000",
            "0000000154000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000000"
        );
        let json = |outer: &str| {
            format!(
                r#"{{"type":"CALL","to":"0x000000000dfde7deaf24138722987c9a6991e2d4","error":"execution reverted","output":"{outer}","calls":[
                    {{"type":"DELEGATECALL","to":"0x820fbab984bed73ece56592f8fee5e1d1ceed5c0","error":"execution reverted","output":"{inner}"}}]}}"#
            )
        };
        let f = explain(&json(outer), facts(1_000_000, 38_285));
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Reverted, "T"));
        assert_eq!(
            f.location.as_deref(),
            Some("0x820fbab984bed73ece56592f8fee5e1d1ceed5c0")
        );
        let raw: Value = serde_json::from_str(&f.raw).unwrap();
        assert_eq!(raw["callType"], "DELEGATECALL");
        assert_eq!(raw["revertData"], inner);
        // Other data than the wrapped output ("U" instead of "T"): the caller is the origin.
        let own = outer.replace("0000000154", "0000000155");
        assert_ne!(own, outer);
        let f = explain(&json(&own), facts(1_000_000, 38_285));
        assert_eq!(f.message, "U");
        assert_eq!(
            f.location.as_deref(),
            Some("0x000000000dfde7deaf24138722987c9a6991e2d4")
        );
    }

    #[test]
    fn trace_without_error_or_with_other_errors() {
        let ok =
            r#"{"type":"CALL","to":"0x00000000000000000000000000000000000000a1","output":"0x"}"#;
        assert!(from_trace(&frame(ok), facts(1, 1), &ErrorRegistry::built_in()).is_none());
        let other = r#"{"type":"CALL","error":"stack underflow (0 <=> 2)"}"#;
        let f = explain(other, facts(1, 1));
        assert_eq!(
            (f.kind, f.message.as_str(), f.location),
            (
                FailureKind::Other,
                "execution failed: stack underflow (0 <=> 2)",
                None
            )
        );
        // Parity / OpenEthereum wordings (trace_replayTransaction).
        for (error, kind) in [
            ("Reverted", FailureKind::Reverted),
            ("Out of gas", FailureKind::OutOfGas),
            ("Bad instruction", FailureKind::InvalidOpcode),
            ("Bad jump destination", FailureKind::InvalidOpcode),
        ] {
            let json = format!(r#"{{"type":"CALL","error":"{error}"}}"#);
            assert_eq!(explain(&json, facts(1, 1)).kind, kind, "{error}");
        }
        let funds = r#"{"type":"CALL","error":"insufficient balance for transfer"}"#;
        assert_eq!(
            explain(funds, facts(1, 1)).kind,
            FailureKind::InsufficientFunds
        );
        // Malformed output hex fails to decode as a frame (the adapter then replays).
        assert!(serde_json::from_str::<CallFrame>(r#"{"output":"0xzz"}"#).is_err());
    }

    fn replay(success: bool, consumed: u64, data: &[u8]) -> Replay {
        Replay {
            success,
            consumed,
            data: data.to_vec(),
        }
    }

    #[test]
    fn replay_output_parses() {
        let mut out = vec![0u8; 96];
        out[63] = 10; // after
        out[95] = 50; // before
        out.extend([0xca, 0xfe]);
        assert_eq!(Replay::parse(&out), Some(replay(false, 40, &[0xca, 0xfe])));
        out[31] = 1;
        assert!(Replay::parse(&out).unwrap().success);
        out[31] = 2;
        assert_eq!(Replay::parse(&out), None);
        assert_eq!(Replay::parse(&out[..95]), None);
        // Gas after above gas before.
        let mut out = vec![0u8; 96];
        out[63] = 60;
        out[95] = 50;
        assert_eq!(Replay::parse(&out), None);
    }

    #[test]
    fn replay_classification() {
        let reg = ErrorRegistry::built_in();
        let to = Some(Address::repeat_byte(0xaa));
        let mut panic = vec![0x4e, 0x48, 0x7b, 0x71];
        panic.extend(U256::from(0x12).to_be_bytes::<32>());
        let f = from_replay(
            &replay(false, 900, &panic),
            None,
            to,
            facts(100_000, 30_000),
            &reg,
        )
        .unwrap();
        assert_eq!(
            (f.kind, f.code.as_deref()),
            (FailureKind::Panic, Some("0x12"))
        );
        assert_eq!(
            f.location.as_deref(),
            Some(&*format!("0x{}", "aa".repeat(20)))
        );
        let raw: Value = serde_json::from_str(&f.raw).unwrap();
        assert_eq!(raw["source"], "replay");
        assert_eq!(raw["revertData"], hex_bytes(&panic));

        // Not reproduced.
        assert!(from_replay(&replay(true, 1, &[]), None, to, facts(1, 1), &reg).is_none());
        // Empty data, gas left: a bare revert.
        let f = from_replay(
            &replay(false, 500, &[]),
            None,
            to,
            facts(100_000, 30_000),
            &reg,
        )
        .unwrap();
        assert_eq!(f.message, "reverted without a reason");
        // Empty data, all gas used: needs the second replay.
        let first = replay(false, 80_000, &[]);
        assert!(from_replay(&first, None, to, facts(100_000, 100_000), &reg).is_none());
        let oog = replay(true, 200_000, &[]);
        let f = from_replay(
            &first,
            Some((&oog, 78_000, 624_000)),
            to,
            facts(100_000, 100_000),
            &reg,
        )
        .unwrap();
        assert_eq!(f.kind, FailureKind::OutOfGas);
        let invalid = replay(false, 80_000 + 546_000, &[]);
        let f = from_replay(
            &first,
            Some((&invalid, 78_000, 624_000)),
            to,
            facts(100_000, 100_000),
            &reg,
        )
        .unwrap();
        assert_eq!(f.kind, FailureKind::InvalidOpcode);
        assert!(
            f.message.starts_with("invalid opcode or invalid jump"),
            "{}",
            f.message
        );
        // A second replay with no more gas cannot tell.
        assert!(
            from_replay(
                &first,
                Some((&invalid, 78_000, 78_000)),
                to,
                facts(100_000, 100_000),
                &reg
            )
            .is_none()
        );
    }

    #[test]
    fn execution_gas_subtracts_intrinsic_cost() {
        assert_eq!(execution_gas(100_000, &[]), 79_000);
        assert_eq!(execution_gas(100_000, &[0, 1, 2]), 79_000 - 36);
        assert_eq!(execution_gas(20_000, &[1]), 0);
    }
}
