//! Reading the end of a chain's topic to resume ingest without a database.

use std::time::{Duration, Instant};

use chainwatch_schema::{BlockRef, ChainEvent, ChainId, Envelope};
use rdkafka::{
    Message as _, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer as _},
};
use tracing::{info, warn};

use super::{
    KafkaConfig, TRACE_TARGET,
    frame::{Assembled, Assembler, framing},
};
use crate::BusError;

/// The end of a chain's published stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTail {
    /// The last published `seq`.
    pub seq: u64,
    /// The most recent block refs of the published chain after every `Apply` and `Revert`,
    /// oldest first; the last is the published head.
    pub recent: Vec<BlockRef>,
}

const TIMEOUT: Duration = Duration::from_secs(30);

/// Reads `topic` from near its end; widens the window until `depth` block refs are known or the
/// start of the topic is reached.
pub(super) fn read(
    cfg: &KafkaConfig,
    topic: &str,
    chain: &ChainId,
    depth: usize,
) -> Result<Option<StreamTail>, BusError> {
    let consumer: BaseConsumer = cfg
        .client()
        .set("group.id", format!("{}-tail", cfg.group_id))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set(
            "fetch.message.max.bytes",
            (cfg.max_message_bytes + 64 * 1024).to_string(),
        )
        .create()
        .map_err(|e| BusError::Config(format!("cannot create the Kafka tail reader: {e}")))?;
    let broker = |what: &str, e: rdkafka::error::KafkaError| {
        BusError::Broker(format!("topic {topic}: {what}: {e}"))
    };
    let md = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .map_err(|e| broker("reading metadata", e))?;
    let partitions: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut best: Option<StreamTail> = None;
    for p in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, TIMEOUT)
            .map_err(|e| broker("reading watermarks", e))?;
        if high <= low {
            continue;
        }
        let mut window = (depth as i64 * 4).max(256);
        let tail = loop {
            let start = (high - window).max(low);
            let tail = replay(&consumer, topic, p, start, high, chain, depth)?;
            let enough = tail.as_ref().is_some_and(|t| t.recent.len() >= depth);
            if enough || start == low {
                break tail;
            }
            window *= 4;
        };
        if let Some(t) = tail
            && best.as_ref().is_none_or(|b| t.seq > b.seq)
        {
            best = Some(t);
        }
    }
    if let Some(t) = &best {
        info!(target: TRACE_TARGET, chain = %chain, topic, seq = t.seq,
              head = ?t.recent.last().map(|r| r.height), "read the end of the topic");
    }
    Ok(best)
}

/// Replays `[start, high)` of one partition.
fn replay(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    start: i64,
    high: i64,
    chain: &ChainId,
    depth: usize,
) -> Result<Option<StreamTail>, BusError> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(start))
        .map_err(|e| BusError::Broker(format!("topic {topic}: {e}")))?;
    consumer.assign(&tpl).map_err(|e| {
        BusError::Broker(format!(
            "topic {topic}: assigning partition {partition}: {e}"
        ))
    })?;
    let mut assembler = Assembler::default();
    let mut seq: Option<u64> = None;
    let mut recent: Vec<BlockRef> = Vec::new();
    let deadline = Instant::now() + TIMEOUT * 4;
    let mut next = start;
    while next < high {
        if Instant::now() > deadline {
            return Err(BusError::Broker(format!(
                "topic {topic}: reading offsets {start}..{high} of partition {partition} timed out at {next}"
            )));
        }
        let Some(m) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let m = m.map_err(|e| BusError::Broker(format!("topic {topic}: reading: {e}")))?;
        next = m.offset() + 1;
        let payload = m.payload().unwrap_or_default();
        let Ok((part, part_seq)) = framing(m.headers()) else {
            warn!(target: TRACE_TARGET, topic, offset = m.offset(), "record with a bad part header at the end of the topic; ignored");
            continue;
        };
        let whole;
        let bytes = match part {
            None => payload,
            Some(p) => match assembler.accept(part_seq, p, payload) {
                Assembled::Complete(b) => {
                    whole = b;
                    &whole[..]
                }
                Assembled::Pending | Assembled::Orphan => continue,
            },
        };
        let env = match Envelope::decode(bytes) {
            Ok(env) if &env.chain == chain => env,
            Ok(env) => {
                warn!(target: TRACE_TARGET, topic, offset = m.offset(), found = %env.chain,
                      "record of another chain in this chain's topic; ignored");
                continue;
            }
            Err(e) => {
                warn!(target: TRACE_TARGET, topic, offset = m.offset(), error = %e,
                      "undecodable record at the end of the topic; ignored");
                continue;
            }
        };
        seq = Some(env.seq);
        match env.event {
            ChainEvent::Apply { block } => {
                recent.push(block.block_ref);
                if recent.len() > depth * 2 {
                    recent.drain(..recent.len() - depth);
                }
            }
            ChainEvent::Revert { to, .. } => {
                while recent.last().is_some_and(|r| r.height > to.height) {
                    recent.pop();
                }
            }
            _ => {}
        }
    }
    if recent.len() > depth {
        recent.drain(..recent.len() - depth);
    }
    Ok(seq.map(|seq| StreamTail { seq, recent }))
}
