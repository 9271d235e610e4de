//! `chainwatch decode`: raw RPC JSON files → normalized JSON, with no network or database.

use anyhow::Context as _;
use chainwatch_schema::ChainId;

use crate::{
    cli::DecodeArgs,
    config::{Config, ConfigError},
    registry::{self, DecodeOptions},
};

/// Reads every file, decodes them together with the chain family's decoder and prints the
/// [`chainwatch_schema::Decoded`] result as pretty JSON on stdout.
///
/// A bad `--chain` (or a family this build lacks) is a [`ConfigError`]; a missing file or one
/// the decoder rejects is an error naming the file. `--abi-dir` defaults to the chain's
/// `abi_dir` in `cfg`.
pub(crate) fn decode(cfg: &Config, args: &DecodeArgs) -> anyhow::Result<()> {
    let chain: ChainId = args
        .chain
        .parse()
        .map_err(|e| ConfigError(format!("--chain: {e}")))?;
    if !registry::FAMILIES.contains(&chain.family()) {
        return Err(ConfigError(format!(
            "--chain {chain}: chain family `{}` is not supported by this build (supported: {})",
            chain.family(),
            registry::FAMILIES.join(", ")
        ))
        .into());
    }
    let files = args
        .files
        .iter()
        .map(|path| {
            std::fs::read(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map(|bytes| (path.clone(), bytes))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let opts = DecodeOptions {
        abi_dir: args.abi_dir.clone().or_else(|| {
            cfg.chains
                .get(chain.as_str())
                .and_then(|s| s.abi_dir.clone())
        }),
    };
    let decoded = registry::decode(&chain, &opts, &files).map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string_pretty(&decoded)?);
    Ok(())
}
