//! The Kafka bus against tansu: order, splitting, commits, resuming, tails, dead letters,
//! delivery failures, and the contract decoder outside Rust.

use std::{collections::BTreeMap, time::Duration};

use chainwatch_bus::{
    BusError, Delivery, Publisher, Subscriber,
    kafka::{
        HEADER_DLQ_OFFSET, HEADER_DLQ_REASON, HEADER_DLQ_TOPIC, HEADER_PART, KafkaBus, KafkaConfig,
        PoisonPolicy, StreamTail,
    },
};
use chainwatch_chain_core::test_utils::{Feed, ScriptedChain};
use chainwatch_schema::{ChainEvent, ChainId, Envelope};
use chainwatch_testkit::Tansu;
use rdkafka::{
    ClientConfig, Message as _, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer as _},
    message::{Header, Headers as _, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};

const LINGER: Duration = Duration::from_millis(200);

fn chain() -> ChainId {
    "evm:31337".parse().unwrap()
}

fn config(brokers: &str, group: &str) -> KafkaConfig {
    let mut cfg = KafkaConfig::new(brokers);
    cfg.group_id = group.into();
    cfg
}

async fn bus(cfg: KafkaConfig) -> KafkaBus {
    KafkaBus::connect(cfg, Duration::from_secs(20))
        .await
        .unwrap()
}

/// A stream of `n` applied blocks with `txs` transactions each, plus a revert and its
/// replacement blocks, a finality event and a heartbeat: every event type.
fn stream(n: u64, txs: usize) -> Vec<Envelope> {
    let c = ScriptedChain::new(chain(), txs);
    c.mine(n);
    let before = c.canonical();
    c.reorg(2, 3);
    let after = c.canonical();
    let mut feed = Feed::new(&chain());
    let mut out = feed.apply_all(&before[1..]);
    let fork = &after[after.len() - 4];
    out.push(feed.revert(fork, before.last().unwrap(), after.last().unwrap()));
    out.extend(feed.apply_all(&after[after.len() - 3..]));
    out.push(feed.finality(&after[after.len() - 3], &after[after.len() - 5]));
    out.push(feed.heartbeat(1_700_000_000_000, vec![]));
    out
}

/// Reads until `n` envelopes arrived (or panics after 60 s), committing each batch.
async fn read_n(sub: &mut impl Subscriber, n: usize) -> Vec<Delivery> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while got.len() < n {
        let batch = tokio::time::timeout_at(deadline, sub.next_batch(64, LINGER))
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} envelopes arrived within 60 s", got.len()))
            .unwrap();
        sub.commit(&batch).await.unwrap();
        got.extend(batch);
    }
    got
}

/// Nothing arrives within `wait`.
async fn assert_quiet(sub: &mut impl Subscriber, wait: Duration) {
    if let Ok(batch) = tokio::time::timeout(wait, sub.next_batch(64, LINGER)).await {
        let seqs: Vec<u64> = batch.unwrap().iter().map(|d| d.envelope.seq).collect();
        panic!("expected nothing more, got seqs {seqs:?}");
    }
}

async fn publish_all(p: &impl Publisher, envs: &[Envelope]) {
    for e in envs {
        p.publish(e.clone()).await.unwrap();
    }
    p.flush().await.unwrap();
}

fn raw_producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap()
}

async fn send_raw(p: &FutureProducer, topic: &str, value: &[u8], headers: &[(&str, &str)]) {
    let mut h = OwnedHeaders::new();
    for (k, v) in headers {
        h = h.insert(Header {
            key: k,
            value: Some(*v),
        });
    }
    p.send(
        FutureRecord::to(topic)
            .key("evm:31337")
            .payload(value)
            .headers(h),
        Duration::from_secs(10),
    )
    .await
    .map_err(|(e, _)| e)
    .unwrap();
}

/// Every record of `topic` (partition 0) from the beginning: (offset, headers, value).
#[allow(clippy::type_complexity)]
fn read_raw(brokers: &str, topic: &str) -> Vec<(i64, BTreeMap<String, String>, Vec<u8>)> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "raw-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let (low, high) = c
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(low))
        .unwrap();
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while out.last().is_none_or(|(o, _, _)| *o < high - 1) && high > low {
        assert!(
            std::time::Instant::now() < deadline,
            "reading {topic} timed out"
        );
        let Some(m) = c.poll(Duration::from_millis(500)) else {
            continue;
        };
        let m = m.unwrap();
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            m.offset(),
            headers,
            m.payload().unwrap_or_default().to_vec(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelopes_round_trip_in_order_with_large_blocks_split() {
    let broker = Tansu::spawn().await;
    let mut cfg = config(&broker.brokers(), "round-trip");
    // Small enough that blocks of 40 transactions need several parts.
    cfg.max_message_bytes = 4096;
    let bus = bus(cfg).await;
    let envs = stream(12, 40);
    let publisher = bus.publisher(&chain()).await.unwrap();
    assert_eq!(publisher.topic(), "chainwatch.v1.evm.31337");
    publish_all(&publisher, &envs).await;

    let raw = read_raw(&broker.brokers(), publisher.topic());
    let parts = raw
        .iter()
        .filter(|(_, h, _)| h.contains_key(HEADER_PART))
        .count();
    assert!(
        parts > envs.len(),
        "expected split envelopes, got {parts} parts in {} records",
        raw.len()
    );

    let mut sub = bus.subscriber(&[chain()]).await.unwrap();
    let got = read_n(&mut sub, envs.len()).await;
    let got: Vec<Envelope> = got.into_iter().map(|d| d.envelope).collect();
    assert_eq!(got, envs);
    assert_quiet(&mut sub, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_subscriber_resumes_from_the_committed_offset() {
    let broker = Tansu::spawn().await;
    let bus = bus(config(&broker.brokers(), "resume")).await;
    let envs = stream(20, 3);
    let publisher = bus.publisher(&chain()).await.unwrap();
    publish_all(&publisher, &envs[..10]).await;
    {
        let mut sub = bus.subscriber(&[chain()]).await.unwrap();
        let got = read_n(&mut sub, 10).await;
        assert_eq!(got.last().unwrap().envelope.seq, 10);
        let committed = sub.committed(Duration::from_secs(10)).await.unwrap();
        assert_eq!(committed, vec![(publisher.topic().to_owned(), 0, 10)]);
    }
    publish_all(&publisher, &envs[10..]).await;
    let mut sub = bus.subscriber(&[chain()]).await.unwrap();
    let got = read_n(&mut sub, envs.len() - 10).await;
    let seqs: Vec<u64> = got.iter().map(|d| d.envelope.seq).collect();
    assert_eq!(
        seqs,
        (11..=envs.len() as u64).collect::<Vec<_>>(),
        "nothing re-delivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tail_gives_the_last_seq_and_the_published_chain_after_reverts() {
    let broker = Tansu::spawn().await;
    let mut cfg = config(&broker.brokers(), "tail");
    cfg.max_message_bytes = 4096;
    let bus = bus(cfg).await;
    assert_eq!(bus.tail(&chain(), 8).await.unwrap(), None, "empty topic");

    let envs = stream(12, 40);
    let publisher = bus.publisher(&chain()).await.unwrap();
    publish_all(&publisher, &envs).await;
    // What the stream leaves as the chain: replay it here.
    let mut expected = Vec::new();
    for e in &envs {
        match &e.event {
            ChainEvent::Apply { block } => expected.push(block.block_ref.clone()),
            ChainEvent::Revert { to, .. } => expected.retain(|r| r.height <= to.height),
            _ => {}
        }
    }
    let tail = bus.tail(&chain(), 8).await.unwrap().unwrap();
    assert_eq!(
        tail,
        StreamTail {
            seq: envs.len() as u64,
            recent: expected[expected.len() - 8..].to_vec(),
        }
    );

    // A publisher that died between the parts of the next envelope leaves a partial run: the
    // tail ignores it.
    let raw = raw_producer(&broker.brokers());
    let next = Envelope::new(chain(), envs.len() as u64 + 1, envs[0].event.clone()).encode();
    let seq = (envs.len() + 1).to_string();
    send_raw(
        &raw,
        publisher.topic(),
        &next[..100],
        &[
            ("chainwatch-v", "1"),
            ("chainwatch-seq", &seq),
            (HEADER_PART, "0/3"),
        ],
    )
    .await;
    let again = bus.tail(&chain(), 8).await.unwrap().unwrap();
    assert_eq!(again, tail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_goes_to_the_dead_letter_topic_then_the_chain_stops() {
    poison_case(PoisonPolicy::Stop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_goes_to_the_dead_letter_topic_then_is_skipped_when_configured() {
    poison_case(PoisonPolicy::Skip).await;
}

async fn poison_case(policy: PoisonPolicy) {
    let broker = Tansu::spawn().await;
    let mut cfg = config(&broker.brokers(), "poison");
    cfg.on_poison = policy;
    let dlq = cfg.dead_letter_topic.clone();
    let bus = bus(cfg).await;
    let envs = stream(6, 2);
    let publisher = bus.publisher(&chain()).await.unwrap();
    let topic = publisher.topic().to_owned();
    publish_all(&publisher, &envs[..3]).await;
    let raw = raw_producer(&broker.brokers());
    send_raw(&raw, &topic, b"{not json", &[]).await;
    // A newer producer's envelope version.
    send_raw(
        &raw,
        &topic,
        br#"{"v":2,"chain":"evm:31337","seq":4,"event":{}}"#,
        &[],
    )
    .await;
    let rest = &envs[3..];
    // The publisher's own records continue (publishing is not affected by strays).
    publish_all(&publisher, rest).await;

    let mut sub = bus.subscriber(&[chain()]).await.unwrap();
    match policy {
        PoisonPolicy::Stop => {
            let got = read_n(&mut sub, 3).await;
            let seqs: Vec<u64> = got.iter().map(|d| d.envelope.seq).collect();
            assert_eq!(seqs, vec![1, 2, 3], "nothing after the poison record");
            assert_quiet(&mut sub, Duration::from_secs(3)).await;
            assert_eq!(sub.stopped(), vec![format!("{topic}/0")]);
            // The committed position stays before the poison record: a restart meets it again.
            assert_eq!(
                sub.committed(Duration::from_secs(10)).await.unwrap(),
                vec![(topic.clone(), 0, 3)]
            );
        }
        PoisonPolicy::Skip => {
            let got = read_n(&mut sub, envs.len()).await;
            let seqs: Vec<u64> = got.iter().map(|d| d.envelope.seq).collect();
            assert_eq!(seqs, envs.iter().map(|e| e.seq).collect::<Vec<_>>());
            assert!(sub.stopped().is_empty());
            // Committed past both poison records.
            assert_eq!(
                sub.committed(Duration::from_secs(10)).await.unwrap(),
                vec![(topic.clone(), 0, envs.len() as i64 + 2)]
            );
        }
    }
    let dead = read_raw(&broker.brokers(), &dlq);
    let expected_dead = if policy == PoisonPolicy::Stop { 1 } else { 2 };
    assert_eq!(dead.len(), expected_dead, "{dead:?}");
    let (_, h, v) = &dead[0];
    assert_eq!(v, b"{not json");
    assert_eq!(h[HEADER_DLQ_TOPIC], topic);
    assert_eq!(h[HEADER_DLQ_OFFSET], "3");
    assert!(
        h[HEADER_DLQ_REASON].starts_with("malformed envelope: ")
            && h[HEADER_DLQ_REASON].contains("line 1 column"),
        "{h:?}"
    );
    if policy == PoisonPolicy::Skip {
        let (_, h, _) = &dead[1];
        assert_eq!(h[HEADER_DLQ_OFFSET], "4");
        assert!(
            h[HEADER_DLQ_REASON].contains("unknown envelope version 2"),
            "{h:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_fails_this_and_every_later_publish() {
    let mut broker = Tansu::spawn().await;
    let mut cfg = config(&broker.brokers(), "fail");
    cfg.properties
        .insert("message.timeout.ms".into(), "3000".into());
    let bus = bus(cfg).await;
    let envs = stream(6, 2);
    let publisher = bus.publisher(&chain()).await.unwrap();
    publish_all(&publisher, &envs[..2]).await;
    broker.kill();
    // Enqueueing works; the delivery report fails once the message times out.
    let _ = publisher.publish(envs[2].clone()).await;
    let err = publisher.flush().await.unwrap_err();
    let BusError::Delivery(msg) = &err else {
        panic!("expected a delivery error, got {err:?}");
    };
    assert!(
        msg.contains("seq 3") && msg.contains("chainwatch.v1.evm.31337"),
        "{msg}"
    );
    broker.restart().await;
    // Sticky: even with the broker back, this publisher refuses to go on past the hole.
    let again = publisher.publish(envs[3].clone()).await.unwrap_err();
    assert!(again.to_string().contains("seq 3"), "{again}");
}

/// The decoder built from the contract alone (Python, schema/contract/decode.py) reads the
/// records chainwatch produced, split ones included, from the raw topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_contract_decoder_reads_records_from_the_topic() {
    let broker = Tansu::spawn().await;
    let mut cfg = config(&broker.brokers(), "contract");
    cfg.max_message_bytes = 4096;
    let bus = bus(cfg).await;
    let envs = stream(5, 40);
    let publisher = bus.publisher(&chain()).await.unwrap();
    publish_all(&publisher, &envs).await;
    let raw = read_raw(&broker.brokers(), publisher.topic());
    assert!(raw.iter().any(|(_, h, _)| h.contains_key(HEADER_PART)));
    // One JSON line per record, as a Kafka tool would dump it: key, headers, base64 value.
    let dir = std::env::temp_dir().join(format!("cw-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("records.jsonl");
    let mut lines = String::new();
    for (offset, headers, value) in &raw {
        lines.push_str(
            &serde_json::json!({
                "offset": offset,
                "key": "evm:31337",
                "headers": headers,
                "value_base64": base64(value),
            })
            .to_string(),
        );
        lines.push('\n');
    }
    std::fs::write(&file, lines).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/contract/decode.py"
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg("--records")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "decode.py failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summaries: Vec<&str> = stdout.lines().take(envs.len()).collect();
    for (line, env) in summaries.iter().zip(&envs) {
        assert!(
            line.starts_with(&format!("seq={} chain=evm:31337 type=", env.seq)),
            "{line}"
        );
        if let ChainEvent::Apply { block } = &env.event {
            assert!(
                line.ends_with(&format!(
                    "height={} txs={}",
                    block.block_ref.height,
                    block.txs.len()
                )),
                "{line}"
            );
        }
    }
    assert_eq!(summaries.len(), envs.len(), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
