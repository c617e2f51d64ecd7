//! The KurrentDB event log of imece (ADR 0013), behind the cargo feature `kurrentdb` (off by
//! default: the official client brings a second tonic and prost into the build). Without the
//! feature this crate holds nothing but [`ENABLED`].
//!
//! The whole imece log is **one KurrentDB stream** (`imece-log` unless `Options::stream` says
//! otherwise): its revision N is imece position N, so positions are gapless by construction, an
//! `append_many` across imece streams is one atomic KurrentDB append, and the expected revision of
//! the stream serialises writers, in one process (one writer task) or several. Each KurrentDB event
//! carries imece's event id, type and data as its own; its custom metadata is an envelope with the
//! imece stream, version and metadata (see `envelope.rs`). The imece streams exist only in
//! that envelope and in an index in memory (per stream its positions, per event id its position),
//! built by reading the log stream at `connect` and kept by the writer. Subscriptions are
//! KurrentDB catch-up subscriptions to the log stream.
//!
//! Not verified against a server here: no KurrentDB could run where this was written. It compiles
//! and its pure parts (envelope, decisions, error mapping) are tested; the conformance suite runs
//! when `KURRENTDB_URL` names a server (see the README).
//!
//! ```no_run
//! # #[cfg(feature = "kurrentdb")]
//! # async fn example() -> imece_log::Result<()> {
//! use imece_log::{EventLog, ExpectedVersion, NewEvent, StreamId};
//! use imece_log_kurrentdb::{KurrentLog, Options};
//!
//! let log = KurrentLog::connect("kurrentdb://localhost:2113?tls=false", Options::default()).await?;
//! let stream = StreamId::new("org-1")?;
//! let written = log.append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Registered.v1", "{}")]).await?;
//! assert_eq!(log.stream_version(&stream).await?, Some(written.last_version));
//! # Ok(()) }
//! ```

/// Whether this build has the KurrentDB backend (the cargo feature `kurrentdb`).
pub const ENABLED: bool = cfg!(feature = "kurrentdb");

#[cfg(feature = "kurrentdb")]
mod envelope;
#[cfg(feature = "kurrentdb")]
mod errors;
#[cfg(feature = "kurrentdb")]
mod index;
#[cfg(feature = "kurrentdb")]
mod kurrent;
#[cfg(feature = "kurrentdb")]
mod writer;

#[cfg(feature = "kurrentdb")]
pub use kurrent::{KurrentLog, Options};
