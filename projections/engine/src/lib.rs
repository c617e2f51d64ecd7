//! Projections: views of the log that analysts and the API query.
//!
//! A [`Projection`] is a deterministic fold over the log's events in position order. The engine
//! feeds it from its checkpoint and stores its state and checkpoint together, so that after a
//! crash it resumes exactly where the stored state stopped.

use imece_log::RecordedEvent;

/// A view of the log: a deterministic fold over its events, in position order.
///
/// The engine calls [`Projection::apply`] once for every event of the log, without gaps and
/// without repeats, and stores [`Projection::encode`]'s bytes together with the position of the
/// next event to apply. Whatever is not derived from the events (reference data, configuration)
/// does not belong in the state.
pub trait Projection: Send + Sync + 'static {
    /// The projection's error: an event it cannot read, a snapshot it cannot decode.
    type Error: std::error::Error + Send + Sync + 'static;

    /// A stable name, used for its snapshot file, the admin API and the command line.
    const NAME: &'static str;

    /// The version of the fold and of its snapshot format. A snapshot stored under another
    /// version is not decoded: the projection is rebuilt from the start of the log.
    const VERSION: u32;

    /// The state before any event.
    fn empty() -> Self
    where
        Self: Sized;

    /// Folds one event into the state. Events the projection does not need are skipped here
    /// cheaply (by `event.event_type`). An error stops the projection at this event; it is
    /// reported, never skipped over.
    fn apply(&mut self, event: &RecordedEvent) -> Result<(), Self::Error>;

    /// The state as bytes, for the snapshot.
    fn encode(&self) -> Result<Vec<u8>, Self::Error>;

    /// The state from [`Projection::encode`]'s bytes, written under the same [`Projection::VERSION`].
    fn decode(bytes: &[u8]) -> Result<Self, Self::Error>
    where
        Self: Sized;
}
