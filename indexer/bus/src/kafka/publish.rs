//! The pipelined, idempotent publisher of one chain.

use std::collections::VecDeque;

use async_trait::async_trait;
use chainwatch_schema::{ChainId, ENVELOPE_VERSION, Envelope};
use futures::FutureExt as _;
use rdkafka::{
    error::KafkaError,
    message::{Header, OwnedHeaders},
    producer::{DeliveryFuture, FutureProducer, FutureRecord},
    types::RDKafkaErrorCode,
};
use tokio::sync::Mutex;

use super::frame::{HEADER_PART, HEADER_SEQ, HEADER_VERSION, split};
use crate::{BusError, Publisher};

/// Publishes one chain's envelopes to its topic. See the module docs for the guarantees.
pub struct KafkaPublisher {
    producer: FutureProducer,
    topic: String,
    chain: ChainId,
    max_message_bytes: usize,
    max_in_flight: usize,
    max_in_flight_bytes: usize,
    state: Mutex<InFlight>,
}

impl std::fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct InFlight {
    /// Delivery reports not yet seen, oldest first, with the seq and size each belongs to.
    queue: VecDeque<(u64, usize, DeliveryFuture)>,
    /// Bytes of the records in `queue`.
    bytes: usize,
    /// The first failure; sticky.
    failed: Option<String>,
}

impl KafkaPublisher {
    pub(super) fn new(
        producer: FutureProducer,
        topic: String,
        chain: ChainId,
        max_message_bytes: usize,
        max_in_flight: usize,
        max_in_flight_bytes: usize,
    ) -> Self {
        Self {
            producer,
            topic,
            chain,
            max_message_bytes,
            max_in_flight: max_in_flight.max(1),
            max_in_flight_bytes: max_in_flight_bytes.max(1),
            state: Mutex::new(InFlight::default()),
        }
    }

    /// The topic written to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    fn fail(&self, st: &mut InFlight, seq: u64, why: String) -> BusError {
        let msg = format!(
            "chain {}: delivery of seq {seq} to topic {} failed: {why}",
            self.chain, self.topic
        );
        metrics::counter!("chainwatch_bus_delivery_errors_total", "chain" => self.chain.to_string())
            .increment(1);
        BusError::Delivery(st.failed.get_or_insert(msg).clone())
    }

    /// Waits for the oldest delivery report.
    async fn settle_front(&self, st: &mut InFlight) -> Result<(), BusError> {
        let Some((seq, size, fut)) = st.queue.pop_front() else {
            return Ok(());
        };
        st.bytes -= size;
        self.settle(st, seq, fut.await)
    }

    fn settle(
        &self,
        st: &mut InFlight,
        seq: u64,
        report: Result<
            rdkafka::producer::future_producer::OwnedDeliveryResult,
            futures::channel::oneshot::Canceled,
        >,
    ) -> Result<(), BusError> {
        match report {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((e, _))) => Err(self.fail(st, seq, e.to_string())),
            Err(_) => Err(self.fail(st, seq, "the producer was dropped".into())),
        }
    }

    /// Takes every report that is already in, in order.
    fn reap(&self, st: &mut InFlight) -> Result<(), BusError> {
        while let Some((_, _, fut)) = st.queue.front_mut() {
            let Some(report) = fut.now_or_never() else {
                break;
            };
            let Some((seq, size, _)) = st.queue.pop_front() else {
                break;
            };
            st.bytes -= size;
            self.settle(st, seq, report)?;
        }
        Ok(())
    }
}

#[async_trait]
impl Publisher for KafkaPublisher {
    async fn publish(&self, env: Envelope) -> Result<(), BusError> {
        let mut st = self.state.lock().await;
        if let Some(e) = &st.failed {
            return Err(BusError::Delivery(e.clone()));
        }
        let seq = env.seq;
        let bytes = env.encode();
        let parts = split(&bytes, self.max_message_bytes);
        let count = parts.len();
        let key = self.chain.as_str();
        let (version, seq_text) = (ENVELOPE_VERSION.to_string(), seq.to_string());
        for (i, part) in parts.into_iter().enumerate() {
            let part_header = format!("{i}/{count}");
            let mut headers = OwnedHeaders::new()
                .insert(Header {
                    key: HEADER_VERSION,
                    value: Some(version.as_str()),
                })
                .insert(Header {
                    key: HEADER_SEQ,
                    value: Some(seq_text.as_str()),
                });
            if count > 1 {
                headers = headers.insert(Header {
                    key: HEADER_PART,
                    value: Some(part_header.as_str()),
                });
            }
            let mut record = FutureRecord::to(&self.topic)
                .key(key)
                .payload(part)
                .headers(headers);
            loop {
                match self.producer.send_result(record) {
                    Ok(fut) => {
                        st.queue.push_back((seq, part.len(), fut));
                        st.bytes += part.len();
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // librdkafka's queue is full: wait for the oldest report, then retry.
                        record = back;
                        if st.queue.is_empty() {
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        } else {
                            self.settle_front(&mut st).await?;
                        }
                    }
                    Err((e, _)) => return Err(self.fail(&mut st, seq, e.to_string())),
                }
            }
        }
        if count > 1 {
            metrics::counter!("chainwatch_bus_split_envelopes_total", "chain" => self.chain.to_string())
                .increment(1);
        }
        metrics::counter!("chainwatch_bus_published_total", "chain" => self.chain.to_string())
            .increment(1);
        self.reap(&mut st)?;
        while st.queue.len() > self.max_in_flight || st.bytes > self.max_in_flight_bytes {
            self.settle_front(&mut st).await?;
        }
        Ok(())
    }

    async fn flush(&self) -> Result<(), BusError> {
        let mut st = self.state.lock().await;
        while !st.queue.is_empty() {
            self.settle_front(&mut st).await?;
        }
        match &st.failed {
            Some(e) => Err(BusError::Delivery(e.clone())),
            None => Ok(()),
        }
    }
}
