//! Integration tests of the bus against a real Kafka-protocol broker (tansu).

mod kafka;
