//! [`KurrentLog`]: the handle, the reads and the subscription.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use imece_log::{
    AppendResult, Direction, Error, EventId, EventLog, EventStream, ExpectedVersion, NewEvent, RecordedEvent, Result,
    StreamAppend, StreamFrom, StreamId,
};
use kurrentdb::{
    Client, ClientSettings, EventData, ReadStreamOptions, ResolvedEvent, RetryOptions, StreamPosition, StreamState,
    SubscribeToStreamOptions,
};
use tokio::sync::{mpsc, oneshot};

use crate::envelope;
use crate::errors::{BACKEND, backend, is_not_found, redact, undecodable};
use crate::index::Index;
use crate::writer::{Request, Writer};

/// How a [`KurrentLog`] is laid out and writes.
#[derive(Clone, Debug)]
pub struct Options {
    /// The KurrentDB stream holding the whole log: its revision N is imece position N. Created by
    /// the first append. 1 to 255 bytes, not starting with `$`, no control characters. One stream
    /// per imece log: several logs may share a cluster under different names. Default `imece-log`.
    pub stream: String,
    /// The most events the writer puts into one KurrentDB append (a call is never split).
    /// Default 10,000.
    pub max_group_events: usize,
    /// The most bytes of data and metadata the writer puts into one KurrentDB append (a call is
    /// never split). Must stay below the server's `MaxAppendSize`. Default 4 MiB.
    pub max_group_bytes: usize,
    /// Reads a `read_stream` runs at once: a stream's events are runs of revisions of the log
    /// stream, read one run per request. Default 16.
    pub read_concurrency: usize,
    /// Whether a log stream with no events (one that does not exist yet) may be opened, as an
    /// empty log that the first append creates; connecting itself never writes. With false,
    /// connecting refuses it with [`Error::InvalidInput`] naming the stream: for opening a log
    /// that must be there already (the source of `imece migrate`). Default true.
    pub create: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stream: "imece-log".to_owned(),
            max_group_events: imece_log::MAX_BATCH_EVENTS,
            max_group_bytes: 4 * 1024 * 1024,
            read_concurrency: 16,
            create: true,
        }
    }
}

/// Events read from KurrentDB at a time while catching up.
const CATCH_UP_PAGE: usize = 1000;

/// The log in one KurrentDB stream. Cheap to clone: clones share one writer task, which ends once
/// the last clone is dropped.
#[derive(Clone, Debug)]
pub struct KurrentLog {
    handle: Arc<Handle>,
}

#[derive(Debug)]
struct Handle {
    requests: mpsc::UnboundedSender<Request>,
    shared: Arc<Shared>,
}

/// What the writer, the readers and the subscriptions share.
pub(crate) struct Shared {
    pub(crate) client: Client,
    /// The log stream.
    pub(crate) stream: String,
    /// The connection string without credentials, for messages.
    pub(crate) target: String,
    pub(crate) options: Options,
    index: RwLock<Index>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("target", &self.target).field("stream", &self.stream).finish_non_exhaustive()
    }
}

impl KurrentLog {
    /// Connects to the KurrentDB cluster or node at `connection_string` and reads the log stream
    /// `options.stream` once, to index it (every imece stream's positions, every event id), then
    /// starts the writer task on the current tokio runtime.
    ///
    /// The connection string is the client's: `kurrentdb://[user:password@]host:port[,host:port…][?key=value…]`,
    /// `kurrentdb+discover://…` for DNS discovery of a cluster, `esdb://…` alike; `tls=false` for an
    /// insecure server, `tlsCAFile=…` for a private CA, `nodePreference=leader` (the default for
    /// writes anyway).
    ///
    /// Errors: [`Error::InvalidInput`] for a bad connection string or options, and with
    /// `options.create` false for a log stream without events; [`Error::Backend`]
    /// when the cluster cannot be reached or refuses; [`Error::Corruption`] when the log stream
    /// holds an event imece did not write, [`Error::UnsupportedFormat`] one a newer imece wrote.
    pub async fn connect(connection_string: &str, options: Options) -> Result<Self> {
        check_options(&options)?;
        let target = redact(connection_string);
        let settings: ClientSettings =
            connection_string.parse().map_err(|e: kurrentdb::ClientSettingsParseError| {
                Error::invalid("url", format!("is not a KurrentDB connection string: {}", e.message()))
            })?;
        let client = Client::new(settings).map_err(|e| Error::Backend {
            backend: BACKEND,
            message: format!("cannot make a client for {target}: {e}"),
        })?;
        let shared = Arc::new(Shared {
            client,
            stream: options.stream.clone(),
            target,
            options,
            index: RwLock::new(Index::default()),
        });
        shared.catch_up().await?;
        if !shared.options.create && shared.index().head() == 0 {
            return Err(Error::invalid(
                "stream",
                format!(
                    "there is no log in {}: the stream does not exist or holds no event (opening an existing log only)",
                    shared.describe()
                ),
            ));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(Writer::new(shared.clone()).run(rx));
        tracing::info!("opened the kurrentdb log {} at head {}", shared.describe(), shared.index().head());
        Ok(KurrentLog { handle: Arc::new(Handle { requests: tx, shared }) })
    }

    /// The KurrentDB stream holding the log.
    pub fn stream(&self) -> &str {
        &self.handle.shared.stream
    }

    /// Where the log is: the connection string without user, password and parameters.
    pub fn target(&self) -> &str {
        &self.handle.shared.target
    }

    fn send(&self, request: Request) -> Result<()> {
        self.handle.requests.send(request).map_err(|_| Error::Closed)
    }
}

fn check_options(options: &Options) -> Result<()> {
    let s = &options.stream;
    if s.is_empty() || s.len() > imece_log::MAX_STREAM_ID_LEN || s.starts_with('$') || s.chars().any(char::is_control) {
        return Err(Error::invalid("stream", "must be 1 to 255 bytes, not start with '$', have no control characters"));
    }
    for (field, value) in [
        ("max_group_events", options.max_group_events),
        ("max_group_bytes", options.max_group_bytes),
        ("read_concurrency", options.read_concurrency),
    ] {
        if value == 0 {
            return Err(Error::invalid(field, "must be at least 1"));
        }
    }
    Ok(())
}

/// The KurrentDB event for an imece event of `stream` at `version`: imece's id, type and data, the
/// envelope (ADR 0013) as custom metadata.
pub(crate) fn event_data(
    stream: &StreamId,
    version: u64,
    recorded_at_micros: Option<i64>,
    id: EventId,
    event_type: &str,
    data: &Bytes,
    metadata: &Bytes,
) -> EventData {
    EventData::binary(event_type, data.clone()).id(id.as_uuid()).metadata(envelope::encode(
        stream,
        version,
        recorded_at_micros,
        metadata,
    ))
}

/// The expected state of the log stream for an append whose first event gets position `head`.
pub(crate) fn expected_revision(head: u64) -> StreamState {
    match head {
        0 => StreamState::NoStream,
        n => StreamState::StreamRevision(n - 1),
    }
}

impl Shared {
    pub(crate) fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn index_mut(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stream and where it is, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("stream {} on {}", self.stream, self.target)
    }

    /// The imece event of a KurrentDB event of the log stream.
    fn decode(&self, resolved: &ResolvedEvent) -> Result<RecordedEvent> {
        let e = resolved.get_original_event();
        let env = envelope::decode(&e.custom_metadata)
            .map_err(|why| undecodable(&self.target, &self.stream, e.revision, why))?;
        Ok(RecordedEvent {
            position: e.revision,
            stream: env.stream,
            version: env.version,
            id: EventId::from(e.id),
            event_type: e.event_type.clone(),
            data: e.data.clone(),
            metadata: env.metadata,
            recorded_at_micros: env.recorded_at_micros.unwrap_or_else(|| e.created.timestamp_micros()),
        })
    }

    /// Up to `count` events of the log from position `from`, in order.
    pub(crate) async fn read_range(&self, from: u64, count: usize) -> Result<Vec<RecordedEvent>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let context = || format!("reading {count} events from revision {from} of {}", self.describe());
        let options = ReadStreamOptions::default().position(StreamPosition::Position(from)).forwards().max_count(count);
        let mut read = match self.client.read_stream(self.stream.as_str(), &options).await {
            Ok(read) => read,
            Err(e) if is_not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(backend(&context(), &e)),
        };
        let mut events = Vec::with_capacity(count.min(CATCH_UP_PAGE));
        loop {
            match read.next().await {
                Ok(Some(resolved)) => events.push(self.decode(&resolved)?),
                Ok(None) => break,
                Err(e) if is_not_found(&e) => break,
                Err(e) => return Err(backend(&context(), &e)),
            }
            if events.len() == count {
                break;
            }
        }
        Ok(events)
    }

    /// Reads the log stream from the index's head to its end into the index. Only the writer
    /// calls it (and `connect`, before there is a writer).
    pub(crate) async fn catch_up(&self) -> Result<()> {
        loop {
            let from = self.index().head();
            let page = self.read_range(from, CATCH_UP_PAGE).await?;
            let mut index = self.index_mut();
            for e in &page {
                index.apply(e.position, &e.stream, e.version, e.id).map_err(|reason| Error::Corruption {
                    file: format!("{} stream {}", self.target, self.stream).into(),
                    offset: e.position,
                    reason,
                })?;
            }
            if page.len() < CATCH_UP_PAGE {
                return Ok(());
            }
        }
    }

    /// The events at `positions` (in the order given), read in runs of consecutive revisions.
    async fn read_positions(&self, positions: Vec<u64>, direction: Direction) -> Result<Vec<RecordedEvent>> {
        let runs = runs(&positions, direction);
        let reads = stream::iter(runs).map(|(lowest, len)| async move {
            let mut got = self.read_range(lowest, len).await?;
            if got.len() != len {
                return Err(Error::Backend {
                    backend: BACKEND,
                    message: format!(
                        "{} ends before revision {}, which this process has indexed",
                        self.describe(),
                        lowest + len as u64 - 1
                    ),
                });
            }
            if direction == Direction::Backward {
                got.reverse();
            }
            Ok(got)
        });
        let mut reads = reads.buffered(self.options.read_concurrency);
        let mut events = Vec::with_capacity(positions.len());
        while let Some(run) = reads.next().await {
            events.extend(run?);
        }
        Ok(events)
    }
}

/// Splits positions (ascending for `Forward`, descending for `Backward`) into runs of consecutive
/// revisions: `(lowest, length)` each, in the order given.
pub(crate) fn runs(positions: &[u64], direction: Direction) -> Vec<(u64, usize)> {
    let mut runs: Vec<(u64, usize)> = Vec::new();
    for &p in positions {
        match (runs.last_mut(), direction) {
            (Some((lowest, len)), Direction::Forward) if *lowest + *len as u64 == p => *len += 1,
            (Some((lowest, len)), Direction::Backward) if p + 1 == *lowest => {
                *lowest = p;
                *len += 1;
            }
            _ => runs.push((p, 1)),
        }
    }
    runs
}

/// The versions a stream read covers, in the order read.
pub(crate) fn versions(last: u64, from: StreamFrom, direction: Direction, limit: usize) -> Vec<u64> {
    let start = match from {
        StreamFrom::Start => 0,
        StreamFrom::End => last,
        StreamFrom::Version(v) => v,
    };
    match direction {
        Direction::Forward if start > last => Vec::new(),
        Direction::Forward => (start..=last).take(limit).collect(),
        Direction::Backward => (0..=start.min(last)).rev().take(limit).collect(),
    }
}

#[async_trait::async_trait]
impl EventLog for KurrentLog {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        imece_log::validate_batch(&events)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Append { parts: vec![StreamAppend::new(stream.clone(), expected, events)], reply })?;
        let results = answer.await.map_err(|_| Error::Closed)??;
        results.into_iter().next().ok_or(Error::Closed)
    }

    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        imece_log::validate_appends(&appends)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Append { parts: appends, reply })?;
        answer.await.map_err(|_| Error::Closed)?
    }

    async fn restore(&self, events: Vec<RecordedEvent>) -> Result<()> {
        imece_log::validate_restore(&events)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Restore { events, reply })?;
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
            let index = self.handle.shared.index();
            let all = index.positions(stream);
            let Some(last) = (all.len() as u64).checked_sub(1) else { return Ok(Vec::new()) };
            versions(last, from, direction, limit).into_iter().map(|v| all[v as usize]).collect()
        };
        self.handle.shared.read_positions(positions, direction).await
    }

    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.handle.shared.read_range(from, limit).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        Ok(self.handle.shared.index().stream_version(stream))
    }

    async fn head(&self) -> Result<u64> {
        Ok(self.handle.shared.index().head())
    }

    fn subscribe_all(&self, from: u64) -> EventStream {
        // KurrentDB's catch-up subscription to the log stream: reads from the revision, then live,
        // resubscribing after the last revision seen if the connection drops. Its revisions are
        // imece positions, so the seam is checked here: nothing before `from`, nothing twice, no gap.
        let shared = self.handle.shared.clone();
        let start = match from {
            0 => StreamPosition::Start,
            // The client starts after the given revision.
            n => StreamPosition::Position(n - 1),
        };
        let options = SubscribeToStreamOptions::default().start_from(start).retry_options(RetryOptions::default());
        let state = Follow { shared, options, live: None, next: from };
        Box::pin(stream::unfold(state, |mut s| async move {
            if s.next == u64::MAX {
                return None;
            }
            let mut live = match s.live.take() {
                Some(live) => live,
                None => s.shared.client.subscribe_to_stream(s.shared.stream.as_str(), &s.options).await,
            };
            let item = loop {
                let event = match live.next().await {
                    Ok(resolved) => s.shared.decode(&resolved),
                    Err(e) => Err(backend(&format!("subscribed to {}", s.shared.describe()), &e)),
                };
                match event {
                    Ok(event) if event.position < s.next => continue,
                    Ok(event) if event.position == s.next => break Ok(event),
                    Ok(event) => {
                        break Err(Error::Backend {
                            backend: BACKEND,
                            message: format!(
                                "the subscription to {} skipped from position {} to {}",
                                s.shared.describe(),
                                s.next,
                                event.position
                            ),
                        });
                    }
                    Err(e) => break Err(e),
                }
            };
            match item {
                Ok(_) => {
                    s.next += 1;
                    s.live = Some(live);
                }
                // An error ends the subscription: the subscriber subscribes again from where it is.
                Err(_) => s.next = u64::MAX,
            }
            Some((item, s))
        }))
    }
}

/// A subscription's state: where it is and KurrentDB's subscription, once made.
struct Follow {
    shared: Arc<Shared>,
    options: SubscribeToStreamOptions,
    live: Option<kurrentdb::Subscription>,
    /// The next position to yield; `u64::MAX` once ended.
    next: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_follow_consecutive_revisions_either_way() {
        assert_eq!(runs(&[], Direction::Forward), []);
        assert_eq!(runs(&[3, 4, 5, 9, 10, 12], Direction::Forward), [(3, 3), (9, 2), (12, 1)]);
        assert_eq!(runs(&[12, 10, 9, 5, 4, 3], Direction::Backward), [(12, 1), (9, 2), (3, 3)]);
        assert_eq!(runs(&[0], Direction::Backward), [(0, 1)]);
        // A forward run does not continue backwards, nor the other way round.
        assert_eq!(runs(&[5, 4], Direction::Forward), [(5, 1), (4, 1)]);
        assert_eq!(runs(&[4, 5], Direction::Backward), [(4, 1), (5, 1)]);
    }

    #[test]
    fn versions_of_a_stream_read() {
        use Direction::{Backward, Forward};
        assert_eq!(versions(4, StreamFrom::Start, Forward, 10), [0, 1, 2, 3, 4]);
        assert_eq!(versions(4, StreamFrom::Start, Forward, 2), [0, 1]);
        assert_eq!(versions(4, StreamFrom::Version(3), Forward, 10), [3, 4]);
        assert_eq!(versions(4, StreamFrom::Version(5), Forward, 10), Vec::<u64>::new());
        assert_eq!(versions(4, StreamFrom::End, Forward, 10), [4]);
        assert_eq!(versions(4, StreamFrom::End, Backward, 3), [4, 3, 2]);
        assert_eq!(versions(4, StreamFrom::Version(9), Backward, 10), [4, 3, 2, 1, 0]);
        assert_eq!(versions(4, StreamFrom::Start, Backward, 10), [0]);
        assert_eq!(versions(4, StreamFrom::Start, Forward, 0), Vec::<u64>::new());
    }

    #[test]
    fn the_log_stream_is_created_by_the_first_append_then_followed_by_revision() {
        assert_eq!(expected_revision(0), StreamState::NoStream);
        assert_eq!(expected_revision(1), StreamState::StreamRevision(0));
        assert_eq!(expected_revision(1_000), StreamState::StreamRevision(999));
    }

    #[test]
    fn options_are_checked() {
        check_options(&Options::default()).unwrap();
        let bad = |o: Options, field: &str| {
            let e = check_options(&o).unwrap_err();
            assert!(matches!(&e, Error::InvalidInput { field: f, .. } if f == field), "{e:?}");
        };
        bad(Options { stream: String::new(), ..Options::default() }, "stream");
        bad(Options { stream: "$all".into(), ..Options::default() }, "stream");
        bad(Options { stream: "a\nb".into(), ..Options::default() }, "stream");
        bad(Options { stream: "x".repeat(256), ..Options::default() }, "stream");
        bad(Options { max_group_events: 0, ..Options::default() }, "max_group_events");
        bad(Options { max_group_bytes: 0, ..Options::default() }, "max_group_bytes");
        bad(Options { read_concurrency: 0, ..Options::default() }, "read_concurrency");
    }

    #[tokio::test]
    async fn a_bad_connection_string_is_invalid_input() {
        for url in ["postgres://localhost/x", "kurrentdb://", "kurrentdb://h:2113?nodePreference=sideways"] {
            let e = KurrentLog::connect(url, Options::default()).await.unwrap_err();
            assert!(matches!(&e, Error::InvalidInput { field, .. } if field == "url"), "{url}: {e:?}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_backend_error_naming_it_without_credentials() {
        // Port 9 (discard) on the loopback: nothing answers gRPC there.
        let url = "kurrentdb://admin:secret@127.0.0.1:9?tls=false&maxDiscoverAttempts=1&discoveryInterval=10";
        let e = tokio::time::timeout(std::time::Duration::from_secs(60), KurrentLog::connect(url, Options::default()))
            .await
            .expect("connect gives up")
            .unwrap_err();
        let Error::Backend { backend, message } = &e else { panic!("{e:?}") };
        assert_eq!(*backend, "kurrentdb");
        assert!(message.contains("kurrentdb://127.0.0.1:9"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
}
