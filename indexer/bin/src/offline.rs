//! `chainwatch decode`: raw RPC JSON files → normalized JSON, with no network or database.

use anyhow::Context as _;
use chainwatch_schema::ChainId;

use crate::{cli::DecodeArgs, config::ConfigError, registry};

/// Reads every file, decodes them together with the chain family's decoder and prints the
/// [`chainwatch_schema::Decoded`] result as pretty JSON on stdout.
///
/// A bad `--chain` (or a family this build lacks) is a [`ConfigError`]; a missing file or one
/// the decoder rejects is an error naming the file.
pub(crate) fn decode(args: &DecodeArgs) -> anyhow::Result<()> {
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
    let decoded = registry::decode(&chain, &files).map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string_pretty(&decoded)?);
    Ok(())
}
