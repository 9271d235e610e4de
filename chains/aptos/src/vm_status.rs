//! `vm_status` text → normalized [`Failure`].
//!
//! The REST API (`api/types/src/convert.rs` `explain_vm_status` in aptos-core) writes:
//! - `Executed successfully`
//! - `Out of gas`
//! - `Move abort in <address>::<module>: <NAME>(<code hex>): <description>` (description may be
//!   empty), or `Move abort in <address>::<module>: <code hex>` when the module has no error map
//! - `Move abort: code <code hex>` (a script aborted)
//! - `Execution failed in <address>::<module>::<function> at code offset <n>` (or `in script`)
//! - a status code name such as `CODE_DESERIALIZATION_ERROR` (miscellaneous errors); older nodes
//!   wrote `Transaction Executed and Committed with Error <NAME>`
//!
//! Validation (submission) errors read `Invalid transaction: Type: Validation Code: <NAME>`.

use chainwatch_schema::{Failure, FailureKind};

/// Gas facts a failure message can quote.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gas {
    pub(crate) used: Option<u64>,
    pub(crate) max: Option<u64>,
}

/// The parts of a Move abort, also reported in the transaction's `extra.abort`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct MoveAbort {
    /// `<address>::<module>`, `None` for a script (the failure's `location`, not repeated in
    /// `extra.abort`).
    #[serde(skip)]
    pub(crate) location: Option<String>,
    /// The error constant's name (`E_NO_PROFIT`), when the module's error map has it.
    pub(crate) name: Option<String>,
    /// The abort code.
    pub(crate) code: u64,
    /// `code >> 16`: the `std::error` category (0 when the module does not use categories).
    pub(crate) category: u64,
    /// `code & 0xffff`.
    pub(crate) reason: u64,
    /// The error's doc comment, when the module's error map has it (may be empty).
    pub(crate) description: Option<String>,
}

/// `std::error` category names (`aptos-stdlib`'s `error.move`).
fn category_name(category: u64) -> Option<&'static str> {
    Some(match category {
        0x1 => "INVALID_ARGUMENT",
        0x2 => "OUT_OF_RANGE",
        0x3 => "INVALID_STATE",
        0x4 => "UNAUTHENTICATED",
        0x5 => "PERMISSION_DENIED",
        0x6 => "NOT_FOUND",
        0x7 => "ABORTED",
        0x8 => "ALREADY_EXISTS",
        0x9 => "RESOURCE_EXHAUSTED",
        0xA => "CANCELLED",
        0xB => "INTERNAL",
        0xC => "NOT_IMPLEMENTED",
        0xD => "UNAVAILABLE",
        _ => return None,
    })
}

/// Parses `0x385` (or decimal) into a number.
fn parse_code(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses the part after `Move abort in ` (`<loc>: <NAME>(<code>): <desc>` or `<loc>: <code>`).
fn parse_module_abort(rest: &str) -> Option<MoveAbort> {
    let (location, tail) = rest.split_once(": ")?;
    if !location.contains("::") {
        return None;
    }
    let (name, code, description) = match tail.split_once('(') {
        Some((name, after)) if is_identifier(name) => {
            let (code, desc) = after.split_once(')')?;
            let desc = desc.strip_prefix(':').unwrap_or(desc);
            (
                Some(name.to_owned()),
                parse_code(code)?,
                Some(desc.trim().to_owned()),
            )
        }
        _ => (None, parse_code(tail)?, None),
    };
    Some(MoveAbort {
        location: Some(location.to_owned()),
        name,
        code,
        category: code >> 16,
        reason: code & 0xffff,
        description,
    })
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

/// A status code name: `SCREAMING_SNAKE_CASE`.
fn is_status_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The abort in a failed transaction's `vm_status`, if it is one.
pub(crate) fn move_abort(vm_status: &str) -> Option<MoveAbort> {
    if let Some(rest) = vm_status.strip_prefix("Move abort in ") {
        return parse_module_abort(rest);
    }
    let code = parse_code(vm_status.strip_prefix("Move abort: code ")?)?;
    Some(MoveAbort {
        location: None,
        name: None,
        code,
        category: code >> 16,
        reason: code & 0xffff,
        description: None,
    })
}

fn abort_message(a: &MoveAbort) -> String {
    let category = match category_name(a.category) {
        Some(n) => format!("category {n} ({:#x})", a.category),
        None => format!("category {}", a.category),
    };
    let numbers = format!("abort code {:#x}: {category}, reason {}", a.code, a.reason);
    let place = a.location.as_deref().unwrap_or("a script");
    match (&a.name, a.description.as_deref().filter(|d| !d.is_empty())) {
        (Some(name), Some(desc)) => format!("{name}: {desc} ({numbers}) in {place}"),
        (Some(name), None) => format!("{name} ({numbers}) in {place}"),
        (None, _) => format!("aborted with {numbers} in {place}"),
    }
}

/// The normalized failure of a committed transaction whose `success` is false.
pub(crate) fn failure(vm_status: &str, gas: Gas) -> Failure {
    let raw = serde_json::json!({ "vm_status": vm_status }).to_string();
    let make = |kind, code: Option<String>, message: String, location: Option<String>| Failure {
        kind,
        code,
        message,
        location,
        raw: raw.clone(),
    };
    if let Some(a) = move_abort(vm_status) {
        return make(
            FailureKind::MoveAbort,
            Some(format!("{:#x}", a.code)),
            abort_message(&a),
            a.location.clone(),
        );
    }
    if vm_status == "Out of gas" || vm_status.contains("OUT_OF_GAS") {
        let message = match (gas.used, gas.max) {
            (Some(u), Some(m)) => format!("ran out of gas after using {u} of {m} gas units"),
            _ => "ran out of gas".to_owned(),
        };
        return make(
            FailureKind::OutOfGas,
            Some("OUT_OF_GAS".into()),
            message,
            None,
        );
    }
    if let Some(rest) = vm_status.strip_prefix("Execution failed in ") {
        // `<addr>::<module>::<function> at code offset <n>` or `script at code offset <n>`.
        let (func, offset) = rest.rsplit_once(" at code offset ").unwrap_or((rest, "?"));
        let location = func
            .rsplit_once("::")
            .map(|(module, _)| module.to_owned())
            .filter(|m| m.contains("::"));
        return make(
            FailureKind::ExecutionError,
            Some("EXECUTION_FAILURE".into()),
            format!("execution failed in {func} at code offset {offset}"),
            location,
        );
    }
    let name = vm_status
        .strip_prefix("Transaction Executed and Committed with Error ")
        .unwrap_or(vm_status)
        .trim();
    if is_status_name(name) {
        return status_code_failure(name, raw.clone(), "execution failed");
    }
    make(
        FailureKind::Other,
        None,
        format!("failed: {vm_status}"),
        None,
    )
}

/// The failure for a VM status code name (`SEQUENCE_NUMBER_TOO_OLD`, `CODE_DESERIALIZATION_ERROR`
/// …): sequence number errors are `BadNonce`, balance errors `InsufficientFunds`, an expired
/// transaction `Expired`, out of gas `OutOfGas`, anything else `ExecutionError`. `what` starts
/// the message (`execution failed`, `rejected at validation`).
pub(crate) fn status_code_failure(name: &str, raw: String, what: &str) -> Failure {
    let kind = if name.contains("SEQUENCE_NUMBER") {
        FailureKind::BadNonce
    } else if name.contains("INSUFFICIENT_BALANCE") {
        FailureKind::InsufficientFunds
    } else if name == "TRANSACTION_EXPIRED" {
        FailureKind::Expired
    } else if name.contains("OUT_OF_GAS") {
        FailureKind::OutOfGas
    } else {
        FailureKind::ExecutionError
    };
    Failure {
        kind,
        code: Some(name.to_owned()),
        message: format!("{what}: {name}"),
        location: None,
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: &str = "0x31deb490728ae8e1a89675ee4c1877af8e5849c526d2c9a64238c49d8ece08a0";

    #[test]
    fn module_abort_with_name_and_empty_description() {
        let s = format!("Move abort in {ADDR}::fa: E_NO_PROFIT(0x385): ");
        let f = failure(&s, Gas::default());
        assert_eq!(f.kind, FailureKind::MoveAbort);
        assert_eq!(f.code.as_deref(), Some("0x385"));
        assert_eq!(f.location.as_deref(), Some(format!("{ADDR}::fa").as_str()));
        assert_eq!(
            f.message,
            format!("E_NO_PROFIT (abort code 0x385: category 0, reason 901) in {ADDR}::fa")
        );
        assert_eq!(f.raw, serde_json::json!({ "vm_status": s }).to_string());
    }

    #[test]
    fn module_abort_with_category_and_description() {
        // The shape aptos-core writes for 0x1::coin's EINSUFFICIENT_BALANCE (category 1, reason 6).
        let s = "Move abort in 0x1::coin: EINSUFFICIENT_BALANCE(0x10006): Not enough coins to complete transaction";
        let a = move_abort(s).unwrap();
        assert_eq!((a.category, a.reason), (1, 6));
        let f = failure(s, Gas::default());
        assert_eq!(f.kind, FailureKind::MoveAbort);
        assert_eq!(f.code.as_deref(), Some("0x10006"));
        assert_eq!(f.location.as_deref(), Some("0x1::coin"));
        assert_eq!(
            f.message,
            "EINSUFFICIENT_BALANCE: Not enough coins to complete transaction (abort code 0x10006: \
             category INVALID_ARGUMENT (0x1), reason 6) in 0x1::coin"
        );
    }

    #[test]
    fn module_abort_without_error_map_and_script_abort() {
        let f = failure("Move abort in 0x1::aptos_account: 0x60001", Gas::default());
        assert_eq!(f.kind, FailureKind::MoveAbort);
        assert_eq!(f.code.as_deref(), Some("0x60001"));
        assert_eq!(f.location.as_deref(), Some("0x1::aptos_account"));
        assert_eq!(
            f.message,
            "aborted with abort code 0x60001: category NOT_FOUND (0x6), reason 1 in 0x1::aptos_account"
        );
        let f = failure("Move abort: code 0x2a", Gas::default());
        assert_eq!(f.kind, FailureKind::MoveAbort);
        assert_eq!((f.code.as_deref(), f.location), (Some("0x2a"), None));
        assert!(f.message.ends_with("in a script"), "{}", f.message);
    }

    #[test]
    fn out_of_gas_execution_failure_and_status_codes() {
        let f = failure(
            "Out of gas",
            Gas {
                used: Some(5000),
                max: Some(5000),
            },
        );
        assert_eq!(f.kind, FailureKind::OutOfGas);
        assert_eq!(
            f.message,
            "ran out of gas after using 5000 of 5000 gas units"
        );

        let f = failure(
            "Execution failed in 0x1::vector::borrow at code offset 12",
            Gas::default(),
        );
        assert_eq!(f.kind, FailureKind::ExecutionError);
        assert_eq!(f.code.as_deref(), Some("EXECUTION_FAILURE"));
        assert_eq!(f.location.as_deref(), Some("0x1::vector"));
        let f = failure(
            "Execution failed in script at code offset 3",
            Gas::default(),
        );
        assert_eq!((f.kind, f.location), (FailureKind::ExecutionError, None));

        for (s, kind, code) in [
            (
                "CODE_DESERIALIZATION_ERROR",
                FailureKind::ExecutionError,
                "CODE_DESERIALIZATION_ERROR",
            ),
            (
                "Transaction Executed and Committed with Error MISCELLANEOUS_ERROR",
                FailureKind::ExecutionError,
                "MISCELLANEOUS_ERROR",
            ),
            (
                "SEQUENCE_NUMBER_TOO_OLD",
                FailureKind::BadNonce,
                "SEQUENCE_NUMBER_TOO_OLD",
            ),
            ("OUT_OF_GAS", FailureKind::OutOfGas, "OUT_OF_GAS"),
        ] {
            let f = failure(s, Gas::default());
            assert_eq!((f.kind, f.code.as_deref()), (kind, Some(code)), "{s}");
        }
        let f = failure("something new", Gas::default());
        assert_eq!(
            (f.kind, f.message.as_str()),
            (FailureKind::Other, "failed: something new")
        );
    }

    #[test]
    fn malformed_aborts_fall_through_without_panicking() {
        for s in [
            "Move abort in ",
            "Move abort in 0x1::coin",
            "Move abort in 0x1::coin: NAME(zz): d",
            "Move abort: code ",
            "Move abort in nocolons: 0x1",
        ] {
            let f = failure(s, Gas::default());
            assert_eq!(f.kind, FailureKind::Other, "{s}");
        }
    }
}
