//! The embedded event log: imece's default storage, on local disk, with no server to install.
//!
//! Segment files of checksummed records, one writer thread that shares each `fdatasync` among all
//! waiting appends (group commit), an in-memory index rebuilt on open from per-segment index files,
//! and crash recovery that drops only an unsynced tail. An `append_many` is one batch on disk across
//! all its streams, kept whole or dropped whole after a crash. The byte layout and the crash cases are
//! in `FORMAT.md` beside this crate.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> imece_log::Result<()> {
//! use imece_log::{EventLog, ExpectedVersion, NewEvent, StreamId};
//! use imece_log_embedded::EmbeddedLog;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let log = EmbeddedLog::open(dir.path())?;
//! let stream = StreamId::new("org-1")?;
//! let written = log.append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Registered.v1", "{}")]).await?;
//! assert_eq!(written.last_position, 0);
//! assert_eq!(log.stream_version(&stream).await?, Some(0));
//! # Ok(()) }
//! ```

use std::path::Path;
use std::time::Duration;

/// How an [`EmbeddedLog`] is laid out and writes.
#[derive(Clone, Debug)]
pub struct Options {
    /// Size at which a segment is sealed and a new one started (at a group boundary, so a segment
    /// may end a little past it). Default 256 MiB; at most 3 GiB.
    pub segment_size: u64,
    /// Fill each new segment with zeros ahead of use, so a sync need not also update the file's size
    /// and extents (about twice the synced-append rate on ext4). Default true.
    pub preallocate: bool,
    /// The most bytes one group commit writes before it syncs. Default 8 MiB.
    pub max_group_bytes: usize,
    /// Whether opening creates the directory and an empty log in it when there is none. With
    /// false, opening refuses a missing directory, or one that holds no log (no segment file),
    /// with [`Error::InvalidInput`] naming the path, and creates nothing: for opening a log that
    /// must be there already (the source of `imece migrate`). Default true.
    pub create: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { segment_size: 256 * 1024 * 1024, preallocate: true, max_group_bytes: 8 * 1024 * 1024, create: true }
    }
}

/// What opening the log found and did.
#[derive(Clone, Debug, Default)]
pub struct Recovery {
    /// Segment files in the log.
    pub segments: usize,
    /// Events in the log.
    pub events: u64,
    /// Streams with at least one event.
    pub streams: usize,
    /// Bytes of an incomplete, never-acknowledged tail that were dropped.
    pub truncated_bytes: u64,
    /// Segment index files that were missing or unreadable and were rebuilt from their segment.
    pub rebuilt_indexes: usize,
    /// Events read record by record (the open segment, and segments whose index was rebuilt).
    pub scanned_events: u64,
    /// How long opening took.
    pub duration: Duration,
}

/// Counters since the log was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Appends acknowledged; an `append_many` counts once, whatever its parts.
    pub appends: u64,
    /// Events acknowledged.
    pub events: u64,
    /// `fdatasync` calls made for group commits.
    pub syncs: u64,
    /// Bytes of records written.
    pub bytes_written: u64,
}

mod format;
mod index;
mod open;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use futures_util::stream;
use imece_log::{
    AppendResult, Direction, Error, EventLog, EventStream, ExpectedVersion, NewEvent, RecordedEvent, Result,
    StreamAppend, StreamFrom, StreamId,
};
use tokio::sync::{oneshot, watch};

use crate::index::{Index, StreamCache};
use crate::writer::{Request, Writer};

/// What the writer thread and the readers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) index: RwLock<Index>,
    /// The committed head, for subscribers to wait on.
    pub(crate) head: watch::Sender<u64>,
    pub(crate) poisoned: AtomicBool,
    pub(crate) poison_cause: Mutex<Option<String>>,
    pub(crate) stats: Counters,
}

impl Shared {
    /// The error every append gets once the log is poisoned.
    pub(crate) fn poison_error(&self) -> Error {
        let cause = self.poison_cause.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Error::Poisoned { cause: cause.unwrap_or_else(|| "an earlier write or sync failed".to_owned()) }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) appends: AtomicU64,
    pub(crate) events: AtomicU64,
    pub(crate) syncs: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
}

/// The embedded log. Cheap to clone: clones share one writer. The directory stays locked until
/// the last clone is dropped; dropping it waits for appends in flight to finish.
#[derive(Clone, Debug)]
pub struct EmbeddedLog {
    handle: Arc<Handle>,
}

#[derive(Debug)]
struct Handle {
    dir: PathBuf,
    shared: Arc<Shared>,
    requests: Option<Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    recovery: Recovery,
    _lock: std::fs::File,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what it has and stop.
        drop(self.requests.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl EmbeddedLog {
    /// Opens (or creates) the log in `dir` with default [`Options`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(dir, Options::default())
    }

    /// Opens the log in `dir` with default [`Options`] but `create` off: a missing directory, or
    /// one that holds no log, is refused with [`Error::InvalidInput`] and nothing is created.
    pub fn open_existing(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(dir, Options { create: false, ..Options::default() })
    }

    /// Opens (or creates, if `options.create`) the log in `dir`, recovering from a crash if need be.
    pub fn open_with(dir: impl AsRef<Path>, options: Options) -> Result<Self> {
        const MAX_SEGMENT: u64 = 3 * 1024 * 1024 * 1024;
        if options.segment_size > MAX_SEGMENT || options.segment_size < 4096 {
            return Err(Error::invalid("segment_size", "must be between 4 KiB and 3 GiB"));
        }
        let dir = dir.as_ref().to_owned();
        let opened = open::open(&dir, &options)?;
        let head = opened.index.head;
        let shared = Arc::new(Shared {
            index: RwLock::new(opened.index),
            head: watch::Sender::new(head),
            poisoned: AtomicBool::new(false),
            poison_cause: Mutex::new(None),
            stats: Counters::default(),
        });
        let writer =
            Writer::new(shared.clone(), dir.clone(), options, opened.active, opened.versions, opened.ids, head)
                .map_err(|e| Error::io("starting the log's storage thread", e))?;
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("imece-log-writer".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::io("starting the log writer thread", e))?;
        tracing::info!(
            "opened log {} with {} events in {} streams and {} segments in {:?}",
            dir.display(),
            opened.recovery.events,
            opened.recovery.streams,
            opened.recovery.segments,
            opened.recovery.duration
        );
        Ok(EmbeddedLog {
            handle: Arc::new(Handle {
                dir,
                shared,
                requests: Some(tx),
                writer: Some(thread),
                recovery: opened.recovery,
                _lock: opened.lock,
            }),
        })
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.handle.dir
    }

    /// What opening found and did.
    pub fn recovery(&self) -> &Recovery {
        &self.handle.recovery
    }

    /// Counters since the log was opened.
    pub fn stats(&self) -> Stats {
        let c = &self.handle.shared.stats;
        Stats {
            appends: c.appends.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
            syncs: c.syncs.load(Ordering::Relaxed),
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
        }
    }

    /// Whether a failed write or sync has made the log refuse writes.
    pub fn is_poisoned(&self) -> bool {
        self.handle.shared.poisoned.load(Ordering::Relaxed)
    }

    /// Reads every event of the log and checks its checksum, returning how many there are.
    pub fn verify(&self) -> Result<u64> {
        let head = self.handle.shared.index.read().unwrap_or_else(PoisonError::into_inner).head;
        let mut position = 0;
        while position < head {
            position += read_all(&self.handle.shared, position, 10_000)?.len() as u64;
        }
        Ok(position)
    }
}

fn read_all(shared: &Shared, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
    let mut out = Vec::with_capacity(limit.min(4096));
    let mut streams = StreamCache::default();
    let mut next = from;
    while out.len() < limit {
        let span = shared.index.read().unwrap_or_else(PoisonError::into_inner).span(next, limit - out.len());
        let Some(span) = span else { break };
        span.read(&mut streams, &mut out)?;
        next += span.count as u64;
    }
    Ok(out)
}

#[async_trait::async_trait]
impl EventLog for EmbeddedLog {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        imece_log::validate_batch(&events)?;
        let (reply, answer) = oneshot::channel();
        let request = Request::One { stream: stream.clone(), expected, events, reply };
        let sender = self.handle.requests.as_ref().ok_or(Error::Closed)?;
        sender.send(request).map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        imece_log::validate_appends(&appends)?;
        let (reply, answer) = oneshot::channel();
        let sender = self.handle.requests.as_ref().ok_or(Error::Closed)?;
        sender.send(Request::Many { appends, reply }).map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    async fn restore(&self, events: Vec<RecordedEvent>) -> Result<()> {
        imece_log::validate_restore(&events)?;
        let (reply, answer) = oneshot::channel();
        let sender = self.handle.requests.as_ref().ok_or(Error::Closed)?;
        sender.send(Request::Restore { events, reply }).map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamFrom,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let positions: Vec<u64> = {
            let index = self.handle.shared.index.read().unwrap_or_else(PoisonError::into_inner);
            let Some(entry) = index.stream(stream) else { return Ok(Vec::new()) };
            let all = &entry.positions;
            let len = all.len() as u64;
            match direction {
                Direction::Forward => {
                    let start = match from {
                        StreamFrom::Start => 0,
                        StreamFrom::End => len.saturating_sub(1),
                        StreamFrom::Version(v) => v.min(len),
                    } as usize;
                    all[start..].iter().take(limit).copied().collect()
                }
                Direction::Backward => {
                    let end = match from {
                        StreamFrom::Start => 1.min(len),
                        StreamFrom::End => len,
                        StreamFrom::Version(v) => v.saturating_add(1).min(len),
                    } as usize;
                    all[..end].iter().rev().take(limit).copied().collect()
                }
            }
        };
        let mut out = Vec::with_capacity(positions.len());
        let mut streams = StreamCache::default();
        for position in positions {
            let span = self.handle.shared.index.read().unwrap_or_else(PoisonError::into_inner).span(position, 1);
            if let Some(span) = span {
                span.read(&mut streams, &mut out)?;
            }
        }
        Ok(out)
    }

    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        read_all(&self.handle.shared, from, limit)
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        let index = self.handle.shared.index.read().unwrap_or_else(PoisonError::into_inner);
        Ok(index.stream(stream).and_then(|s| s.positions.len().checked_sub(1)).map(|v| v as u64))
    }

    async fn head(&self) -> Result<u64> {
        Ok(self.handle.shared.index.read().unwrap_or_else(PoisonError::into_inner).head)
    }

    fn subscribe_all(&self, from: u64) -> EventStream {
        // The subscription holds the readers' state only, not the writer: a forgotten subscription
        // keeps no append waiting, and the log can close under it.
        let shared = self.handle.shared.clone();
        let head = shared.head.subscribe();
        let state = (shared, head, from, std::collections::VecDeque::new());
        Box::pin(stream::unfold(state, |(shared, mut head, next, mut buffered)| async move {
            loop {
                if let Some(event) = buffered.pop_front() {
                    return Some((Ok(event), (shared, head, next, buffered)));
                }
                // Mark the head seen before reading, so a commit after the read wakes us.
                let committed = *head.borrow_and_update();
                if next < committed {
                    match read_all(&shared, next, SUBSCRIPTION_BATCH) {
                        Ok(events) => {
                            let next = next + events.len() as u64;
                            buffered.extend(events);
                            if buffered.is_empty() {
                                // The index said there were events but none could be read.
                                let error = Error::Backend {
                                    backend: "embedded",
                                    message: format!("position {next} is committed but not readable"),
                                };
                                return Some((Err(error), (shared, head, u64::MAX, buffered)));
                            }
                            let event = buffered.pop_front()?;
                            return Some((Ok(event), (shared, head, next, buffered)));
                        }
                        Err(e) => return Some((Err(e), (shared, head, u64::MAX, buffered))),
                    }
                }
                if next == u64::MAX || head.changed().await.is_err() {
                    // After an error, or once the log is closed and everything committed was read.
                    if next < *head.borrow() {
                        continue;
                    }
                    return None;
                }
            }
        }))
    }
}

/// Events a subscription reads from storage at a time.
const SUBSCRIPTION_BATCH: usize = 1024;
