//! The one error type of the log and of every backend behind [`crate::EventLog`].

use std::path::PathBuf;

use crate::{EventId, ExpectedVersion, StreamId};

/// Everything that can go wrong with the log.
///
/// Every variant says what the caller should do about it. Nothing was appended when any of them is
/// returned from [`crate::EventLog::append`] or [`crate::EventLog::append_many`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input broke a rule: `field` names the input (`stream`, `events[3].data`,
    /// `appends[1].events[0].id`) and `rule` says what it must be.
    ///
    /// Handling: the caller's mistake; report it back (gRPC `INVALID_ARGUMENT`), do not retry.
    #[error("invalid {field}: {rule}")]
    InvalidInput { field: String, rule: String },

    /// The stream was not at the version the append expected.
    ///
    /// Handling: re-read the stream, decide again, retry with the new version (gRPC
    /// `FAILED_PRECONDITION` / `ABORTED`).
    #[error("wrong expected version on stream {stream}: expected {expected}, actual {}", display_actual(*.actual))]
    WrongExpectedVersion {
        stream: StreamId,
        expected: ExpectedVersion,
        /// The version of the stream's last event, `None` if the stream has no events.
        actual: Option<u64>,
    },

    /// An event id is already in the log, but not as a retry of this append: it belongs to another
    /// stream, carries other content, or only some of the append's events are there, or not one
    /// after another. `id` names the first offending event.
    ///
    /// Handling: the caller reused an id for a different event; mint a new id.
    #[error("event id {id} was already appended with different content or to another stream: {reason}")]
    DuplicateEventId { id: EventId, reason: String },

    /// Stored data failed its checksum or does not parse: the bytes at `offset` in `file` are not
    /// what was written.
    ///
    /// Handling: stop and restore from a replica or backup; nothing is skipped silently.
    #[error("corrupt log data in {} at byte offset {offset}: {reason}", file.display())]
    Corruption { file: PathBuf, offset: u64, reason: String },

    /// The stored data was written by a format version this build does not know.
    ///
    /// Handling: run a newer imece; this build will not touch the data.
    #[error("{} uses log format version {found}; this build reads versions up to {supported}: upgrade imece", file.display())]
    UnsupportedFormat { file: PathBuf, found: u32, supported: u32 },

    /// A write or a sync failed earlier, so the log refuses every further write: after a failed
    /// fsync the kernel may have dropped the dirty pages, and retrying would report data as durable
    /// that is not.
    ///
    /// Handling: restart the process; reopening recovers to the last durable event.
    #[error("the log refuses writes since an earlier write or sync failed: {cause}")]
    Poisoned { cause: String },

    /// Another process holds the log's directory.
    ///
    /// Handling: stop the other process, or point this one at another directory.
    #[error("the log in {} is in use by another process", dir.display())]
    Locked { dir: PathBuf },

    /// An I/O error from the operating system.
    ///
    /// Handling: usually transient or operational (disk full, permissions); fix and retry.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// The storage backend could not be reached or answered with an error of its own.
    ///
    /// Handling: transient; retry with backoff (gRPC `UNAVAILABLE`).
    #[error("{backend} backend: {message}")]
    Backend { backend: &'static str, message: String },

    /// The log was closed while the request was in flight.
    ///
    /// Handling: the process is shutting down; the append may or may not be durable, so retry it
    /// with the same event ids after a restart.
    #[error("the log is closed")]
    Closed,
}

fn display_actual(actual: Option<u64>) -> String {
    match actual {
        Some(v) => v.to_string(),
        None => "no stream".to_owned(),
    }
}

impl Error {
    /// An [`Error::InvalidInput`] for `field` breaking `rule`.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::InvalidInput { field: field.into(), rule: rule.into() }
    }

    /// An [`Error::Io`] with a sentence of context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

/// The log's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
