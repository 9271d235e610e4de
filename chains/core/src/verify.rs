//! The start-up check every adapter makes: each provider serves the configured chain.

use chainwatch_schema::ChainId;
use tracing::{info, warn};

use crate::{EndpointPool, FetchError, TRACE_TARGET};

/// What one provider answered when asked for its chain id at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainIdAnswer {
    /// It serves the configured chain.
    Matches,
    /// It serves another chain: its id as the chain prints it.
    Other(String),
    /// It could not tell (unreachable, an error, nothing at its URL): the short reason.
    Unknown(String),
}

/// Checks the providers of `pool` against `chain`, given each provider's answer in
/// configuration order, and returns how many were verified. `what` names the identity asked
/// for (`chain id`, `genesis hash`) in messages.
///
/// - The pool must serve `chain`, else [`FetchError::Permanent`] `invalid_config`.
/// - One provider on another chain fails the whole chain with [`FetchError::Permanent`]
///   `chain_id_mismatch` naming every such provider by label (never its URL).
/// - A provider that could not tell is logged and tolerated as long as another one verified;
///   if none did: [`FetchError::Transient`] `unreachable`.
pub fn check_chain_ids(
    chain: &ChainId,
    pool: &EndpointPool,
    what: &str,
    answers: Vec<ChainIdAnswer>,
) -> Result<usize, FetchError> {
    let (mut verified, mut mismatches, mut unknown) = (0usize, Vec::new(), Vec::new());
    for (label, answer) in pool.labels().zip(answers) {
        match answer {
            ChainIdAnswer::Matches => verified += 1,
            ChainIdAnswer::Other(id) => mismatches.push(format!(
                "provider `{label}` reports {what} {id} but the chain is configured as {chain}"
            )),
            ChainIdAnswer::Unknown(reason) => {
                warn!(
                    target: TRACE_TARGET,
                    chain = %chain,
                    provider = label,
                    reason = %reason,
                    what,
                    "provider unreachable at start; its chain identity is not verified"
                );
                unknown.push(format!("`{label}` ({reason})"));
            }
        }
    }
    if !mismatches.is_empty() {
        return Err(FetchError::permanent(
            "chain_id_mismatch",
            mismatches.join("; "),
        ));
    }
    if verified == 0 {
        return Err(FetchError::transient(
            "unreachable",
            format!(
                "no provider of {chain} could be reached to verify its {what} (tried {})",
                unknown.join(", ")
            ),
        ));
    }
    info!(target: TRACE_TARGET, chain = %chain, verified, providers = pool.len(), what, "chain identity verified");
    Ok(verified)
}

/// [`FetchError::Permanent`] `invalid_config` unless `pool` serves `chain`.
pub fn check_pool_serves(chain: &ChainId, pool: &EndpointPool) -> Result<(), FetchError> {
    if pool.chain() == chain {
        return Ok(());
    }
    Err(FetchError::permanent(
        "invalid_config",
        format!(
            "the provider pool serves {} but the adapter was asked to follow {chain}",
            pool.chain()
        ),
    ))
}
