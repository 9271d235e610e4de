//! Command-line arguments, one group per concern.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// chainwatch: a cross-chain transaction indexer.
///
/// It follows chains through redundant RPC providers, writes normalized transactions to Postgres
/// with reorgs undone, and answers over GraphQL: where is my transaction, is it final, and if it
/// failed, why?
#[derive(Debug, Parser)]
#[command(name = "chainwatch", version, about, long_about)]
pub(crate) struct Cli {
    /// TOML configuration file (see chainwatch.example.toml). Flags override it.
    #[arg(
        long,
        short,
        global = true,
        env = "CHAINWATCH_CONFIG",
        value_name = "FILE"
    )]
    pub(crate) config: Option<PathBuf>,

    /// Log format: `text` for terminals, `json` for log collectors. Filter with RUST_LOG.
    #[arg(
        long,
        global = true,
        env = "CHAINWATCH_LOG_FORMAT",
        default_value = "text"
    )]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Everything in one process: ingest of every configured chain, an in-process bus, the
    /// consumer writing to Postgres, and the GraphQL API. Applies pending migrations first.
    /// Stops cleanly on Ctrl-C / SIGTERM: ingest stops, everything already fetched is written.
    Dev(DevArgs),
    /// Applies pending database migrations and exits. Safe to run again.
    Migrate(DatabaseArgs),
    /// Serves the GraphQL API alone (read-only) over an existing database.
    Serve(ServeArgs),
    /// Turns raw RPC JSON into chainwatch's normalized JSON, offline. EVM: a block from
    /// `eth_getBlockByNumber(…, true)` plus its receipts (`eth_getBlockReceipts`). Files may hold
    /// the bare `result` or the whole JSON-RPC response.
    Decode(DecodeArgs),
}

/// `chainwatch serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// Address the API listens on (GraphQL at /graphql, /healthz, /readyz).
    #[arg(long, env = "CHAINWATCH_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<String>,
}

/// `chainwatch decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The chain the data comes from, e.g. `evm:1`.
    #[arg(long, value_name = "ID")]
    pub(crate) chain: String,

    /// The block file.
    #[arg(value_name = "BLOCK_FILE")]
    pub(crate) block: std::path::PathBuf,

    /// EVM: the block's receipts file (an array index-aligned with the block's transactions).
    #[arg(long, value_name = "FILE")]
    pub(crate) receipts: Option<std::path::PathBuf>,
}

/// Chains given on the command line.
#[derive(Debug, Args)]
pub(crate) struct ChainArgs {
    /// A chain provider: `ID=URL` or `ID=LABEL=URL` (e.g. `evm:1=https://…`). Repeat for more
    /// providers or chains; the same ID twice gives that chain two providers. Adds to the config
    /// file's chains.
    #[arg(
        long = "chain",
        value_name = "ID=URL",
        env = "CHAINWATCH_CHAINS",
        value_delimiter = ','
    )]
    pub(crate) chains: Vec<String>,

    /// First height to index for chains that have no `start_height` in the config and nothing
    /// indexed yet. Default: the chain's current head.
    #[arg(long, value_name = "HEIGHT", env = "CHAINWATCH_START_HEIGHT")]
    pub(crate) start_height: Option<u64>,
}

/// Database connection.
#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// Postgres URL, e.g. `postgres://user:pass@host:5432/chainwatch`. Overrides `[database] url`.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
}

/// `chainwatch dev`.
#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    #[command(flatten)]
    pub(crate) chains: ChainArgs,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// Address the API listens on (GraphQL at /graphql, /healthz, /readyz).
    #[arg(long, env = "CHAINWATCH_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<String>,
}
