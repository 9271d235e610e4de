//! Custom-error signatures: a built-in table of common errors plus the `"type": "error"`
//! entries of a user-supplied directory of JSON ABI files, keyed by their 4-byte selector.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::LazyLock,
};

use alloy_primitives::keccak256;
use serde_json::Value;

/// Common custom errors: OpenZeppelin v5 (`draft-IERC6093` ERC-20/721/1155, Ownable,
/// AccessControl, ReentrancyGuard, Pausable, SafeERC20, Address, Math, ECDSA), Uniswap's
/// Universal Router (its swap routers and dispatcher; the most used swap entry point on
/// Ethereum, whose failures are mostly slippage) and a few widespread plain ones. Written `Name(type name,…)`; the selector is computed from them.
const BUILT_IN: &[&str] = &[
    "ERC20InsufficientBalance(address sender,uint256 balance,uint256 needed)",
    "ERC20InvalidSender(address sender)",
    "ERC20InvalidReceiver(address receiver)",
    "ERC20InsufficientAllowance(address spender,uint256 allowance,uint256 needed)",
    "ERC20InvalidApprover(address approver)",
    "ERC20InvalidSpender(address spender)",
    "ERC721InvalidOwner(address owner)",
    "ERC721NonexistentToken(uint256 tokenId)",
    "ERC721IncorrectOwner(address sender,uint256 tokenId,address owner)",
    "ERC721InvalidSender(address sender)",
    "ERC721InvalidReceiver(address receiver)",
    "ERC721InsufficientApproval(address operator,uint256 tokenId)",
    "ERC721InvalidApprover(address approver)",
    "ERC721InvalidOperator(address operator)",
    "ERC1155InsufficientBalance(address sender,uint256 balance,uint256 needed,uint256 tokenId)",
    "ERC1155MissingApprovalForAll(address operator,address owner)",
    "OwnableUnauthorizedAccount(address account)",
    "OwnableInvalidOwner(address owner)",
    "AccessControlUnauthorizedAccount(address account,bytes32 neededRole)",
    "AccessControlBadConfirmation()",
    "ReentrancyGuardReentrantCall()",
    "EnforcedPause()",
    "ExpectedPause()",
    "SafeERC20FailedOperation(address token)",
    "SafeERC20FailedDecreaseAllowance(address spender,uint256 currentAllowance,uint256 requestedDecrease)",
    "AddressEmptyCode(address target)",
    "AddressInsufficientBalance(address account)",
    "FailedCall()",
    "FailedInnerCall()",
    "InsufficientBalance(uint256 balance,uint256 needed)",
    "MathOverflowedMulDiv()",
    "SafeCastOverflowedUintDowncast(uint8 bits,uint256 value)",
    "ECDSAInvalidSignature()",
    "ECDSAInvalidSignatureLength(uint256 length)",
    "InvalidInitialization()",
    "NotInitializing()",
    "Unauthorized()",
    "TransferFailed()",
    "ZeroAddress()",
    // Uniswap Universal Router (`IUniswapV2RouterErrors`, `V3SwapRouter`, `Dispatcher`,
    // `Payments`, `UniversalRouter`).
    "V2TooLittleReceived()",
    "V2TooMuchRequested()",
    "V2InvalidPath()",
    "V3InvalidSwap()",
    "V3TooLittleReceived()",
    "V3TooMuchRequested()",
    "V3InvalidAmountOut()",
    "V3InvalidCaller()",
    "InsufficientToken()",
    "InsufficientETH()",
    "InvalidCommandType(uint256 commandType)",
    "ExecutionFailed(uint256 commandIndex,bytes message)",
    "TransactionDeadlinePassed()",
    "ETHNotAccepted()",
    "LengthMismatch()",
];

/// An ABI type as far as revert decoding goes: the static and dynamic elementary types; arrays
/// and tuples are kept by their canonical name and left undecoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AbiType {
    /// `address`.
    Address,
    /// `bool`.
    Bool,
    /// `uint<bits>`.
    Uint(u16),
    /// `int<bits>`.
    Int(u16),
    /// `bytes<n>`, 1 ≤ n ≤ 32.
    FixedBytes(u8),
    /// `bytes`.
    Bytes,
    /// `string`.
    String,
    /// Anything else (arrays, tuples), by canonical name.
    Unsupported(String),
}

impl AbiType {
    /// Parses a canonical elementary type name (`uint` and `int` alias 256 bits).
    pub(crate) fn parse(name: &str) -> Self {
        let sized = |rest: &str, max: u16, step: u16| -> Option<u16> {
            if rest.is_empty() {
                return Some(max);
            }
            let n: u16 = rest.parse().ok()?;
            (n > 0 && n <= max && n.is_multiple_of(step) && !rest.starts_with('0')).then_some(n)
        };
        let parsed = match name {
            "address" => Some(Self::Address),
            "bool" => Some(Self::Bool),
            "bytes" => Some(Self::Bytes),
            "string" => Some(Self::String),
            _ => {
                if let Some(rest) = name.strip_prefix("uint") {
                    sized(rest, 256, 8).map(Self::Uint)
                } else if let Some(rest) = name.strip_prefix("int") {
                    sized(rest, 256, 8).map(Self::Int)
                } else if let Some(rest) = name.strip_prefix("bytes") {
                    sized(rest, 32, 1)
                        .filter(|_| !rest.is_empty())
                        .and_then(|n| u8::try_from(n).ok())
                        .map(Self::FixedBytes)
                } else {
                    None
                }
            }
        };
        parsed.unwrap_or_else(|| Self::Unsupported(name.to_owned()))
    }

    /// The canonical name used in signatures (`uint256`, never `uint`).
    pub(crate) fn canonical(&self) -> String {
        match self {
            Self::Address => "address".into(),
            Self::Bool => "bool".into(),
            Self::Uint(n) => format!("uint{n}"),
            Self::Int(n) => format!("int{n}"),
            Self::FixedBytes(n) => format!("bytes{n}"),
            Self::Bytes => "bytes".into(),
            Self::String => "string".into(),
            Self::Unsupported(s) => s.clone(),
        }
    }
}

/// One custom error: its name and parameters (names may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorSig {
    pub(crate) name: String,
    pub(crate) params: Vec<(AbiType, String)>,
}

impl ErrorSig {
    /// `Name(type1,type2)`, the text whose keccak256 starts with the selector.
    pub(crate) fn signature(&self) -> String {
        let types: Vec<_> = self.params.iter().map(|(t, _)| t.canonical()).collect();
        format!("{}({})", self.name, types.join(","))
    }

    /// The first four bytes of keccak256 of the signature.
    pub(crate) fn selector(&self) -> [u8; 4] {
        let h = keccak256(self.signature().as_bytes());
        [h[0], h[1], h[2], h[3]]
    }

    /// Parses `Name(type name,type,…)` (the form of [`BUILT_IN`]).
    fn parse_human(text: &str) -> Option<Self> {
        let (name, rest) = text.split_once('(')?;
        let inner = rest.strip_suffix(')')?;
        let params = inner
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                let mut words = p.split_whitespace();
                let ty = AbiType::parse(words.next().unwrap_or_default());
                (ty, words.next().unwrap_or_default().to_owned())
            })
            .collect();
        Some(Self {
            name: name.trim().to_owned(),
            params,
        })
    }
}

/// Why an ABI directory could not be loaded. Each message names the file at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum AbiError {
    /// The directory or a file in it could not be read.
    #[error("cannot read ABI path `{}`", path.display())]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("ABI file `{}` is not valid JSON", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A file is JSON but not an ABI.
    #[error("ABI file `{}`: {detail}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// What was expected and where.
        detail: String,
    },
}

/// Custom errors by selector: the built-in table, overridden by user ABIs.
#[derive(Debug, Clone, Default)]
pub(crate) struct ErrorRegistry {
    by_selector: HashMap<[u8; 4], ErrorSig>,
}

/// The built-in table, computed once.
static BUILT_IN_REGISTRY: LazyLock<ErrorRegistry> = LazyLock::new(|| {
    let mut r = ErrorRegistry::default();
    for sig in BUILT_IN.iter().filter_map(|s| ErrorSig::parse_human(s)) {
        r.insert(sig);
    }
    r
});

impl ErrorRegistry {
    /// The built-in table of common errors.
    pub(crate) fn built_in() -> Self {
        BUILT_IN_REGISTRY.clone()
    }

    /// The built-in table plus every `"type": "error"` entry of the `*.json` files under `dir`
    /// (recursively, in name order; a later file wins a selector clash). A file may be an ABI
    /// array or an object with an `abi` array (Foundry and Hardhat artifacts).
    pub(crate) fn with_abi_dir(dir: &Path) -> Result<Self, AbiError> {
        let mut r = Self::built_in();
        let mut files = Vec::new();
        collect_json_files(dir, &mut files)?;
        files.sort();
        for path in files {
            let text = std::fs::read(&path).map_err(|source| AbiError::Read {
                path: path.clone(),
                source,
            })?;
            let doc: Value = serde_json::from_slice(&text).map_err(|source| AbiError::Json {
                path: path.clone(),
                source,
            })?;
            for sig in errors_of(&doc).map_err(|detail| AbiError::Shape {
                path: path.clone(),
                detail,
            })? {
                r.insert(sig);
            }
        }
        Ok(r)
    }

    fn insert(&mut self, sig: ErrorSig) {
        self.by_selector.insert(sig.selector(), sig);
    }

    /// The error with this selector, if known.
    pub(crate) fn get(&self, selector: [u8; 4]) -> Option<&ErrorSig> {
        self.by_selector.get(&selector)
    }

    /// How many selectors are known.
    pub(crate) fn len(&self) -> usize {
        self.by_selector.len()
    }
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), AbiError> {
    let read = |path: &Path, source| AbiError::Read {
        path: path.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(|e| read(dir, e))? {
        let path = entry.map_err(|e| read(dir, e))?.path();
        if path.is_dir() {
            collect_json_files(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The error entries of one ABI document.
fn errors_of(doc: &Value) -> Result<Vec<ErrorSig>, String> {
    let entries = match doc {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("abi") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(
                    "expected a JSON array of ABI entries or an object with an `abi` array".into(),
                );
            }
        },
        _ => {
            return Err(
                "expected a JSON array of ABI entries or an object with an `abi` array".into(),
            );
        }
    };
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if e.get("type").and_then(Value::as_str) != Some("error") {
            continue;
        }
        let name = e
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("entry {i} is an error without a `name`"))?;
        let inputs = match e.get("inputs") {
            None | Some(Value::Null) => &Vec::new(),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(format!("entry {i} (`{name}`): `inputs` is not an array")),
        };
        let params = inputs
            .iter()
            .enumerate()
            .map(|(j, p)| {
                let ty = canonical_type(p).ok_or_else(|| {
                    format!("entry {i} (`{name}`): input {j} has no valid `type`")
                })?;
                let pname = p.get("name").and_then(Value::as_str).unwrap_or_default();
                Ok((AbiType::parse(&ty), pname.to_owned()))
            })
            .collect::<Result<_, String>>()?;
        out.push(ErrorSig {
            name: name.to_owned(),
            params,
        });
    }
    Ok(out)
}

/// The canonical type of an ABI parameter: `tuple[2]` becomes `(t1,t2)[2]` from its
/// `components`; `uint`/`int` become `uint256`/`int256`.
fn canonical_type(p: &Value) -> Option<String> {
    let ty = p.get("type")?.as_str()?;
    if let Some(suffix) = ty.strip_prefix("tuple") {
        let comps = p.get("components")?.as_array()?;
        let inner = comps
            .iter()
            .map(canonical_type)
            .collect::<Option<Vec<_>>>()?;
        return Some(format!("({}){suffix}", inner.join(",")));
    }
    let (base, suffix) = ty.find('[').map_or((ty, ""), |i| ty.split_at(i));
    let base = match base {
        "uint" => "uint256",
        "int" => "int256",
        "" => return None,
        b => b,
    };
    Some(format!("{base}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector_of(sig: &str) -> [u8; 4] {
        ErrorSig::parse_human(sig).unwrap().selector()
    }

    #[test]
    fn built_in_selectors_match_known_values() {
        // Selectors as published by OpenZeppelin / 4byte.directory.
        for (sig, hex) in [
            (
                "ERC20InsufficientBalance(address sender,uint256 balance,uint256 needed)",
                "e450d38c",
            ),
            (
                "ERC20InsufficientAllowance(address spender,uint256 allowance,uint256 needed)",
                "fb8f41b2",
            ),
            ("ERC721NonexistentToken(uint256 tokenId)", "7e273289"),
            ("OwnableUnauthorizedAccount(address account)", "118cdaa7"),
            (
                "AccessControlUnauthorizedAccount(address account,bytes32 neededRole)",
                "e2517d3f",
            ),
            ("ReentrancyGuardReentrantCall()", "3ee5aeb5"),
            ("EnforcedPause()", "d93c0665"),
            ("ExpectedPause()", "8dfc202b"),
            ("SafeERC20FailedOperation(address token)", "5274afe7"),
            ("AddressEmptyCode(address target)", "9996b315"),
            ("FailedCall()", "d6bda275"),
            // Uniswap Universal Router; 0x849eaf98 is the revert data of mainnet transactions
            // 0x500915b2… and 0x701b1063… (block 16,899,757) to the router.
            ("V2TooLittleReceived()", "849eaf98"),
            ("V2TooMuchRequested()", "8ab0bc16"),
            ("V3TooLittleReceived()", "39d35496"),
            ("TransactionDeadlinePassed()", "5bf6f916"),
            (
                "ExecutionFailed(uint256 commandIndex,bytes message)",
                "2c4029e9",
            ),
        ] {
            let want: Vec<u8> = (0..4)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            assert_eq!(selector_of(sig).to_vec(), want, "{sig}");
            assert!(ErrorRegistry::built_in().get(selector_of(sig)).is_some());
        }
        assert_eq!(ErrorRegistry::built_in().len(), BUILT_IN.len());
    }

    #[test]
    fn types_parse_and_canonicalize() {
        assert_eq!(AbiType::parse("uint"), AbiType::Uint(256));
        assert_eq!(AbiType::parse("int8"), AbiType::Int(8));
        assert_eq!(AbiType::parse("bytes32"), AbiType::FixedBytes(32));
        assert_eq!(
            AbiType::parse("uint7"),
            AbiType::Unsupported("uint7".into())
        );
        assert_eq!(
            AbiType::parse("bytes33"),
            AbiType::Unsupported("bytes33".into())
        );
        assert_eq!(
            AbiType::parse("uint[]"),
            AbiType::Unsupported("uint[]".into())
        );
        let p: Value = serde_json::from_str(
            r#"{"type":"tuple[]","components":[{"type":"uint"},{"type":"tuple","components":[{"type":"address"}]}]}"#,
        )
        .unwrap();
        assert_eq!(canonical_type(&p).unwrap(), "(uint256,(address))[]");
    }

    #[test]
    fn abi_dir_loads_arrays_and_artifacts_and_names_bad_files() {
        let dir = std::env::temp_dir().join(format!("cw-abi-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("nested")).unwrap();
        std::fs::write(
            dir.join("a.json"),
            r#"[{"type":"function","name":"f","inputs":[]},
                {"type":"error","name":"TooLate","inputs":[{"name":"deadline","type":"uint"}]}]"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("nested/b.json"),
            r#"{"abi":[{"type":"error","name":"Nope","inputs":[]}],"bytecode":"0x"}"#,
        )
        .unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let r = ErrorRegistry::with_abi_dir(&dir).unwrap();
        let late = r.get(selector_of("TooLate(uint256)")).unwrap();
        assert_eq!(late.params, [(AbiType::Uint(256), "deadline".to_owned())]);
        assert!(r.get(selector_of("Nope()")).is_some());
        assert_eq!(r.len(), BUILT_IN.len() + 2);

        std::fs::write(dir.join("c.json"), "{not json").unwrap();
        let e = ErrorRegistry::with_abi_dir(&dir).unwrap_err();
        assert!(e.to_string().contains("c.json") && e.to_string().contains("not valid JSON"));
        std::fs::write(dir.join("c.json"), r#"{"contractName":"X"}"#).unwrap();
        let e = ErrorRegistry::with_abi_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("c.json") && e.contains("`abi` array"), "{e}");
        std::fs::write(dir.join("c.json"), r#"[{"type":"error","inputs":[]}]"#).unwrap();
        let e = ErrorRegistry::with_abi_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("c.json") && e.contains("entry 0"), "{e}");
        let e = ErrorRegistry::with_abi_dir(&dir.join("missing")).unwrap_err();
        assert!(matches!(e, AbiError::Read { .. }), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
