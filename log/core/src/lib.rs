//! The append-only event log of imece.
//!
//! Every fact in the registry is an event in this log. Events belong to streams (one per
//! organisation, for example); a stream has a version, the log a global position, both gapless.
//! [`EventLog`] is the one trait every storage backend implements: the embedded log on local disk
//! (`imece-log-embedded`, the default), and later PostgreSQL and KurrentDB. Every backend runs the
//! same [`conformance_suite!`] (feature `conformance`).
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
    AppendResult, Direction, EventId, ExpectedVersion, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES,
    MAX_EVENT_TYPE_LEN, MAX_STREAM_ID_LEN, NewEvent, RecordedEvent, StreamFrom, StreamId, validate_batch,
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
