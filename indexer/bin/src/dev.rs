//! `chainwatch dev`: ingest + in-process bus + consume + API in one process.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use chainwatch_bus::{InProcessBus, Publisher, kafka::KafkaBus};
use chainwatch_chain_core::{ChainAdapter, ErrorChain};
use chainwatch_consume::{ConsumeConfig, Consumer};
use chainwatch_ingest::{Ingest, IngestConfig, Resume};
use chainwatch_schema::ChainId;
use chainwatch_store::Store;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::{
    cli::{DevArgs, ServeArgs},
    config::{ChainSection, Config, ConfigError},
    database_url, registry,
};

const TRACE_TARGET: &str = "chainwatch::bin::dev";

/// Runs until SIGINT/SIGTERM or a fatal error of the consumer or API. With Kafka brokers
/// configured, publishes and consumes through Kafka (resuming each chain from its topic's end)
/// instead of the in-process bus (resuming from the database).
pub(crate) async fn run(mut cfg: Config, args: DevArgs) -> anyhow::Result<()> {
    let metrics = crate::telemetry::install()?;
    for spec in &args.chains.chains {
        cfg.add_chain_flag(spec)?;
    }
    let chains = cfg.chains(registry::FAMILIES)?;
    let url = database_url(args.database.database_url.as_deref(), &cfg)?;
    let listen_addr = listen_addr(args.listen.as_deref(), &cfg)?;
    let store = Store::connect(&url, cfg.database.max_connections.unwrap_or(16)).await?;
    store.migrate().await?;

    // Connect every chain before starting anything: a wrong chain id or an empty provider list
    // stops startup with one clear line.
    let mut adapters: Vec<(Arc<dyn ChainAdapter>, &ChainSection)> = Vec::new();
    for (id, section) in &chains {
        let adapter = registry::connect(id, section, cfg.pool_config())
            .await
            .map_err(|e| anyhow::anyhow!("chain {id}: {}", ErrorChain(&e)))?;
        info!(target: TRACE_TARGET, chain = %id, providers = section.providers.len(), "chain connected");
        adapters.push((adapter, section));
    }

    let listener = tokio::net::TcpListener::bind(listen_addr)
        .await
        .with_context(|| format!("cannot listen on {listen_addr}"))?;
    // Tracing: GraphQL `traceTransaction` asks these adapters and puts what it traces on the
    // watch list, which the poller re-traces until final.
    let trace_adapters: Vec<Arc<dyn ChainAdapter>> =
        adapters.iter().map(|(a, _)| a.clone()).collect();
    let tracers = trace_adapters.iter().fold(
        chainwatch_api::trace::Tracers::default().watching(store.clone()),
        |t, a| t.with_adapter(a.clone()),
    );
    let watch_cancel = CancellationToken::new();
    let watcher = crate::watch::spawn(
        store.clone(),
        trace_adapters,
        crate::watch::POLL_INTERVAL,
        watch_cancel.clone(),
    );
    let mut api_cfg = cfg
        .api
        .api_config(chains.iter().map(|(id, _)| id.clone()).collect())?;
    api_cfg.tracers = tracers;
    let api_store = cfg
        .api
        .api_store(Store::connect_read_only(&url, 8).await?)?;
    let lag_cancel = CancellationToken::new();
    let lag = crate::lag::spawn(api_store.clone(), lag_cancel.clone());
    let router = crate::telemetry::route(chainwatch_api::router(api_store, api_cfg), metrics);
    let api_cancel = CancellationToken::new();
    let api = tokio::spawn(chainwatch_api::serve(listener, router, api_cancel.clone()));
    info!(target: TRACE_TARGET, graphql = %format!("http://{listen_addr}/graphql"), "API listening");

    let consume_cfg = consume_config(&cfg);
    let ingest_cancel = CancellationToken::new();
    let consumer_cancel = CancellationToken::new();
    let mut ingests = JoinSet::new();
    let kafka = cfg.kafka_config(args.kafka.brokers.as_deref())?;
    let (consumer, kafka_bus) = match kafka {
        None => {
            let (publisher, subscriber) = InProcessBus::channel(64);
            let consumer = tokio::spawn(
                Consumer::new(store.clone(), subscriber, consume_cfg).run(consumer_cancel.clone()),
            );
            let publisher: Arc<dyn Publisher> = Arc::new(publisher);
            for (adapter, section) in adapters {
                let id = adapter.chain().clone();
                let resume = resume_point(&store, &id, adapter.finality_model().window()).await?;
                let ingest_cfg = ingest_config(&cfg, section, args.chains.start_height);
                spawn_ingest(
                    &mut ingests,
                    adapter,
                    publisher.clone(),
                    ingest_cfg,
                    resume,
                    &ingest_cancel,
                );
            }
            // Only the ingest tasks hold the publisher now: when they end, the bus closes.
            drop(publisher);
            (consumer, None)
        }
        Some(k) => {
            info!(target: TRACE_TARGET, brokers = %k.brokers, "using the Kafka bus");
            let bus = KafkaBus::connect(k, Duration::from_secs(30)).await?;
            let ids: Vec<ChainId> = adapters.iter().map(|(a, _)| a.chain().clone()).collect();
            let subscriber = bus.subscriber(&ids).await?;
            let consumer = tokio::spawn(
                Consumer::new(store.clone(), subscriber, consume_cfg).run(consumer_cancel.clone()),
            );
            for (adapter, section) in adapters {
                let id = adapter.chain().clone();
                let publisher: Arc<dyn Publisher> = Arc::new(bus.publisher(&id).await?);
                let window = adapter.finality_model().window() as usize;
                let resume = bus.tail(&id, window).await?.map(|t| Resume {
                    seq: t.seq,
                    recent: t.recent,
                });
                let ingest_cfg = ingest_config(&cfg, section, args.chains.start_height);
                spawn_ingest(
                    &mut ingests,
                    adapter,
                    publisher,
                    ingest_cfg,
                    resume,
                    &ingest_cancel,
                );
            }
            (consumer, Some((bus, ids)))
        }
    };

    let outcome = tokio::select! {
        _ = shutdown_signal() => {
            info!(target: TRACE_TARGET, "shutting down: stopping ingest, draining the bus");
            Ok(())
        }
        r = watch_ingests(&mut ingests) => r,
    };
    ingest_cancel.cancel();
    while ingests.join_next().await.is_some() {}
    if let Some((bus, ids)) = &kafka_bus {
        // Kafka never "closes": write what ingest published, then stop the consumer.
        drain(bus, &store, ids, Duration::from_secs(30)).await;
        consumer_cancel.cancel();
    }
    let consumed = consumer.await.context("consumer task panicked")?;
    watch_cancel.cancel();
    let _ = watcher.await;
    api_cancel.cancel();
    lag_cancel.cancel();
    let _ = lag.await;
    let served = api.await.context("API task panicked")?;
    let stats = consumed.context("consumer stopped")?;
    served.context("API server failed")?;
    info!(target: TRACE_TARGET, blocks = stats.blocks, txs = stats.txs, reverts = stats.reverts, "stopped cleanly");
    outcome
}

/// `chainwatch serve`: the read-only API over an existing database, until SIGINT/SIGTERM.
pub(crate) async fn serve(mut cfg: Config, args: ServeArgs) -> anyhow::Result<()> {
    let metrics = crate::telemetry::install()?;
    let url = database_url(args.database.database_url.as_deref(), &cfg)?;
    let listen_addr = listen_addr(args.listen.as_deref(), &cfg)?;
    let store = cfg.api.api_store(
        Store::connect_read_only(&url, cfg.database.max_connections.unwrap_or(8)).await?,
    )?;
    for spec in &args.providers {
        cfg.add_chain_flag(spec)?;
    }
    let known_chains = cfg.chains.keys().filter_map(|k| k.parse().ok()).collect();
    let tracers = tracers(&cfg).await;
    let listener = tokio::net::TcpListener::bind(listen_addr)
        .await
        .with_context(|| format!("cannot listen on {listen_addr}"))?;
    let router = crate::telemetry::route(
        chainwatch_api::router(store.clone(), {
            let mut api_cfg = cfg.api.api_config(known_chains)?;
            api_cfg.tracers = tracers;
            api_cfg
        }),
        metrics,
    );
    let cancel = CancellationToken::new();
    let lag = crate::lag::spawn(store.clone(), cancel.clone());
    let server = tokio::spawn(chainwatch_api::serve(listener, router, cancel.clone()));
    info!(target: TRACE_TARGET, graphql = %format!("http://{listen_addr}/graphql"), "API listening");
    shutdown_signal().await;
    cancel.cancel();
    let _ = lag.await;
    server.await.context("API task panicked")??;
    Ok(())
}

/// Adapters for `traceTransaction` in `serve`: one per configured chain with providers. A chain
/// whose providers cannot be connected is logged and left without tracing (its traces answer
/// TRACING_UNAVAILABLE); `serve` is read-only, so traces are not put on the watch list.
async fn tracers(cfg: &Config) -> chainwatch_api::trace::Tracers {
    let mut tracers = chainwatch_api::trace::Tracers::default();
    for (key, section) in &cfg.chains {
        if section.providers.is_empty() {
            continue;
        }
        let Ok(id) = key.parse::<ChainId>() else {
            warn!(target: TRACE_TARGET, chain = %key, "invalid chain id; tracing unavailable for it");
            continue;
        };
        match registry::connect(&id, section, cfg.pool_config()).await {
            Ok(adapter) => tracers = tracers.with_adapter(adapter),
            Err(e) => {
                warn!(target: TRACE_TARGET, chain = %id, error = %ErrorChain(&e), "cannot connect the chain's providers; tracing unavailable for it");
            }
        }
    }
    tracers
}

/// The API address from the flag/env, else the config file, else 127.0.0.1:8080.
pub(crate) fn listen_addr(
    flag: Option<&str>,
    cfg: &Config,
) -> Result<std::net::SocketAddr, ConfigError> {
    let listen = flag
        .map(str::to_owned)
        .or_else(|| cfg.api.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    listen.parse().map_err(|_| {
        ConfigError(format!(
            "--listen {listen}: expected HOST:PORT, e.g. 127.0.0.1:8080"
        ))
    })
}

/// Waits for ingest tasks; a chain whose ingest fails is logged and the others go on. Returns
/// when every chain has stopped.
pub(crate) async fn watch_ingests(set: &mut IngestTasks) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    while let Some(res) = set.join_next().await {
        match res {
            Ok((id, Err(e))) => {
                error!(target: TRACE_TARGET, chain = %id, error = %ErrorChain(&e), "ingest stopped for this chain");
                failed.push(format!("{}", ErrorChain(&e)));
            }
            Ok((id, Ok(()))) => info!(target: TRACE_TARGET, chain = %id, "ingest finished"),
            Err(e) => failed.push(format!("ingest task panicked: {e}")),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow::anyhow!(failed.join("; ")))
    }
}

/// The consumer's batching from `[consume]`.
pub(crate) fn consume_config(cfg: &Config) -> ConsumeConfig {
    ConsumeConfig {
        max_batch: cfg.consume.max_batch.unwrap_or(256),
        max_batch_txs: cfg.consume.max_batch_txs.unwrap_or(20_000),
        linger: cfg
            .consume
            .linger_ms
            .map_or(Duration::from_millis(50), Duration::from_millis),
    }
}

/// Ingest settings of one chain: its section, then `[ingest]`, then the defaults.
pub(crate) fn ingest_config(
    cfg: &Config,
    section: &ChainSection,
    start_height: Option<u64>,
) -> IngestConfig {
    let d = IngestConfig::default();
    let ms = Duration::from_millis;
    IngestConfig {
        start_height: section.start_height.or(start_height),
        backfill_concurrency: section
            .backfill_concurrency
            .or(cfg.ingest.backfill_concurrency)
            .unwrap_or(d.backfill_concurrency),
        batch_blocks: cfg.ingest.batch_blocks.unwrap_or(d.batch_blocks),
        poll_interval: section
            .poll_interval_ms
            .or(cfg.ingest.poll_interval_ms)
            .map_or(d.poll_interval, ms),
        heartbeat_interval: cfg
            .ingest
            .heartbeat_interval_ms
            .map_or(d.heartbeat_interval, ms),
        ..d
    }
}

/// Starts one chain's ingest in `set`; the task yields the chain and how ingest ended.
fn spawn_ingest(
    set: &mut IngestTasks,
    adapter: Arc<dyn ChainAdapter>,
    publisher: Arc<dyn Publisher>,
    cfg: IngestConfig,
    resume: Option<Resume>,
    cancel: &CancellationToken,
) {
    let id = adapter.chain().clone();
    let ingest = Ingest::new(adapter, publisher, cfg);
    let cancel = cancel.clone();
    set.spawn(async move { (id, ingest.run(resume, cancel).await) });
}

/// Running ingest tasks, one per chain.
type IngestTasks = JoinSet<(ChainId, Result<(), chainwatch_ingest::IngestError>)>;

/// Waits until the database holds every chain's last published envelope, or `timeout`.
async fn drain(bus: &KafkaBus, store: &Store, ids: &[ChainId], timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    for id in ids {
        let published = match bus.tail(id, 1).await {
            Ok(t) => t.map_or(0, |t| t.seq),
            Err(e) => {
                warn!(target: TRACE_TARGET, chain = %id, error = %e, "cannot read the end of the topic; not waiting for the consumer");
                continue;
            }
        };
        loop {
            let written = store
                .watermark(id)
                .await
                .ok()
                .flatten()
                .map_or(0, |w| w.seq);
            if written >= published {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                warn!(target: TRACE_TARGET, chain = %id, published, written,
                      "stopping before the consumer caught up; the rest is written on the next start");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// In `dev` the database is the only memory: resume from its watermark and recent blocks.
async fn resume_point(store: &Store, id: &ChainId, window: u64) -> anyhow::Result<Option<Resume>> {
    Ok(store
        .resume_point(id, window)
        .await?
        .map(|(seq, recent)| Resume { seq, recent }))
}

/// Waits for SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
