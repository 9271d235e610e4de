//! Argument checks: chain ids, transaction hashes, addresses and page sizes.

use chainwatch_schema::ChainId;

use crate::error::ApiError;

/// Longest hash any family uses, with room (Solana signatures are 87–88 base58 characters).
const MAX_HASH_LEN: usize = 128;
/// How much of a bad value an error message repeats.
const MAX_SHOWN: usize = 80;

/// `raw` quoted for an error message, cut to [`MAX_SHOWN`] characters.
pub(crate) fn shown(raw: &str) -> String {
    match raw.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{:?}…", &raw[..cut]),
        None => format!("{raw:?}"),
    }
}

/// Parses a `family:network` chain id given as `argument`.
pub(crate) fn parse_chain(argument: &'static str, raw: &str) -> Result<ChainId, ApiError> {
    ChainId::new(raw).map_err(|_| {
        ApiError::bad_request(
            argument,
            format!(
                "invalid chain {}: expected family:network, e.g. evm:1 or solana:mainnet",
                shown(raw)
            ),
        )
    })
}

fn is_0x(raw: &str) -> bool {
    raw.starts_with("0x") || raw.starts_with("0X")
}

/// Checks a transaction hash for `family` (`None`: any chain) and returns it in the form the
/// store keeps: `0x` hex lowercased, anything else unchanged.
///
/// - `evm` and `aptos`, or any `0x…` hash when the family is unknown: `0x` and 64 hex digits.
/// - `sui`: a base58 digest of 32 bytes (32 to 44 characters of the base58 alphabet).
/// - other families: 1 to 128 ASCII letters or digits (base58, or `0x` hex).
pub(crate) fn normalize_hash(family: Option<&str>, raw: &str) -> Result<String, ApiError> {
    if matches!(family, Some("evm" | "aptos")) || (family.is_none() && is_0x(raw)) {
        let ok = raw.len() == 66 && is_0x(raw) && raw[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(ApiError::bad_request(
                "hash",
                format!(
                    "invalid hash {}: expected 0x followed by 64 hex digits",
                    shown(raw)
                ),
            ));
        }
        return Ok(raw.to_ascii_lowercase());
    }
    if family == Some("sui") {
        // A digest is 32 bytes in base58: 32 to 44 characters of its alphabet (no 0, O, I, l).
        let ok = (32..=44).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'));
        if !ok {
            return Err(ApiError::bad_request(
                "hash",
                format!(
                    "invalid hash {}: expected a Sui transaction digest (base58 of 32 bytes, 32 to 44 characters)",
                    shown(raw)
                ),
            ));
        }
        return Ok(raw.to_owned());
    }
    let ok = !raw.is_empty()
        && raw.len() <= MAX_HASH_LEN
        && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if !ok {
        return Err(ApiError::bad_request(
            "hash",
            format!(
                "invalid hash {}: expected 1 to {MAX_HASH_LEN} letters or digits (base58 or 0x-prefixed hex)",
                shown(raw)
            ),
        ));
    }
    if is_0x(raw) && raw[2..].bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Ok(raw.to_owned())
    }
}

/// Longest address any family uses, with room.
const MAX_ADDRESS_LEN: usize = 128;

/// Checks an address (argument `address`) for `family` and returns it in the form the store
/// keeps: lowercase on EVM, `0x` hex lowercased elsewhere, anything else unchanged.
///
/// - `evm`: `0x` and 40 hex digits, any case.
/// - `aptos`: `0x` and 1 to 64 hex digits, any case, in the form the Aptos adapter stores (AIP-40):
///   `0x0` to `0xf` short (`0x1`, also when written `0x00…01`), every other address padded to
///   64 digits.
/// - other families: 1 to 128 ASCII letters or digits (base58, or `0x` hex).
pub(crate) fn normalize_address(family: &str, raw: &str) -> Result<String, ApiError> {
    if family == "aptos" {
        let digits = raw.get(2..).filter(|_| is_0x(raw)).unwrap_or_default();
        let ok = (1..=64).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(ApiError::bad_request(
                "address",
                format!(
                    "invalid address {}: expected 0x followed by 1 to 64 hex digits (an Aptos address)",
                    shown(raw)
                ),
            ));
        }
        let lower = digits.to_ascii_lowercase();
        let trimmed = lower.trim_start_matches('0');
        return Ok(match trimmed.len() {
            0 => "0x0".to_owned(),
            1 => format!("0x{trimmed}"),
            _ => format!("0x{lower:0>64}"),
        });
    }
    if family == "evm" {
        let ok = raw.len() == 42 && is_0x(raw) && raw[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(ApiError::bad_request(
                "address",
                format!(
                    "invalid address {}: expected 0x followed by 40 hex digits",
                    shown(raw)
                ),
            ));
        }
        return Ok(raw.to_ascii_lowercase());
    }
    let ok = !raw.is_empty()
        && raw.len() <= MAX_ADDRESS_LEN
        && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if !ok {
        return Err(ApiError::bad_request(
            "address",
            format!(
                "invalid address {}: expected 1 to {MAX_ADDRESS_LEN} letters or digits",
                shown(raw)
            ),
        ));
    }
    if is_0x(raw) && raw[2..].bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Ok(raw.to_owned())
    }
}

/// Page size when `first` is null (an unset variable): 20, or `max` if smaller.
const DEFAULT_PAGE_SIZE: usize = 20;

/// Checks a page size (argument `first`): 1 to `max`; null means the default.
pub(crate) fn page_size(first: Option<i32>, max: usize) -> Result<usize, ApiError> {
    let Some(first) = first else {
        return Ok(DEFAULT_PAGE_SIZE.min(max).max(1));
    };
    match usize::try_from(first) {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(
            "first",
            format!("invalid first {first}: expected 1 to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: ApiError) -> String {
        match e {
            ApiError::BadRequest { message, argument } => {
                assert_eq!(argument, "hash");
                message
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    const H: &str = "0xabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

    #[test]
    fn evm_hashes_are_hex_and_lowercased() {
        assert_eq!(normalize_hash(Some("evm"), H).unwrap(), H);
        let upper = format!("0x{}", H[2..].to_ascii_uppercase());
        assert_eq!(normalize_hash(Some("evm"), &upper).unwrap(), H);
        assert_eq!(normalize_hash(None, &upper).unwrap(), H);
        for bad in [
            "0x12",
            "",
            "abc",
            &H[2..],
            &format!("{H}00"),
            &H.replace('a', "g"),
        ] {
            let m = message(normalize_hash(Some("evm"), bad).unwrap_err());
            assert!(m.contains("expected 0x followed by 64 hex digits"), "{m}");
            assert!(m.contains(&format!("{bad:?}")), "{m}");
        }
        // Without a family, 0x means hex.
        assert!(normalize_hash(None, "0x12").is_err());
    }

    #[test]
    fn other_families_take_base58_as_is() {
        let sig = "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW";
        assert_eq!(normalize_hash(Some("solana"), sig).unwrap(), sig);
        assert_eq!(normalize_hash(None, sig).unwrap(), sig);
        // Sui digests are base58 (32 bytes): kept as they are, on Sui and across chains.
        let digest = "J2Vkui75vgoLvCmNiREVKwpeTVPCq5EQ71i2ETahP6R9";
        assert_eq!(normalize_hash(Some("sui"), digest).unwrap(), digest);
        assert_eq!(normalize_hash(None, digest).unwrap(), digest);
        // Aptos hashes are 0x hex: lowercased like EVM's.
        let upper = format!("0x{}", H[2..].to_ascii_uppercase());
        assert_eq!(normalize_hash(Some("aptos"), &upper).unwrap(), H);
        let m = message(normalize_hash(Some("aptos"), "0x12").unwrap_err());
        assert!(m.contains("expected 0x followed by 64 hex digits"), "{m}");
        for bad in ["", "has space", "semi;colon", &"a".repeat(129)] {
            let m = message(normalize_hash(Some("solana"), bad).unwrap_err());
            assert!(m.contains("expected 1 to 128 letters or digits"), "{m}");
        }
        for bad in [
            "J2Vk",
            "0x12",
            &format!("{digest}0"),
            &digest.replace('V', "l"),
            "",
        ] {
            let m = message(normalize_hash(Some("sui"), bad).unwrap_err());
            assert!(m.contains("expected a Sui transaction digest"), "{m}");
        }
    }

    #[test]
    fn addresses_are_checked_per_family() {
        let a = "0xAbCdEf0123456789abcdef0123456789ABCDEF01";
        assert_eq!(normalize_address("evm", a).unwrap(), a.to_ascii_lowercase());
        for bad in ["", "0x12", &a[2..], &format!("{a}0"), &a.replace('A', "G")] {
            match normalize_address("evm", bad).unwrap_err() {
                ApiError::BadRequest { argument, message } => {
                    assert_eq!(argument, "address");
                    assert!(
                        message.contains("0x followed by 40 hex digits"),
                        "{message}"
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        // Aptos: the AIP-40 form the adapter stores.
        let long = "0x0324df1e27c4129a58d73851ae0e9366064dc666a73e747051e203694a4cb257";
        assert_eq!(normalize_address("aptos", long).unwrap(), long);
        assert_eq!(
            normalize_address("aptos", &long.replace("0x0", "0x")).unwrap(),
            long
        );
        assert_eq!(
            normalize_address("aptos", &long.to_ascii_uppercase().replace("0X", "0x")).unwrap(),
            long
        );
        assert_eq!(normalize_address("aptos", "0x1").unwrap(), "0x1");
        assert_eq!(
            normalize_address("aptos", &format!("0x{:0>64}", "a")).unwrap(),
            "0xa"
        );
        assert_eq!(
            normalize_address("aptos", "0x10").unwrap(),
            format!("0x{:0>64}", "10")
        );
        for bad in ["", "0x", "1", "0xg", &format!("0x{}", "1".repeat(65))] {
            match normalize_address("aptos", bad).unwrap_err() {
                ApiError::BadRequest { argument, message } => {
                    assert_eq!(argument, "address");
                    assert!(
                        message.contains("1 to 64 hex digits (an Aptos address)"),
                        "{message}"
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let sol = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
        assert_eq!(normalize_address("solana", sol).unwrap(), sol);
        assert_eq!(normalize_address("sui", "0xAB").unwrap(), "0xab");
        let sui = "0x7D20dcdb2bca4f508ea9613994683eb4e76e9c4ed371169677c1be02aaf0b58e";
        assert_eq!(
            normalize_address("sui", sui).unwrap(),
            sui.to_ascii_lowercase()
        );
        for bad in ["", "a b", &"a".repeat(129)] {
            assert!(normalize_address("solana", bad).is_err());
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(Some(1), 100).unwrap(), 1);
        assert_eq!(page_size(Some(100), 100).unwrap(), 100);
        assert_eq!(page_size(None, 100).unwrap(), 20);
        assert_eq!(page_size(None, 5).unwrap(), 5);
        for bad in [0, -1, 101, i32::MIN] {
            match page_size(Some(bad), 100).unwrap_err() {
                ApiError::BadRequest { argument, message } => {
                    assert_eq!(argument, "first");
                    assert_eq!(message, format!("invalid first {bad}: expected 1 to 100"));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(10_000);
        let m = message(normalize_hash(Some("evm"), &long).unwrap_err());
        assert!(m.len() < 200, "{m}");
        assert!(m.contains('…'));
    }

    #[test]
    fn chains_must_parse() {
        assert_eq!(parse_chain("chain", "evm:1").unwrap().as_str(), "evm:1");
        assert_eq!(parse_chain("chain", "sui:testnet").unwrap().family(), "sui");
        match parse_chain("chain", "nope").unwrap_err() {
            ApiError::BadRequest { argument, message } => {
                assert_eq!(argument, "chain");
                assert!(
                    message.starts_with("invalid chain \"nope\": expected family:network"),
                    "{message}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
