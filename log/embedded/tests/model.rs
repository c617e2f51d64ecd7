//! Model-based test: random operations run against the embedded log and against a plain in-memory
//! model side by side, with reopenings in between; every answer of the log must be the model's.
//!
//! The model decides each append on its own (validation, idempotent retries, duplicate ids,
//! expected versions) and holds every event, so every read is compared field by field. Segments are
//! as small as allowed, so segment rolls, sealed-segment index files and spare segments are in play
//! in almost every case.
//!
//! `PROPTEST_CASES` changes the number of cases (default 128).

use std::collections::{BTreeMap, HashMap};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use imece_log::{
    AppendResult, Direction, Error, EventId, EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamFrom, StreamId,
};
use imece_log_embedded::{EmbeddedLog, Options};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

/// The smallest segment the log accepts.
const SEGMENT_SIZE: u64 = 4096;
const STREAMS: [&str; 5] = ["org-0196f1d2", "org-b", "membership-register-c", "assembly-ü-d", "e"];
const EVENT_TYPES: [&str; 4] = ["OrganisationRegistered.v1", "MemberJoined.v1", "AssemblyHeld.v2", "Beschluss-ü.v1"];

// ---------------------------------------------------------------------------------------------
// Operations

/// An expected version, some relative to the model's version of the stream so that it is right
/// often enough.
#[derive(Clone, Copy, Debug)]
enum Expect {
    Any,
    NoStream,
    StreamExists,
    /// `Exact(model version + delta)`; on a stream without events the version counts as -1, and a
    /// result below 0 becomes `Exact(0)`.
    Exact(i8),
}

#[derive(Clone, Debug)]
struct Ev {
    event_type: usize,
    data: Vec<u8>,
    metadata: Vec<u8>,
}

/// How a write reuses an earlier append's events.
#[derive(Clone, Debug)]
enum Reuse {
    /// The same events to the same stream: must return the original result.
    Exact,
    /// One event with other data.
    ChangedData(Index),
    /// One event with another type.
    ChangedType(Index),
    /// One event with other metadata.
    ChangedMetadata(Index),
    /// The same events to another stream (1..=4 streams further).
    OtherStream(u8),
    /// The same events plus a fresh one, before or after them.
    WithFreshEvent { before: bool },
    /// The same events in reverse order (an exact retry if there is only one).
    Reversed,
    /// Up to `len` events of the stream that follow one another in the log, from an event of the
    /// append on: part of it, or running into the stream's next appends.
    Run { start: Index, len: u8 },
}

/// A batch the log must refuse as invalid input before looking at the stream.
#[derive(Clone, Copy, Debug)]
enum Invalid {
    Empty,
    DuplicateIdInBatch,
    NilId,
    EmptyType,
    ControlCharInType,
}

#[derive(Clone, Debug)]
enum Write {
    New { stream: usize, expected: Expect, events: Vec<Ev> },
    Reuse { append: Index, expected: Expect, how: Reuse },
    Invalid { stream: usize, expected: Expect, kind: Invalid },
}

#[derive(Clone, Copy, Debug)]
enum ReadFrom {
    Start,
    End,
    /// A version in `0..len + 3`, taken modulo.
    Version(u8),
}

#[derive(Clone, Debug)]
enum Op {
    Write(Write),
    /// Appends issued at once, in this order: the writer decides them in order, often several in
    /// one group commit, so they must come out as if done one after the other.
    Concurrent(Vec<Write>),
    ReadStream {
        stream: usize,
        from: ReadFrom,
        backward: bool,
        limit: usize,
    },
    /// From a position in `0..head + 3`, taken modulo.
    ReadAll {
        from: u8,
        limit: usize,
    },
    StreamVersion(usize),
    Head,
    Reopen {
        preallocate: bool,
    },
}

fn expect_strategy() -> impl Strategy<Value = Expect> {
    prop_oneof![
        3 => Just(Expect::Any),
        1 => Just(Expect::NoStream),
        1 => Just(Expect::StreamExists),
        4 => Just(Expect::Exact(0)),
        2 => (-2i8..=2).prop_map(Expect::Exact),
    ]
}

fn ev_strategy() -> impl Strategy<Value = Ev> {
    let data = prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..16),
        1 => prop::collection::vec(any::<u8>(), 200..1500),
    ];
    let metadata = prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec(any::<u8>(), 1..8)];
    (0..EVENT_TYPES.len(), data, metadata).prop_map(|(event_type, data, metadata)| Ev { event_type, data, metadata })
}

fn reuse_strategy() -> impl Strategy<Value = Reuse> {
    prop_oneof![
        4 => Just(Reuse::Exact),
        1 => any::<Index>().prop_map(Reuse::ChangedData),
        1 => any::<Index>().prop_map(Reuse::ChangedType),
        1 => any::<Index>().prop_map(Reuse::ChangedMetadata),
        1 => (1u8..5).prop_map(Reuse::OtherStream),
        1 => any::<bool>().prop_map(|before| Reuse::WithFreshEvent { before }),
        1 => Just(Reuse::Reversed),
        2 => (any::<Index>(), 1u8..5).prop_map(|(start, len)| Reuse::Run { start, len }),
    ]
}

fn invalid_strategy() -> impl Strategy<Value = Invalid> {
    prop_oneof![
        Just(Invalid::Empty),
        Just(Invalid::DuplicateIdInBatch),
        Just(Invalid::NilId),
        Just(Invalid::EmptyType),
        Just(Invalid::ControlCharInType),
    ]
}

fn write_strategy() -> impl Strategy<Value = Write> {
    let stream = 0..STREAMS.len();
    prop_oneof![
        6 => (stream.clone(), expect_strategy(), prop::collection::vec(ev_strategy(), 1..4))
            .prop_map(|(stream, expected, events)| Write::New { stream, expected, events }),
        3 => (any::<Index>(), expect_strategy(), reuse_strategy())
            .prop_map(|(append, expected, how)| Write::Reuse { append, expected, how }),
        1 => (stream, expect_strategy(), invalid_strategy())
            .prop_map(|(stream, expected, kind)| Write::Invalid { stream, expected, kind }),
    ]
}

fn limit_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0usize), 3 => 1usize..6, 2 => Just(usize::MAX)]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let stream = 0..STREAMS.len();
    let from = prop_oneof![Just(ReadFrom::Start), Just(ReadFrom::End), any::<u8>().prop_map(ReadFrom::Version)];
    prop_oneof![
        10 => write_strategy().prop_map(Op::Write),
        2 => prop::collection::vec(write_strategy(), 2..6).prop_map(Op::Concurrent),
        3 => (stream.clone(), from, any::<bool>(), limit_strategy())
            .prop_map(|(stream, from, backward, limit)| Op::ReadStream { stream, from, backward, limit }),
        2 => (any::<u8>(), limit_strategy()).prop_map(|(from, limit)| Op::ReadAll { from, limit }),
        1 => stream.prop_map(Op::StreamVersion),
        1 => Just(Op::Head),
        1 => any::<bool>().prop_map(|preallocate| Op::Reopen { preallocate }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The model

/// What the model says an append must return.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Ok(AppendResult),
    WrongExpectedVersion {
        stream: StreamId,
        expected: ExpectedVersion,
        actual: Option<u64>,
    },
    /// Any of these ids (the ones of the batch already in the log) may be named.
    DuplicateEventId(Vec<EventId>),
    /// A batch of events stored one after the other in its stream, but not as one append: part of
    /// an append, or running across appends. ADR 0001: it is a retry, answered with exactly the
    /// positions and versions the events have.
    RetryOfRun(AppendResult),
    InvalidInput,
}

#[derive(Clone, Debug)]
struct ModelEvent {
    stream: StreamId,
    version: u64,
    event: NewEvent,
    /// The log's timestamp, once seen: it must never change.
    recorded_at_micros: Option<i64>,
}

#[derive(Debug, Default)]
struct Model {
    events: Vec<ModelEvent>,
    /// Positions of each stream's events.
    streams: BTreeMap<StreamId, Vec<u64>>,
    ids: HashMap<EventId, u64>,
    /// Appends that wrote events, in order: stream, events, result.
    appends: Vec<(StreamId, Vec<NewEvent>, AppendResult)>,
    /// Source of fresh event ids.
    next_id: u128,
}

impl Model {
    fn fresh_id(&mut self) -> EventId {
        self.next_id += 1;
        EventId::from(uuid::Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0000 | self.next_id))
    }

    fn version(&self, stream: &StreamId) -> Option<u64> {
        self.streams.get(stream).map(|p| p.len() as u64 - 1)
    }

    fn expected(&self, stream: &StreamId, expect: Expect) -> ExpectedVersion {
        match expect {
            Expect::Any => ExpectedVersion::Any,
            Expect::NoStream => ExpectedVersion::NoStream,
            Expect::StreamExists => ExpectedVersion::StreamExists,
            Expect::Exact(delta) => {
                let current = self.version(stream).map_or(-1, |v| v as i64);
                ExpectedVersion::Exact((current + i64::from(delta)).max(0) as u64)
            }
        }
    }

    fn new_event(&mut self, ev: &Ev) -> NewEvent {
        NewEvent::new(EVENT_TYPES[ev.event_type], ev.data.clone())
            .with_metadata(ev.metadata.clone())
            .with_id(self.fresh_id())
    }

    /// The append a write stands for, or `None` if it reuses an append and there is none yet.
    fn resolve(&mut self, write: &Write) -> Option<(StreamId, ExpectedVersion, Vec<NewEvent>)> {
        match write {
            Write::New { stream, expected, events } => {
                let stream = StreamId::new(STREAMS[*stream]).unwrap();
                let events = events.iter().map(|e| self.new_event(e)).collect();
                Some((stream.clone(), self.expected(&stream, *expected), events))
            }
            Write::Reuse { append, expected, how } => {
                if self.appends.is_empty() {
                    return None;
                }
                let (mut stream, mut events, _) = self.appends[append.index(self.appends.len())].clone();
                let n = events.len();
                match how {
                    Reuse::Exact => {}
                    Reuse::ChangedData(k) => {
                        let e = &mut events[k.index(n)];
                        let mut data = e.data.to_vec();
                        data.push(0x42);
                        e.data = data.into();
                    }
                    Reuse::ChangedType(k) => {
                        let e = &mut events[k.index(n)];
                        e.event_type.push_str(".changed");
                    }
                    Reuse::ChangedMetadata(k) => {
                        let e = &mut events[k.index(n)];
                        let mut metadata = e.metadata.to_vec();
                        metadata.push(0x17);
                        e.metadata = metadata.into();
                    }
                    Reuse::OtherStream(shift) => {
                        let i = STREAMS.iter().position(|s| *s == stream.as_str()).unwrap();
                        stream = StreamId::new(STREAMS[(i + usize::from(*shift)) % STREAMS.len()]).unwrap();
                    }
                    Reuse::WithFreshEvent { before } => {
                        let fresh =
                            self.new_event(&Ev { event_type: 0, data: b"fresh".to_vec(), metadata: Vec::new() });
                        if *before {
                            events.insert(0, fresh);
                        } else {
                            events.push(fresh);
                        }
                    }
                    Reuse::Reversed => events.reverse(),
                    Reuse::Run { start, len } => {
                        let first = self.ids[&events[start.index(n)].id];
                        events = (first..self.events.len() as u64)
                            .map(|p| &self.events[p as usize])
                            .take_while(|e| e.stream == stream)
                            .take(usize::from(*len))
                            .map(|e| e.event.clone())
                            .collect();
                    }
                }
                Some((stream.clone(), self.expected(&stream, *expected), events))
            }
            Write::Invalid { stream, expected, kind } => {
                let stream = StreamId::new(STREAMS[*stream]).unwrap();
                let ev = Ev { event_type: 1, data: b"x".to_vec(), metadata: Vec::new() };
                let events = match kind {
                    Invalid::Empty => Vec::new(),
                    Invalid::DuplicateIdInBatch => {
                        let a = self.new_event(&ev);
                        let b = self.new_event(&ev).with_id(a.id);
                        vec![a, b]
                    }
                    Invalid::NilId => vec![self.new_event(&ev).with_id(EventId::from(uuid::Uuid::nil()))],
                    Invalid::EmptyType => {
                        let mut e = self.new_event(&ev);
                        e.event_type.clear();
                        vec![e]
                    }
                    Invalid::ControlCharInType => {
                        let mut e = self.new_event(&ev);
                        e.event_type = "Bad\ntype.v1".to_owned();
                        vec![self.new_event(&ev), e]
                    }
                };
                Some((stream.clone(), self.expected(&stream, *expected), events))
            }
        }
    }

    /// Decides an append as the log must, and applies it if it writes.
    fn append(&mut self, stream: &StreamId, expected: ExpectedVersion, events: &[NewEvent]) -> Outcome {
        let mut seen = std::collections::HashSet::new();
        let invalid = events.is_empty()
            || events.iter().any(|e| {
                e.id.as_uuid().is_nil()
                    || !seen.insert(e.id)
                    || e.event_type.is_empty()
                    || e.event_type.chars().any(char::is_control)
            });
        if invalid {
            return Outcome::InvalidInput;
        }
        let known: Vec<EventId> = events.iter().map(|e| e.id).filter(|id| self.ids.contains_key(id)).collect();
        if !known.is_empty() {
            // An exact retry: the very events of one earlier append, to its stream.
            let first = self.ids.get(&events[0].id);
            let original = self.appends.iter().find(|(_, _, r)| Some(&r.first_position) == first);
            if let Some((s, evs, result)) = original
                && s == stream
                && evs == events
            {
                return Outcome::Ok(*result);
            }
            // Every event in the log, in this stream, with this content, one after the other.
            let stored: Vec<&ModelEvent> = known.iter().map(|id| &self.events[self.ids[id] as usize]).collect();
            let run = known.len() == events.len()
                && stored.iter().zip(events).all(|(m, e)| m.stream == *stream && m.event == *e)
                && known.windows(2).all(|w| self.ids[&w[1]] == self.ids[&w[0]] + 1);
            if run {
                let (first, last) = (stored[0], stored[stored.len() - 1]);
                let result = AppendResult {
                    first_position: self.ids[&first.event.id],
                    last_position: self.ids[&last.event.id],
                    first_version: first.version,
                    last_version: last.version,
                };
                return Outcome::RetryOfRun(result);
            }
            return Outcome::DuplicateEventId(known);
        }
        let actual = self.version(stream);
        let admits = match expected {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual.is_none(),
            ExpectedVersion::StreamExists => actual.is_some(),
            ExpectedVersion::Exact(v) => actual == Some(v),
        };
        if !admits {
            return Outcome::WrongExpectedVersion { stream: stream.clone(), expected, actual };
        }
        let first_position = self.events.len() as u64;
        let first_version = actual.map_or(0, |v| v + 1);
        for (i, e) in events.iter().enumerate() {
            let position = first_position + i as u64;
            self.ids.insert(e.id, position);
            self.streams.entry(stream.clone()).or_default().push(position);
            self.events.push(ModelEvent {
                stream: stream.clone(),
                version: first_version + i as u64,
                event: e.clone(),
                recorded_at_micros: None,
            });
        }
        let n = events.len() as u64;
        let result = AppendResult {
            first_position,
            last_position: first_position + n - 1,
            first_version,
            last_version: first_version + n - 1,
        };
        self.appends.push((stream.clone(), events.to_vec(), result));
        Outcome::Ok(result)
    }

    /// Positions a stream read returns.
    fn read_stream(&self, stream: &StreamId, from: StreamFrom, direction: Direction, limit: usize) -> Vec<u64> {
        let Some(all) = self.streams.get(stream) else { return Vec::new() };
        let len = all.len() as u64;
        match direction {
            Direction::Forward => {
                // From the last event for `End`; nothing past the end.
                let start = match from {
                    StreamFrom::Start => 0,
                    StreamFrom::End => len.saturating_sub(1),
                    StreamFrom::Version(v) => v.min(len),
                };
                all[start as usize..].iter().take(limit).copied().collect()
            }
            Direction::Backward => {
                // Only the first event from `Start`; from the last event for a version past the end.
                let end = match from {
                    StreamFrom::Start => 1.min(len),
                    StreamFrom::End => len,
                    StreamFrom::Version(v) => v.saturating_add(1).min(len),
                };
                all[..end as usize].iter().rev().take(limit).copied().collect()
            }
        }
    }

    /// Checks events the log returned against the events at `positions`.
    fn check_events(&mut self, what: &str, got: &[RecordedEvent], positions: &[u64]) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            got.iter().map(|e| e.position).collect::<Vec<_>>(),
            positions.to_vec(),
            "{}: positions of the events read",
            what
        );
        for (e, &p) in got.iter().zip(positions) {
            let m = &mut self.events[p as usize];
            prop_assert!(
                e.stream == m.stream && e.version == m.version && m.event.same_content(e),
                "{}: position {} is {:?}, the model has {:?} version {} {:?}",
                what,
                p,
                e,
                m.stream,
                m.version,
                m.event
            );
            let at = *m.recorded_at_micros.get_or_insert(e.recorded_at_micros);
            prop_assert_eq!(e.recorded_at_micros, at, "{}: the timestamp of position {} changed", what, p);
        }
        Ok(())
    }

    /// Compares everything the log holds with the model.
    async fn check_all(&mut self, log: &EmbeddedLog, when: &str) -> Result<(), TestCaseError> {
        let head = self.events.len() as u64;
        prop_assert_eq!(log.head().await.unwrap(), head, "{}: head", when);
        let all = log.read_all(0, usize::MAX).await.unwrap();
        self.check_events(&format!("{when}: read_all"), &all, &(0..head).collect::<Vec<_>>())?;
        for name in STREAMS {
            let stream = StreamId::new(name).unwrap();
            prop_assert_eq!(log.stream_version(&stream).await.unwrap(), self.version(&stream), "{}: {}", when, name);
            for direction in [Direction::Forward, Direction::Backward] {
                let from = if direction == Direction::Forward { StreamFrom::Start } else { StreamFrom::End };
                let got = log.read_stream(&stream, from, direction, usize::MAX).await.unwrap();
                let want = self.read_stream(&stream, from, direction, usize::MAX);
                self.check_events(&format!("{when}: {name} {direction:?}"), &got, &want)?;
            }
        }
        prop_assert_eq!(log.verify().map_err(|e| TestCaseError::fail(e.to_string()))?, head, "{}: verify", when);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Running a case

fn options(preallocate: bool) -> Options {
    Options { segment_size: SEGMENT_SIZE, preallocate, ..Options::default() }
}

/// Whether the log's answer to an append is the model's.
fn check_outcome(what: &str, got: &imece_log::Result<AppendResult>, want: &Outcome) -> Result<(), TestCaseError> {
    let ok = match (got, want) {
        (Ok(g), Outcome::Ok(w)) => g == w,
        (
            Err(Error::WrongExpectedVersion { stream, expected, actual }),
            Outcome::WrongExpectedVersion { stream: s, expected: e, actual: a },
        ) => stream == s && expected == e && actual == a,
        (Err(Error::DuplicateEventId { id, .. }), Outcome::DuplicateEventId(ids)) => ids.contains(id),
        (Ok(g), Outcome::RetryOfRun(w)) => g == w,
        (Err(Error::InvalidInput { .. }), Outcome::InvalidInput) => true,
        _ => false,
    };
    prop_assert!(ok, "{}: the log returned {:?}, the model expects {:?}", what, got, want);
    Ok(())
}

/// Runs `futures` at once, first polling each in order, so appends reach the writer in that order.
async fn join_in_order<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

async fn run(preallocate: bool, ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Some(EmbeddedLog::open_with(dir.path(), options(preallocate)).unwrap());
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let log_ref = log.as_ref().unwrap();
        let what = format!("op {step} {op:?}");
        match op {
            Op::Write(write) => {
                let Some((stream, expected, events)) = model.resolve(write) else { continue };
                let want = model.append(&stream, expected, &events);
                let got = log_ref.append(&stream, expected, events.clone()).await;
                check_outcome(&format!("{what} = append({stream:?}, {expected:?}, {events:?})"), &got, &want)?;
            }
            Op::Concurrent(writes) => {
                let mut appends = Vec::new();
                for write in writes {
                    if let Some((stream, expected, events)) = model.resolve(write) {
                        let want = model.append(&stream, expected, &events);
                        appends.push((stream, expected, events, want));
                    }
                }
                let futures = appends.iter().map(|(s, x, e, _)| log_ref.append(s, *x, e.clone())).collect();
                let got = join_in_order(futures).await;
                for (k, (g, (stream, expected, events, want))) in got.iter().zip(&appends).enumerate() {
                    check_outcome(&format!("{what}, append {k} = ({stream:?}, {expected:?}, {events:?})"), g, want)?;
                }
            }
            Op::ReadStream { stream, from, backward, limit } => {
                let stream = StreamId::new(STREAMS[*stream]).unwrap();
                let len = model.streams.get(&stream).map_or(0, Vec::len) as u64;
                let from = match from {
                    ReadFrom::Start => StreamFrom::Start,
                    ReadFrom::End => StreamFrom::End,
                    ReadFrom::Version(v) => StreamFrom::Version(u64::from(*v) % (len + 3)),
                };
                let direction = if *backward { Direction::Backward } else { Direction::Forward };
                let got = log_ref.read_stream(&stream, from, direction, *limit).await.unwrap();
                let want = model.read_stream(&stream, from, direction, *limit);
                model.check_events(&format!("{what} = read_stream({from:?}, {direction:?})"), &got, &want)?;
            }
            Op::ReadAll { from, limit } => {
                let head = model.events.len() as u64;
                let from = u64::from(*from) % (head + 3);
                let got = log_ref.read_all(from, *limit).await.unwrap();
                let want: Vec<u64> = (from..head).take(*limit).collect();
                model.check_events(&format!("{what} = read_all({from})"), &got, &want)?;
            }
            Op::StreamVersion(stream) => {
                let stream = StreamId::new(STREAMS[*stream]).unwrap();
                prop_assert_eq!(log_ref.stream_version(&stream).await.unwrap(), model.version(&stream), "{}", what);
            }
            Op::Head => {
                prop_assert_eq!(log_ref.head().await.unwrap(), model.events.len() as u64, "{}", what);
            }
            Op::Reopen { preallocate } => {
                drop(log.take());
                let reopened = EmbeddedLog::open_with(dir.path(), options(*preallocate))
                    .map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
                let recovery = reopened.recovery();
                prop_assert_eq!(recovery.events, model.events.len() as u64, "{}: recovered events", what);
                prop_assert_eq!(recovery.streams, model.streams.len(), "{}: recovered streams", what);
                prop_assert_eq!(recovery.truncated_bytes, 0, "{}: a clean close left a tail to truncate", what);
                model.check_all(&reopened, &what).await?;
                log = Some(reopened);
            }
        }
    }
    let log = log.unwrap();
    model.check_all(&log, "at the end").await?;
    // And once more after a last reopen.
    drop(log);
    let log = EmbeddedLog::open_with(dir.path(), options(preallocate)).unwrap();
    model.check_all(&log, "after the last reopen").await
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    /// Guards the whole observable behaviour of the log against a model: append outcomes (results,
    /// wrong expected versions, idempotent retries, duplicate ids, invalid input), appends decided
    /// within one group commit, every read, and what survives closing and reopening, with tiny
    /// segments and both preallocation settings.
    #[test]
    fn the_log_behaves_like_the_model(
        preallocate in any::<bool>(),
        ops in prop::collection::vec(op_strategy(), 1..64),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(run(preallocate, &ops))?;
    }
}
