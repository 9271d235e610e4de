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

    /// Log format: `text` for people, `json` for log collectors, `auto` for text on a terminal
    /// and JSON otherwise. Logs go to stderr; filter them with RUST_LOG.
    #[arg(
        long,
        global = true,
        env = "CHAINWATCH_LOG_FORMAT",
        default_value = "auto"
    )]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    /// Text when stderr is a terminal, JSON otherwise.
    Auto,
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
    /// Follows one chain and publishes its events to Kafka: the ingest process of a
    /// deployment. Keeps no database (with --watch-database-url it polls the watch list of traced
    /// transactions, nothing else): on start it reads the end of the chain's topic to find
    /// where it stopped, checks that block against the chain, and resumes (publishing a revert
    /// first if the chain reorganized while it was down). Serves /healthz, /readyz and /metrics.
    Ingest(IngestArgs),
    /// Reads chain topics from Kafka in a consumer group and writes them to Postgres: the
    /// consume process of a deployment. Offsets are committed only after the database commit;
    /// run several to split the chains between them. Serves /healthz, /readyz and /metrics.
    Consume(ConsumeArgs),
    /// Applies pending database migrations and exits. Safe to run again.
    Migrate(DatabaseArgs),
    /// Serves the GraphQL API alone (read-only) over an existing database. Chains with providers
    /// (config file or --chain) can be traced live with `traceTransaction`.
    Serve(ServeArgs),
    /// Prints each chain's indexing status from the database (read-only): indexed height, best
    /// provider head, lag in blocks and seconds, safe and finalized heights, every provider's
    /// head and health, the last reorg. Exits 3 when a chain breaks its lag SLO, for cron jobs
    /// and probes.
    #[command(after_help = STATUS_EXIT_CODES)]
    Status(StatusArgs),
    /// Turns raw RPC JSON files into chainwatch's normalized JSON on stdout, offline. Each
    /// file is recognized by its shape and the files are joined by transaction hash.
    #[command(after_help = DECODE_HELP)]
    Decode(DecodeArgs),
    /// Explains one transaction that may not be indexed: INDEXED (then the indexed transaction:
    /// status, failure, block, finality, timeline), INCLUDED or FAILED in a block not indexed
    /// yet, PENDING and why (NONCE_GAP with the missing nonces, FEE_TOO_LOW with the base fee and
    /// the fee cap, WAITING), REPLACED (by which transaction; speed-up or cancel), DROPPED or
    /// NOT_FOUND. Checks the index first, then asks the chain's providers. A transaction that is
    /// not final goes on the watch list, which `chainwatch dev` (or `ingest` with a database)
    /// re-traces until final, recording its timeline.
    #[command(after_help = TRACE_EXIT_CODES)]
    Trace(TraceArgs),
}

/// Exit codes of `chainwatch trace`, shown in its `--help`.
const TRACE_EXIT_CODES: &str = "\
Exit codes:
  0  the transaction was explained, whatever the verdict (see `status` in the output)
  2  bad input or configuration: malformed chain id or hash, no providers for the chain, no
     database URL
  1  anything else (no provider answered, the database is unreachable)";

/// `chainwatch trace` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TraceFormat {
    /// A report for people.
    Text,
    /// One JSON document, for scripts: `{chain, hash, watched, trace, transaction, timeline}`.
    Json,
}

/// `chainwatch trace`.
#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// The chain, e.g. `evm:1`.
    #[arg(value_name = "CHAIN")]
    pub(crate) chain: String,

    /// The transaction hash (EVM: 0x and 64 hex digits, any case).
    #[arg(value_name = "HASH")]
    pub(crate) hash: String,

    /// A chain provider: `ID=URL` or `ID=LABEL=URL`, as for `dev`. Repeat for more providers;
    /// adds to the config file's chains. CHAIN needs at least one provider.
    #[arg(
        long = "chain",
        value_name = "ID=URL",
        env = "CHAINWATCH_CHAINS",
        value_delimiter = ','
    )]
    pub(crate) providers: Vec<String>,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: TraceFormat,
}

impl Command {
    /// The subcommand's name (`ingest`), e.g. for the telemetry service name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Dev(_) => "dev",
            Self::Ingest(_) => "ingest",
            Self::Consume(_) => "consume",
            Self::Migrate(_) => "migrate",
            Self::Serve(_) => "serve",
            Self::Status(_) => "status",
            Self::Decode(_) => "decode",
            Self::Trace(_) => "trace",
        }
    }
}

/// What `chainwatch decode` reads and prints, shown in its `--help`.
const DECODE_HELP: &str = "\
EVM files (--chain evm:N), each the bare `result` or the whole JSON-RPC response:
  block      eth_getBlockByNumber(N, true): full transaction objects
  receipts   eth_getBlockReceipts (an array), or one eth_getTransactionReceipt
  tx         eth_getTransactionByHash
  traces     debug_traceTransaction / debug_traceBlockByNumber with the callTracer
             (one frame, an array of frames, or an array of {txHash, result}),
             or trace_replayTransaction / trace_replayBlockTransactions
Receipts join their transactions by hash; traces by txHash, else by position (an array
to the block whose transactions it matches, a single trace to the one transaction given
without its block). Every mined transaction needs its receipt (its status is there).
Failed transactions with a trace get the failure it shows (REVERTED with the message,
PANIC, CUSTOM_ERROR, OUT_OF_GAS, INVALID_OPCODE, and the failing contract as location);
without one, what the receipt shows (kind OTHER, with the gas facts).

Sui files (--chain sui:NETWORK), with or without the JSON-RPC envelope:
  JSON-RPC   sui_getCheckpoint, a sui_getCheckpoints page, sui_getTransactionBlock
  gRPC       sui.rpc.v2 Checkpoint / ExecutedTransaction (or their Get*Response) as
             protobuf JSON
Transactions join the checkpoint whose contents list their digest. Failures: MOVE_ABORT
(abort code; package::module::function in the message), INSUFFICIENT_FUNDS, OUT_OF_GAS,
EXECUTION_ERROR (variant name as code), with `command <i>` as location.
Solana files (--chain solana:CLUSTER, a build with the `solana` feature):
  block      getBlock (encoding json, jsonParsed or base64; full transaction details);
             it does not carry its slot: the height shown is parentSlot + 1
  tx         getTransaction (listed without a block ref; extra.slot holds its slot)
Failed transactions get PROGRAM_ERROR (instruction index, program id, custom code, with
names for System, SPL Token, Token-2022, ATA, Vote and Anchor errors), OUT_OF_GAS for an
exhausted compute budget, or the transaction-level error's kind with its name as code.
A sendTransaction preflight error is refused with the simulated failure spelled out.

Output: {chain, blocks, transactions}; transactions carry hash, status and
failure {kind, code, message, location, raw}, named as in GraphQL.

Examples:
  chainwatch decode --chain evm:1 block.json receipts.json traces.json
  chainwatch decode --chain evm:1 tx.json receipt.json trace.json
  chainwatch decode --chain sui:testnet checkpoint.json tx.json
  chainwatch decode --chain solana:mainnet getBlock.json getTransaction.json

Exit codes:
  0  decoded
  2  bad --chain (not family:network, or a family this build lacks)
  1  a file is missing, not JSON, a JSON-RPC error, of no known shape, or does not join";

/// Exit codes of `chainwatch status`, shown in its `--help`.
const STATUS_EXIT_CODES: &str = "\
Lag SLO of a chain: --max-lag-blocks / --max-lag-seconds, else its [chains.\"ID\"] max_lag_blocks /
max_lag_seconds, else [status] max_lag_blocks / max_lag_seconds, else 50 blocks and 300 seconds.
A chain breaks it when its lag is above either limit, or when nothing is indexed yet.

Exit codes:
  0  every chain is within its lag SLO
  3  at least one chain breaks its lag SLO (named on stderr)
  2  configuration problem (bad flag or config file)
  1  anything else (e.g. the database is unreachable)";

/// `chainwatch status` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusFormat {
    /// One table per chain, for people.
    Table,
    /// One JSON document, for scripts.
    Json,
}

/// `chainwatch status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: StatusFormat,

    /// Only these chains (repeat, or comma-separated), e.g. `--chain evm:1`. Default: every
    /// chain in the database or the config file.
    #[arg(long = "chain", value_name = "ID", value_delimiter = ',')]
    pub(crate) chains: Vec<String>,

    /// Most blocks any chain may trail its best provider head; overrides the config file.
    #[arg(long, value_name = "BLOCKS")]
    pub(crate) max_lag_blocks: Option<u64>,

    /// Most seconds any chain's indexed block time may trail now; overrides the config file.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) max_lag_seconds: Option<u64>,
}

/// The Kafka bus.
#[derive(Debug, Args)]
pub(crate) struct KafkaArgs {
    /// Kafka bootstrap brokers, `HOST:PORT,…`. Overrides `[kafka] brokers`. With `dev`, makes it
    /// publish and consume through Kafka instead of the in-process bus.
    #[arg(long, env = "CHAINWATCH_KAFKA_BROKERS", value_name = "HOST:PORT,…")]
    pub(crate) brokers: Option<String>,
}

/// `chainwatch ingest`.
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    #[command(flatten)]
    pub(crate) chains: ChainArgs,

    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,

    /// Postgres URL of the watch list (where `chainwatch trace` puts the transactions it
    /// traces). When given, this process re-traces its chain's open entries every few seconds
    /// until final and records their timeline (SEEN_PENDING, DROPPED, REPLACED_BY). Ingest keeps
    /// nothing else in the database.
    #[arg(
        long,
        env = "CHAINWATCH_WATCH_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) watch_database_url: Option<String>,

    /// Address of /healthz, /readyz and /metrics.
    #[arg(
        long,
        env = "CHAINWATCH_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:9100"
    )]
    pub(crate) listen: String,
}

/// `chainwatch consume`.
#[derive(Debug, Args)]
pub(crate) struct ConsumeArgs {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,

    /// Only these chains (repeat, or comma-separated), e.g. `--chain evm:1`. Default: every
    /// chain topic under the configured prefix, including chains added later.
    #[arg(
        long = "chain",
        value_name = "ID",
        env = "CHAINWATCH_CONSUME_CHAINS",
        value_delimiter = ','
    )]
    pub(crate) chains: Vec<String>,

    /// Consumer group. Overrides `[kafka] group_id` (default `chainwatch-consume`).
    #[arg(long, env = "CHAINWATCH_KAFKA_GROUP", value_name = "NAME")]
    pub(crate) group: Option<String>,

    /// Address of /healthz, /readyz and /metrics.
    #[arg(
        long,
        env = "CHAINWATCH_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:9101"
    )]
    pub(crate) listen: String,
}

/// `chainwatch serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// A chain provider for `traceTransaction`: `ID=URL` or `ID=LABEL=URL`, as for `dev`; adds to
    /// the config file's chains. Chains without providers answer TRACING_UNAVAILABLE.
    #[arg(
        long = "chain",
        value_name = "ID=URL",
        env = "CHAINWATCH_CHAINS",
        value_delimiter = ','
    )]
    pub(crate) providers: Vec<String>,

    /// Address the API listens on (GraphQL at /graphql, /healthz, /readyz).
    #[arg(long, env = "CHAINWATCH_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<String>,
}

/// `chainwatch decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The chain the data comes from, e.g. `evm:1` or `aptos:1`.
    #[arg(long, value_name = "ID")]
    pub(crate) chain: String,

    /// The raw JSON files, in any order. EVM: blocks, receipts, transactions, traces. Aptos:
    /// REST blocks, transactions or transaction lists, and indexer gRPC stream transactions.
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    pub(crate) files: Vec<std::path::PathBuf>,

    /// EVM: a directory of JSON ABIs whose custom errors decode failure reasons. Default: the
    /// chain's `abi_dir` in the config file.
    #[arg(long, value_name = "DIR")]
    pub(crate) abi_dir: Option<std::path::PathBuf>,
}

/// Chains given on the command line.
#[derive(Debug, Args)]
pub(crate) struct ChainArgs {
    /// A chain provider: `ID=URL` or `ID=LABEL=URL` (e.g. `evm:1=https://…`). Repeat for more
    /// providers or chains; the same ID twice gives that chain two providers. Adds to the config
    /// file's chains. `ingest` also takes a bare `ID` to pick one configured chain.
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

    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,

    /// Address the API listens on (GraphQL at /graphql, /healthz, /readyz).
    #[arg(long, env = "CHAINWATCH_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<String>,
}
