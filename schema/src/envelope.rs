//! The versioned bus envelope.

use serde::{Deserialize, Serialize};

use crate::{ChainEvent, ChainId};

/// The envelope version this build writes and reads.
pub const ENVELOPE_VERSION: u16 = 1;

/// What travels on the bus: one event of one chain, with its per-chain sequence number.
///
/// `seq` starts at 1 and increases by one per event of a chain; consumers skip any envelope
/// whose `seq` is at or below their watermark, which makes redelivery harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Envelope version, [`ENVELOPE_VERSION`].
    pub v: u16,
    /// The chain the event belongs to.
    pub chain: ChainId,
    /// Per-chain sequence number.
    pub seq: u64,
    /// The event.
    pub event: ChainEvent,
}

/// Why bytes could not be decoded as an [`Envelope`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The envelope names a version this build does not know.
    #[error("unknown envelope version {found} (this build reads version {ENVELOPE_VERSION})")]
    UnknownVersion {
        /// The version found.
        found: u64,
    },
    /// Not valid JSON of the envelope's shape.
    #[error("malformed envelope")]
    Malformed(#[source] serde_json::Error),
}

impl Envelope {
    /// A current-version envelope.
    pub fn new(chain: ChainId, seq: u64, event: ChainEvent) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            chain,
            seq,
            event,
        }
    }

    /// Encodes as JSON bytes.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing this type cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes JSON bytes, rejecting unknown versions.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        #[derive(Deserialize)]
        struct Version {
            v: u64,
        }
        match serde_json::from_slice::<Self>(bytes) {
            Ok(env) if env.v == ENVELOPE_VERSION => Ok(env),
            Ok(env) => Err(EnvelopeError::UnknownVersion {
                found: env.v.into(),
            }),
            Err(e) => match serde_json::from_slice::<Version>(bytes) {
                Ok(Version { v }) if v != u64::from(ENVELOPE_VERSION) => {
                    Err(EnvelopeError::UnknownVersion { found: v })
                }
                _ => Err(EnvelopeError::Malformed(e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Block, BlockRef, Transaction, TxStatus};

    fn sample() -> Envelope {
        let chain: ChainId = "evm:31337".parse().unwrap();
        Envelope::new(
            chain.clone(),
            7,
            ChainEvent::Apply {
                block: Block {
                    chain,
                    block_ref: BlockRef::new(5, "0xab"),
                    parent_hash: "0xaa".into(),
                    timestamp_ms: 1_700_000_000_000,
                    txs: vec![Transaction {
                        hash: "0x01".into(),
                        index: 0,
                        sender: Some("0xf0".into()),
                        to: None,
                        nonce: Some(3),
                        value: Some("10".into()),
                        fee: Some("21000".into()),
                        status: TxStatus::Succeeded,
                        failure: None,
                        extra: serde_json::json!({"gas_used": 21000}),
                    }],
                },
            },
        )
    }

    #[test]
    fn round_trips() {
        let env = sample();
        assert_eq!(Envelope::decode(&env.encode()).unwrap(), env);
    }

    #[test]
    fn rejects_unknown_version_and_garbage() {
        let mut env = sample();
        env.v = 9;
        let err = Envelope::decode(&env.encode()).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::UnknownVersion { found: 9 }),
            "{err}"
        );
        let err = Envelope::decode(br#"{"v":2,"whatever":true}"#).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::UnknownVersion { found: 2 }),
            "{err}"
        );
        let err = Envelope::decode(b"not json").unwrap_err();
        assert!(matches!(err, EnvelopeError::Malformed(_)), "{err}");
    }
}
