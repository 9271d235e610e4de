//! `chainwatch ingest` and `chainwatch consume`: the pipeline as separate processes over Kafka.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use chainwatch_bus::kafka::{KafkaBus, KafkaConfig};
use chainwatch_chain_core::ErrorChain;
use chainwatch_consume::Consumer;
use chainwatch_ingest::{Ingest, Resume};
use chainwatch_schema::ChainId;
use chainwatch_store::Store;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::{
    cli::{ConsumeArgs, IngestArgs, KafkaArgs},
    config::{ChainSection, Config, ConfigError},
    database_url,
    dev::{consume_config, ingest_config, shutdown_signal},
    registry,
    telemetry::{self, Readiness},
};

const TRACE_TARGET: &str = "chainwatch::bin::pipeline";

/// How long to wait for a broker to answer at startup.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

fn kafka_config(cfg: &Config, args: &KafkaArgs, command: &str) -> Result<KafkaConfig, ConfigError> {
    cfg.kafka_config(args.brokers.as_deref())?.ok_or_else(|| {
        ConfigError(format!(
            "`chainwatch {command}` needs Kafka: pass --brokers HOST:PORT, set CHAINWATCH_KAFKA_BROKERS, or set [kafka] brokers in the config file"
        ))
    })
}

/// The one chain an ingest process follows: `--chain ID` (or `ID=URL`, adding a provider), or
/// the only chain of the config file.
fn select_chain(cfg: &mut Config, specs: &[String]) -> Result<ChainId, ConfigError> {
    let mut named: Vec<String> = Vec::new();
    for spec in specs {
        match spec.split_once('=') {
            Some((id, _)) => {
                cfg.add_chain_flag(spec)?;
                named.push(id.to_owned());
            }
            None => named.push(spec.clone()),
        }
    }
    named.sort();
    named.dedup();
    let key = match named.as_slice() {
        [one] => one.clone(),
        [] if cfg.chains.len() == 1 => cfg.chains.keys().next().cloned().unwrap_or_default(),
        [] => {
            return Err(ConfigError(format!(
                "ingest follows one chain: pass --chain ID (configured: {})",
                if cfg.chains.is_empty() {
                    "none".to_owned()
                } else {
                    cfg.chains.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            )));
        }
        many => {
            return Err(ConfigError(format!(
                "ingest follows one chain, got {}: run one ingest process per chain",
                many.join(", ")
            )));
        }
    };
    if !cfg.chains.contains_key(&key) {
        return Err(ConfigError(format!(
            "--chain {key}: no such chain in the config file and no provider given (use --chain {key}=URL)"
        )));
    }
    cfg.chains.retain(|k, _| *k == key);
    let mut chains = cfg.chains(registry::FAMILIES)?;
    chains
        .pop()
        .map(|(id, _)| id)
        .ok_or_else(|| ConfigError(format!("--chain {key}: not configured")))
}

/// Runs one chain's ingest into Kafka until SIGINT/SIGTERM or a fatal error.
pub(crate) async fn ingest(mut cfg: Config, args: IngestArgs) -> anyhow::Result<()> {
    let metrics = telemetry::install()?;
    let kafka = kafka_config(&cfg, &args.kafka, "ingest")?;
    let pool_cfg = cfg.pool_config();
    let id = select_chain(&mut cfg, &args.chains.chains)?;
    let section: &ChainSection = cfg
        .chains
        .get(id.as_str())
        .ok_or_else(|| ConfigError(format!("--chain {id}: not configured")))?;
    let ingest_cfg = ingest_config(&cfg, section, args.chains.start_height);
    let readiness = Readiness::new("starting: connecting to the chain and Kafka");
    let ops_cancel = CancellationToken::new();
    let ops =
        telemetry::serve_ops(&args.listen, metrics, readiness.clone(), ops_cancel.clone()).await?;

    let adapter = registry::connect(&id, section, pool_cfg)
        .await
        .map_err(|e| anyhow::anyhow!("chain {id}: {}", ErrorChain(&e)))?;
    info!(target: TRACE_TARGET, chain = %id, providers = section.providers.len(), "chain connected");
    let bus = KafkaBus::connect(kafka, CONNECT_TIMEOUT).await?;
    let publisher = Arc::new(bus.publisher(&id).await?);
    let window = adapter.finality_model().window() as usize;
    let resume = bus.tail(&id, window).await?.map(|t| Resume {
        seq: t.seq,
        recent: t.recent,
    });
    match &resume {
        Some(r) => info!(target: TRACE_TARGET, chain = %id, topic = publisher.topic(), seq = r.seq,
                         head = ?r.recent.last().map(|b| b.height), "resuming after the topic's last event"),
        None => {
            info!(target: TRACE_TARGET, chain = %id, topic = publisher.topic(), "topic is empty: starting fresh")
        }
    }
    readiness.ready();

    let cancel = CancellationToken::new();
    let watcher = match &args.watch_database_url {
        Some(url) => {
            let store = Store::connect(url, 2).await?;
            info!(target: TRACE_TARGET, chain = %id, "polling the watch list of traced transactions");
            Some(crate::watch::spawn(
                store,
                vec![adapter.clone()],
                crate::watch::POLL_INTERVAL,
                cancel.clone(),
            ))
        }
        None => None,
    };
    let ingest = Ingest::new(adapter, publisher, ingest_cfg);
    let task = tokio::spawn({
        let cancel = cancel.clone();
        async move { ingest.run(resume, cancel).await }
    });
    tokio::pin!(task);
    let result = tokio::select! {
        r = &mut task => r,
        _ = shutdown_signal() => {
            info!(target: TRACE_TARGET, chain = %id, "shutting down: finishing the current event, flushing Kafka");
            cancel.cancel();
            (&mut task).await
        }
    };
    readiness.not_ready("stopping");
    cancel.cancel();
    if let Some(w) = watcher {
        let _ = w.await;
    }
    ops_cancel.cancel();
    let _ = ops.await;
    result
        .context("ingest task panicked")?
        .map_err(|e| anyhow::anyhow!("{}", ErrorChain(&e)))?;
    info!(target: TRACE_TARGET, chain = %id, "ingest stopped cleanly");
    Ok(())
}

/// Consumes chain topics into Postgres until SIGINT/SIGTERM or a fatal error.
pub(crate) async fn consume(cfg: Config, args: ConsumeArgs) -> anyhow::Result<()> {
    let metrics = telemetry::install()?;
    let mut kafka = kafka_config(&cfg, &args.kafka, "consume")?;
    if let Some(g) = &args.group {
        kafka.group_id = g.clone();
    }
    let chains = args
        .chains
        .iter()
        .map(|c| {
            c.parse::<ChainId>()
                .map_err(|e| ConfigError(format!("--chain {c}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let url = database_url(args.database.database_url.as_deref(), &cfg)?;
    let readiness = Readiness::new("starting: connecting to Postgres and Kafka");
    let ops_cancel = CancellationToken::new();
    let ops =
        telemetry::serve_ops(&args.listen, metrics, readiness.clone(), ops_cancel.clone()).await?;

    let store = Store::connect(&url, cfg.database.max_connections.unwrap_or(8)).await?;
    store.migrate().await?;
    let lag = crate::lag::spawn(store.clone(), ops_cancel.clone());
    let group = kafka.group_id.clone();
    let bus = KafkaBus::connect(kafka, CONNECT_TIMEOUT).await?;
    let subscriber = bus.subscriber(&chains).await?;
    info!(target: TRACE_TARGET, group, chains = ?args.chains, "consuming");
    readiness.ready();

    let cancel = CancellationToken::new();
    let task =
        tokio::spawn(Consumer::new(store, subscriber, consume_config(&cfg)).run(cancel.clone()));
    tokio::pin!(task);
    let result = tokio::select! {
        r = &mut task => r,
        _ = shutdown_signal() => {
            info!(target: TRACE_TARGET, "shutting down after the current batch");
            cancel.cancel();
            (&mut task).await
        }
    };
    readiness.not_ready("stopping");
    ops_cancel.cancel();
    let _ = ops.await;
    let _ = lag.await;
    let stats = result
        .context("consumer task panicked")?
        .map_err(|e| anyhow::anyhow!("{}", ErrorChain(&e)))?;
    info!(target: TRACE_TARGET, applied = stats.applied, skipped = stats.skipped, blocks = stats.blocks,
          txs = stats.txs, reverts = stats.reverts, "consumer stopped cleanly");
    Ok(())
}
