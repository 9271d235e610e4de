//! How envelopes travel in Kafka records: names, headers, splitting and reassembly.
//!
//! A record's key is the chain id (`evm:1`), its value the envelope's JSON (see
//! `schema/envelope.schema.json`). An envelope larger than the configured message limit is sent
//! as consecutive records of the same partition, each holding a slice of the JSON and the header
//! `chainwatch-part: <i>/<n>` (0-based); concatenating the values of parts `0..n` gives the JSON.
//! Every record also carries `chainwatch-v` (the envelope version) and `chainwatch-seq`.
//! A publisher that dies between parts leaves an incomplete run behind; it republishes that
//! `seq` from part 0, so readers drop a run that another part 0 interrupts.

use chainwatch_schema::ChainId;

use crate::BusError;

/// Header: the envelope version, as decimal text.
pub const HEADER_VERSION: &str = "chainwatch-v";
/// Header: the envelope's `seq`, as decimal text.
pub const HEADER_SEQ: &str = "chainwatch-seq";
/// Header on split envelopes: `<index>/<count>`, index from 0.
pub const HEADER_PART: &str = "chainwatch-part";
/// Dead-letter header: why the record was rejected.
pub const HEADER_DLQ_REASON: &str = "chainwatch-dlq-reason";
/// Dead-letter header: the topic the record came from.
pub const HEADER_DLQ_TOPIC: &str = "chainwatch-dlq-topic";
/// Dead-letter header: its partition.
pub const HEADER_DLQ_PARTITION: &str = "chainwatch-dlq-partition";
/// Dead-letter header: its offset.
pub const HEADER_DLQ_OFFSET: &str = "chainwatch-dlq-offset";

/// The topic of `chain`: `prefix` + the chain id with `:` replaced by `.` (Kafka topic names
/// allow only ASCII letters, digits, `.`, `_` and `-`), e.g. `chainwatch.v1.evm.1`.
pub fn topic_for(prefix: &str, chain: &ChainId) -> Result<String, BusError> {
    let topic = format!("{prefix}{}", chain.as_str().replacen(':', ".", 1));
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if topic.is_empty() || topic.len() > 249 || !topic.chars().all(legal) {
        return Err(BusError::Config(format!(
            "chain {chain}: topic name {topic:?} is not a legal Kafka topic name \
             (at most 249 of a-z A-Z 0-9 . _ -)"
        )));
    }
    Ok(topic)
}

/// The chain of `topic`, the inverse of [`topic_for`]; `None` for topics outside `prefix`.
pub fn chain_of_topic(prefix: &str, topic: &str) -> Option<ChainId> {
    topic
        .strip_prefix(prefix)?
        .replacen('.', ":", 1)
        .parse()
        .ok()
}

/// Parses a `chainwatch-part` value.
pub(crate) fn parse_part(v: &[u8]) -> Result<(u32, u32), String> {
    let text =
        std::str::from_utf8(v).map_err(|_| "chainwatch-part header is not UTF-8".to_owned())?;
    let bad =
        || format!("chainwatch-part header {text:?}: expected <index>/<count> with index < count");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (i.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// `(index, count)` of a split envelope's part.
pub(crate) type Part = (u32, u32);

/// A record's framing headers: its part (`None` for a whole envelope) and its `seq` (when the
/// header is there and numeric). A malformed or empty `chainwatch-part` is an error.
pub(crate) fn framing<H: rdkafka::message::Headers + ?Sized>(
    headers: Option<&H>,
) -> Result<(Option<Part>, Option<u64>), String> {
    let (mut part, mut seq) = (None, None);
    let all = headers.map_or(0, |h| h.count());
    for h in (0..all).filter_map(|i| headers.and_then(|hs| hs.try_get(i))) {
        match h.key {
            HEADER_PART => {
                let v = h.value.ok_or("empty chainwatch-part header")?;
                part = Some(parse_part(v)?);
            }
            HEADER_SEQ => {
                seq = h
                    .value
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| v.parse().ok());
            }
            _ => {}
        }
    }
    Ok((part, seq))
}

/// The slices an encoded envelope is sent as: one when it fits `max`, else `ceil(len/max)`.
pub(crate) fn split(bytes: &[u8], max: usize) -> Vec<&[u8]> {
    if bytes.len() <= max || max == 0 {
        vec![bytes]
    } else {
        bytes.chunks(max).collect()
    }
}

/// What [`Assembler::accept`] made of one part.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Assembled {
    /// The last part arrived: the whole value.
    Complete(Vec<u8>),
    /// More parts are needed.
    Pending,
    /// A part that continues nothing we hold (the start was never seen): dropped.
    Orphan,
}

/// Reassembles one partition's split envelopes.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    run: Option<Run>,
}

#[derive(Debug)]
struct Run {
    seq: Option<u64>,
    count: u32,
    next: u32,
    buf: Vec<u8>,
}

impl Assembler {
    /// Feeds part `index` of `count` of envelope `seq`. Part 0 always starts a new run (an
    /// unfinished one was abandoned by a publisher that restarted).
    pub(crate) fn accept(
        &mut self,
        seq: Option<u64>,
        (index, count): (u32, u32),
        value: &[u8],
    ) -> Assembled {
        if index == 0 {
            self.run = Some(Run {
                seq,
                count,
                next: 0,
                buf: Vec::with_capacity(value.len() * count as usize),
            });
        }
        let Some(run) = self.run.as_mut() else {
            return Assembled::Orphan;
        };
        if run.seq != seq || run.count != count || run.next != index {
            self.run = None;
            return Assembled::Orphan;
        }
        run.buf.extend_from_slice(value);
        run.next += 1;
        if run.next == run.count {
            let run = self.run.take().map(|r| r.buf).unwrap_or_default();
            Assembled::Complete(run)
        } else {
            Assembled::Pending
        }
    }

    /// Whether a run is in progress.
    pub(crate) fn in_progress(&self) -> bool {
        self.run.is_some()
    }

    /// Drops any run in progress.
    pub(crate) fn reset(&mut self) {
        self.run = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_round_trip() {
        let chain: ChainId = "evm:1".parse().unwrap();
        let t = topic_for("chainwatch.v1.", &chain).unwrap();
        assert_eq!(t, "chainwatch.v1.evm.1");
        assert_eq!(chain_of_topic("chainwatch.v1.", &t), Some(chain));
        let sol: ChainId = "solana:mainnet-beta".parse().unwrap();
        let t = topic_for("cw.", &sol).unwrap();
        assert_eq!(t, "cw.solana.mainnet-beta");
        assert_eq!(chain_of_topic("cw.", &t), Some(sol));
        assert_eq!(chain_of_topic("cw.", "other.topic"), None);
        let err = topic_for("bad prefix/", &"evm:1".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("\"bad prefix/evm.1\""), "{err}");
    }

    #[test]
    fn part_headers() {
        assert_eq!(parse_part(b"0/3"), Ok((0, 3)));
        assert_eq!(parse_part(b"2/3"), Ok((2, 3)));
        for bad in [&b"3/3"[..], b"x/3", b"1", b"", b"-1/2", b"\xff"] {
            assert!(parse_part(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn split_and_reassemble() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let parts = split(&data, 300);
        assert_eq!(parts.len(), 4);
        assert_eq!(split(&data, 1000).len(), 1);
        let mut a = Assembler::default();
        let n = parts.len() as u32;
        for (i, p) in parts.iter().enumerate() {
            let got = a.accept(Some(7), (i as u32, n), p);
            if i + 1 < parts.len() {
                assert_eq!(got, Assembled::Pending);
            } else {
                assert_eq!(got, Assembled::Complete(data.clone()));
            }
        }
        assert!(!a.in_progress());
    }

    #[test]
    fn an_interrupted_run_is_replaced_by_the_republished_one() {
        let mut a = Assembler::default();
        assert_eq!(a.accept(Some(5), (0, 3), b"ab"), Assembled::Pending);
        assert_eq!(a.accept(Some(5), (1, 3), b"cd"), Assembled::Pending);
        // The publisher restarted and sends seq 5 again from part 0.
        assert_eq!(a.accept(Some(5), (0, 3), b"AB"), Assembled::Pending);
        assert_eq!(a.accept(Some(5), (1, 3), b"CD"), Assembled::Pending);
        assert_eq!(
            a.accept(Some(5), (2, 3), b"EF"),
            Assembled::Complete(b"ABCDEF".to_vec())
        );
    }

    #[test]
    fn orphans_and_mismatches_are_dropped() {
        let mut a = Assembler::default();
        assert_eq!(a.accept(Some(1), (1, 2), b"x"), Assembled::Orphan);
        assert_eq!(a.accept(Some(1), (0, 3), b"x"), Assembled::Pending);
        assert_eq!(a.accept(Some(2), (1, 3), b"x"), Assembled::Orphan);
        assert!(!a.in_progress());
        assert_eq!(a.accept(Some(1), (0, 2), b"x"), Assembled::Pending);
        a.reset();
        assert_eq!(a.accept(Some(1), (1, 2), b"y"), Assembled::Orphan);
    }
}
