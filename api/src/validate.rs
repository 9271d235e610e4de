//! Argument checks: chain ids and transaction hashes.

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
        // Aptos hashes are 0x hex: lowercased like EVM's.
        let upper = format!("0x{}", H[2..].to_ascii_uppercase());
        assert_eq!(normalize_hash(Some("aptos"), &upper).unwrap(), H);
        for bad in ["", "has space", "semi;colon", &"a".repeat(129)] {
            let m = message(normalize_hash(Some("sui"), bad).unwrap_err());
            assert!(m.contains("expected 1 to 128 letters or digits"), "{m}");
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
