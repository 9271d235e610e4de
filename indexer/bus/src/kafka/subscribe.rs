//! The consumer-group subscriber: batches, reassembly, dead letters, commits after the caller's
//! database commit, commits on revoke.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use async_trait::async_trait;
use chainwatch_schema::Envelope;
use rdkafka::{
    ClientContext, Message as _, Offset, Statistics, TopicPartitionList,
    consumer::{
        BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
    },
    message::{Header, Headers as _, OwnedHeaders, OwnedMessage},
    producer::{FutureProducer, FutureRecord},
};
use tracing::{debug, error, info, warn};

use super::{
    KafkaConfig, PoisonPolicy, TRACE_TARGET,
    frame::{
        Assembled, Assembler, HEADER_DLQ_OFFSET, HEADER_DLQ_PARTITION, HEADER_DLQ_REASON,
        HEADER_DLQ_TOPIC, chain_of_topic, framing,
    },
};
use crate::{BusError, Delivery, Subscriber};

type Tp = (String, i32);

/// How often the orphaned-partition watchdog runs at most: a fifth of
/// [`KafkaConfig::orphan_after`], within these bounds, so that the check (metadata, committed
/// offsets and watermarks from the broker) stays cheap with the default of 60 s.
const WATCHDOG_EVERY_MIN: Duration = Duration::from_secs(2);
const WATCHDOG_EVERY_MAX: Duration = Duration::from_secs(15);
/// How often `recv` wakes up while idle, to let the watchdog run.
const WATCHDOG_EVERY: Duration = WATCHDOG_EVERY_MIN;

/// Positions shared between the subscriber and the rebalance callback.
#[derive(Debug, Default)]
struct Positions {
    /// Next offset per partition covered by batches handed out but not yet committed by the
    /// caller (so: not yet in the database).
    received: HashMap<Tp, i64>,
    /// Next offset per partition that the caller has processed but Kafka has not confirmed.
    done: HashMap<Tp, i64>,
    /// Partitions revoked since the subscriber last looked: their reassembly state is stale.
    revoked: HashSet<Tp>,
}

fn lock(p: &Mutex<Positions>) -> std::sync::MutexGuard<'_, Positions> {
    p.lock().unwrap_or_else(PoisonError::into_inner)
}

fn tpl_of<'a>(offsets: impl IntoIterator<Item = (&'a Tp, &'a i64)>) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for ((t, p), o) in offsets {
        // Adding a fresh partition cannot fail.
        let _ = tpl.add_partition_offset(t, *p, Offset::Offset(*o));
    }
    tpl
}

/// The consumer's callbacks: commit on revoke, lag metrics from statistics.
struct Context {
    positions: Arc<Mutex<Positions>>,
    prefix: String,
}

impl ClientContext for Context {
    fn stats(&self, stats: Statistics) {
        for (topic, t) in &stats.topics {
            let Some(chain) = chain_of_topic(&self.prefix, topic) else {
                continue;
            };
            for p in t.partitions.values() {
                if p.partition >= 0 && p.consumer_lag >= 0 {
                    metrics::gauge!("chainwatch_consume_kafka_lag_messages", "chain" => chain.to_string())
                        .set(p.consumer_lag as f64);
                }
            }
        }
    }
}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let gone: Vec<Tp> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                let mut pos = lock(&self.positions);
                let commit: HashMap<Tp, i64> = gone
                    .iter()
                    .filter_map(|tp| pos.done.get(tp).map(|o| (tp.clone(), *o)))
                    .collect();
                if !commit.is_empty() {
                    match consumer.commit(&tpl_of(&commit), CommitMode::Sync) {
                        Ok(()) => {
                            info!(target: TRACE_TARGET, partitions = commit.len(), "committed processed offsets before the revoke")
                        }
                        Err(e) => {
                            warn!(target: TRACE_TARGET, error = %e, "commit on revoke failed; the next owner re-reads, and the watermark skips what was applied")
                        }
                    }
                }
                for tp in gone {
                    pos.done.remove(&tp);
                    pos.received.remove(&tp);
                    info!(target: TRACE_TARGET, "partition revoked: {}/{}", tp.0, tp.1);
                    pos.revoked.insert(tp);
                }
            }
            Rebalance::Assign(_) | Rebalance::Error(_) => {}
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                for e in tpl.elements() {
                    info!(target: TRACE_TARGET, "partition assigned: {}/{}", e.topic(), e.partition());
                }
            }
            Rebalance::Error(e) => warn!(target: TRACE_TARGET, error = %e, "rebalance error"),
            Rebalance::Revoke(_) => {}
        }
    }
}

/// Reads envelopes of the consumer group's partitions. See the module docs.
pub struct KafkaSubscriber {
    consumer: Arc<StreamConsumer<Context>>,
    dlq: FutureProducer,
    dlq_topic: String,
    policy: PoisonPolicy,
    prefix: String,
    positions: Arc<Mutex<Positions>>,
    assemblers: HashMap<Tp, Assembler>,
    stopped: HashSet<Tp>,
    /// What was passed to `subscribe` (topic names, or one `^prefix.*` pattern).
    subscription: Vec<String>,
    watchdog: Watchdog,
}

/// Finds partitions that have unread records, make no progress and are not assigned here.
#[derive(Debug)]
struct Watchdog {
    /// How long a partition may stand still before it counts as orphaned.
    stall_after: Duration,
    /// Time between two checks.
    every: Duration,
    /// When the next check is due.
    next: tokio::time::Instant,
    /// Per partition not assigned here: its committed offset and since when it has not moved.
    seen: HashMap<Tp, (i64, tokio::time::Instant)>,
}

impl std::fmt::Debug for KafkaSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSubscriber")
            .field("prefix", &self.prefix)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

/// What one record turned out to be.
enum Outcome {
    Envelope(Envelope),
    /// A part of an envelope whose other parts have not all arrived, or a stray part.
    Partial,
    Poison(String),
}

impl KafkaSubscriber {
    pub(super) fn new(
        cfg: &KafkaConfig,
        topics: Vec<String>,
        dlq: FutureProducer,
    ) -> Result<Self, BusError> {
        let positions = Arc::new(Mutex::new(Positions::default()));
        let context = Context {
            positions: positions.clone(),
            prefix: cfg.topic_prefix.clone(),
        };
        let consumer: StreamConsumer<Context> = cfg
            .client()
            .set("group.id", &cfg.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("partition.assignment.strategy", "roundrobin")
            .set(
                "session.timeout.ms",
                cfg.session_timeout.as_millis().to_string(),
            )
            .set(
                "heartbeat.interval.ms",
                (cfg.session_timeout.as_millis() / 4).max(100).to_string(),
            )
            .set(
                "statistics.interval.ms",
                cfg.statistics_interval.as_millis().to_string(),
            )
            // A pattern subscription sees new chain topics at the next metadata refresh.
            .set("topic.metadata.refresh.interval.ms", "30000")
            .set(
                "fetch.message.max.bytes",
                (cfg.max_message_bytes + 64 * 1024).to_string(),
            )
            .create_with_context(context)
            .map_err(|e| BusError::Config(format!("cannot create the Kafka consumer: {e}")))?;
        let subscription: Vec<String> = if topics.is_empty() {
            // librdkafka treats a leading `^` as a regular expression.
            vec![format!("^{}.*", regex_escape(&cfg.topic_prefix))]
        } else {
            topics
        };
        consumer
            .subscribe(&subscription.iter().map(String::as_str).collect::<Vec<_>>())
            .map_err(|e| BusError::Broker(format!("subscribing to {subscription:?}: {e}")))?;
        info!(target: TRACE_TARGET, group = %cfg.group_id, topics = ?subscription, "subscribed");
        Ok(Self {
            consumer: Arc::new(consumer),
            dlq,
            dlq_topic: cfg.dead_letter_topic.clone(),
            policy: cfg.on_poison,
            prefix: cfg.topic_prefix.clone(),
            positions,
            assemblers: HashMap::new(),
            stopped: HashSet::new(),
            subscription,
            watchdog: Watchdog {
                stall_after: cfg.orphan_after,
                every: (cfg.orphan_after / 5).clamp(WATCHDOG_EVERY_MIN, WATCHDOG_EVERY_MAX),
                next: tokio::time::Instant::now() + WATCHDOG_EVERY,
                seen: HashMap::new(),
            },
        })
    }

    /// Every `orphan_after / 5` (2–15 s): looks for subscribed partitions that hold unread records, are
    /// not assigned to this process and whose committed offset has not moved for
    /// [`KafkaConfig::orphan_after`]. Their owner is gone without the group noticing (a broker
    /// that kept a dead member's assignment, a consumer wedged): this process leaves and rejoins
    /// the group, which forces a new assignment among the live members.
    async fn watchdog(&mut self) {
        let now = tokio::time::Instant::now();
        if now < self.watchdog.next || self.watchdog.stall_after.is_zero() {
            return;
        }
        self.watchdog.next = now + self.watchdog.every;
        let c = self.consumer.clone();
        let topics: Vec<String> = self.subscription.clone();
        let prefix = self.prefix.clone();
        let found =
            tokio::task::spawn_blocking(move || -> rdkafka::error::KafkaResult<Vec<(Tp, i64)>> {
                let timeout = Duration::from_secs(10);
                let md = c.fetch_metadata(None, timeout)?;
                let mine: HashSet<Tp> = c
                    .assignment()?
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                let wanted = |t: &str| {
                    topics.iter().any(|s| {
                        if s.starts_with('^') {
                            t.starts_with(&prefix)
                        } else {
                            s == t
                        }
                    })
                };
                let mut others = TopicPartitionList::new();
                for t in md.topics().iter().filter(|t| wanted(t.name())) {
                    for p in t.partitions() {
                        if !mine.contains(&(t.name().to_owned(), p.id())) {
                            others.add_partition(t.name(), p.id());
                        }
                    }
                }
                if others.count() == 0 {
                    return Ok(Vec::new());
                }
                let committed = c.committed_offsets(others, timeout)?;
                let mut behind = Vec::new();
                for e in committed.elements() {
                    let (low, high) = c.fetch_watermarks(e.topic(), e.partition(), timeout)?;
                    let at = match e.offset() {
                        Offset::Offset(o) => o,
                        _ => low,
                    };
                    if at < high {
                        behind.push(((e.topic().to_owned(), e.partition()), at));
                    }
                }
                Ok(behind)
            })
            .await;
        let behind = match found {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                debug!(target: TRACE_TARGET, error = %e, "orphan check skipped");
                return;
            }
            Err(_) => return,
        };
        let seen = std::mem::take(&mut self.watchdog.seen);
        let mut orphans = Vec::new();
        for (tp, at) in behind {
            let since = match seen.get(&tp) {
                Some((o, since)) if *o == at => *since,
                _ => now,
            };
            if now.duration_since(since) >= self.watchdog.stall_after {
                orphans.push(format!("{}/{}@{at}", tp.0, tp.1));
            }
            self.watchdog.seen.insert(tp, (at, since));
        }
        if orphans.is_empty() {
            return;
        }
        warn!(target: TRACE_TARGET, partitions = ?orphans, stalled_for = ?self.watchdog.stall_after,
              "partitions with unread records make no progress and are not assigned here: rejoining the group to force a new assignment");
        metrics::counter!("chainwatch_consume_group_rejoins_total").increment(1);
        self.watchdog.seen.clear();
        self.consumer.unsubscribe();
        let subscription: Vec<&str> = self.subscription.iter().map(String::as_str).collect();
        if let Err(e) = self.consumer.subscribe(&subscription) {
            warn!(target: TRACE_TARGET, error = %e, "re-subscribing failed; retrying at the next check");
        }
    }

    /// Chains stopped by a poison record (policy `stop`), as `topic/partition@offset`.
    pub fn stopped(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .stopped
            .iter()
            .map(|(t, p)| format!("{t}/{p}"))
            .collect();
        v.sort();
        v
    }

    /// The group's committed offsets of the currently assigned partitions (next offset to
    /// read), as `(topic, partition, offset)`.
    pub async fn committed(&self, timeout: Duration) -> Result<Vec<(String, i32, i64)>, BusError> {
        let c = self.consumer.clone();
        let tpl = tokio::task::spawn_blocking(move || c.committed(timeout))
            .await
            .map_err(|e| BusError::Broker(e.to_string()))?
            .map_err(|e| BusError::Broker(format!("reading committed offsets: {e}")))?;
        Ok(tpl
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((e.topic().to_owned(), e.partition(), o)),
                _ => None,
            })
            .collect())
    }

    /// Reads one record, waiting at most until `deadline` (`None`: forever).
    async fn recv(&mut self, deadline: Option<tokio::time::Instant>) -> Option<OwnedMessage> {
        loop {
            self.watchdog().await;
            // Wake up for the watchdog even while nothing arrives.
            let wake = tokio::time::Instant::now() + WATCHDOG_EVERY;
            let until = deadline.map_or(wake, |d| d.min(wake));
            let got = match tokio::time::timeout_at(until, self.consumer.recv()).await {
                Ok(r) => r.map(|m| m.detach()),
                Err(_) if deadline.is_some_and(|d| d <= until) => return None,
                Err(_) => continue,
            };
            match got {
                Ok(m) => return Some(m),
                Err(e) => {
                    // Broker and topic errors surface here; librdkafka retries on its own.
                    metrics::counter!("chainwatch_consume_kafka_errors_total").increment(1);
                    warn!(target: TRACE_TARGET, error = %e, "consumer error; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    fn decode(&mut self, tp: &Tp, m: &OwnedMessage) -> Outcome {
        let payload = m.payload().unwrap_or_default();
        let (part, seq) = match framing(m.headers()) {
            Ok(f) => f,
            Err(why) => return Outcome::Poison(why),
        };
        let assembler = self.assemblers.entry(tp.clone()).or_default();
        let whole;
        let bytes = match part {
            None => {
                if assembler.in_progress() {
                    warn!(target: TRACE_TARGET, topic = %tp.0, partition = tp.1, offset = m.offset(),
                          "an unfinished split envelope was abandoned by its publisher");
                    assembler.reset();
                }
                payload
            }
            Some(p) => match assembler.accept(seq, p, payload) {
                Assembled::Complete(b) => {
                    whole = b;
                    &whole[..]
                }
                Assembled::Pending => return Outcome::Partial,
                Assembled::Orphan => {
                    warn!(target: TRACE_TARGET, topic = %tp.0, partition = tp.1, offset = m.offset(),
                          "dropping a part whose envelope's first part was not read (an abandoned run)");
                    return Outcome::Partial;
                }
            },
        };
        match Envelope::decode(bytes) {
            Ok(env) => Outcome::Envelope(env),
            Err(e) => Outcome::Poison(error_chain(&e)),
        }
    }

    /// Copies a poison record to the dead-letter topic, then stops or skips its partition.
    async fn poison(&mut self, tp: Tp, m: &OwnedMessage, reason: String) -> Result<(), BusError> {
        let chain =
            chain_of_topic(&self.prefix, &tp.0).map_or_else(|| tp.0.clone(), |c| c.to_string());
        let mut headers = OwnedHeaders::new();
        if let Some(h) = m.headers() {
            for h in h.iter() {
                headers = headers.insert(Header {
                    key: h.key,
                    value: h.value,
                });
            }
        }
        let (partition, offset) = (tp.1.to_string(), m.offset().to_string());
        headers = headers
            .insert(Header {
                key: HEADER_DLQ_REASON,
                value: Some(reason.as_str()),
            })
            .insert(Header {
                key: HEADER_DLQ_TOPIC,
                value: Some(tp.0.as_str()),
            })
            .insert(Header {
                key: HEADER_DLQ_PARTITION,
                value: Some(partition.as_str()),
            })
            .insert(Header {
                key: HEADER_DLQ_OFFSET,
                value: Some(offset.as_str()),
            });
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&self.dlq_topic).headers(headers);
        if let Some(k) = m.key() {
            record = record.key(k);
        }
        if let Some(p) = m.payload() {
            record = record.payload(p);
        }
        self.dlq
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| {
                BusError::Delivery(format!(
                    "writing poison record {}/{}@{} to dead-letter topic {}: {e}",
                    tp.0, tp.1, offset, self.dlq_topic
                ))
            })?;
        metrics::counter!("chainwatch_consume_dead_letters_total", "chain" => chain.clone())
            .increment(1);
        match self.policy {
            PoisonPolicy::Skip => {
                warn!(target: TRACE_TARGET, chain, topic = %tp.0, partition = tp.1, offset = m.offset(), reason,
                      dead_letter_topic = %self.dlq_topic, "poison record sent to the dead-letter topic and skipped");
                lock(&self.positions).received.insert(tp, m.offset() + 1);
            }
            PoisonPolicy::Stop => {
                error!(target: TRACE_TARGET, chain, topic = %tp.0, partition = tp.1, offset = m.offset(), reason,
                       dead_letter_topic = %self.dlq_topic,
                       "poison record sent to the dead-letter topic; this chain's consumer stops here \
                        (fix or remove the record, or set kafka.on_poison = \"skip\", then restart)");
                let mut tpl = TopicPartitionList::new();
                let _ = tpl.add_partition(&tp.0, tp.1);
                if let Err(e) = self.consumer.pause(&tpl) {
                    warn!(target: TRACE_TARGET, error = %e, "pausing the partition failed; its records are dropped instead");
                }
                metrics::gauge!("chainwatch_consume_chain_stopped", "chain" => chain).set(1.0);
                self.stopped.insert(tp);
            }
        }
        Ok(())
    }

    /// Handles one record, appending an envelope to `out` when one is complete.
    async fn handle(&mut self, m: OwnedMessage, out: &mut Vec<Delivery>) -> Result<(), BusError> {
        let tp: Tp = (m.topic().to_owned(), m.partition());
        {
            let mut pos = lock(&self.positions);
            for gone in pos.revoked.drain() {
                self.assemblers.remove(&gone);
                self.stopped.remove(&gone);
            }
        }
        if self.stopped.contains(&tp) {
            return Ok(());
        }
        match self.decode(&tp, &m) {
            Outcome::Envelope(envelope) => {
                lock(&self.positions).received.insert(tp, m.offset() + 1);
                out.push(Delivery {
                    envelope,
                    offset: u64::try_from(m.offset()).unwrap_or_default(),
                });
                Ok(())
            }
            Outcome::Partial => Ok(()),
            Outcome::Poison(reason) => self.poison(tp, &m, reason).await,
        }
    }

    async fn commit_positions(&self) {
        let tpl = {
            let mut pos = lock(&self.positions);
            let received: Vec<(Tp, i64)> = pos.received.drain().collect();
            pos.done.extend(received);
            if pos.done.is_empty() {
                return;
            }
            tpl_of(&pos.done)
        };
        let c = self.consumer.clone();
        let committed = tpl.clone();
        match tokio::task::spawn_blocking(move || c.commit(&tpl, CommitMode::Sync)).await {
            Ok(Ok(())) => {
                let mut pos = lock(&self.positions);
                for e in committed.elements() {
                    let tp = (e.topic().to_owned(), e.partition());
                    if pos.done.get(&tp).map(|o| Offset::Offset(*o)) == Some(e.offset()) {
                        pos.done.remove(&tp);
                    }
                }
            }
            Ok(Err(e)) => {
                metrics::counter!("chainwatch_consume_commit_errors_total").increment(1);
                warn!(target: TRACE_TARGET, error = %e,
                      "offset commit failed; retried with the next batch (a restart re-reads, and the watermark skips what was applied)");
            }
            Err(e) => warn!(target: TRACE_TARGET, error = %e, "offset commit task failed"),
        }
    }
}

#[async_trait]
impl Subscriber for KafkaSubscriber {
    async fn next_batch(
        &mut self,
        max: usize,
        linger: Duration,
    ) -> Result<Vec<Delivery>, BusError> {
        let mut out = Vec::new();
        while out.is_empty() {
            let Some(m) = self.recv(None).await else {
                continue;
            };
            self.handle(m, &mut out).await?;
            if out.is_empty() {
                // Only skipped records so far: nothing precedes them uncommitted (the caller
                // committed its last batch), so their positions can be committed now.
                let skipped = !lock(&self.positions).received.is_empty();
                if skipped {
                    self.commit_positions().await;
                }
            }
        }
        let deadline = tokio::time::Instant::now() + linger;
        while out.len() < max.max(1) {
            let Some(m) = self.recv(Some(deadline)).await else {
                break;
            };
            self.handle(m, &mut out).await?;
        }
        Ok(out)
    }

    async fn commit(&mut self, _deliveries: &[Delivery]) -> Result<(), BusError> {
        self.commit_positions().await;
        Ok(())
    }
}

/// `error: cause: cause…`, for a reason that says what exactly was wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// Escapes regex metacharacters of a topic prefix.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if !c.is_ascii_alphanumeric() && c != '_' && c != '-' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
