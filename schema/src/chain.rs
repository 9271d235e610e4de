//! Chain identifiers.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A chain, written `family:network`: `evm:1`, `evm:137`, `solana:mainnet`, `aptos:1`,
/// `sui:mainnet`.
///
/// The family selects the adapter; the network is the family's own name for the network (the
/// EVM chain id, a cluster name). Both parts are ASCII: the family is lowercase letters and digits,
/// the network letters, digits, `-` and `_`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChainId {
    id: String,
    colon: usize,
}

/// Why a string is not a [`ChainId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainIdError {
    /// No `:` separating family and network.
    #[error("chain id `{0}` is not of the form family:network (e.g. evm:1)")]
    MissingColon(String),
    /// The family part is empty or has characters other than `a-z0-9`.
    #[error("chain id `{0}` has an invalid family: expected lowercase letters and digits")]
    BadFamily(String),
    /// The network part is empty or has characters other than `A-Za-z0-9-_`.
    #[error("chain id `{0}` has an invalid network: expected letters, digits, `-` or `_`")]
    BadNetwork(String),
}

impl ChainId {
    /// Parses and validates `family:network`.
    pub fn new(id: impl Into<String>) -> Result<Self, ChainIdError> {
        let id = id.into();
        let Some(colon) = id.find(':') else {
            return Err(ChainIdError::MissingColon(id));
        };
        let (family, network) = (&id[..colon], &id[colon + 1..]);
        if family.is_empty()
            || !family
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(ChainIdError::BadFamily(id));
        }
        if network.is_empty()
            || network.len() > 64
            || !network
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ChainIdError::BadNetwork(id));
        }
        Ok(Self { id, colon })
    }

    /// The family, e.g. `evm`.
    pub fn family(&self) -> &str {
        &self.id[..self.colon]
    }

    /// The network within the family, e.g. `1` for Ethereum mainnet.
    pub fn network(&self) -> &str {
        &self.id[self.colon + 1..]
    }

    /// The whole id, e.g. `evm:1`.
    pub fn as_str(&self) -> &str {
        &self.id
    }
}

impl FromStr for ChainId {
    type Err = ChainIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ChainId {
    type Error = ChainIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ChainId> for String {
    fn from(c: ChainId) -> Self {
        c.id
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_families_and_networks() {
        let c: ChainId = "evm:137".parse().unwrap();
        assert_eq!((c.family(), c.network()), ("evm", "137"));
        let c: ChainId = "solana:mainnet-beta".parse().unwrap();
        assert_eq!((c.family(), c.network()), ("solana", "mainnet-beta"));
    }

    #[test]
    fn rejects_malformed_ids() {
        assert!(matches!(
            ChainId::new("evm"),
            Err(ChainIdError::MissingColon(_))
        ));
        assert!(matches!(
            ChainId::new(":1"),
            Err(ChainIdError::BadFamily(_))
        ));
        assert!(matches!(
            ChainId::new("EVM:1"),
            Err(ChainIdError::BadFamily(_))
        ));
        assert!(matches!(
            ChainId::new("evm:"),
            Err(ChainIdError::BadNetwork(_))
        ));
        assert!(matches!(
            ChainId::new("evm:1 2"),
            Err(ChainIdError::BadNetwork(_))
        ));
        let e = ChainId::new("evm").unwrap_err().to_string();
        assert!(e.contains("`evm`") && e.contains("family:network"), "{e}");
    }

    #[test]
    fn serde_round_trip_validates() {
        let c: ChainId = serde_json::from_str("\"evm:1\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"evm:1\"");
        assert!(serde_json::from_str::<ChainId>("\"nope\"").is_err());
    }
}
