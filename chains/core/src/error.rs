//! Fetch errors and their classification.

use std::{error::Error, fmt};

/// A boxed error source.
type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Why a fetch from a chain failed, classified by what the caller should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The thing asked for does not exist (yet). Retry at a constant interval.
    #[error("not found")]
    NotFound,
    /// Worth retrying: timeouts, rate limits, 5xx, unreachable providers. `reason` is a short
    /// `snake_case` label also used as a metric label.
    #[error("transient fetch error ({reason})")]
    Transient {
        /// Short label, e.g. `timeout`, `http_5xx`, `all_providers_failed`.
        reason: &'static str,
        /// What happened.
        #[source]
        source: BoxError,
    },
    /// Retrying will not help: wrong chain, unsupported method, a response that contradicts
    /// itself. Stops the chain's task.
    #[error("permanent fetch error ({reason})")]
    Permanent {
        /// Short label, e.g. `chain_id_mismatch`, `method_not_found`.
        reason: &'static str,
        /// What happened.
        #[source]
        source: BoxError,
    },
}

impl FetchError {
    /// A transient error with a message.
    pub fn transient(reason: &'static str, msg: impl Into<String>) -> Self {
        Self::Transient {
            reason,
            source: msg.into().into(),
        }
    }

    /// A permanent error with a message.
    pub fn permanent(reason: &'static str, msg: impl Into<String>) -> Self {
        Self::Permanent {
            reason,
            source: msg.into().into(),
        }
    }

    /// The short reason label (`not_found` for [`FetchError::NotFound`]).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Transient { reason, .. } | Self::Permanent { reason, .. } => reason,
        }
    }

    /// Whether retrying may help.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Permanent { .. })
    }
}

/// A failed request to one provider. Its message has been scrubbed of the provider's URL.
#[derive(Debug, Clone, thiserror::Error)]
#[error("provider `{provider}`: {message}")]
pub struct RpcError {
    /// The provider's label.
    pub provider: String,
    /// Short reason label (`timeout`, `connect`, `http_5xx`, `rate_limited`, `decode`, `rpc_error`,
    /// `method_not_found`, `invalid_params`, `execution_reverted`, `node_behind`, `slot_skipped`,
    /// `block_not_available`).
    pub reason: &'static str,
    /// JSON-RPC error code, if the provider answered with one.
    pub code: Option<i64>,
    /// Scrubbed description.
    pub message: String,
    /// The JSON-RPC error's `data`, when the provider sent one (for a reverted `eth_call`: the
    /// revert data, hex).
    pub data: Option<serde_json::Value>,
}

/// Formats an error with all its sources, `outer: inner: innermost`, for one-line logs and exit
/// messages.
#[derive(Debug)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cur = self.0.source();
        while let Some(e) = cur {
            write!(f, ": {e}")?;
            cur = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_formats_sources() {
        let e = FetchError::permanent("chain_id_mismatch", "provider `a` reports chain id 1");
        assert_eq!(
            ErrorChain(&e).to_string(),
            "permanent fetch error (chain_id_mismatch): provider `a` reports chain id 1"
        );
        assert!(!e.is_retryable());
        assert!(FetchError::NotFound.is_retryable());
    }
}
