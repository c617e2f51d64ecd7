//! The writer task of a log: takes appends from a channel, decides each group of them against its
//! own view of the log (positions, stream versions, event ids), and keeps up to
//! [`Options::writers`](crate::Options::writers) groups in flight, each written by one statement
//! (one transaction) on a connection of its own. The groups commit in parallel, so that PostgreSQL
//! flushes their commits together, but they are answered, and the head that readers and
//! subscribers see is moved, strictly in position order: a group counts only once every group
//! before it committed. Nothing above the head is ever shown or acknowledged.
//!
//! A group is decided as if every group before it will commit. When one fails instead, the writer
//! waits for the rest of the pipeline, deletes whatever committed from the failed group's first
//! position on (none of it was acknowledged), reads the head again, and decides the calls of the
//! failed group and of every group after it once more, in order, the failed group's looking every
//! event id up first; a call fails only when that careful attempt fails too. When the process
//! dies instead, opening the log does the same from the head row on (see [`repair`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use futures_util::future::join3;
use imece_log::{AppendResult, Error, EventId, NewEvent, RecordedEvent, Result, StreamAppend, StreamId};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres::{Client, SimpleQueryMessage, Statement};
use uuid::Uuid;

use crate::read::{COLUMNS, StreamNames, decode};
use crate::{Setup, error_chain, locked, pg_error};

/// A request waiting for the writer.
pub(crate) enum Request {
    /// One `append`.
    One {
        stream: StreamId,
        expected: imece_log::ExpectedVersion,
        events: Vec<NewEvent>,
        reply: oneshot::Sender<Result<AppendResult>>,
    },
    /// One `append_many`: decided whole, written in the same statement as its group.
    Many { appends: Vec<StreamAppend>, reply: oneshot::Sender<Result<Vec<AppendResult>>> },
    /// One `restore`: committed on its own, once no group is in flight.
    Restore { events: Vec<RecordedEvent>, reply: oneshot::Sender<Result<()>> },
}

/// A restore waiting for the writer.
type Restore = (Vec<RecordedEvent>, oneshot::Sender<Result<()>>);

impl Request {
    /// An append or an `append_many` as a call of a group, or a restore.
    fn split(self) -> Result<(Call, Reply), Restore> {
        match self {
            Request::One { stream, expected, events, reply } => {
                Ok((Call { parts: vec![StreamAppend { stream, expected, events }], single: true }, Reply::One(reply)))
            }
            Request::Many { appends, reply } => Ok((Call { parts: appends, single: false }, Reply::Many(reply))),
            Request::Restore { events, reply } => Err((events, reply)),
        }
    }
}

/// An append or an `append_many`, as parts.
#[derive(Clone)]
struct Call {
    parts: Vec<StreamAppend>,
    /// An `append`: one part, and errors speak of "this append".
    single: bool,
}

impl Call {
    /// Events and bytes of data and metadata.
    fn size(&self) -> (usize, usize) {
        let events = || self.parts.iter().flat_map(|p| &p.events);
        (events().count(), events().map(|e| e.data.len() + e.metadata.len()).sum())
    }
}

enum Reply {
    One(oneshot::Sender<Result<AppendResult>>),
    Many(oneshot::Sender<Result<Vec<AppendResult>>>),
}

impl Reply {
    fn send(self, outcome: Result<Vec<AppendResult>>) {
        match self {
            Reply::One(tx) => drop(tx.send(outcome.map(|results| results[0]))),
            Reply::Many(tx) => drop(tx.send(outcome)),
        }
    }
}

fn backend(message: String) -> Error {
    Error::Backend { backend: "postgres", message }
}

/// Opens the writer's session and takes the schema's writer lock (session-level, so it is held as
/// long as the connection lives), waiting up to `lock_wait` for another holder to let go.
pub(crate) async fn lock_session(setup: &Setup) -> Result<Client> {
    let client = setup.session("writer").await?;
    let deadline = Instant::now() + setup.options.lock_wait;
    loop {
        let locked_now: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&setup.writer_key])
            .await
            .map_err(|e| pg_error(&format!("taking the writer lock of {}", setup.describe()), &e))?
            .get(0);
        if locked_now {
            return Ok(client);
        }
        if Instant::now() >= deadline {
            return Err(locked(setup));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The session holding the writer lock; it also serves the lookups that deciding needs, so that
/// they never queue behind a write, and keeps the head row.
struct LockConn {
    client: Client,
    /// Events from a position on, for a restore to compare with.
    range: Statement,
    find: Statement,
    versions: Statement,
    /// Moves the head row forward.
    mark: Statement,
}

impl LockConn {
    async fn prepare(setup: &Setup, client: Client) -> Result<LockConn> {
        let s = &setup.quoted_schema;
        let prepare = async |sql: String| {
            client.prepare(&sql).await.map_err(|e| pg_error(&format!("preparing a lookup on {}", setup.describe()), &e))
        };
        let range =
            prepare(format!("SELECT {COLUMNS} FROM {s}.events WHERE position >= $1 ORDER BY position LIMIT $2"))
                .await?;
        let find = prepare(format!("SELECT {COLUMNS} FROM {s}.events WHERE id = ANY($1::uuid[])")).await?;
        let versions = prepare(format!(
            "SELECT (SELECT e.version FROM {s}.events e WHERE e.stream = t.stream ORDER BY e.version DESC LIMIT 1) \
             FROM unnest($1::text[]) WITH ORDINALITY AS t(stream, n) ORDER BY t.n"
        ))
        .await?;
        let mark = prepare(format!("UPDATE {s}.head SET next = $1 WHERE next < $1")).await?;
        Ok(LockConn { client, range, find, versions, mark })
    }

    /// Moves the head row forward to `head`.
    async fn mark(&self, head: u64, setup: &Setup) -> Result<(), String> {
        self.client
            .execute(&self.mark, &[&(head as i64)])
            .await
            .map(drop)
            .map_err(|e| format!("moving the head row of {} to {head}: {}", setup.describe(), error_chain(&e)))
    }
}

/// Makes the log gapless again after this process stopped or lost its connections with groups in
/// flight, and returns the head. Groups commit in parallel, so some may have committed after a gap
/// left by one that did not: none of them was acknowledged (a group is answered only once every
/// group before it committed) nor shown to a reader (reads stop at the head). So from the head row
/// on, the events up to the first gap stay (a group that committed without its answer reaching
/// anyone: a retry with its ids will find it), everything after the gap is deleted, and the head
/// row is moved to the end, in one transaction. Only the holder of the writer lock calls this.
pub(crate) async fn repair(client: &mut Client, setup: &Setup) -> Result<u64> {
    let s = &setup.quoted_schema;
    let fail = |what: &str, e: tokio_postgres::Error| pg_error(&format!("{what} in {}", setup.describe()), &e);
    let tx = client.transaction().await.map_err(|e| fail("starting the repair", e))?;
    let marked: i64 = tx
        .query_one(&format!("SELECT next FROM {s}.head FOR UPDATE"), &[])
        .await
        .map_err(|e| fail("reading the head row", e))?
        .get(0);
    let positions = tx
        .query(&format!("SELECT position FROM {s}.events WHERE position >= $1 ORDER BY position"), &[&marked])
        .await
        .map_err(|e| fail("reading the events above the head row", e))?;
    let mut end = marked;
    for row in &positions {
        if row.get::<_, i64>(0) != end {
            break;
        }
        end += 1;
    }
    let beyond = positions.len() as i64 - (end - marked);
    if beyond > 0 {
        tx.execute(&format!("DELETE FROM {s}.events WHERE position >= $1"), &[&end])
            .await
            .map_err(|e| fail("deleting the events after a gap", e))?;
        tracing::warn!(
            "{}: deleted {beyond} events that committed after a gap at position {end}; none was acknowledged",
            setup.describe()
        );
    }
    if end > marked {
        tx.execute(&format!("UPDATE {s}.head SET next = $1"), &[&end])
            .await
            .map_err(|e| fail("moving the head row", e))?;
    }
    tx.commit().await.map_err(|e| fail("committing the repair", e))?;
    Ok(end as u64)
}

/// A connection that writes groups, one at a time.
struct WriteConn {
    client: Client,
    /// `COPY … FROM STDIN` in the binary format: one statement, so one transaction and one WAL
    /// flush for the whole group.
    copy: Statement,
}

impl WriteConn {
    async fn open(setup: &Setup) -> Result<WriteConn> {
        let client = setup.session("writer").await?;
        let copy = client
            .prepare(&format!("COPY {}.events ({COLUMNS}) FROM STDIN (FORMAT binary)", setup.quoted_schema))
            .await
            .map_err(|e| pg_error(&format!("preparing a write on {}", setup.describe()), &e))?;
        Ok(WriteConn { client, copy })
    }

    /// Writes `n` events, encoded by [`CopyRows`], in one `COPY` inside `BEGIN` … `COMMIT`, the
    /// three sent at once: committed (the WAL flushed) when it returns `Ok`.
    ///
    /// The explicit transaction is what makes `Ok` mean committed. Alone, a `COPY` sent through
    /// the extended protocol (as `copy_in` sends it) reports completion before its implicit
    /// transaction commits, which happens only at the following `Sync`: a connection lost in
    /// between would lose a group already answered. A `COMMIT` reports after the commit.
    async fn copy(&self, payload: Bytes, n: usize, first_position: u64, setup: &Setup) -> Result<(), Failure> {
        let fail = |e: tokio_postgres::Error| {
            format!("writing {n} events to {} from position {first_position}: {}", setup.describe(), error_chain(&e))
        };
        let copy = async {
            let sink = self.client.copy_in::<_, Bytes>(&self.copy).await?;
            let mut sink = std::pin::pin!(sink);
            sink.send(payload).await?;
            sink.finish().await
        };
        // `join3` polls in order, so the three requests are queued on the connection in order on
        // the first poll; after a failed `COPY`, the `COMMIT` rolls back.
        let (begun, copied, committed) =
            join3(self.client.batch_execute("BEGIN"), copy, self.client.batch_execute("COMMIT")).await;
        begun.map_err(fail)?;
        let rows = copied.map_err(fail)?;
        committed.map_err(fail)?;
        if rows != n as u64 {
            return Err(format!(
                "writing {n} events to {} from position {first_position} inserted {rows} rows",
                setup.describe()
            ));
        }
        Ok(())
    }
}

/// One row of [`COLUMNS`], borrowed from an append or a restored event.
struct CopyRow<'a> {
    position: u64,
    stream: &'a str,
    version: u64,
    id: EventId,
    event_type: &'a str,
    data: &'a [u8],
    metadata: &'a [u8],
    recorded_at_micros: i64,
}

impl<'a> CopyRow<'a> {
    fn of(e: &'a RecordedEvent) -> Self {
        CopyRow {
            position: e.position,
            stream: e.stream.as_str(),
            version: e.version,
            id: e.id,
            event_type: &e.event_type,
            data: &e.data,
            metadata: &e.metadata,
            recorded_at_micros: e.recorded_at_micros,
        }
    }
}

/// Writes rows at consecutive positions with one `COPY`: one transaction, committed (the WAL
/// flushed) when it returns.
async fn copy_rows(conn: &WriteConn, rows: &[CopyRow<'_>], setup: &Setup) -> Result<(), Failure> {
    let bytes = rows.iter().map(|r| 100 + r.stream.len() + r.event_type.len() + r.data.len() + r.metadata.len()).sum();
    let mut copy = CopyRows::new(bytes);
    for row in rows {
        copy.row(row);
    }
    conn.copy(copy.finish(), rows.len(), rows[0].position, setup).await
}

/// Rows of [`COLUMNS`] in PostgreSQL's binary `COPY` format.
struct CopyRows(BytesMut);

impl CopyRows {
    fn new(capacity: usize) -> CopyRows {
        let mut buf = BytesMut::with_capacity(capacity + 21);
        buf.put_slice(b"PGCOPY\n\xff\r\n\0");
        buf.put_i32(0); // flags
        buf.put_i32(0); // header extension
        CopyRows(buf)
    }

    fn row(&mut self, row: &CopyRow<'_>) {
        let b = &mut self.0;
        b.put_i16(8);
        b.put_i32(8);
        b.put_i64(row.position as i64);
        Self::field(b, row.stream.as_bytes());
        b.put_i32(8);
        b.put_i64(row.version as i64);
        Self::field(b, row.id.as_uuid().as_bytes());
        Self::field(b, row.event_type.as_bytes());
        Self::field(b, row.data);
        Self::field(b, row.metadata);
        b.put_i32(8);
        b.put_i64(row.recorded_at_micros);
    }

    fn field(b: &mut BytesMut, value: &[u8]) {
        b.put_i32(value.len() as i32);
        b.put_slice(value);
    }

    fn finish(mut self) -> Bytes {
        self.0.put_i16(-1);
        self.0.freeze()
    }
}

/// Why a group's statement failed: it wrote nothing, or (the connection was lost) it is unknown
/// whether it did.
type Failure = String;

/// Which event of a group's calls a row is, and the version it gets.
#[derive(Clone, Copy)]
struct Row {
    call: u32,
    part: u32,
    event: u32,
    version: u64,
}

impl Row {
    fn of<'a>(&self, calls: &'a [Call]) -> (&'a StreamId, &'a NewEvent) {
        let part = &calls[self.call as usize].parts[self.part as usize];
        (&part.stream, &part.events[self.event as usize])
    }

    /// The event of this row as it will be stored at `position`.
    fn recorded(&self, calls: &[Call], position: u64) -> RecordedEvent {
        let (stream, event) = self.of(calls);
        RecordedEvent {
            position,
            stream: stream.clone(),
            version: self.version,
            id: event.id,
            event_type: event.event_type.clone(),
            data: event.data.clone(),
            metadata: event.metadata.clone(),
            recorded_at_micros: 0,
        }
    }
}

/// A group as decided so far: its rows, in position order, and what they change.
struct Draft {
    first_position: u64,
    rows: Vec<Row>,
    /// Row of each event id the group writes.
    ids: HashMap<EventId, usize>,
    /// Last version of every stream the group writes.
    last_versions: HashMap<StreamId, u64>,
}

impl Draft {
    fn new(first_position: u64) -> Self {
        Draft { first_position, rows: Vec::new(), ids: HashMap::new(), last_versions: HashMap::new() }
    }
}

/// A decided group, being written and not yet answered.
struct Group {
    calls: Arc<Vec<Call>>,
    replies: Vec<Reply>,
    outcomes: Vec<Result<Vec<AppendResult>>>,
    rows: Arc<Vec<Row>>,
    first_position: u64,
    /// Decided after looking every event id up.
    careful: bool,
    /// The statement; `None` when the group writes nothing (only refusals and retries).
    write: Option<JoinHandle<Result<(), Failure>>>,
}

impl Group {
    /// Waits for the group's statement.
    async fn written(&mut self) -> Option<Result<(), Failure>> {
        let write = self.write.as_mut()?;
        Some(write.await.unwrap_or_else(|e| Err(format!("the write task failed: {e}"))))
    }

    /// Its calls and replies, to be decided again.
    fn into_calls(self) -> Vec<(Call, Reply)> {
        Arc::unwrap_or_clone(self.calls).into_iter().zip(self.replies).collect()
    }

    fn ids(&self) -> impl Iterator<Item = EventId> + '_ {
        self.rows.iter().map(|row| row.of(&self.calls).1.id)
    }
}

/// How often, at most, the head row is moved while appends keep coming (and whenever they stop).
const MARK_EVERY: Duration = Duration::from_millis(100);

/// Groups in flight per writing connection, at most.
const IN_FLIGHT_PER_WRITER: usize = 4;

/// Gives a writing connection back to the writer when its write task ends, however it ends.
struct Free {
    slot: usize,
    to: mpsc::UnboundedSender<usize>,
}

impl Drop for Free {
    fn drop(&mut self) {
        self.to.send(self.slot).ok();
    }
}

/// Calls decided again before any new request: a group's worth, and whether to look every id up.
type Again = (Vec<(Call, Reply)>, bool);

/// The writer task's state.
pub(crate) struct Writer {
    setup: Arc<Setup>,
    /// `None` after the connection was lost: reconnected (taking the lock again) once no group is
    /// in flight.
    lock: Option<Arc<LockConn>>,
    /// Writing connections, opened when first needed.
    writers: Vec<Option<Arc<WriteConn>>>,
    /// Writing connections with no statement running.
    idle: Vec<usize>,
    /// Where a write task gives its connection back, and where the writer takes it.
    freed: (mpsc::UnboundedSender<usize>, mpsc::UnboundedReceiver<usize>),
    /// Position of the next event, after every group in flight.
    next_position: u64,
    /// Last version of streams (`None`: no events), after every group in flight.
    versions: HashMap<StreamId, Option<u64>>,
    /// Groups in flight, oldest first; the oldest is group number `first_group`.
    in_flight: VecDeque<Group>,
    first_group: u64,
    /// Event ids the groups in flight write: group number and row.
    pending: HashMap<EventId, (u64, usize)>,
    /// Calls to decide again, before any new request.
    again: VecDeque<Again>,
    /// Requests taken from the channel and not yet decided.
    queued: VecDeque<Request>,
    /// The committed head, for readers and subscribers.
    head: watch::Sender<u64>,
    /// The head as last written to the head row, and when.
    marked: (u64, Instant),
    /// Set when the database lost committed events: every append is refused.
    broken: Option<String>,
}

impl Writer {
    /// Starts on the lock session, repairing the log first (see [`repair`]).
    pub(crate) async fn start(setup: Arc<Setup>, mut client: Client) -> Result<Writer> {
        let head = repair(&mut client, &setup).await?;
        let lock = LockConn::prepare(&setup, client).await?;
        let writers = (0..setup.options.writers).map(|_| None).collect();
        let idle = (0..setup.options.writers).rev().collect();
        Ok(Writer {
            setup,
            lock: Some(Arc::new(lock)),
            writers,
            idle,
            freed: mpsc::unbounded_channel(),
            next_position: head,
            versions: HashMap::new(),
            in_flight: VecDeque::new(),
            first_group: 0,
            pending: HashMap::new(),
            again: VecDeque::new(),
            queued: VecDeque::new(),
            head: watch::Sender::new(head),
            marked: (head, Instant::now()),
            broken: None,
        })
    }

    pub(crate) fn head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// Serves appends until every handle to the log is gone. Whenever a writing connection is free,
    /// everything queued (up to the group limits) is decided as the next group and sent; a restore
    /// waits until no group is in flight and is committed on its own.
    pub(crate) async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Request>) {
        let mut open = true;
        loop {
            while open {
                match requests.try_recv() {
                    Ok(request) => self.queued.push_back(request),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => open = false,
                }
            }
            self.dispatch_while_free().await;
            if self.in_flight.is_empty() {
                if !self.queued.is_empty() || !self.again.is_empty() {
                    continue;
                }
                if !open {
                    break;
                }
                self.mark_head().await;
                match requests.recv().await {
                    Some(request) => self.queued.push_back(request),
                    None => open = false,
                }
                continue;
            }
            let free = self.can_dispatch() && self.queued.is_empty() && self.again.is_empty();
            let front = self.in_flight.front_mut().expect("a group in flight");
            tokio::select! {
                biased;
                written = front.written() => self.settle(written).await,
                Some(slot) = self.freed.1.recv() => self.idle.push(slot),
                request = requests.recv(), if open && free => match request {
                    Some(request) => self.queued.push_back(request),
                    None => open = false,
                },
            }
        }
        self.mark_head().await;
        tracing::debug!("the writer of {} stops: the log was dropped", self.setup.describe());
    }

    /// Whether another group can be sent: a writing connection is idle, and the pipeline is not
    /// full (groups wait for their answers in order, so some may have committed, their connection
    /// free again, while one before them still runs).
    fn can_dispatch(&self) -> bool {
        !self.idle.is_empty() && self.in_flight.len() < IN_FLIGHT_PER_WRITER * self.writers.len()
    }

    /// Sends groups while a writing connection is free and there is something to decide.
    async fn dispatch_while_free(&mut self) {
        while let Ok(slot) = self.freed.1.try_recv() {
            self.idle.push(slot);
        }
        while self.can_dispatch() {
            let (calls, careful) = if let Some(again) = self.again.pop_front() {
                again
            } else {
                match self.queued.front() {
                    None => return,
                    Some(Request::Restore { .. }) => {
                        if !self.in_flight.is_empty() {
                            return;
                        }
                        let Some(Err((events, reply))) = self.queued.pop_front().map(Request::split) else {
                            unreachable!("the front request is a restore")
                        };
                        let outcome = self.restore(events).await;
                        if let Err(e) = &outcome {
                            tracing::debug!("a restore into {} was refused: {e}", self.setup.describe());
                        }
                        drop(reply.send(outcome));
                        continue;
                    }
                    Some(_) => (self.gather(), false),
                }
            };
            if !self.dispatch(calls, careful).await {
                return;
            }
        }
    }

    /// The next group of queued calls, up to the group limits (an append is never split), stopping
    /// before a restore. What is queued is shared out between the idle writing connections, so that
    /// the server inserts it in parallel rather than in one transaction after another.
    fn gather(&mut self) -> Vec<(Call, Reply)> {
        let queued: usize = self
            .queued
            .iter()
            .map_while(|r| match r {
                Request::One { events, .. } => Some(events.len()),
                Request::Many { appends, .. } => Some(appends.iter().map(|a| a.events.len()).sum()),
                Request::Restore { .. } => None,
            })
            .sum();
        let share = queued.div_ceil(self.idle.len().max(1));
        let max_events = self.setup.options.max_group_events.min(share);
        let max_bytes = self.setup.options.max_group_bytes;
        let (mut events, mut bytes) = (0, 0);
        let mut group = Vec::new();
        while events < max_events && bytes < max_bytes {
            if matches!(self.queued.front(), None | Some(Request::Restore { .. })) {
                break;
            }
            let Some(Ok((call, reply))) = self.queued.pop_front().map(Request::split) else {
                unreachable!("the front request is an append")
            };
            let (e, b) = call.size();
            events += e;
            bytes += b;
            group.push((call, reply));
        }
        group
    }

    /// Decides a group and sends it to its writing connection. Returns `false`, keeping the calls
    /// for later, when it has to wait for the groups in flight first (the lock session was lost).
    async fn dispatch(&mut self, calls: Vec<(Call, Reply)>, careful: bool) -> bool {
        let fail_all = |calls: Vec<(Call, Reply)>, message: &str| {
            for (_, reply) in calls {
                reply.send(Err(backend(message.to_owned())));
            }
        };
        if let Some(cause) = &self.broken {
            fail_all(calls, cause);
            return true;
        }
        if self.lock.as_ref().is_none_or(|c| c.client.is_closed()) {
            if !self.in_flight.is_empty() {
                self.again.push_front((calls, careful));
                return false;
            }
            if let Err(message) = self.reconnect().await {
                fail_all(calls, &message);
                return true;
            }
        }
        let number = self.first_group + self.in_flight.len() as u64;
        let slot = *self.idle.last().expect("an idle writing connection");
        let conn = match self.write_conn(slot).await {
            Ok(conn) => conn,
            Err(message) => {
                fail_all(calls, &message);
                return true;
            }
        };
        let (calls, replies): (Vec<Call>, Vec<Reply>) = calls.into_iter().unzip();
        let (draft, outcomes) = match self.decide_group(&calls, careful).await {
            Ok(decided) => decided,
            Err(message) => {
                for reply in replies {
                    reply.send(Err(backend(message.clone())));
                }
                return true;
            }
        };
        let Draft { first_position, rows, last_versions, .. } = draft;
        for (stream, version) in last_versions {
            self.versions.insert(stream, Some(version));
        }
        self.next_position += rows.len() as u64;
        for (i, row) in rows.iter().enumerate() {
            self.pending.insert(row.of(&calls).1.id, (number, i));
        }
        let (calls, rows) = (Arc::new(calls), Arc::new(rows));
        let write = (!rows.is_empty()).then(|| {
            self.idle.pop();
            let (calls, rows, setup) = (calls.clone(), rows.clone(), self.setup.clone());
            let free = Free { slot, to: self.freed.0.clone() };
            tokio::spawn(async move {
                let _free = free;
                write(&conn, &calls, &rows, first_position, &setup).await
            })
        });
        self.in_flight.push_back(Group { calls, replies, outcomes, rows, first_position, careful, write });
        true
    }

    /// Settles the oldest group in flight, whose statement came back (`None`: it wrote nothing).
    async fn settle(&mut self, written: Option<Result<(), Failure>>) {
        let group = self.pop_front();
        match written {
            None | Some(Ok(())) => self.answer(group),
            Some(Err(failure)) => self.recover(group, failure).await,
        }
    }

    /// Takes the oldest group out of the pipeline.
    fn pop_front(&mut self) -> Group {
        let group = self.in_flight.pop_front().expect("a group in flight");
        self.first_group += 1;
        for id in group.ids() {
            self.pending.remove(&id);
        }
        group
    }

    /// Publishes the head after a committed group and answers its calls.
    fn answer(&mut self, group: Group) {
        if !group.rows.is_empty() {
            let head = group.first_position + group.rows.len() as u64;
            self.head.send_replace(head);
            if self.marked.1.elapsed() >= MARK_EVERY
                && let Some(lock) = self.lock.clone()
            {
                // Off the writer's path: the head row only has to trail the head.
                self.marked = (head, Instant::now());
                let setup = self.setup.clone();
                tokio::spawn(async move {
                    if let Err(e) = lock.mark(head, &setup).await {
                        tracing::debug!("{e}");
                    }
                });
            }
        }
        for (reply, outcome) in group.replies.into_iter().zip(group.outcomes) {
            reply.send(outcome);
        }
    }

    /// After the oldest group failed: waits for every group behind it, deletes whatever committed
    /// from the failed group's first position on (nothing there was answered), and queues the calls
    /// of every one of them to be decided again, in order; the failed group's (and any other that
    /// failed) looking every id up. A call that fails while being decided so, gets the error.
    async fn recover(&mut self, failed: Group, failure: Failure) {
        let from = failed.first_position;
        let mut again = VecDeque::new();
        strike(failed, failure, &mut again);
        while !self.in_flight.is_empty() {
            let mut group = self.pop_front();
            match group.written().await {
                // Committed or not, it was decided as if the failed group had committed.
                None | Some(Ok(())) => {
                    let careful = group.careful;
                    again.push_back((group.into_calls(), careful));
                }
                Some(Err(failure)) => strike(group, failure, &mut again),
            }
        }
        again.extend(self.again.drain(..));
        self.again = again;
        while let Ok(slot) = self.freed.1.try_recv() {
            self.idle.push(slot);
        }
        debug_assert_eq!(self.idle.len(), self.writers.len(), "every writing connection is back");
        self.cut(from).await;
    }

    /// Once no group is in flight after a failure: deletes every event from `from` (the head) on,
    /// and forgets the stream versions. If that fails, the lock session is dropped, so that the
    /// next group reconnects and repairs the log first.
    async fn cut(&mut self, from: u64) {
        debug_assert!(self.in_flight.is_empty() && self.pending.is_empty() && from == *self.head.borrow());
        self.versions.clear();
        self.next_position = from;
        let Ok(lock) = self.lock() else { return };
        // The simple protocol: its answer comes after the commit (see [`WriteConn::copy`]).
        let statement = format!("DELETE FROM {}.events WHERE position >= {from}", self.setup.quoted_schema);
        let deleted = lock.client.simple_query(&statement).await.map(|messages| {
            messages.iter().find_map(|m| match m {
                SimpleQueryMessage::CommandComplete(rows) => Some(*rows),
                _ => None,
            })
        });
        match deleted {
            Ok(None | Some(0)) => {}
            Ok(Some(deleted)) => tracing::debug!(
                "{}: deleted {deleted} events after position {from} that committed after a failed group",
                self.setup.describe()
            ),
            Err(e) => {
                tracing::warn!("deleting after a failed group in {}: {}", self.setup.describe(), error_chain(&e));
                self.lock = None;
            }
        }
    }

    /// Writes the head to the head row, if it moved since.
    async fn mark_head(&mut self) {
        let head = *self.head.borrow();
        if head == self.marked.0 {
            return;
        }
        if let Ok(lock) = self.lock() {
            match lock.mark(head, &self.setup).await {
                Ok(()) => self.marked = (head, Instant::now()),
                Err(e) => tracing::debug!("{e}"),
            }
        }
    }

    /// The writing connection `i`, opened if it is not.
    async fn write_conn(&mut self, i: usize) -> Result<Arc<WriteConn>, String> {
        if let Some(conn) = self.writers[i].as_ref().filter(|c| !c.client.is_closed()) {
            return Ok(conn.clone());
        }
        self.writers[i] = None;
        let conn = Arc::new(WriteConn::open(&self.setup).await.map_err(|e| e.to_string())?);
        self.writers[i] = Some(conn.clone());
        Ok(conn)
    }

    /// Decides every call of a group against the log as the groups in flight leave it: the draft
    /// of what is to be written, and each call's outcome. With `careful`, every event id is looked
    /// up first. `Err`: a lookup failed, nothing was decided.
    async fn decide_group(
        &mut self,
        calls: &[Call],
        careful: bool,
    ) -> Result<(Draft, Vec<Result<Vec<AppendResult>>>), String> {
        self.load_stream_versions(calls.iter().flat_map(|c| &c.parts).map(|p| &p.stream)).await?;
        let known = if careful {
            let ids: Vec<Uuid> =
                calls.iter().flat_map(|c| &c.parts).flat_map(|p| &p.events).map(|e| e.id.as_uuid()).collect();
            Some(self.find(&ids).await?)
        } else {
            None
        };
        let mut draft = Draft::new(self.next_position);
        let mut outcomes = Vec::with_capacity(calls.len());
        for index in 0..calls.len() {
            outcomes.push(self.decide(calls, index, &mut draft, known.as_ref()).await?);
        }
        Ok((draft, outcomes))
    }

    /// Decides one call against the group so far: `Ok(Ok(results))` for a write (added to the
    /// draft) or a retry of events already stored or in flight, `Ok(Err(_))` for a refusal.
    async fn decide(
        &self,
        calls: &[Call],
        index: usize,
        draft: &mut Draft,
        known: Option<&HashMap<EventId, RecordedEvent>>,
    ) -> Result<Result<Vec<AppendResult>>, String> {
        let call = &calls[index];
        // Each part's expected version, against its stream as the group and the parts before it
        // leave it.
        let mut after: HashMap<&StreamId, Option<u64>> = HashMap::new();
        let mut wrong = None;
        for part in &call.parts {
            let actual = match after.get(&part.stream) {
                Some(&version) => version,
                None => self.version(draft, &part.stream)?,
            };
            if !part.expected.admits(actual) {
                wrong =
                    Some(Error::WrongExpectedVersion { stream: part.stream.clone(), expected: part.expected, actual });
                break;
            }
            after.insert(&part.stream, Some(actual.map_or(0, |v| v + 1) + part.events.len() as u64 - 1));
        }

        // Ids in the log already. A retry is told apart before any expected version: the ids are
        // looked up when the call cannot be written as it is, or meets events of its own group or
        // of a group in flight.
        let events = || call.parts.iter().flat_map(|p| &p.events);
        let ours = |id: &EventId| draft.ids.contains_key(id) || self.pending.contains_key(id);
        let fetched;
        let stored = match known {
            Some(known) => Some(known),
            None if wrong.is_some() || events().any(|e| ours(&e.id)) => {
                let ids: Vec<Uuid> = events().filter(|e| !ours(&e.id)).map(|e| e.id.as_uuid()).collect();
                fetched = self.find(&ids).await?;
                Some(&fetched)
            }
            None => None,
        };
        let mut hits = Vec::new();
        for part in &call.parts {
            for event in &part.events {
                let found = draft
                    .ids
                    .get(&event.id)
                    .map(|&row| draft.rows[row].recorded(calls, draft.first_position + row as u64))
                    .or_else(|| self.in_flight_event(event.id))
                    .or_else(|| stored.and_then(|s| s.get(&event.id)).cloned());
                if let Some(recorded) = found {
                    hits.push((part, event, recorded));
                }
            }
        }
        if !hits.is_empty() {
            return Ok(judge_retry(call, &hits));
        }
        if let Some(refusal) = wrong {
            return Ok(Err(refusal));
        }

        let mut results = Vec::with_capacity(call.parts.len());
        for (p, part) in call.parts.iter().enumerate() {
            let first_version = self.version(draft, &part.stream)?.map_or(0, |v| v + 1);
            let first_position = draft.first_position + draft.rows.len() as u64;
            for (i, event) in part.events.iter().enumerate() {
                draft.ids.insert(event.id, draft.rows.len());
                draft.rows.push(Row {
                    call: index as u32,
                    part: p as u32,
                    event: i as u32,
                    version: first_version + i as u64,
                });
            }
            let n = part.events.len() as u64;
            draft.last_versions.insert(part.stream.clone(), first_version + n - 1);
            results.push(AppendResult {
                first_position,
                last_position: first_position + n - 1,
                first_version,
                last_version: first_version + n - 1,
            });
        }
        Ok(Ok(results))
    }

    /// The event with this id if a group in flight writes it, as it will be stored.
    fn in_flight_event(&self, id: EventId) -> Option<RecordedEvent> {
        let &(number, row) = self.pending.get(&id)?;
        let group = &self.in_flight[(number - self.first_group) as usize];
        Some(group.rows[row].recorded(&group.calls, group.first_position + row as u64))
    }

    /// The last version of `stream` as the groups in flight and the group so far leave it.
    fn version(&self, draft: &Draft, stream: &StreamId) -> Result<Option<u64>, String> {
        if let Some(&version) = draft.last_versions.get(stream) {
            return Ok(Some(version));
        }
        self.versions.get(stream).copied().ok_or_else(|| format!("the version of stream {stream} was not loaded"))
    }

    /// Restores events as given, in a transaction of its own, once no group is in flight: those at
    /// positions below the head must be stored exactly so (they are skipped); the rest must start
    /// at the head, take their streams' next versions and bring ids not in the log. Nothing is
    /// written on a refusal.
    async fn restore(&mut self, events: Vec<RecordedEvent>) -> Result<()> {
        if let Some(cause) = &self.broken {
            return Err(backend(cause.clone()));
        }
        if self.lock.as_ref().is_none_or(|c| c.client.is_closed()) {
            self.reconnect().await.map_err(backend)?;
        }
        let head = self.next_position;
        let (first, last) = (events[0].position, events[events.len() - 1].position);
        // What `check_restore` asks for, fetched first: the events stored where the restore
        // overlaps the log, and the versions of the streams it writes beyond it.
        let stored = if first < head {
            self.range(first, (head.min(last + 1) - first) as usize).await.map_err(backend)?
        } else {
            Vec::new()
        };
        self.load_stream_versions(events.iter().filter(|e| e.position >= head).map(|e| &e.stream))
            .await
            .map_err(backend)?;
        let present = imece_log::check_restore(
            &events,
            head,
            |position| {
                stored
                    .get((position - first) as usize)
                    .cloned()
                    .ok_or_else(|| backend(format!("position {position} is below the head but not stored")))
            },
            |stream| {
                self.versions
                    .get(stream)
                    .map(|v| v.map_or(0, |v| v + 1))
                    .ok_or_else(|| backend(format!("the version of stream {stream} was not loaded")))
            },
        )?;
        let rest = &events[present..];
        if rest.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = rest.iter().map(|e| e.id.as_uuid()).collect();
        let found = self.find(&ids).await.map_err(backend)?;
        if let Some(e) = rest.iter().find(|e| found.contains_key(&e.id)) {
            let at = found[&e.id].position;
            return Err(Error::DuplicateEventId { id: e.id, reason: format!("it is at position {at}") });
        }
        let conn = self.write_conn(0).await.map_err(backend)?;
        let rows: Vec<CopyRow<'_>> = rest.iter().map(CopyRow::of).collect();
        match copy_rows(&conn, &rows, &self.setup).await {
            Ok(()) => {
                for e in rest {
                    self.versions.insert(e.stream.clone(), Some(e.version));
                }
                let head = head + rest.len() as u64;
                self.next_position = head;
                self.head.send_replace(head);
                Ok(())
            }
            Err(message) => {
                self.cut(head).await;
                Err(backend(message))
            }
        }
    }

    /// The lock session, which must be open.
    fn lock(&self) -> Result<&LockConn, String> {
        self.lock.as_deref().ok_or_else(|| "the writer is not connected".to_owned())
    }

    /// Up to `count` stored events from `first` on.
    async fn range(&self, first: u64, count: usize) -> Result<Vec<RecordedEvent>, String> {
        let conn = self.lock()?;
        let rows = conn
            .client
            .query(&conn.range, &[&(first as i64), &(count as i64)])
            .await
            .map_err(|e| format!("reading events of {}: {}", self.setup.describe(), error_chain(&e)))?;
        let mut names = StreamNames::default();
        rows.iter().map(|row| decode(row, &mut names).map_err(|e| e.to_string())).collect()
    }

    /// The stored events with these ids.
    async fn find(&self, ids: &[Uuid]) -> Result<HashMap<EventId, RecordedEvent>, String> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let conn = self.lock()?;
        let rows = conn
            .client
            .query(&conn.find, &[&ids])
            .await
            .map_err(|e| format!("looking up event ids in {}: {}", self.setup.describe(), error_chain(&e)))?;
        let mut names = StreamNames::default();
        rows.iter().map(|row| decode(row, &mut names).map(|e| (e.id, e)).map_err(|e| e.to_string())).collect()
    }

    /// Loads the versions of these streams that are not in memory, in one query. A full cache is
    /// emptied first, but only while no group is in flight: it holds their versions.
    async fn load_stream_versions<'s>(&mut self, streams: impl Iterator<Item = &'s StreamId>) -> Result<(), String> {
        if self.versions.len() >= self.setup.options.stream_cache && self.in_flight.is_empty() {
            self.versions.clear();
        }
        let mut seen = HashSet::new();
        let missing: Vec<&StreamId> = streams.filter(|s| !self.versions.contains_key(*s) && seen.insert(*s)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let conn = self.lock()?;
        let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        let fail = |e: tokio_postgres::Error| {
            format!("reading stream versions in {}: {}", self.setup.describe(), error_chain(&e))
        };
        let rows = conn.client.query(&conn.versions, &[&names]).await.map_err(fail)?;
        if rows.len() != missing.len() {
            return Err(format!("asked for {} stream versions, got {}", missing.len(), rows.len()));
        }
        let mut loaded = Vec::with_capacity(rows.len());
        for (stream, row) in missing.into_iter().zip(&rows) {
            let version: Option<i64> = row.try_get(0).map_err(fail)?;
            loaded.push((stream.clone(), version.map(|v| v as u64)));
        }
        self.versions.extend(loaded);
        Ok(())
    }

    /// Opens the lock session again, taking the writer lock, and repairs the log (see [`repair`]).
    /// Only while no group is in flight. A head behind what was published means committed events
    /// were lost (a restore, a failover without them): every append is refused from then on.
    async fn reconnect(&mut self) -> Result<(), String> {
        debug_assert!(self.in_flight.is_empty() && self.pending.is_empty());
        self.lock = None;
        self.versions.clear();
        let mut client = lock_session(&self.setup).await.map_err(|e| e.to_string())?;
        let head = repair(&mut client, &self.setup).await.map_err(|e| e.to_string())?;
        self.lock = Some(Arc::new(LockConn::prepare(&self.setup, client).await.map_err(|e| e.to_string())?));
        tracing::warn!("the writer of {} reconnected", self.setup.describe());
        let published = *self.head.borrow();
        if head < published {
            let cause = format!(
                "{} holds {head} events, but this process saw {published} committed: restored from a backup or \
                 failed over without them? refusing to write; restart imece",
                self.setup.describe()
            );
            tracing::error!("{cause}");
            self.broken = Some(cause.clone());
            return Err(cause);
        }
        self.next_position = head;
        if head > published {
            // A group whose answer was lost did commit, with all before it.
            self.head.send_replace(head);
        }
        Ok(())
    }
}

/// What becomes of a group that failed: decided again, looking every id up, after its first
/// failure; its calls get the error after a careful attempt failed.
fn strike(group: Group, message: Failure, again: &mut VecDeque<Again>) {
    if group.careful {
        tracing::warn!("a group of {} appends failed: {message}", group.replies.len());
        for reply in group.replies {
            reply.send(Err(backend(message.clone())));
        }
    } else {
        tracing::debug!("a group of {} appends is decided again: {message}", group.replies.len());
        again.push_back((group.into_calls(), true));
    }
}

/// Writes a group's rows from `first_position` on with one `COPY`.
async fn write(
    conn: &WriteConn,
    calls: &[Call],
    rows: &[Row],
    first_position: u64,
    setup: &Setup,
) -> Result<(), Failure> {
    let now = now_micros();
    let rows: Vec<CopyRow<'_>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (stream, event) = row.of(calls);
            CopyRow {
                position: first_position + i as u64,
                stream: stream.as_str(),
                version: row.version,
                id: event.id,
                event_type: &event.event_type,
                data: &event.data,
                metadata: &event.metadata,
                recorded_at_micros: now,
            }
        })
        .collect();
    copy_rows(conn, &rows, setup).await
}

/// The outcome of a call some of whose events are in the log already (or earlier in its group, or
/// in a group in flight): its original results if it is an exact retry, [`Error::DuplicateEventId`]
/// otherwise.
fn judge_retry(call: &Call, hits: &[(&StreamAppend, &NewEvent, RecordedEvent)]) -> Result<Vec<AppendResult>> {
    let sizes: Vec<usize> = call.parts.iter().map(|p| p.events.len()).collect();
    let found: Vec<imece_log::Found<'_>> = hits
        .iter()
        .map(|(part, event, stored)| imece_log::Found { stream: &part.stream, event, stored: stored.clone() })
        .collect();
    imece_log::judge_retry(&sizes, &found, if call.single { "append" } else { "call" })
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}
