//! Canonical text forms of Aptos addresses and hashes, and the decimal-string integers of the
//! REST API.

use serde::{Deserialize, Deserializer, de};

/// The canonical form of an Aptos account address (AIP-40): lowercase `0x` hex; special
/// addresses (`0x0` to `0xf`) short, every other address padded to 64 digits. Accepts 1 to 64
/// hex digits after `0x` (older REST answers trim leading zeros: `0x324d…257` has 63 digits).
///
/// ```
/// use chainwatch_chain_aptos::canonical_address;
/// assert_eq!(canonical_address("0x0000000000000000000000000000000000000000000000000000000000000001").unwrap(), "0x1");
/// assert_eq!(canonical_address("0xA").unwrap(), "0xa");
/// assert_eq!(canonical_address("0x10").unwrap(), format!("0x{:0>64}", "10"));
/// assert!(canonical_address("1").is_err());
/// ```
pub fn canonical_address(raw: &str) -> Result<String, String> {
    let digits = raw
        .strip_prefix("0x")
        .or_else(|| raw.strip_prefix("0X"))
        .ok_or_else(|| format!("address {raw:?} does not start with 0x"))?;
    if digits.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "address {raw:?} is not 0x followed by 1 to 64 hex digits"
        ));
    }
    let lower = digits.to_ascii_lowercase();
    let trimmed = lower.trim_start_matches('0');
    if trimmed.len() <= 1 {
        return Ok(format!(
            "0x{}",
            if trimmed.is_empty() { "0" } else { trimmed }
        ));
    }
    Ok(format!("0x{lower:0>64}"))
}

/// A transaction or block hash: `0x` and 64 hex digits, returned lowercase.
pub(crate) fn canonical_hash(raw: &str) -> Result<String, String> {
    let ok = raw.len() == 66
        && (raw.starts_with("0x") || raw.starts_with("0X"))
        && raw[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(format!("hash {raw:?} is not 0x followed by 64 hex digits"))
    }
}

/// Deserializes the REST API's `U64` (a decimal string, e.g. `"20083"`).
pub(crate) fn u64_str<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    s.parse().map_err(|_| {
        de::Error::invalid_value(de::Unexpected::Str(&s), &"a decimal u64 in a string")
    })
}

/// [`u64_str`] for optional fields (absent or `null` is `None`).
pub(crate) fn opt_u64_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
    s.map(|s| {
        s.parse().map_err(|_| {
            de::Error::invalid_value(de::Unexpected::Str(&s), &"a decimal u64 in a string")
        })
    })
    .transpose()
}

/// Standard base64 (with or without padding) to bytes; `None` if it is not base64.
pub(crate) fn base64(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Left-over bits must be zero padding of the last character.
    (acc == 0 && bits < 6).then_some(out)
}

/// `0x` + lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(canonical_address("0x0").unwrap(), "0x0");
        assert_eq!(canonical_address("0x000f").unwrap(), "0xf");
        // 63 digits as older REST answers print them.
        let short = "0x324df1e27c4129a58d73851ae0e9366064dc666a73e747051e203694a4cb257";
        assert_eq!(
            canonical_address(short).unwrap(),
            "0x0324df1e27c4129a58d73851ae0e9366064dc666a73e747051e203694a4cb257"
        );
        assert!(canonical_address("0x").is_err());
        assert!(canonical_address("0xg1").is_err());
        assert!(canonical_address(&format!("0x{}", "1".repeat(65))).is_err());
    }

    #[test]
    fn base64_round_trips_known_values() {
        // The gRPC fixture's hash and its hex form.
        let h = base64("ZSSMNndibWMQCmYMxfpuZMk9V9CY5N4Y7AqfQrepeoI=").unwrap();
        assert_eq!(
            hex(&h),
            "0x65248c3677626d63100a660cc5fa6e64c93d57d098e4de18ec0a9f42b7a97a82"
        );
        assert_eq!(base64("TWFu").unwrap(), b"Man");
        assert_eq!(base64("TWE=").unwrap(), b"Ma");
        assert!(base64("T!==").is_none());
    }
}
