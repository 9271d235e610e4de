//! Execution failures: the JSON-RPC error text parsed into the gRPC `ExecutionError`, and any
//! `ExecutionError` classified into the normalized [`Failure`].

use chainwatch_schema::{Failure, FailureKind};
use sui_rpc::proto::sui::rpc::v2::{
    ExecutionError, MoveAbort, MoveLocation,
    execution_error::{ErrorDetails, ExecutionErrorKind},
};

/// Facts about a Move abort that the normalized [`Failure`] only holds as text; the adapter puts
/// them in the transaction's `extra.abort`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AbortFacts {
    pub(crate) package: Option<String>,
    pub(crate) module: Option<String>,
    pub(crate) function: Option<String>,
    pub(crate) function_index: Option<u32>,
    pub(crate) instruction: Option<u32>,
    pub(crate) abort_code: Option<u64>,
}

/// `CamelCase` (a Rust variant name, as JSON-RPC prints it) to `SCREAMING_SNAKE_CASE` (the
/// protobuf enum name); a run of capitals is one word (`VMInvariantViolation` →
/// `VM_INVARIANT_VIOLATION`).
fn screaming(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The kind for a JSON-RPC variant name. Two variants were renamed in the protobuf API
/// ("shared" objects became "consensus" objects, "Cancelled" became "CANCELED").
fn kind_of_variant(variant: &str) -> ExecutionErrorKind {
    let name = screaming(variant)
        .replace("CANCELLED", "CANCELED")
        .replace("SHARED_OBJECT", "CONSENSUS_OBJECT");
    ExecutionErrorKind::from_str_name(&name).unwrap_or(ExecutionErrorKind::Unknown)
}

/// The text between `key` and the next `delim` in `s`.
fn field<'a>(s: &'a str, key: &str, delim: &[char]) -> Option<&'a str> {
    let start = s.find(key)? + key.len();
    let rest = &s[start..];
    let end = rest.find(delim).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// `0x`-prefixed lowercase hex, as Sui writes addresses; JSON-RPC error text prints a module's
/// address as bare hex.
fn hex_address(a: &str) -> String {
    let a = a.trim_start_matches("0x").to_ascii_lowercase();
    format!("0x{a}")
}

/// Parses the `MoveLocation { … }` of a JSON-RPC `MoveAbort(…)` error text.
fn move_location(text: &str) -> Option<MoveLocation> {
    let loc_text = &text[text.find("MoveLocation {")?..];
    let mut loc = MoveLocation::default();
    loc.package = field(loc_text, "address: ", &[',', ' ']).map(hex_address);
    loc.module = field(loc_text, "name: Identifier(\"", &['"']).map(str::to_owned);
    loc.function = field(loc_text, "function: ", &[',', ' ', '}']).and_then(|f| f.parse().ok());
    loc.instruction =
        field(loc_text, "instruction: ", &[',', ' ', '}']).and_then(|f| f.parse().ok());
    loc.function_name = field(loc_text, "function_name: Some(\"", &['"']).map(str::to_owned);
    Some(loc)
}

/// Parses a JSON-RPC `effects.status.error` text, which is the Debug form of Sui's
/// `ExecutionFailureStatus` followed by ` in command <i>` when a command failed, e.g.
/// `MoveAbort(MoveLocation { module: ModuleId { address: <hex>, name: Identifier("pool") },
/// function: 12, instruction: 34, function_name: Some("swap") }, 1) in command 2` or
/// `InsufficientGas`. The whole text is kept as the `description`.
pub(crate) fn parse_jsonrpc_error(text: &str) -> ExecutionError {
    let mut err = ExecutionError::default();
    err.description = Some(text.to_owned());
    let (body, command) = match text.rsplit_once(" in command ") {
        Some((body, n)) if n.trim().parse::<u64>().is_ok() => (body, n.trim().parse().ok()),
        _ => (text, None),
    };
    err.command = command;
    let variant: String = body
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let kind = kind_of_variant(&variant);
    err.kind = Some(kind as i32);
    if kind == ExecutionErrorKind::MoveAbort {
        let mut abort = MoveAbort::default();
        abort.location = move_location(body);
        // `…function_name: Some("swap") }, 1)`: the code follows the location's closing brace.
        abort.abort_code = body
            .rsplit_once("}, ")
            .and_then(|(_, code)| code.trim_end_matches(')').trim().parse().ok());
        err.error_details = Some(ErrorDetails::Abort(abort));
    }
    err
}

/// The variant name a failure is reported under: the protobuf enum name of its kind, or, for a
/// kind this build does not know, the leading identifier of the chain's text.
fn code_of(err: &ExecutionError) -> String {
    match err
        .kind
        .and_then(|k| ExecutionErrorKind::try_from(k).ok())
        .filter(|k| *k != ExecutionErrorKind::Unknown)
    {
        Some(k) => k.as_str_name().to_owned(),
        None => {
            let text = err.description.as_deref().unwrap_or_default();
            let variant: String = text
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if variant.is_empty() {
                ExecutionErrorKind::Unknown.as_str_name().to_owned()
            } else {
                screaming(&variant)
            }
        }
    }
}

/// The normalized failure of an execution error, and the abort's facts for a Move abort.
///
/// - Move abort → `MOVE_ABORT`, code = the abort code (decimal), message naming
///   `package::module::function`, the instruction and the command.
/// - `INSUFFICIENT_COIN_BALANCE` → `INSUFFICIENT_FUNDS`; `INSUFFICIENT_GAS` → `OUT_OF_GAS`.
/// - Any other kind → `EXECUTION_ERROR` with the variant name as code.
///
/// `location` is `command <i>` when the chain names the failing command; `raw` is the chain's
/// text (`description`) untouched.
pub(crate) fn classify(err: &ExecutionError) -> (Failure, Option<AbortFacts>) {
    let raw = err.description.clone().unwrap_or_default();
    let location = err.command.map(|c| format!("command {c}"));
    let in_command = err
        .command
        .map(|c| format!(" in command {c}"))
        .unwrap_or_default();
    let code = code_of(err);
    if let Some(ErrorDetails::Abort(abort)) = &err.error_details {
        let loc = abort.location.clone().unwrap_or_default();
        let facts = AbortFacts {
            package: loc.package.clone(),
            module: loc.module.clone(),
            function: loc.function_name.clone(),
            function_index: loc.function,
            instruction: loc.instruction,
            abort_code: abort.abort_code,
        };
        let function = match (&loc.function_name, loc.function) {
            (Some(name), _) => name.clone(),
            (None, Some(i)) => format!("<function #{i}>"),
            (None, None) => "<unknown function>".into(),
        };
        let place = format!(
            "{}::{}::{function}",
            loc.package.as_deref().unwrap_or("<unknown package>"),
            loc.module.as_deref().unwrap_or("<unknown module>"),
        );
        let at = loc
            .instruction
            .map(|i| format!(" at instruction {i}"))
            .unwrap_or_default();
        let message = match abort.abort_code {
            Some(c) => format!("Move abort with code {c} in {place}{at}{in_command}"),
            None => format!("Move abort in {place}{at}{in_command}"),
        };
        let failure = Failure {
            kind: FailureKind::MoveAbort,
            code: abort.abort_code.map(|c| c.to_string()),
            message,
            location,
            raw,
        };
        return (failure, Some(facts));
    }
    let kind = match err.kind.and_then(|k| ExecutionErrorKind::try_from(k).ok()) {
        Some(ExecutionErrorKind::InsufficientCoinBalance) => FailureKind::InsufficientFunds,
        Some(ExecutionErrorKind::InsufficientGas) => FailureKind::OutOfGas,
        Some(ExecutionErrorKind::MoveAbort) => FailureKind::MoveAbort,
        _ => FailureKind::ExecutionError,
    };
    let message = match kind {
        FailureKind::InsufficientFunds => format!("insufficient coin balance{in_command}"),
        FailureKind::OutOfGas => "ran out of gas (the gas budget was too small)".to_owned(),
        FailureKind::MoveAbort => format!("Move abort{in_command}"),
        _ => format!("execution failed with {code}{in_command}"),
    };
    let failure = Failure {
        kind,
        code: Some(code),
        message,
        location,
        raw,
    };
    (failure, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Error texts in the form Sui's JSON-RPC prints (`{:?}` of `ExecutionFailureStatus` and
    // ` in command <i>`); no real failed Sui transaction is among the recorded fixtures.
    const ABORT: &str = "MoveAbort(MoveLocation { module: ModuleId { address: 91bfbc386a41afcfd9b2533058d7e915a1d3829089cc268ff4333d54d6339ca1, name: Identifier(\"pool\") }, function: 12, instruction: 34, function_name: Some(\"swap\") }, 1) in command 2";

    #[test]
    fn move_abort_has_package_module_function_code_and_command() {
        let err = parse_jsonrpc_error(ABORT);
        let (f, facts) = classify(&err);
        assert_eq!(f.kind, FailureKind::MoveAbort);
        assert_eq!(f.code.as_deref(), Some("1"));
        assert_eq!(f.location.as_deref(), Some("command 2"));
        assert_eq!(f.raw, ABORT);
        assert_eq!(
            f.message,
            "Move abort with code 1 in 0x91bfbc386a41afcfd9b2533058d7e915a1d3829089cc268ff4333d54d6339ca1::pool::swap at instruction 34 in command 2"
        );
        let facts = facts.unwrap();
        assert_eq!(facts.module.as_deref(), Some("pool"));
        assert_eq!(facts.function.as_deref(), Some("swap"));
        assert_eq!(facts.function_index, Some(12));
        assert_eq!(facts.instruction, Some(34));
        assert_eq!(facts.abort_code, Some(1));
    }

    #[test]
    fn move_abort_without_function_name() {
        let text = "MoveAbort(MoveLocation { module: ModuleId { address: 0000000000000000000000000000000000000000000000000000000000000002, name: Identifier(\"balance\") }, function: 10, instruction: 12, function_name: None }, 2) in command 0";
        let (f, facts) = classify(&parse_jsonrpc_error(text));
        assert_eq!(f.kind, FailureKind::MoveAbort);
        assert_eq!(f.code.as_deref(), Some("2"));
        assert_eq!(f.location.as_deref(), Some("command 0"));
        assert!(
            f.message.contains("::balance::<function #10>"),
            "{}",
            f.message
        );
        assert_eq!(facts.unwrap().function, None);
    }

    #[test]
    fn insufficient_gas_is_out_of_gas_without_command() {
        let (f, facts) = classify(&parse_jsonrpc_error("InsufficientGas"));
        assert_eq!(f.kind, FailureKind::OutOfGas);
        assert_eq!(f.code.as_deref(), Some("INSUFFICIENT_GAS"));
        assert_eq!(f.location, None);
        assert_eq!(f.raw, "InsufficientGas");
        assert!(facts.is_none());
    }

    #[test]
    fn insufficient_coin_balance_is_insufficient_funds() {
        let (f, _) = classify(&parse_jsonrpc_error("InsufficientCoinBalance in command 0"));
        assert_eq!(f.kind, FailureKind::InsufficientFunds);
        assert_eq!(f.code.as_deref(), Some("INSUFFICIENT_COIN_BALANCE"));
        assert_eq!(f.location.as_deref(), Some("command 0"));
    }

    #[test]
    fn other_variants_are_execution_errors_named_by_variant() {
        for (text, code, location) in [
            (
                "CommandArgumentError { arg_idx: 1, kind: TypeMismatch } in command 3",
                "COMMAND_ARGUMENT_ERROR",
                Some("command 3"),
            ),
            (
                "MovePrimitiveRuntimeError(MoveLocationOpt(None)) in command 1",
                "MOVE_PRIMITIVE_RUNTIME_ERROR",
                Some("command 1"),
            ),
            (
                "VMVerificationOrDeserializationError in command 0",
                "VM_VERIFICATION_OR_DESERIALIZATION_ERROR",
                Some("command 0"),
            ),
            (
                "ExecutionCancelledDueToSharedObjectCongestion { congested_objects: CongestedObjects([0x6]) }",
                "EXECUTION_CANCELED_DUE_TO_CONSENSUS_OBJECT_CONGESTION",
                None,
            ),
            // A variant newer than this build: still EXECUTION_ERROR, named by its own text.
            (
                "SomeFutureFailure in command 4",
                "SOME_FUTURE_FAILURE",
                Some("command 4"),
            ),
        ] {
            let (f, _) = classify(&parse_jsonrpc_error(text));
            assert_eq!(f.kind, FailureKind::ExecutionError, "{text}");
            assert_eq!(f.code.as_deref(), Some(code), "{text}");
            assert_eq!(f.location.as_deref(), location, "{text}");
            assert_eq!(f.raw, text);
        }
    }

    #[test]
    fn screaming_case_keeps_acronyms_together() {
        assert_eq!(screaming("VMInvariantViolation"), "VM_INVARIANT_VIOLATION");
        assert_eq!(screaming("InsufficientGas"), "INSUFFICIENT_GAS");
        assert_eq!(screaming("MoveAbort"), "MOVE_ABORT");
    }

    #[test]
    fn grpc_error_with_kind_only() {
        let mut err = ExecutionError::default();
        err.kind = Some(ExecutionErrorKind::InsufficientCoinBalance as i32);
        err.command = Some(1);
        err.description = Some("insufficient coin balance".into());
        let (f, _) = classify(&err);
        assert_eq!(f.kind, FailureKind::InsufficientFunds);
        assert_eq!(f.location.as_deref(), Some("command 1"));
        assert_eq!(f.raw, "insufficient coin balance");
    }
}
