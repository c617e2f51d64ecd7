//! The one error type of the projection engine.

use std::path::PathBuf;

/// Everything that can go wrong while running, storing or querying a projection.
///
/// Every variant says what the caller should do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log failed to read or subscribe.
    ///
    /// Handling: see the log's error; usually operational (I/O, a closed log). Restart the
    /// projection once the log is healthy: it resumes from its last snapshot.
    #[error("reading the log: {0}")]
    Log(#[from] imece_log::Error),

    /// A snapshot file could not be read, written, synced or renamed.
    ///
    /// Handling: operational (disk full, permissions); fix and restart. The log is untouched, and
    /// the previous snapshot, if any, is still whole.
    #[error("snapshot {}: {context}: {source}", path.display())]
    SnapshotIo {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A snapshot file is not what was written: bad magic, checksum, length or format version.
    ///
    /// Handling: none needed from the caller; the engine logs a warning and rebuilds the projection
    /// from the start of the log, which is the source of truth. Returned by
    /// [`crate::snapshot::read`] for tools that inspect snapshots.
    #[error("corrupt snapshot {}: {reason}", path.display())]
    CorruptSnapshot { path: PathBuf, reason: String },

    /// The projection's own code failed: `apply` on the event at `position`, or `encode`/`decode`
    /// of its state at checkpoint `position`.
    ///
    /// Handling: a bug or an event this build cannot read. The projection stops there (status
    /// failed) and keeps answering from the state before the event; fix the code and restart.
    /// Nothing is skipped.
    #[error("projection {projection} at position {position}: {source}")]
    Projection {
        projection: &'static str,
        position: u64,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// The log delivered an event out of order: `found` where `expected` was the next position.
    ///
    /// Handling: a bug in the log backend; the projection stops rather than skip or repeat an
    /// event. Report it; restarting resumes from the last snapshot.
    #[error("projection {projection} expected the event at position {expected}, the log delivered {found}")]
    OutOfOrder { projection: &'static str, expected: u64, found: u64 },

    /// The projection did not reach the wanted position in time.
    ///
    /// Handling: the write is in the log but not yet in this view; retry the query later (gRPC
    /// `UNAVAILABLE` or `DEADLINE_EXCEEDED`). A growing lag in the status says why.
    #[error(
        "projection {projection} has not reached position {wanted} in time: its checkpoint is {reached} \
         (events before {reached} are applied)"
    )]
    Timeout { projection: &'static str, wanted: u64, reached: u64 },

    /// The projection is stopped: shut down, or failed earlier (the reason says which).
    ///
    /// Handling: it will not move again in this process; see its status, fix and restart.
    #[error("projection {projection} is stopped: {reason}")]
    Stopped { projection: &'static str, reason: String },
}

impl Error {
    pub(crate) fn projection(
        projection: &'static str,
        position: u64,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Projection { projection, position, source: Box::new(source) }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
