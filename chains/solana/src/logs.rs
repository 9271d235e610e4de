//! Reading a transaction's log messages: which program each top-level instruction invoked,
//! which program failed, its last own log line, and Anchor's error line.
//!
//! The runtime writes `Program <id> invoke [<depth>]` when a program starts (depth 1 for a
//! top-level instruction), `Program <id> success` or `Program <id> failed: <reason>` when it
//! ends, and `Program log: …`, `Program data: …`, `Program <id> consumed …`,
//! `Program return: …` in between. Logs can be truncated (`Log truncated`): every function here
//! degrades to `None` rather than guess.

/// What the logs say about the failure of top-level instruction `index`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FailureLogs<'a> {
    /// The program invoked by the top-level instruction, from its `invoke [1]` line.
    pub(crate) instruction_program: Option<&'a str>,
    /// The innermost program that failed (the first `Program <id> failed: …` line of the
    /// instruction), and the reason the runtime logged for it.
    pub(crate) failed: Option<(&'a str, &'a str)>,
    /// The failing program's own last `Program log: …` line before it failed, without the
    /// `Program log: ` prefix.
    pub(crate) last_log: Option<&'a str>,
    /// An Anchor error logged by any program of the instruction.
    pub(crate) anchor: Option<AnchorError<'a>>,
}

/// Anchor's `AnchorError … Error Code: X. Error Number: N. Error Message: M.` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnchorError<'a> {
    /// The error's name (`Error Code`).
    pub(crate) name: &'a str,
    /// Its number (`Error Number`).
    pub(crate) number: u32,
    /// Its message, without the trailing period.
    pub(crate) message: &'a str,
    /// `thrown in <file>:<line>` or `caused by account: <name>`, when present.
    pub(crate) origin: Option<&'a str>,
}

/// A parsed runtime line.
enum Line<'a> {
    Invoke { program: &'a str, depth: u32 },
    Success,
    Failed { program: &'a str, reason: &'a str },
    Log(&'a str),
    Other,
}

fn parse(line: &str) -> Line<'_> {
    if let Some(msg) = line.strip_prefix("Program log: ") {
        return Line::Log(msg);
    }
    let Some(rest) = line.strip_prefix("Program ") else {
        return Line::Other;
    };
    let Some((program, tail)) = rest.split_once(' ') else {
        return Line::Other;
    };
    if let Some(d) = tail
        .strip_prefix("invoke [")
        .and_then(|d| d.strip_suffix(']'))
    {
        return match d.parse() {
            Ok(depth) => Line::Invoke { program, depth },
            Err(_) => Line::Other,
        };
    }
    if tail == "success" {
        return Line::Success;
    }
    if let Some(reason) = tail.strip_prefix("failed: ") {
        return Line::Failed { program, reason };
    }
    Line::Other
}

/// The log lines of top-level instruction `index` (from its `invoke [1]` line to the next one).
fn instruction_span(logs: &[String], index: usize) -> Option<&[String]> {
    let starts: Vec<usize> = logs
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(parse(l), Line::Invoke { depth: 1, .. }))
        .map(|(i, _)| i)
        .collect();
    let start = *starts.get(index)?;
    let end = starts.get(index + 1).copied().unwrap_or(logs.len());
    Some(&logs[start..end])
}

/// Reads the failure of top-level instruction `index` from `logs`.
///
/// Caveat: a top-level instruction of a program that is not invoked through the BPF loader
/// (precompiles such as Ed25519 verify) logs no `invoke` line, which shifts the count; the
/// caller prefers the message's own program id and uses [`FailureLogs::instruction_program`]
/// only when it has no message (a `sendTransaction` preflight error).
pub(crate) fn failure(logs: &[String], index: usize) -> FailureLogs<'_> {
    let Some(span) = instruction_span(logs, index) else {
        return FailureLogs::default();
    };
    let instruction_program = match span.first().map(|l| parse(l)) {
        Some(Line::Invoke { program, .. }) => Some(program),
        _ => None,
    };
    let failed_at = span
        .iter()
        .position(|l| matches!(parse(l), Line::Failed { .. }));
    let failed = failed_at.and_then(|i| match parse(&span[i]) {
        Line::Failed { program, reason } => Some((program, reason)),
        _ => None,
    });
    let last_log = failed_at.and_then(|i| own_last_log(&span[..i]));
    let anchor = span.iter().rev().find_map(|l| match parse(l) {
        Line::Log(msg) => anchor_error(msg),
        _ => None,
    });
    FailureLogs {
        instruction_program,
        failed,
        last_log,
        anchor,
    }
}

/// The last `Program log:` line written by the program whose failure follows `before`: walking
/// back, lines inside nested invocations that completed are skipped; the walk stops at the
/// failing program's own `invoke` line.
fn own_last_log(before: &[String]) -> Option<&str> {
    let mut nested = 0u32;
    for line in before.iter().rev() {
        match parse(line) {
            Line::Success | Line::Failed { .. } => nested += 1,
            Line::Invoke { .. } if nested > 0 => nested -= 1,
            Line::Invoke { .. } => return None,
            Line::Log(msg) if nested == 0 => return Some(msg),
            Line::Log(_) | Line::Other => {}
        }
    }
    None
}

/// Parses `AnchorError <origin>. Error Code: X. Error Number: N. Error Message: M.`.
pub(crate) fn anchor_error(msg: &str) -> Option<AnchorError<'_>> {
    let rest = msg.strip_prefix("AnchorError ")?;
    let (head, rest) = rest.split_once("Error Code: ")?;
    let (name, rest) = rest.split_once(". Error Number: ")?;
    let (number, message) = rest.split_once(". Error Message: ")?;
    let origin = head
        .trim_end()
        .trim_end_matches('.')
        .strip_prefix("thrown in ")
        .map(|o| o.trim())
        .or_else(|| {
            head.trim_end()
                .trim_end_matches('.')
                .strip_prefix("caused by account: ")
                .map(|o| o.trim())
        });
    Some(AnchorError {
        name: name.trim(),
        number: number.trim().parse().ok()?,
        message: message.trim().trim_end_matches('.'),
        origin,
    })
}

/// Whether the failing program's reason says it ran out of compute units.
pub(crate) fn is_compute_exhausted(reason: &str) -> bool {
    reason.contains("exceeded CUs meter") || reason.contains("Computational budget exceeded")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn finds_the_failing_program_and_its_last_own_log() {
        let logs = lines(&[
            "Program ComputeBudget111111111111111111111111111111 invoke [1]",
            "Program ComputeBudget111111111111111111111111111111 success",
            "Program Prog1111111111111111111111111111111111111 invoke [1]",
            "Program log: Instruction: Swap",
            "Program log: slippage check",
            "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [2]",
            "Program log: Instruction: Transfer",
            "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA consumed 4645 of 340420 compute units",
            "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA success",
            "Program Prog1111111111111111111111111111111111111 consumed 9 of 9 compute units",
            "Program Prog1111111111111111111111111111111111111 failed: Program failed to complete",
        ]);
        let f = failure(&logs, 1);
        assert_eq!(
            f.instruction_program,
            Some("Prog1111111111111111111111111111111111111")
        );
        assert_eq!(
            f.failed,
            Some((
                "Prog1111111111111111111111111111111111111",
                "Program failed to complete"
            ))
        );
        assert_eq!(f.last_log, Some("slippage check"));
        assert_eq!(failure(&logs, 0).failed, None);
        assert_eq!(failure(&logs, 2), FailureLogs::default());
    }

    #[test]
    fn inner_failure_is_the_innermost_program() {
        let logs = lines(&[
            "Program Prog1111111111111111111111111111111111111 invoke [1]",
            "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA invoke [2]",
            "Program log: Instruction: Transfer",
            "Program log: Error: insufficient funds",
            "Program TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA failed: custom program error: 0x1",
            "Program Prog1111111111111111111111111111111111111 failed: custom program error: 0x1",
        ]);
        let f = failure(&logs, 0);
        assert_eq!(
            f.failed.map(|f| f.0),
            Some("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
        );
        assert_eq!(f.last_log, Some("Error: insufficient funds"));
    }

    #[test]
    fn anchor_lines() {
        let a = anchor_error(
            "AnchorError thrown in programs/amm/src/lib.rs:120. Error Code: SlippageExceeded. \
             Error Number: 6001. Error Message: Slippage tolerance exceeded.",
        )
        .unwrap();
        assert_eq!(
            (a.name, a.number, a.message, a.origin),
            (
                "SlippageExceeded",
                6001,
                "Slippage tolerance exceeded",
                Some("programs/amm/src/lib.rs:120")
            )
        );
        let a = anchor_error(
            "AnchorError caused by account: pool. Error Code: ConstraintSeeds. Error Number: 2006. \
             Error Message: A seeds constraint was violated.",
        )
        .unwrap();
        assert_eq!(
            (a.name, a.number, a.origin),
            ("ConstraintSeeds", 2006, Some("pool"))
        );
        let a = anchor_error(
            "AnchorError occurred. Error Code: AccountNotInitialized. Error Number: 3012. \
             Error Message: The program expected this account to be already initialized.",
        )
        .unwrap();
        assert_eq!((a.number, a.origin), (3012, None));
        assert_eq!(anchor_error("AnchorError occurred. Error Code: X"), None);
        assert_eq!(anchor_error("Instruction: Swap"), None);
    }
}
