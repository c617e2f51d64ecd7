//! What every peer is asked to do: the same events, the same streams, the same checks.

use std::time::Duration;

use bytes::Bytes;
use imece_log::{ExpectedVersion, NewEvent, StreamId};

/// Bytes of data in each event.
pub const DATA_BYTES: usize = 300;
/// The type of every event.
const EVENT_TYPE: &str = "MemberAdmitted.v1";
/// The metadata of every event: small, like a correlation id and an actor.
const METADATA: &str = r#"{"actor":"bench","correlation":"0196f1d2-7c3e-7a10-9b2f-4e5d6c7b8a90"}"#;

/// Bytes of metadata in each event.
pub fn metadata_bytes() -> usize {
    METADATA.len()
}

/// The events of one append: fresh ids, a JSON-like payload of [`DATA_BYTES`] and small metadata.
pub fn events(count: usize) -> Vec<NewEvent> {
    let (data, metadata) = payload();
    (0..count).map(|_| NewEvent::new(EVENT_TYPE, data.clone()).with_metadata(metadata.clone())).collect()
}

fn payload() -> (Bytes, Bytes) {
    thread_local! {
        static PAYLOAD: (Bytes, Bytes) = {
            let mut data = String::from(
                r#"{"cooperative":"org-0196f1d2","member":"Ayse Yilmaz","shares":25,"admitted_on":"2026-11-22","note":""#,
            );
            let filler = "abcdefghijklmnopqrstuvwxyz";
            while data.len() < DATA_BYTES - 2 {
                let room = DATA_BYTES - 2 - data.len();
                data.push_str(&filler[..room.min(filler.len())]);
            }
            data.push_str("\"}");
            (Bytes::from(data), Bytes::from_static(METADATA.as_bytes()))
        };
    }
    PAYLOAD.with(Clone::clone)
}

/// The shape of a write scenario.
#[derive(Clone, Copy, Debug)]
pub struct WritePlan {
    /// Concurrent writers.
    pub writers: usize,
    /// Events per append.
    pub batch: usize,
    /// Streams each writer owns and appends to in turn.
    pub streams_per_writer: usize,
}

/// The streams one writer owns, each with the version it is at, taken in turn.
#[derive(Debug)]
pub struct WriterStreams {
    streams: Vec<(StreamId, Option<u64>)>,
    current: usize,
}

impl WriterStreams {
    /// The `count` streams of writer `writer`, all still empty.
    pub fn new(writer: usize, count: usize) -> Self {
        let streams = (0..count).map(|i| (stream_name(writer, i), None)).collect();
        WriterStreams { streams, current: count - 1 }
    }

    /// The next stream in turn, and what an append to it expects: no stream, then the exact version.
    pub fn next(&mut self) -> (StreamId, ExpectedVersion) {
        self.current = (self.current + 1) % self.streams.len();
        let (stream, version) = &self.streams[self.current];
        let expected = match version {
            None => ExpectedVersion::NoStream,
            Some(v) => ExpectedVersion::Exact(*v),
        };
        (stream.clone(), expected)
    }

    /// Records that the stream last returned by [`WriterStreams::next`] is now at `version`.
    pub fn advanced(&mut self, version: u64) {
        self.streams[self.current].1 = Some(version);
    }
}

/// The name of stream `index` of writer `writer`.
pub fn stream_name(writer: usize, index: usize) -> StreamId {
    StreamId::new(format!("org-{writer:03}-{index:06}")).expect("a valid stream name")
}

/// The name of stream `index` of a filled log.
fn fill_stream_name(index: usize) -> StreamId {
    StreamId::new(format!("org-{index:07}")).expect("a valid stream name")
}

/// What a write or read run did, and in how long.
#[derive(Clone, Copy, Debug, Default)]
pub struct Throughput {
    pub events: u64,
    pub appends: u64,
    pub elapsed: Duration,
    /// Group-commit syncs, for the peers that count them.
    pub syncs: Option<u64>,
    /// Bytes the peer wrote, for the peers that count them.
    pub bytes_written: Option<u64>,
}

impl Throughput {
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    pub fn appends_per_sec(&self) -> f64 {
        self.appends as f64 / self.elapsed.as_secs_f64()
    }

    pub fn syncs_per_sec(&self) -> Option<f64> {
        self.syncs.map(|s| s as f64 / self.elapsed.as_secs_f64())
    }
}

/// Events and appends one writer got acknowledged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub events: u64,
    pub appends: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.events += other.events;
        self.appends += other.appends;
    }
}

/// How a log is filled before it is read or reopened: `streams` streams of `events / streams` events
/// each, appended `batch` events at a time by [`FILL_WRITERS`] writers, so that streams interleave.
#[derive(Clone, Copy, Debug)]
pub struct FillPlan {
    pub events: u64,
    pub streams: usize,
    pub batch: usize,
}

/// Concurrent writers that fill a log.
pub const FILL_WRITERS: usize = 8;

impl FillPlan {
    /// `events` events over `events / 100` streams, 25 events per append.
    pub fn hundred_per_stream(events: u64) -> Self {
        FillPlan { events, streams: (events / 100) as usize, batch: 25 }
    }

    /// The appends of writer `writer`, in order: (stream, expected version, events).
    pub fn appends(self, writer: usize) -> impl Iterator<Item = (StreamId, ExpectedVersion, usize)> {
        let per_stream = self.events / self.streams as u64;
        let rounds = per_stream.div_ceil(self.batch as u64);
        let mine: Vec<usize> = (writer..self.streams).step_by(FILL_WRITERS).collect();
        (0..rounds).flat_map(move |round| {
            let done = round * self.batch as u64;
            let count = (per_stream - done).min(self.batch as u64) as usize;
            let expected = if round == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(done - 1) };
            mine.clone().into_iter().map(move |s| (fill_stream_name(s), expected, count))
        })
    }
}

/// Reads the whole log forward with `read_all`, `page` events at a time, pass after pass until
/// `duration` is over (at least one pass).
pub async fn read_passes(
    log: &dyn imece_log::EventLog,
    page: usize,
    duration: Duration,
) -> imece_log::Result<Throughput> {
    let start = std::time::Instant::now();
    let mut events = 0u64;
    while events == 0 || start.elapsed() < duration {
        let mut from = 0u64;
        loop {
            let read = log.read_all(from, page).await?;
            let Some(last) = read.last() else { break };
            from = last.position + 1;
            events += read.len() as u64;
        }
    }
    Ok(Throughput { events, elapsed: start.elapsed(), ..Throughput::default() })
}

/// Runs the write scenario `plan` on `log` for `duration`: one tokio task per writer, each appending
/// `events(plan.batch)` to its own streams in turn with the exact expected version.
pub async fn write_for(
    log: std::sync::Arc<dyn imece_log::EventLog>,
    plan: WritePlan,
    duration: Duration,
    events: fn(usize) -> Vec<NewEvent>,
) -> imece_log::Result<Throughput> {
    let start = std::time::Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..plan.writers)
        .map(|writer| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut streams = WriterStreams::new(writer, plan.streams_per_writer);
                let mut counts = Counts::default();
                while std::time::Instant::now() < deadline {
                    let (stream, expected) = streams.next();
                    let written = log.append(&stream, expected, events(plan.batch)).await?;
                    streams.advanced(written.last_version);
                    counts += Counts { events: plan.batch as u64, appends: 1 };
                }
                Ok::<_, imece_log::Error>(counts)
            })
        })
        .collect();
    let mut total = Counts::default();
    for task in tasks {
        total += task.await.expect("a writer task panicked")?;
    }
    Ok(Throughput { events: total.events, appends: total.appends, elapsed: start.elapsed(), ..Throughput::default() })
}
