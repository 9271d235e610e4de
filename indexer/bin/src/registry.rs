//! The adapter registry: one line per chain family, each behind its cargo feature.

use std::sync::Arc;

use chainwatch_chain_core::{ChainAdapter, EndpointPool, FetchError, PoolConfig};
use chainwatch_schema::ChainId;

use crate::config::ChainSection;

/// Families this build can follow.
pub(crate) const FAMILIES: &[&str] = &[
    #[cfg(feature = "evm")]
    "evm",
    #[cfg(feature = "aptos")]
    "aptos",
    #[cfg(feature = "sui")]
    "sui",
    #[cfg(feature = "solana")]
    "solana",
];

/// Builds and verifies the adapter of one configured chain (e.g. checks every provider's chain
/// id).
pub(crate) async fn connect(
    id: &ChainId,
    section: &ChainSection,
    mut pool_cfg: PoolConfig,
) -> Result<Arc<dyn ChainAdapter>, FetchError> {
    if let Some(q) = section.quorum {
        pool_cfg.quorum.quorum = Some(q);
    }
    if let Some(l) = section.max_provider_lag_blocks {
        pool_cfg.quorum.max_lag_blocks = l;
    }
    let pool = Arc::new(EndpointPool::new(
        id.clone(),
        section.providers.clone(),
        pool_cfg,
    )?);
    match id.family() {
        #[cfg(feature = "evm")]
        "evm" => {
            reject_evm_only_keys(
                id,
                section,
                "EVM finality is its safe and finalized tags or depths",
            )?;
            let chain_id: u64 = id.network().parse().unwrap_or_default();
            let mut opts = chainwatch_chain_evm::EvmOptions::for_chain_id(chain_id);
            if let Some(d) = section.max_reorg_depth {
                opts.max_reorg_depth = d;
            }
            if let Some(f) = &section.finality {
                opts.finality = f.parse().map_err(|e| {
                    FetchError::permanent(
                        "invalid_config",
                        format!("chains.\"{id}\".finality: {e}"),
                    )
                })?;
            }
            if let Some(d) = section.safe_depth {
                opts.safe_depth = d;
            }
            if let Some(d) = section.finalized_depth {
                opts.finalized_depth = d;
            }
            if opts.safe_depth > opts.finalized_depth || opts.finalized_depth > opts.max_reorg_depth
            {
                return Err(FetchError::permanent(
                    "invalid_config",
                    format!(
                        "chains.\"{id}\": expected safe_depth ({}) <= finalized_depth ({}) <= max_reorg_depth ({})",
                        opts.safe_depth, opts.finalized_depth, opts.max_reorg_depth
                    ),
                ));
            }
            opts.abi_dir.clone_from(&section.abi_dir);
            Ok(Arc::new(
                chainwatch_chain_evm::EvmAdapter::connect(id.clone(), pool, opts).await?,
            ))
        }
        #[cfg(feature = "aptos")]
        "aptos" => {
            reject_evm_only_keys(id, section, "Aptos blocks are final once committed")?;
            Ok(Arc::new(
                chainwatch_chain_aptos::AptosAdapter::connect(id.clone(), pool, Default::default())
                    .await?,
            ))
        }
        #[cfg(feature = "sui")]
        "sui" => {
            reject_evm_only_keys(id, section, "Sui checkpoints are final")?;
            Ok(Arc::new(
                chainwatch_chain_sui::SuiAdapter::connect(id.clone(), pool).await?,
            ))
        }
        #[cfg(feature = "solana")]
        "solana" => {
            reject_evm_only_keys(id, section, "Solana finality is its commitment levels")?;
            let mut opts = chainwatch_chain_solana::SolanaOptions::default();
            if let Some(d) = section.max_reorg_depth {
                opts.max_reorg_depth = d;
            }
            if let Some(c) = &section.commitment {
                opts.follow = c.parse().map_err(|e| {
                    FetchError::permanent(
                        "invalid_config",
                        format!("chains.\"{id}\".commitment: {e}"),
                    )
                })?;
            }
            Ok(Arc::new(
                chainwatch_chain_solana::SolanaAdapter::connect(id.clone(), pool, opts).await?,
            ))
        }
        other => Err(FetchError::permanent(
            "invalid_config",
            format!("chain family `{other}` is not compiled into this build"),
        )),
    }
}

/// EVM-only keys (`finality`, `safe_depth`, `finalized_depth`, `abi_dir`) and Solana's
/// `commitment` set on a chain of another family are a configuration error naming the key: they
/// would otherwise be silently ignored. `why` says how the family reaches finality.
#[allow(dead_code)] // unused in a build with only the `evm` family
fn reject_evm_only_keys(id: &ChainId, section: &ChainSection, why: &str) -> Result<(), FetchError> {
    let family = id.family();
    let foreign = [
        (
            "finality",
            "EVM",
            section.finality.is_some() && family != "evm",
        ),
        (
            "safe_depth",
            "EVM",
            section.safe_depth.is_some() && family != "evm",
        ),
        (
            "finalized_depth",
            "EVM",
            section.finalized_depth.is_some() && family != "evm",
        ),
        (
            "abi_dir",
            "EVM",
            section.abi_dir.is_some() && family != "evm",
        ),
        (
            "commitment",
            "Solana",
            section.commitment.is_some() && family != "solana",
        ),
    ];
    match foreign.iter().find(|(_, _, set)| *set) {
        None => Ok(()),
        Some((key, owner, _)) => Err(FetchError::permanent(
            "invalid_config",
            format!("chains.\"{id}\".{key} applies to {owner} chains only ({why})"),
        )),
    }
}

/// Options of `chainwatch decode`; each family reads those it uses.
#[derive(Debug, Default)]
pub(crate) struct DecodeOptions {
    /// EVM: JSON ABIs whose custom errors decode failure reasons.
    pub(crate) abi_dir: Option<std::path::PathBuf>,
}

/// Decodes raw RPC JSON files of `chain` (`chainwatch decode`), offline: each family's decoder
/// recognizes its files by their shape, joins them and returns the one output shape of every
/// family. `files` are `(path, contents)`; errors are one line naming the file at fault.
pub(crate) fn decode(
    chain: &ChainId,
    opts: &DecodeOptions,
    files: &[(std::path::PathBuf, Vec<u8>)],
) -> Result<chainwatch_schema::Decoded, String> {
    match chain.family() {
        #[cfg(feature = "evm")]
        "evm" => {
            let named: Vec<(String, &[u8])> = files
                .iter()
                .map(|(path, bytes)| (path.display().to_string(), bytes.as_slice()))
                .collect();
            chainwatch_chain_evm::decode_files_with_abi_dir(chain, &named, opts.abi_dir.as_deref())
                .map_err(|e| chainwatch_chain_core::ErrorChain(&e).to_string())
        }
        #[cfg(feature = "aptos")]
        "aptos" => {
            let named: Vec<(String, Vec<u8>)> = files
                .iter()
                .map(|(p, b)| (p.display().to_string(), b.clone()))
                .collect();
            chainwatch_chain_aptos::decode_files(chain, &named)
                .map_err(|e| chainwatch_chain_core::ErrorChain(&e).to_string())
        }
        #[cfg(feature = "sui")]
        "sui" => {
            let named: Vec<(String, &[u8])> = files
                .iter()
                .map(|(path, bytes)| (path.display().to_string(), bytes.as_slice()))
                .collect();
            chainwatch_chain_sui::decode_files(chain, &named)
                .map_err(|e| chainwatch_chain_core::ErrorChain(&e).to_string())
        }
        #[cfg(feature = "solana")]
        "solana" => {
            let named: Vec<(String, &[u8])> = files
                .iter()
                .map(|(path, bytes)| (path.display().to_string(), bytes.as_slice()))
                .collect();
            chainwatch_chain_solana::decode_files(chain, &named)
                .map_err(|e| chainwatch_chain_core::ErrorChain(&e).to_string())
        }
        other => Err(format!(
            "chain family `{other}` is not supported by this build (supported: {})",
            FAMILIES.join(", ")
        )),
    }
}
