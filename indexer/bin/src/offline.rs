//! `chainwatch decode`: raw RPC JSON → normalized JSON, with no network or database.

use anyhow::Context as _;
use chainwatch_schema::ChainId;

use crate::{cli::DecodeArgs, config::ConfigError, registry};

/// Reads a JSON file and returns the bytes of its RPC `result` (the file may hold the whole
/// JSON-RPC response or just the result).
fn result_bytes(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    match value {
        serde_json::Value::Object(mut o) if o.contains_key("jsonrpc") => match o.remove("result") {
            Some(r) => Ok(serde_json::to_vec(&r)?),
            None => anyhow::bail!(
                "{} is a JSON-RPC response without a result (error: {})",
                path.display(),
                o.get("error").map_or("none".into(), ToString::to_string)
            ),
        },
        _ => Ok(text),
    }
}

/// Prints the normalized block as pretty JSON on stdout.
pub(crate) fn decode(args: &DecodeArgs) -> anyhow::Result<()> {
    let chain: ChainId = args
        .chain
        .parse()
        .map_err(|e| ConfigError(format!("--chain: {e}")))?;
    let mut raw = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        raw.push((path.clone(), bytes));
    }
    if let Some(decoded) = registry::decode_files(&chain, &raw) {
        let decoded = decoded.map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("{}", serde_json::to_string_pretty(&decoded)?);
        return Ok(());
    }
    let [block_path] = args.files.as_slice() else {
        anyhow::bail!(
            "{} takes one block file (and --receipts FILE), got {} files",
            chain.family(),
            args.files.len()
        );
    };
    let block = result_bytes(block_path)?;
    let receipts = args.receipts.as_deref().map(result_bytes).transpose()?;
    let normalized = registry::decode(&chain, &block, receipts.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", block_path.display()))?;
    println!("{}", serde_json::to_string_pretty(&normalized)?);
    Ok(())
}
