//! The append-only event log of imece.
//!
//! Every fact in the registry is an event in this log. Events belong to streams (one per
//! organisation, for example); a stream has a version, the log a global position, both gapless.
//! [`EventLog`] is the one trait every storage backend implements: the embedded log on local disk
//! (`imece-log-embedded`, the default), and later PostgreSQL and KurrentDB. Every backend runs the
//! same `conformance_suite!` (feature `conformance`).
//!
//! ```
//! use imece_log::{EventLog, ExpectedVersion, NewEvent, StreamId};
//!
//! async fn register(log: &impl EventLog) -> imece_log::Result<u64> {
//!     let stream = StreamId::new("org-0196f1d2")?;
//!     let event = NewEvent::new("OrganisationRegistered.v1", &b"{\"name\":\"Tire Sut\"}"[..]);
//!     let written = log.append(&stream, ExpectedVersion::NoStream, vec![event]).await?;
//!     Ok(written.last_position)
//! }
//! ```

use std::pin::Pin;

use futures_core::Stream;

mod error;
mod types;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::{Error, Result};
pub use types::{
    AppendResult, Direction, EventId, ExpectedVersion, Found, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES,
    MAX_EVENT_TYPE_LEN, MAX_STREAM_ID_LEN, NewEvent, RecordedEvent, StreamAppend, StreamFrom, StreamId, check_restore,
    judge_retry, validate_appends, validate_batch, validate_restore,
};

/// A subscription: every event from a position on, in log order, first from storage, then live.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<RecordedEvent>> + Send + 'static>>;

/// The append-only event log: the seam between the registry and its storage.
#[async_trait::async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends `events` to `stream`, all or none, if the stream is at `expected`.
    ///
    /// Returns only once the events are durable. Idempotent by event id: retrying an append whose
    /// events are already in the log (same ids, same stream, same content, one after another)
    /// writes nothing and returns where they are — for an exact retry, the original result —
    /// whatever `expected` says. Any other reuse of an id (other content, another stream, only some
    /// of the events there) is [`Error::DuplicateEventId`]. A version mismatch is
    /// [`Error::WrongExpectedVersion`].
    async fn append(&self, stream: &StreamId, expected: ExpectedVersion, events: Vec<NewEvent>)
    -> Result<AppendResult>;

    /// Appends to several streams at once: all or none, in the given order (the log's positions
    /// follow the order of `appends`, with no other event between them), durable before it returns;
    /// one result per part, in order.
    ///
    /// A stream may appear in several parts; each part's `expected` is checked against the stream
    /// as the parts before it leave it. The call is checked by [`validate_appends`]: at least one
    /// part, at least one event per part, ids unique across the whole call, and the whole call
    /// within [`MAX_BATCH_EVENTS`] events and [`MAX_BATCH_BYTES`] bytes.
    ///
    /// Idempotent like [`append`](EventLog::append): if every event of every part is already in the
    /// log exactly as given (same ids, streams, content, one after another in the order of the
    /// call), nothing is written and the original results come back, whatever the parts expect.
    /// Any other reuse of an id (only some parts or events there, another stream, other content,
    /// another order) is [`Error::DuplicateEventId`]. Any refusal (invalid input, a wrong expected
    /// version in any part, a duplicate id) refuses the whole call and writes nothing.
    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>>;

    /// Appends events exactly as another log recorded them, for moving a log between backends
    /// (`imece migrate`): positions, streams, versions, ids, types, data, metadata and
    /// `recorded_at_micros` are kept as given, since the federation's hash chain covers them all.
    ///
    /// The call is checked by [`validate_restore`] (at least one event, positions consecutive, ids
    /// unique within it, the limits of an append). Against the log, in order:
    ///
    /// - Events at positions below this log's head must already be here exactly as given (every
    ///   field, `recorded_at_micros` included): they are skipped, so repeating a restore, or one
    ///   overlapping the head, writes only what is missing. Any other event at such a position is
    ///   [`Error::InvalidInput`] for `events[i]`, naming the position and the first differing field.
    /// - The first event not yet here must be at the head (else `events[i].position`: a gap), each
    ///   event's version must be the next of its stream (else `events[i].version`), and its id must
    ///   not be in the log (else [`Error::DuplicateEventId`], naming where it is).
    ///
    /// All or none: a refusal writes nothing, not even the valid events before it. Durable before
    /// it returns; an interrupted restore leaves the log as before it or with all of it. Restored
    /// events are read, subscribed to and used as idempotency keys like appended ones, and later
    /// appends continue from them. Expected versions are not involved: the log must be held by
    /// this process alone while it is restored into.
    async fn restore(&self, events: Vec<RecordedEvent>) -> Result<()>;

    /// Up to `limit` events of `stream`, from `from` in `direction`. A stream with no events reads
    /// as empty.
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamFrom,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>>;

    /// Up to `limit` events of the whole log from global position `from` (included), in order.
    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>>;

    /// The version of the stream's last event, `None` if it has none.
    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>>;

    /// The position the next event will get: the number of events in the log.
    async fn head(&self) -> Result<u64>;

    /// Every event from global position `from` on: catch-up from storage, then live, with no gap
    /// and no duplicate at the seam. A slow subscriber never slows writers down.
    fn subscribe_all(&self, from: u64) -> EventStream;
}
