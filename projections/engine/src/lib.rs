//! Projections: views of the log that analysts and the API query.
//!
//! A [`Projection`] is a deterministic fold over the log's events in position order. A
//! [`Projector`] feeds it from its checkpoint and stores its state and checkpoint together in one
//! snapshot file (layout and crash argument in `FORMAT.md` beside this crate), so that after a
//! crash it resumes exactly where the stored state stopped: no event applied twice, none skipped.
//! It rebuilds a projection from position 0 on demand while the current state keeps answering,
//! reports its lag behind the log's head, and answers read-your-writes queries that name the
//! position a command reply returned. [`ProjectionControl`] is the type-erased handle the admin
//! API lists every projection of a node with.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use imece_log::{EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamId};
//! use imece_projections::{Options, Projection, Projector};
//!
//! /// How many events of each stream the log holds.
//! #[derive(Debug, Default)]
//! struct PerStream(std::collections::BTreeMap<String, u64>);
//!
//! impl Projection for PerStream {
//!     type Error = std::io::Error;
//!     const NAME: &'static str = "per-stream";
//!     const VERSION: u32 = 1;
//!     fn empty() -> Self {
//!         PerStream::default()
//!     }
//!     fn apply(&mut self, event: &RecordedEvent) -> Result<(), Self::Error> {
//!         *self.0.entry(event.stream.to_string()).or_default() += 1;
//!         Ok(())
//!     }
//!     fn encode(&self) -> Result<Vec<u8>, Self::Error> {
//!         Ok(self.0.iter().map(|(s, n)| format!("{s} {n}\n")).collect::<String>().into_bytes())
//!     }
//!     fn decode(bytes: &[u8]) -> Result<Self, Self::Error> {
//!         let bad = || std::io::Error::from(std::io::ErrorKind::InvalidData);
//!         let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
//!         let mut map = std::collections::BTreeMap::new();
//!         for line in text.lines() {
//!             let (s, n) = line.rsplit_once(' ').ok_or_else(bad)?;
//!             map.insert(s.to_owned(), n.parse().map_err(|_| bad())?);
//!         }
//!         Ok(PerStream(map))
//!     }
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let log: Arc<dyn EventLog> = Arc::new(imece_log_embedded::EmbeddedLog::open(dir.path().join("log"))?);
//! let views = dir.path().join("projections");
//! std::fs::create_dir_all(&views)?;
//! let projector = Projector::<PerStream>::start(log.clone(), &views, Options::default()).await?;
//!
//! let stream = StreamId::new("org-1")?;
//! let written = log.append(&stream, ExpectedVersion::Any, vec![NewEvent::new("Registered.v1", "{}")]).await?;
//! // Read-your-writes: answer once the view holds the command's last event.
//! let count = projector
//!     .query(Some(written.last_position), Duration::from_secs(5), |v| v.0.get("org-1").copied())
//!     .await?;
//! assert_eq!(count, Some(1));
//! assert_eq!(projector.lag().await?, 0);
//! projector.shutdown().await?;
//! # Ok(()) }
//! ```

mod error;
mod projector;
pub mod snapshot;

pub use error::{Error, Result};
pub use projector::{Options, ProjectionControl, Projector, RunState, SnapshotInfo, Status};

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
