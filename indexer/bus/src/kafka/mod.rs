//! The Kafka bus: one topic per chain, an idempotent pipelined producer, a consumer-group
//! subscriber with reassembly and dead letters, and a tail reader for resuming ingest.
//!
//! # Topics and records
//! Each chain has its own topic, [`topic_for`]`(prefix, chain)` (`chainwatch.v1.evm.1` with the
//! default prefix), created on first use with the configured partitions, replication and
//! retention. Every record of a chain has the chain id as key, so a chain's stream lives in one
//! partition and keeps its order. The record layout (headers, splitting of large envelopes) is
//! described in [`frame`]; it is part of the public contract in `schema/contract/README.md`.
//!
//! # Producing ([`KafkaPublisher`])
//! `enable.idempotence=true`, `acks=all` and `enable.gapless.guarantee=true`: the broker never
//! stores a record twice or out of order, and if one delivery fails for good the producer fails
//! every later one, so a failed delivery can only cut the stream's tail, never make a hole in it.
//! `publish` enqueues and returns; up to [`KafkaConfig::max_in_flight`] records (and
//! [`KafkaConfig::max_in_flight_bytes`]) await their
//! delivery report at once. The first failed report is returned by the next `publish` or
//! `flush` and by every call after it.
//!
//! # Consuming ([`KafkaSubscriber`])
//! A consumer group (`group.id` = [`KafkaConfig::group_id`], `roundrobin` assignment so that
//! several consume processes split the chains between them). Offsets are never committed
//! automatically: [`crate::Subscriber::commit`] commits, synchronously, the positions of what the
//! last batch covered, which the caller does after its database commit. On a partition revoke,
//! positions already processed but not yet committed are committed before the partition goes.
//! A record that is not an envelope (undecodable, unknown version, bad part header) is copied to
//! the dead-letter topic with the reason and its origin; then, per [`PoisonPolicy`], its
//! partition stops (paused, nothing after it is read) or it is skipped.
//!
//! A watchdog guards against partitions nobody reads: a subscribed partition with unread
//! records, not assigned here, whose committed offset has not moved for
//! [`KafkaConfig::orphan_after`], makes this consumer leave and rejoin the group. Kafka itself
//! reassigns a dead member's partitions after `session.timeout.ms`; the watchdog exists because
//! some Kafka-protocol brokers (tansu 0.6) keep a dead member's assignment in the same
//! generation, and because a wedged consumer looks alive to the broker.
//!
//! # Resuming ([`KafkaBus::tail`])
//! Ingest keeps no database: on start it reads the end of its topic to find the last published
//! `seq` and the chain of recent block refs (replaying `Apply` and `Revert`).

pub mod frame;
mod publish;
mod subscribe;
mod tail;

use std::{collections::BTreeMap, time::Duration};

use chainwatch_schema::ChainId;
pub use frame::{
    HEADER_DLQ_OFFSET, HEADER_DLQ_PARTITION, HEADER_DLQ_REASON, HEADER_DLQ_TOPIC, HEADER_PART,
    HEADER_SEQ, HEADER_VERSION, chain_of_topic, topic_for,
};
pub use publish::KafkaPublisher;
use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    error::KafkaError,
    producer::FutureProducer,
    types::RDKafkaErrorCode,
};
pub use subscribe::KafkaSubscriber;
pub use tail::StreamTail;

use crate::BusError;

/// Trace target of the Kafka bus.
const TRACE_TARGET: &str = "chainwatch::bus::kafka";

/// What a consumer does after sending a poison record to the dead-letter topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoisonPolicy {
    /// Stop reading that partition (that chain) and report it; the default, because the record
    /// may have been a block, and going on would index a chain with a hole in it.
    #[default]
    Stop,
    /// Go on after it. Only safe when the record was not part of the chain's stream (a stray
    /// record); a lost block still stops the chain, at the store's continuity check.
    Skip,
}

impl std::str::FromStr for PoisonPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stop" => Ok(Self::Stop),
            "skip" => Ok(Self::Skip),
            other => Err(format!("{other:?}: expected \"stop\" or \"skip\"")),
        }
    }
}

/// Settings of the Kafka bus.
#[derive(Clone)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port,host:port`.
    pub brokers: String,
    /// Topic name prefix; the chain id follows (`chainwatch.v1.` gives `chainwatch.v1.evm.1`).
    pub topic_prefix: String,
    /// Partitions of a newly created topic.
    pub partitions: i32,
    /// Replication factor of a newly created topic.
    pub replication: i32,
    /// `retention.ms` of a newly created topic; `None` keeps the broker's default.
    pub retention_ms: Option<i64>,
    /// Largest record value sent; larger envelopes are split into parts. Keep it below the
    /// broker's `message.max.bytes` (1 MB by default) minus room for headers.
    pub max_message_bytes: usize,
    /// Records awaiting their delivery report at once, per publisher.
    pub max_in_flight: usize,
    /// Bytes of records awaiting their delivery report at once, per publisher: bounds the
    /// producer's memory when blocks are large.
    pub max_in_flight_bytes: usize,
    /// Consumer group of `chainwatch consume`.
    pub group_id: String,
    /// Where poison records go. Must not start with `topic_prefix`.
    pub dead_letter_topic: String,
    /// What to do after a poison record.
    pub on_poison: PoisonPolicy,
    /// Consumer group session timeout: how soon a dead consumer's chains move to another.
    pub session_timeout: Duration,
    /// How often consumer statistics (and so the lag metric) are refreshed.
    pub statistics_interval: Duration,
    /// A subscribed partition with unread records whose committed offset has not moved for this
    /// long, and that is not assigned to this consumer, counts as orphaned: the consumer rejoins
    /// the group to force a new assignment. Zero turns the check off.
    pub orphan_after: Duration,
    /// Extra librdkafka properties for every client (`security.protocol`, `sasl.mechanism`,
    /// `sasl.username`, `sasl.password`, `ssl.ca.location`, …). Values are never logged.
    pub properties: BTreeMap<String, String>,
}

impl std::fmt::Debug for KafkaConfig {
    // Properties may hold passwords: list their names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("topic_prefix", &self.topic_prefix)
            .field("partitions", &self.partitions)
            .field("replication", &self.replication)
            .field("retention_ms", &self.retention_ms)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("group_id", &self.group_id)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .field("on_poison", &self.on_poison)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl KafkaConfig {
    /// Defaults for `brokers`.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic_prefix: "chainwatch.v1.".into(),
            partitions: 1,
            replication: 1,
            retention_ms: None,
            max_message_bytes: 900_000,
            max_in_flight: 10_000,
            max_in_flight_bytes: 64 << 20,
            group_id: "chainwatch-consume".into(),
            dead_letter_topic: "chainwatch.dead-letter.v1".into(),
            on_poison: PoisonPolicy::Stop,
            session_timeout: Duration::from_secs(10),
            statistics_interval: Duration::from_secs(5),
            orphan_after: Duration::from_secs(60),
            properties: BTreeMap::new(),
        }
    }

    /// Checks the settings that would otherwise fail later and less clearly.
    pub fn validate(&self) -> Result<(), BusError> {
        let bad = |m: String| Err(BusError::Config(m));
        if self.brokers.trim().is_empty() {
            return bad("no brokers: expected HOST:PORT[,HOST:PORT…]".into());
        }
        if self.partitions < 1 || self.replication < 1 {
            return bad(format!(
                "partitions ({}) and replication ({}) must be at least 1",
                self.partitions, self.replication
            ));
        }
        if self.max_message_bytes < 1024 {
            return bad(format!(
                "max_message_bytes {} is too small (at least 1024)",
                self.max_message_bytes
            ));
        }
        if self.dead_letter_topic.starts_with(&self.topic_prefix) {
            return bad(format!(
                "dead_letter_topic {:?} starts with topic_prefix {:?}: consumers would read it as a chain",
                self.dead_letter_topic, self.topic_prefix
            ));
        }
        Ok(())
    }

    /// A librdkafka client configuration with the brokers and the extra properties.
    fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        c.set("client.id", "chainwatch");
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }
}

/// A connection to the Kafka cluster: creates topics, publishers, subscribers, tail readers.
#[derive(Clone)]
pub struct KafkaBus {
    cfg: KafkaConfig,
    producer: FutureProducer,
    admin: std::sync::Arc<AdminClient<DefaultClientContext>>,
}

impl std::fmt::Debug for KafkaBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBus")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// A client-creation error: the message names the property, never its value.
fn client_error(what: &str, e: KafkaError) -> BusError {
    BusError::Config(format!("cannot create the Kafka {what}: {e}"))
}

impl KafkaBus {
    /// Creates the producer and admin clients and checks that a broker answers (metadata within
    /// `timeout`).
    pub async fn connect(cfg: KafkaConfig, timeout: Duration) -> Result<Self, BusError> {
        cfg.validate()?;
        let producer: FutureProducer = cfg
            .client()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("enable.gapless.guarantee", "true")
            .set("max.in.flight.requests.per.connection", "5")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set(
                "message.max.bytes",
                (cfg.max_message_bytes + 64 * 1024).to_string(),
            )
            .create()
            .map_err(|e| client_error("producer", e))?;
        let admin: AdminClient<DefaultClientContext> = cfg
            .client()
            .create()
            .map_err(|e| client_error("admin client", e))?;
        let bus = Self {
            cfg,
            producer,
            admin: std::sync::Arc::new(admin),
        };
        // A broker that is restarting refuses connections for a moment: keep asking until
        // `timeout`, so that a process started alongside its broker does not fail at once.
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::from_millis(100);
        loop {
            let p = bus.producer.clone();
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let res = tokio::task::spawn_blocking(move || {
                use rdkafka::producer::Producer as _;
                p.client()
                    .fetch_metadata(None, left.max(Duration::from_millis(500)))
            })
            .await
            .map_err(|e| BusError::Broker(format!("metadata task failed: {e}")))?;
            match res {
                Ok(_) => return Ok(bus),
                Err(e) if tokio::time::Instant::now() + delay >= deadline => {
                    return Err(BusError::Broker(format!(
                        "no Kafka broker answered at {} within {timeout:?}: {e}",
                        bus.cfg.brokers
                    )));
                }
                Err(e) => {
                    tracing::warn!(target: TRACE_TARGET, brokers = %bus.cfg.brokers, error = %e, "Kafka not reachable yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// The settings.
    pub fn config(&self) -> &KafkaConfig {
        &self.cfg
    }

    /// The topic of `chain`.
    pub fn topic(&self, chain: &ChainId) -> Result<String, BusError> {
        topic_for(&self.cfg.topic_prefix, chain)
    }

    /// Creates `chain`'s topic unless it exists; returns its name.
    pub async fn ensure_topic(&self, chain: &ChainId) -> Result<String, BusError> {
        let topic = self.topic(chain)?;
        self.ensure(&topic).await?;
        Ok(topic)
    }

    /// Creates the dead-letter topic unless it exists.
    pub async fn ensure_dead_letter_topic(&self) -> Result<(), BusError> {
        self.ensure(&self.cfg.dead_letter_topic.clone()).await
    }

    async fn ensure(&self, topic: &str) -> Result<(), BusError> {
        let retention = self.cfg.retention_ms.map(|r| r.to_string());
        let mut new = NewTopic::new(
            topic,
            self.cfg.partitions,
            TopicReplication::Fixed(self.cfg.replication),
        );
        if let Some(r) = &retention {
            new = new.set("retention.ms", r);
        }
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = self
            .admin
            .create_topics([&new], &opts)
            .await
            .map_err(|e| BusError::Broker(format!("creating topic {topic}: {e}")))?;
        for r in results {
            match r {
                Ok(_) => tracing::info!(target: TRACE_TARGET, topic, "topic created"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(BusError::Broker(format!("creating topic {name}: {code}")));
                }
            }
        }
        Ok(())
    }

    /// A publisher of `chain`'s events (creates the topic if needed). Use one per chain: its
    /// failure state is that chain's.
    pub async fn publisher(&self, chain: &ChainId) -> Result<KafkaPublisher, BusError> {
        let topic = self.ensure_topic(chain).await?;
        Ok(KafkaPublisher::new(
            self.producer.clone(),
            topic,
            chain.clone(),
            self.cfg.max_message_bytes,
            self.cfg.max_in_flight,
            self.cfg.max_in_flight_bytes,
        ))
    }

    /// A subscriber in the consumer group. `chains`: the chains to read (their topics are
    /// created if missing); empty: every topic under the prefix, including chains added later.
    pub async fn subscriber(&self, chains: &[ChainId]) -> Result<KafkaSubscriber, BusError> {
        self.ensure_dead_letter_topic().await?;
        let mut topics = Vec::new();
        for c in chains {
            topics.push(self.ensure_topic(c).await?);
        }
        KafkaSubscriber::new(&self.cfg, topics, self.producer.clone())
    }

    /// Reads the end of `chain`'s topic: the last published `seq` and up to `depth` most recent
    /// block refs of the published chain. `None` when nothing was published yet.
    pub async fn tail(
        &self,
        chain: &ChainId,
        depth: usize,
    ) -> Result<Option<StreamTail>, BusError> {
        let topic = self.ensure_topic(chain).await?;
        let cfg = self.cfg.clone();
        let chain = chain.clone();
        tokio::task::spawn_blocking(move || tail::read(&cfg, &topic, &chain, depth))
            .await
            .map_err(|e| BusError::Broker(format!("tail reader task failed: {e}")))?
    }
}
