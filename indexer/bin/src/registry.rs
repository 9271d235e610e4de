//! The adapter registry: one line per chain family, each behind its cargo feature.

use std::sync::Arc;

use chainwatch_chain_core::{ChainAdapter, EndpointPool, FetchError, PoolConfig};
use chainwatch_schema::ChainId;

use crate::config::ChainSection;

/// Families this build can follow.
pub(crate) const FAMILIES: &[&str] = &[
    #[cfg(feature = "evm")]
    "evm",
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
        #[cfg(feature = "solana")]
        "solana" => {
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
        #[cfg(feature = "solana")]
        "solana" => {
            let _ = opts;
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
