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
/// - `evm`, or any `0x…` hash when the family is unknown: `0x` and 64 hex digits.
/// - other families: 1 to 128 ASCII letters or digits (base58, or `0x` hex).
pub(crate) fn normalize_hash(family: Option<&str>, raw: &str) -> Result<String, ApiError> {
    if family == Some("evm") || (family.is_none() && is_0x(raw)) {
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
/// - other families: 1 to 128 ASCII letters or digits (base58, or `0x` hex).
pub(crate) fn normalize_address(family: &str, raw: &str) -> Result<String, ApiError> {
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
            ApiError::Internal(e) => panic!("unexpected {e:?}"),
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
        for bad in ["", "has space", "semi;colon", &"a".repeat(129)] {
            let m = message(normalize_hash(Some("sui"), bad).unwrap_err());
            assert!(m.contains("expected 1 to 128 letters or digits"), "{m}");
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
                ApiError::Internal(e) => panic!("unexpected {e:?}"),
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
                ApiError::Internal(e) => panic!("unexpected {e:?}"),
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
            ApiError::Internal(e) => panic!("unexpected {e:?}"),
        }
    }
}
