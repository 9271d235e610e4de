//! Revert data → failure kind, code and message. Pure and total: any byte string gives a
//! reason, malformed data a clear fallback, never a panic.
//!
//! - `Error(string)` (`0x08c379a0`) → [`FailureKind::Reverted`], the message is the string.
//! - `Panic(uint256)` (`0x4e487b71`) → [`FailureKind::Panic`], code `0x11` etc., the message
//!   is the code's meaning.
//! - any other 4-byte selector → [`FailureKind::CustomError`], code = the selector, decoded with
//!   its name and arguments when the [`ErrorRegistry`] knows it.
//! - empty data → [`FailureKind::Reverted`], "reverted without a reason".

use alloy_primitives::{Address, I256, U256};
use chainwatch_schema::FailureKind;

use crate::abi::{AbiType, ErrorRegistry, ErrorSig};

/// `Error(string)`.
const ERROR_STRING: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
/// `Panic(uint256)`.
const PANIC: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71];

/// The normalized reason of a revert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reason {
    pub(crate) kind: FailureKind,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl Reason {
    fn new(kind: FailureKind, code: Option<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }
}

/// What Solidity's `Panic(uint256)` codes mean.
pub(crate) fn panic_meaning(code: U256) -> Option<&'static str> {
    Some(match u64::try_from(code).ok()? {
        0x00 => "generic compiler panic",
        0x01 => "assertion failed (assert false)",
        0x11 => "arithmetic overflow or underflow",
        0x12 => "division or modulo by zero",
        0x21 => "invalid enum value",
        0x22 => "incorrectly encoded storage byte array",
        0x31 => "pop on an empty array",
        0x32 => "array index out of bounds",
        0x41 => "too much memory allocated",
        0x51 => "call to a zero-initialized internal function",
        _ => return None,
    })
}

/// How many `Error(string)` wrappings [`decode`] looks through.
const MAX_WRAPPED: usize = 4;

/// Decodes revert data (the `output` of a reverted call frame).
pub(crate) fn decode(data: &[u8], errors: &ErrorRegistry) -> Reason {
    decode_nested(data, errors, 0)
}

/// Revert data that a contract caught and re-raised as the "text" of its own `Error(string)`
/// (some routers and MEV bots do, e.g. mainnet transaction 0xfee1cee2… whose message is the
/// encoded `Error("T")`): the inner reason, when the bytes are a well-formed `Error(string)`
/// or `Panic(uint256)`. Such bytes are never text: `0x08c379a0` is not UTF-8, and a panic is
/// exactly 36 bytes.
fn wrapped(bytes: &[u8], errors: &ErrorRegistry, depth: usize) -> Option<Reason> {
    if depth >= MAX_WRAPPED {
        return None;
    }
    let (selector, args) = bytes.split_first_chunk::<4>()?;
    let well_formed = match *selector {
        ERROR_STRING => decode_values(args, &[AbiType::Bytes]).is_some(),
        PANIC => args.len() == 32,
        _ => false,
    };
    well_formed.then(|| decode_nested(bytes, errors, depth + 1))
}

/// The bytes an `Error(string)` carries as its text, if `data` is a well-formed one.
pub(crate) fn error_string_bytes(data: &[u8]) -> Option<Vec<u8>> {
    let (selector, args) = data.split_first_chunk::<4>()?;
    if *selector != ERROR_STRING {
        return None;
    }
    match decode_values(args, &[AbiType::Bytes])?.pop()? {
        Value::Bytes(b) => Some(b),
        _ => None,
    }
}

fn decode_nested(data: &[u8], errors: &ErrorRegistry, depth: usize) -> Reason {
    let Some((selector, args)) = data.split_first_chunk::<4>() else {
        if data.is_empty() {
            return Reason::new(FailureKind::Reverted, None, "reverted without a reason");
        }
        return Reason::new(
            FailureKind::Reverted,
            None,
            format!(
                "reverted with {} bytes of data, too short for an error selector: {}",
                data.len(),
                hex_bytes(data)
            ),
        );
    };
    match *selector {
        ERROR_STRING => match decode_values(args, &[AbiType::Bytes]).as_deref() {
            Some([Value::Bytes(b)]) => wrapped(b, errors, depth).unwrap_or_else(|| {
                Reason::new(
                    FailureKind::Reverted,
                    None,
                    String::from_utf8_lossy(b).into_owned(),
                )
            }),
            _ => Reason::new(
                FailureKind::Reverted,
                None,
                format!(
                    "reverted with malformed Error(string) data {}",
                    hex_bytes(data)
                ),
            ),
        },
        PANIC => match args.get(..32).map(U256::from_be_slice) {
            Some(code) => Reason::new(
                FailureKind::Panic,
                Some(panic_code(code)),
                panic_meaning(code).map_or_else(
                    || format!("panic with unknown code {}", panic_code(code)),
                    str::to_owned,
                ),
            ),
            None => Reason::new(
                FailureKind::Panic,
                None,
                format!(
                    "panicked with malformed Panic(uint256) data {}",
                    hex_bytes(data)
                ),
            ),
        },
        sel => {
            let code = hex_bytes(&sel);
            let message = match errors.get(sel) {
                Some(sig) => custom_message(sig, args),
                None if args.is_empty() => format!("custom error {code} (unknown selector)"),
                None => format!(
                    "custom error {code} (unknown selector) with arguments {}",
                    hex_bytes(args)
                ),
            };
            Reason::new(FailureKind::CustomError, Some(code), message)
        }
    }
}

/// `0x11`: at least two hex digits, as Solidity documents the codes.
fn panic_code(code: U256) -> String {
    match u8::try_from(code) {
        Ok(c) => format!("{c:#04x}"),
        Err(_) => format!("{code:#x}"),
    }
}

/// `Name(param: value, …)`, or the signature with the raw arguments when they do not decode.
fn custom_message(sig: &ErrorSig, args: &[u8]) -> String {
    let types: Vec<_> = sig.params.iter().map(|(t, _)| t.clone()).collect();
    match decode_values(args, &types) {
        Some(values) => {
            let parts: Vec<String> = sig
                .params
                .iter()
                .zip(values)
                .map(|((_, name), v)| {
                    if name.is_empty() {
                        v.to_string()
                    } else {
                        format!("{name}: {v}")
                    }
                })
                .collect();
            format!("{}({})", sig.name, parts.join(", "))
        }
        None if args.is_empty() => format!("{} without its arguments", sig.signature()),
        None => format!(
            "{} with undecoded arguments {}",
            sig.signature(),
            hex_bytes(args)
        ),
    }
}

/// A decoded ABI value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Address(Address),
    Bool(bool),
    Uint(U256),
    Int(I256),
    Bytes(Vec<u8>),
    String(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Address(a) => write!(f, "{a:#x}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Uint(u) => write!(f, "{u}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Bytes(b) => f.write_str(&hex_bytes(b)),
            // JSON quoting escapes control characters and quotes.
            Self::String(s) => f.write_str(&serde_json::Value::from(s.as_str()).to_string()),
        }
    }
}

/// Decodes ABI-encoded `types` (the arguments after a selector). `None` when a type is not
/// supported or the data does not fit (short data, offsets or lengths out of range, values
/// with dirty high bits). Trailing bytes are allowed, as Solidity allows them.
fn decode_values(data: &[u8], types: &[AbiType]) -> Option<Vec<Value>> {
    let word =
        |at: usize| -> Option<&[u8; 32]> { data.get(at..at.checked_add(32)?)?.try_into().ok() };
    let small = |w: &[u8; 32]| -> Option<usize> { usize::try_from(U256::from_be_bytes(*w)).ok() };
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            let w = word(i.checked_mul(32)?)?;
            let u = U256::from_be_bytes(*w);
            Some(match ty {
                AbiType::Address => {
                    if w[..12].iter().any(|b| *b != 0) {
                        return None;
                    }
                    Value::Address(Address::from_slice(&w[12..]))
                }
                AbiType::Bool => match u64::try_from(u).ok()? {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    _ => return None,
                },
                AbiType::Uint(bits) => {
                    if u.bit_len() > usize::from(*bits) {
                        return None;
                    }
                    Value::Uint(u)
                }
                AbiType::Int(bits) => {
                    let v = I256::from_raw(u);
                    // Sign-extended from `bits`: every bit above the sign bit equals it.
                    let bits = usize::from(*bits);
                    if bits < 256 {
                        let ext = if v.is_negative() { !u } else { u };
                        if ext.bit_len() >= bits {
                            return None;
                        }
                    }
                    Value::Int(v)
                }
                AbiType::FixedBytes(n) => {
                    let n = usize::from(*n);
                    if w[n..].iter().any(|b| *b != 0) {
                        return None;
                    }
                    Value::Bytes(w[..n].to_vec())
                }
                AbiType::Bytes | AbiType::String => {
                    let offset = small(w)?;
                    let len = small(word(offset)?)?;
                    let start = offset.checked_add(32)?;
                    let bytes = data.get(start..start.checked_add(len)?)?.to_vec();
                    if *ty == AbiType::Bytes {
                        Value::Bytes(bytes)
                    } else {
                        Value::String(String::from_utf8_lossy(&bytes).into_owned())
                    }
                }
                AbiType::Unsupported(_) => return None,
            })
        })
        .collect()
}

/// `0x`-prefixed lowercase hex.
pub(crate) fn hex_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("0x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use alloy_primitives::keccak256;

    use super::*;

    /// Parses `0x`-prefixed hex (an empty `0x` is no bytes); `None` if it is not hex.
    fn parse_hex(s: &str) -> Option<Vec<u8>> {
        let s = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
        if !s.len().is_multiple_of(2) {
            return None;
        }
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect()
    }

    fn reg() -> ErrorRegistry {
        ErrorRegistry::built_in()
    }

    fn word(v: u64) -> [u8; 32] {
        U256::from(v).to_be_bytes()
    }

    fn selector(sig: &str) -> Vec<u8> {
        keccak256(sig.as_bytes())[..4].to_vec()
    }

    /// `Error(string)` payload as Solidity encodes it.
    fn error_string(msg: &str) -> Vec<u8> {
        let mut d = ERROR_STRING.to_vec();
        d.extend(word(32));
        d.extend(word(msg.len() as u64));
        let mut s = msg.as_bytes().to_vec();
        s.resize(msg.len().div_ceil(32) * 32, 0);
        d.extend(s);
        d
    }

    #[test]
    fn error_string_gives_the_message() {
        // Revert data of Uniswap V2 router's `require(deadline >= block.timestamp,
        // "UniswapV2Router: EXPIRED")`, as it appears on chain.
        let data = parse_hex(concat!(
            "0x08c379a0",
            "0000000000000000000000000000000000000000000000000000000000000020",
            "0000000000000000000000000000000000000000000000000000000000000018",
            "556e69737761705632526f757465723a20455850495245440000000000000000",
        ))
        .unwrap();
        assert_eq!(data, error_string("UniswapV2Router: EXPIRED"));
        assert_eq!(
            decode(&data, &reg()),
            Reason::new(FailureKind::Reverted, None, "UniswapV2Router: EXPIRED")
        );
        assert_eq!(decode(&error_string(""), &reg()).message, "");
        let long = "x".repeat(70);
        assert_eq!(decode(&error_string(&long), &reg()).message, long);
    }

    #[test]
    fn revert_data_wrapped_in_an_error_string_is_unwrapped() {
        // Mainnet transaction 0xfee1cee2… (block 16,899,757): the contract caught the revert
        // `Error("T")` of a call and re-raised its bytes as the text of a new Error(string).
        let inner = error_string("T");
        let mut outer = ERROR_STRING.to_vec();
        outer.extend(word(32));
        outer.extend(word(inner.len() as u64));
        let mut padded = inner.clone();
        padded.resize(inner.len().div_ceil(32) * 32, 0);
        outer.extend(padded);
        assert_eq!(outer.len(), 4 + 32 + 32 + 128);
        assert_eq!(
            decode(&outer, &reg()),
            Reason::new(FailureKind::Reverted, None, "T")
        );
        // A wrapped panic.
        let mut panic = PANIC.to_vec();
        panic.extend(word(0x11));
        let mut outer = ERROR_STRING.to_vec();
        outer.extend(word(32));
        outer.extend(word(36));
        let mut padded = panic.clone();
        padded.resize(64, 0);
        outer.extend(padded);
        let r = decode(&outer, &reg());
        assert_eq!(
            (r.kind, r.code.as_deref()),
            (FailureKind::Panic, Some("0x11"))
        );
        // Text that merely starts like a panic selector ("NH{q") stays text.
        let text = format!("NH{{q{}", "x".repeat(40));
        assert_eq!(decode(&error_string(&text), &reg()).message, text);
        // Wrapping is followed a bounded number of times: deeper data stays as it is.
        let mut data = error_string("deep");
        for _ in 0..=MAX_WRAPPED {
            let mut outer = ERROR_STRING.to_vec();
            outer.extend(word(32));
            outer.extend(word(data.len() as u64));
            let len = data.len();
            data.resize(len.div_ceil(32) * 32, 0);
            outer.extend(&data);
            data = outer;
        }
        let r = decode(&data, &reg());
        assert_eq!(r.kind, FailureKind::Reverted);
        assert_ne!(r.message, "deep");
    }

    #[test]
    fn every_panic_code_has_its_meaning() {
        for (code, text, meaning) in [
            (0x00, "0x00", "generic compiler panic"),
            (0x01, "0x01", "assertion failed (assert false)"),
            (0x11, "0x11", "arithmetic overflow or underflow"),
            (0x12, "0x12", "division or modulo by zero"),
            (0x21, "0x21", "invalid enum value"),
            (0x22, "0x22", "incorrectly encoded storage byte array"),
            (0x31, "0x31", "pop on an empty array"),
            (0x32, "0x32", "array index out of bounds"),
            (0x41, "0x41", "too much memory allocated"),
            (0x51, "0x51", "call to a zero-initialized internal function"),
        ] {
            let mut d = PANIC.to_vec();
            d.extend(word(code));
            assert_eq!(
                decode(&d, &reg()),
                Reason::new(FailureKind::Panic, Some(text.into()), meaning),
                "{text}"
            );
        }
        let mut d = PANIC.to_vec();
        d.extend(word(0x99));
        assert_eq!(decode(&d, &reg()).message, "panic with unknown code 0x99");
        let mut d = PANIC.to_vec();
        d.extend([0xff; 32]);
        let r = decode(&d, &reg());
        assert_eq!(r.code.as_deref(), Some(&*format!("0x{}", "f".repeat(64))));
    }

    #[test]
    fn custom_errors_decode_with_names_and_arguments() {
        let holder = "0x00000000000000000000000000000000000000aa";
        let mut d = selector("ERC20InsufficientBalance(address,uint256,uint256)");
        let mut addr = [0u8; 32];
        addr[31] = 0xaa;
        d.extend(addr);
        d.extend(word(5));
        d.extend(word(1_000_000));
        let r = decode(&d, &reg());
        assert_eq!(r.kind, FailureKind::CustomError);
        assert_eq!(r.code.as_deref(), Some("0xe450d38c"));
        assert_eq!(
            r.message,
            format!("ERC20InsufficientBalance(sender: {holder}, balance: 5, needed: 1000000)")
        );

        let mut d = selector("AccessControlUnauthorizedAccount(address,bytes32)");
        d.extend(addr);
        d.extend([0x11; 32]);
        assert_eq!(
            decode(&d, &reg()).message,
            format!(
                "AccessControlUnauthorizedAccount(account: {holder}, neededRole: 0x{})",
                "11".repeat(32)
            )
        );

        let d = selector("EnforcedPause()");
        let r = decode(&d, &reg());
        assert_eq!(
            (r.code.as_deref(), r.message.as_str()),
            (Some("0xd93c0665"), "EnforcedPause()")
        );
    }

    #[test]
    fn unknown_and_undecodable_custom_errors() {
        let d = parse_hex("0xcafebabe").unwrap();
        let r = decode(&d, &reg());
        assert_eq!(r.kind, FailureKind::CustomError);
        assert_eq!(r.code.as_deref(), Some("0xcafebabe"));
        assert_eq!(r.message, "custom error 0xcafebabe (unknown selector)");
        let mut d = d;
        d.extend(word(1));
        assert_eq!(
            decode(&d, &reg()).message,
            format!(
                "custom error 0xcafebabe (unknown selector) with arguments 0x{:064x}",
                1
            )
        );

        // A known selector with an address whose high bytes are dirty, or too short.
        let mut d = selector("OwnableUnauthorizedAccount(address)");
        d.extend([0xff; 32]);
        assert_eq!(
            decode(&d, &reg()).message,
            format!(
                "OwnableUnauthorizedAccount(address) with undecoded arguments 0x{}",
                "ff".repeat(32)
            )
        );
        let d = selector("OwnableUnauthorizedAccount(address)");
        assert_eq!(
            decode(&d, &reg()).message,
            "OwnableUnauthorizedAccount(address) without its arguments"
        );
    }

    #[test]
    fn values_of_every_supported_type() {
        let sig = ErrorSig {
            name: "E".into(),
            params: vec![
                (AbiType::Int(8), "a".into()),
                (AbiType::Bool, String::new()),
                (AbiType::Bytes, "b".into()),
                (AbiType::String, "s".into()),
                (AbiType::FixedBytes(2), "f".into()),
            ],
        };
        let mut d = Vec::new();
        d.extend([0xff; 32]); // int8 -1
        d.extend(word(1));
        d.extend(word(5 * 32));
        d.extend(word(7 * 32));
        let mut f = [0u8; 32];
        f[..2].copy_from_slice(&[0xab, 0xcd]);
        d.extend(f);
        d.extend(word(2));
        let mut b = [0u8; 32];
        b[..2].copy_from_slice(&[1, 2]);
        d.extend(b);
        d.extend(word(3));
        let mut s = [0u8; 32];
        s[..3].copy_from_slice(b"a\"b");
        d.extend(s);
        assert_eq!(
            custom_message(&sig, &d),
            r#"E(a: -1, true, b: 0x0102, s: "a\"b", f: 0xabcd)"#
        );
        // int8 = 128 does not fit.
        let mut bad = d.clone();
        bad[..32].copy_from_slice(&word(128));
        assert!(custom_message(&sig, &bad).contains("undecoded"));
        // bool 2, and unsupported types.
        assert_eq!(decode_values(&word(2), &[AbiType::Bool]), None);
        assert_eq!(
            decode_values(&word(0), &[AbiType::Unsupported("uint256[]".into())]),
            None
        );
        assert_eq!(decode_values(&word(256), &[AbiType::Uint(8)]), None);
        assert_eq!(
            decode_values(&word(255), &[AbiType::Uint(8)]),
            Some(vec![Value::Uint(U256::from(255))])
        );
    }

    #[test]
    fn bare_and_malformed_data_never_panic() {
        assert_eq!(
            decode(&[], &reg()),
            Reason::new(FailureKind::Reverted, None, "reverted without a reason")
        );
        let r = decode(&[0x08, 0xc3], &reg());
        assert_eq!(r.kind, FailureKind::Reverted);
        assert_eq!(
            r.message,
            "reverted with 2 bytes of data, too short for an error selector: 0x08c3"
        );
        // Error(string) with an offset past the end, a huge offset, a length past the end.
        for tail in [
            [word(64)].concat(),
            [[0xff; 32]].concat(),
            [word(32), word(100)].concat(),
            [word(32), [0xff; 32]].concat(),
            Vec::new(),
        ] {
            let mut d = ERROR_STRING.to_vec();
            d.extend(&tail);
            let r = decode(&d, &reg());
            assert_eq!(r.kind, FailureKind::Reverted);
            assert!(
                r.message
                    .starts_with("reverted with malformed Error(string) data 0x08c379a0"),
                "{}",
                r.message
            );
        }
        let mut d = PANIC.to_vec();
        d.extend([0; 31]);
        let r = decode(&d, &reg());
        assert_eq!((r.kind, r.code), (FailureKind::Panic, None));
        assert!(
            r.message
                .starts_with("panicked with malformed Panic(uint256) data")
        );
        // Invalid UTF-8 is kept, replaced.
        let mut d = error_string("ab");
        d[4 + 64] = 0xff;
        assert_eq!(decode(&d, &reg()).message, "\u{fffd}b");
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(parse_hex("0x"), Some(vec![]));
        assert_eq!(parse_hex("0xAbcd"), Some(vec![0xab, 0xcd]));
        assert_eq!(parse_hex("0xabc"), None);
        assert_eq!(parse_hex("abcd"), None);
        assert_eq!(parse_hex("0xzz"), None);
        assert_eq!(parse_hex("0xé1"), None);
        assert_eq!(hex_bytes(&[0, 0xff]), "0x00ff");
    }
}
