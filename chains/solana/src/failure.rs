//! `meta.err` → [`Failure`]: the kind, code, message and location a support person acts on.

use chainwatch_schema::{Failure, FailureKind};
use serde_json::{Value, json};
use solana_instruction_error::InstructionError;
use solana_transaction_error::TransactionError;

use crate::{logs, programs};

/// What is known of the failed transaction besides its error.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Context<'a> {
    /// The program id of each top-level instruction, in order; `None` when the transaction's
    /// message is not at hand (a `sendTransaction` preflight error).
    pub(crate) programs: Option<&'a [String]>,
    /// All account keys: static keys, then the addresses loaded from lookup tables (writable,
    /// then readonly).
    pub(crate) account_keys: &'a [String],
    /// `meta.logMessages`, when the node returned them.
    pub(crate) logs: Option<&'a [String]>,
}

/// The variant name of a serialized Solana error enum: `"AccountInUse"` → `AccountInUse`,
/// `{"InsufficientFundsForRent": {…}}` → `InsufficientFundsForRent`.
fn variant_name(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
        other => other.to_string(),
    }
}

/// `Name (id)` for a well-known program, else the id.
fn program_label(id: &str) -> String {
    match programs::name(id) {
        Some(name) => format!("{name} {id}"),
        None => format!("program {id}"),
    }
}

/// Classifies a transaction error. `raw_err` is `meta.err` as the node sent it.
pub(crate) fn classify(err: &TransactionError, raw_err: Value, ctx: Context<'_>) -> Failure {
    match err {
        TransactionError::InstructionError(index, ie) => instruction(*index, ie, raw_err, ctx),
        other => transaction_level(other, raw_err, ctx),
    }
}

fn transaction_level(err: &TransactionError, raw_err: Value, ctx: Context<'_>) -> Failure {
    let account = |i: u8| ctx.account_keys.get(usize::from(i)).cloned();
    let (kind, location) = match err {
        TransactionError::InsufficientFundsForFee => (
            FailureKind::InsufficientFunds,
            ctx.account_keys.first().cloned(),
        ),
        TransactionError::InsufficientFundsForRent { account_index } => {
            (FailureKind::InsufficientFunds, account(*account_index))
        }
        TransactionError::BlockhashNotFound => (FailureKind::Expired, None),
        TransactionError::AlreadyProcessed => (FailureKind::BadNonce, None),
        TransactionError::ProgramExecutionTemporarilyRestricted { account_index } => {
            (FailureKind::Other, account(*account_index))
        }
        _ => (FailureKind::Other, None),
    };
    let mut message = err.to_string();
    match err {
        TransactionError::BlockhashNotFound => message.push_str(
            ": the transaction's recent blockhash is unknown or older than ~150 blocks; it can \
             never land and must be re-signed with a new blockhash",
        ),
        TransactionError::AlreadyProcessed => {
            message.push_str(": the same signature already landed");
        }
        _ => {}
    }
    if let Some(a) = &location {
        message.push_str(&format!(" (account {a})"));
    }
    Failure {
        kind,
        code: Some(variant_name(&raw_err)),
        message,
        location,
        raw: json!({ "err": raw_err }).to_string(),
    }
}

fn instruction(index: u8, ie: &InstructionError, raw_err: Value, ctx: Context<'_>) -> Failure {
    let i = usize::from(index);
    let fl = ctx.logs.map(|l| logs::failure(l, i)).unwrap_or_default();
    let program: Option<&str> = ctx
        .programs
        .and_then(|p| p.get(i))
        .map(String::as_str)
        .or(fl.instruction_program);
    // The program that returned the error: the innermost one that failed, which differs from
    // the instruction's program when it failed inside a cross-program invocation.
    let failing: Option<&str> = fl.failed.map(|(p, _)| p).or(program);
    let compute_exhausted = matches!(ie, InstructionError::ComputationalBudgetExceeded)
        || fl
            .failed
            .is_some_and(|(_, reason)| logs::is_compute_exhausted(reason));

    let mut message = format!(
        "instruction {i} ({}) failed",
        program.map_or_else(|| "unknown program".to_owned(), program_label)
    );
    if let Some(f) = failing
        && Some(f) != program
    {
        message.push_str(&format!(" in {}", program_label(f)));
    }
    message.push_str(": ");

    let code = match ie {
        InstructionError::Custom(n) => n.to_string(),
        other => variant_name(&serde_json::to_value(other).unwrap_or(Value::Null)),
    };
    let mut anchor_used = false;
    match ie {
        _ if compute_exhausted => {
            message.push_str("ran out of compute units (computational budget exceeded)");
        }
        InstructionError::Custom(n) => {
            let n = *n;
            let known = failing.and_then(|f| programs::custom_error(f, n));
            match (&fl.anchor, known) {
                (Some(a), _) if a.number == n => {
                    anchor_used = true;
                    message.push_str(&format!("Anchor error {} ({n}): {}", a.name, a.message));
                    if let Some(origin) = a.origin {
                        message.push_str(&format!(" [{origin}]"));
                    }
                }
                (_, Some(k)) => {
                    message.push_str(&format!(
                        "{}: {} (custom program error {n}, {n:#x})",
                        k.name, k.message
                    ));
                }
                _ => {
                    message.push_str(&format!("custom program error {n} ({n:#x})"));
                    if let Some(k) = programs::anchor_framework_error(n) {
                        message.push_str(&format!(
                            "; if the program is built with Anchor: {}: {}",
                            k.name, k.message
                        ));
                    } else if n >= programs::ANCHOR_USER_OFFSET {
                        message.push_str(&format!(
                            "; if the program is built with Anchor, this is error #{} of its \
                             IDL's errors (Anchor numbers them from 6000)",
                            n - programs::ANCHOR_USER_OFFSET
                        ));
                    }
                    if let Some(last) = fl.last_log {
                        message.push_str(&format!("; its last log: {last:?}"));
                    }
                }
            }
        }
        other => {
            message.push_str(&format!("{other} ({code})"));
            if let Some(last) = fl.last_log {
                message.push_str(&format!("; its last log: {last:?}"));
            }
        }
    }
    let kind = if compute_exhausted {
        FailureKind::OutOfGas
    } else {
        FailureKind::ProgramError
    };
    let mut raw = json!({
        "err": raw_err,
        "instruction": i,
        "programId": program,
    });
    if let Some(f) = failing
        && Some(f) != program
    {
        raw["failingProgram"] = json!(f);
    }
    if let Some((p, reason)) = fl.failed {
        raw["failedLog"] = json!(format!("Program {p} failed: {reason}"));
    }
    if let Some(last) = fl.last_log {
        raw["lastLog"] = json!(last);
    }
    if anchor_used && let Some(a) = &fl.anchor {
        raw["anchorError"] = json!({"name": a.name, "number": a.number, "message": a.message});
    }
    Failure {
        kind,
        code: Some(code),
        message,
        location: program.map(str::to_owned),
        raw: raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    const JUP: &str = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4";

    #[test]
    fn anchor_custom_error_from_its_log_line() {
        let programs = s(&[programs::COMPUTE_BUDGET, JUP]);
        let logs = s(&[
            "Program ComputeBudget111111111111111111111111111111 invoke [1]",
            "Program ComputeBudget111111111111111111111111111111 success",
            "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 invoke [1]",
            "Program log: Instruction: Route",
            "Program log: AnchorError occurred. Error Code: SlippageToleranceExceeded. Error Number: 6001. Error Message: Slippage tolerance exceeded.",
            "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 consumed 88552 of 395885 compute units",
            "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 failed: custom program error: 0x1771",
        ]);
        let err = TransactionError::InstructionError(1, InstructionError::Custom(6001));
        let f = classify(
            &err,
            json!({"InstructionError": [1, {"Custom": 6001}]}),
            Context {
                programs: Some(&programs),
                account_keys: &[],
                logs: Some(&logs),
            },
        );
        assert_eq!(f.kind, FailureKind::ProgramError);
        assert_eq!(f.code.as_deref(), Some("6001"));
        assert_eq!(f.location.as_deref(), Some(JUP));
        assert_eq!(
            f.message,
            format!(
                "instruction 1 (program {JUP}) failed: Anchor error SlippageToleranceExceeded \
                 (6001): Slippage tolerance exceeded"
            )
        );
        let raw: Value = serde_json::from_str(&f.raw).unwrap();
        assert_eq!(raw["anchorError"]["name"], "SlippageToleranceExceeded");
        assert_eq!(
            raw["err"],
            json!({"InstructionError": [1, {"Custom": 6001}]})
        );
    }

    #[test]
    fn token_error_inside_a_cpi_names_the_token_program() {
        let programs = s(&[JUP]);
        let logs = s(&[
            "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 invoke [1]",
            "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [2]",
            "Program log: Instruction: Transfer",
            "Program log: Error: insufficient funds",
            "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA failed: custom program error: 0x1",
            "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 failed: custom program error: 0x1",
        ]);
        let f = classify(
            &TransactionError::InstructionError(0, InstructionError::Custom(1)),
            json!({"InstructionError": [0, {"Custom": 1}]}),
            Context {
                programs: Some(&programs),
                account_keys: &[],
                logs: Some(&logs),
            },
        );
        assert_eq!(f.location.as_deref(), Some(JUP));
        assert_eq!(
            f.message,
            format!(
                "instruction 0 (program {JUP}) failed in SPL Token \
                 TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA: InsufficientFunds: Insufficient \
                 funds (custom program error 1, 0x1)"
            )
        );
    }

    #[test]
    fn string_detail_keeps_the_last_log_and_compute_is_out_of_gas() {
        let programs = s(&[JUP]);
        let logs = s(&[
            "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 invoke [1]",
            "Program log: panicked at 'attempt to subtract with overflow'",
            "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 consumed 5000 of 5000 compute units",
            "Program JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4 failed: Program failed to complete",
        ]);
        let ctx = Context {
            programs: Some(&programs),
            account_keys: &[],
            logs: Some(&logs),
        };
        let f = classify(
            &TransactionError::InstructionError(0, InstructionError::ProgramFailedToComplete),
            json!({"InstructionError": [0, "ProgramFailedToComplete"]}),
            ctx,
        );
        assert_eq!(f.kind, FailureKind::ProgramError);
        assert_eq!(f.code.as_deref(), Some("ProgramFailedToComplete"));
        assert!(
            f.message
                .ends_with("its last log: \"panicked at 'attempt to subtract with overflow'\""),
            "{}",
            f.message
        );
        let f = classify(
            &TransactionError::InstructionError(0, InstructionError::ComputationalBudgetExceeded),
            json!({"InstructionError": [0, "ComputationalBudgetExceeded"]}),
            ctx,
        );
        assert_eq!(f.kind, FailureKind::OutOfGas);
        assert_eq!(f.code.as_deref(), Some("ComputationalBudgetExceeded"));
    }

    #[test]
    fn transaction_level_errors_keep_their_name() {
        let keys = s(&["Payer111", "Other222"]);
        let ctx = Context {
            programs: None,
            account_keys: &keys,
            logs: None,
        };
        let cases = [
            (
                TransactionError::InsufficientFundsForFee,
                json!("InsufficientFundsForFee"),
                FailureKind::InsufficientFunds,
                Some("Payer111"),
            ),
            (
                TransactionError::InsufficientFundsForRent { account_index: 1 },
                json!({"InsufficientFundsForRent": {"account_index": 1}}),
                FailureKind::InsufficientFunds,
                Some("Other222"),
            ),
            (
                TransactionError::BlockhashNotFound,
                json!("BlockhashNotFound"),
                FailureKind::Expired,
                None,
            ),
            (
                TransactionError::AccountInUse,
                json!("AccountInUse"),
                FailureKind::Other,
                None,
            ),
        ];
        for (err, raw, kind, location) in cases {
            let name = variant_name(&raw);
            let f = classify(&err, raw, ctx);
            assert_eq!(f.kind, kind, "{name}");
            assert_eq!(f.code.as_deref(), Some(name.as_str()));
            assert_eq!(f.location.as_deref(), location, "{name}");
        }
    }
}
