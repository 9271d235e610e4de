//! The `chainwatch` binary: subcommands, configuration, the adapter registry and process
//! lifecycle (signals, graceful shutdown, exit codes).
//!
//! Exit codes: 0 on success or a clean shutdown, 2 for a configuration problem (one line naming
//! the problem and where it is), 3 when `chainwatch status` finds a chain breaking its lag SLO,
//! 1 for anything else.

mod cli;
mod config;
mod dev;
mod lag;
mod offline;
#[cfg(feature = "otel")]
mod otel;
mod pipeline;
mod registry;
mod status;
mod telemetry;
mod trace;
mod watch;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command, LogFormat};
use config::{Config, ConfigError};
use tracing_subscriber::{
    EnvFilter, Layer, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

/// What must outlive the program's work for its telemetry to be complete (the OpenTelemetry
/// exporter flushes when dropped).
#[derive(Debug)]
struct TelemetryGuard {
    #[cfg(feature = "otel")]
    _otel: Option<otel::Guard>,
}

/// Logs to stderr (text or JSON, filtered by `RUST_LOG`) and, in builds with the `otel`
/// feature, exports spans over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. `service` names
/// the process (`chainwatch-ingest`).
fn init_logging(format: LogFormat, service: &str) -> Result<TelemetryGuard, ConfigError> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,hyper=warn,reqwest=warn"));
    // Colours only on a terminal: log files and collectors get plain text.
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let json = match format {
        LogFormat::Auto => !std::io::IsTerminal::is_terminal(&std::io::stderr()),
        LogFormat::Text => false,
        LogFormat::Json => true,
    };
    let fmt = if json {
        fmt.json().flatten_event(true).boxed()
    } else {
        fmt.boxed()
    };
    let registry = tracing_subscriber::registry().with(filter).with(fmt);
    #[cfg(feature = "otel")]
    {
        let (layer, guard) = match otel::layer(service).map_err(ConfigError)? {
            Some((layer, guard)) => (Some(layer), Some(guard)),
            None => (None, None),
        };
        registry.with(layer).init();
        Ok(TelemetryGuard { _otel: guard })
    }
    #[cfg(not(feature = "otel"))]
    {
        let _ = service;
        registry.init();
        if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
            tracing::warn!(
                target: "chainwatch::bin",
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but this build has no OpenTelemetry export (cargo feature `otel`); spans are not exported"
            );
        }
        Ok(TelemetryGuard {})
    }
}

/// Loads the config file (if any); flags are applied by each subcommand.
/// Without a file, `CHAINWATCH_SECTION__KEY` variables still apply (to an empty config), so a
/// container can be configured by its environment alone.
fn load_config(cli: &Cli) -> Result<Config, ConfigError> {
    match &cli.config {
        Some(path) => Config::load(path),
        None => Config::parse("(environment)", "", std::env::vars()),
    }
}

/// The database URL from flags/env, else the config file.
pub(crate) fn database_url(flag: Option<&str>, cfg: &Config) -> Result<String, ConfigError> {
    flag.map(str::to_owned)
        .or_else(|| cfg.database.url.clone())
        .ok_or_else(|| {
            ConfigError(
                "no database URL: pass --database-url, set DATABASE_URL, or set [database] url in the config file".into(),
            )
        })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = load_config(&cli)?;
    match cli.command {
        Command::Dev(args) => dev::run(cfg, args).await,
        Command::Ingest(args) => pipeline::ingest(cfg, args).await,
        Command::Consume(args) => pipeline::consume(cfg, args).await,
        Command::Serve(args) => dev::serve(cfg, args).await,
        Command::Decode(args) => offline::decode(&cfg, &args),
        Command::Status(args) => status::run(cfg, args).await,
        Command::Trace(args) => trace::run(cfg, args).await,
        Command::Migrate(args) => {
            let url = database_url(args.database_url.as_deref(), &cfg)?;
            let store = chainwatch_store::Store::connect(&url, 2).await?;
            store.migrate().await?;
            tracing::info!(target: "chainwatch::bin", "database schema is up to date");
            Ok(())
        }
    }
}

/// mimalloc instead of the system allocator: the API allocates per request and per field (a
/// GraphQL response is a tree of small values), and glibc's malloc was a seventh of its CPU
/// time under load (`cargo bench -p chainwatch --bench api`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _telemetry = match init_logging(
        cli.log_format,
        &format!("chainwatch-{}", cli.command.name()),
    ) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ConfigError>().is_some() {
                ExitCode::from(2)
            } else if e.downcast_ref::<status::SloBreach>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
