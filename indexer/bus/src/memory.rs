//! The in-process bus: a bounded channel, for `chainwatch dev` and tests.

use std::time::Duration;

use async_trait::async_trait;
use chainwatch_schema::Envelope;
use tokio::sync::mpsc;

use crate::{BusError, Delivery, Publisher, Subscriber};

/// A bounded in-process bus. Nothing is persisted: a restarted `dev` resumes from the database
/// watermark instead.
#[derive(Debug)]
pub struct InProcessBus;

impl InProcessBus {
    /// A publisher/subscriber pair holding at most `capacity` envelopes in flight. The bus
    /// closes when every publisher clone is dropped.
    pub fn channel(capacity: usize) -> (InProcessPublisher, InProcessSubscriber) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            InProcessPublisher { tx },
            InProcessSubscriber { rx, offset: 0 },
        )
    }
}

/// The sending side; clone it for each chain.
#[derive(Debug, Clone)]
pub struct InProcessPublisher {
    tx: mpsc::Sender<Envelope>,
}

#[async_trait]
impl Publisher for InProcessPublisher {
    async fn publish(&self, env: Envelope) -> Result<(), BusError> {
        self.tx.send(env).await.map_err(|_| BusError::Closed)
    }
}

/// The receiving side.
#[derive(Debug)]
pub struct InProcessSubscriber {
    rx: mpsc::Receiver<Envelope>,
    offset: u64,
}

impl InProcessSubscriber {
    fn delivery(&mut self, envelope: Envelope) -> Delivery {
        self.offset += 1;
        Delivery {
            envelope,
            offset: self.offset,
        }
    }
}

#[async_trait]
impl Subscriber for InProcessSubscriber {
    async fn next_batch(
        &mut self,
        max: usize,
        linger: Duration,
    ) -> Result<Vec<Delivery>, BusError> {
        let first = self.rx.recv().await.ok_or(BusError::Closed)?;
        let mut out = vec![self.delivery(first)];
        let deadline = tokio::time::Instant::now() + linger;
        while out.len() < max.max(1) {
            match self.rx.try_recv() {
                Ok(env) => out.push(self.delivery(env)),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                        Ok(Some(env)) => out.push(self.delivery(env)),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        Ok(out)
    }

    async fn commit(&mut self, _deliveries: &[Delivery]) -> Result<(), BusError> {
        // Nothing is persisted in process: the database watermark is the only resume point.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainwatch_schema::{ChainEvent, ChainId};

    fn env(seq: u64) -> Envelope {
        let chain: ChainId = "evm:1".parse().unwrap();
        Envelope::new(
            chain,
            seq,
            ChainEvent::Heartbeat {
                at_ms: seq,
                heads: vec![],
            },
        )
    }

    #[tokio::test]
    async fn batches_in_order_and_closes() {
        let (p, mut s) = InProcessBus::channel(8);
        for i in 1..=5 {
            p.publish(env(i)).await.unwrap();
        }
        drop(p);
        let b = s.next_batch(3, Duration::from_millis(10)).await.unwrap();
        assert_eq!(
            b.iter().map(|d| d.envelope.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let b = s.next_batch(10, Duration::from_millis(10)).await.unwrap();
        assert_eq!(b.iter().map(|d| d.envelope.seq).collect::<Vec<_>>(), [4, 5]);
        assert!(matches!(
            s.next_batch(10, Duration::from_millis(10)).await,
            Err(BusError::Closed)
        ));
    }

    #[tokio::test]
    async fn full_bus_applies_backpressure() {
        let (p, mut s) = InProcessBus::channel(2);
        p.publish(env(1)).await.unwrap();
        p.publish(env(2)).await.unwrap();
        let blocked = tokio::time::timeout(Duration::from_millis(50), p.publish(env(3))).await;
        assert!(blocked.is_err(), "publish into a full bus must wait");
        s.next_batch(1, Duration::ZERO).await.unwrap();
        tokio::time::timeout(Duration::from_millis(500), p.publish(env(3)))
            .await
            .expect("publish proceeds once there is room")
            .unwrap();
    }
}
