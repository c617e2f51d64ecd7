//! The one writer task of a log: takes appends from a channel, decides each group of them against
//! its own view of the log (positions, stream versions, event ids), and commits the group with one
//! multi-row `INSERT` before it starts the next, so that commits happen in position order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imece_log::{AppendResult, Error, EventId, NewEvent, RecordedEvent, Result, StreamAppend, StreamId};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use crate::read::{COLUMNS, StreamNames, decode};
use crate::schema::ID_CONSTRAINT;
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
    /// One `restore`: committed on its own, in a transaction of its own.
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

/// The writer's connection and its statements.
struct Conn {
    client: Client,
    insert: Statement,
    /// The insert of a restore: every column as given, with the same guard.
    restore: Statement,
    /// Events from a position on, for a restore to compare with.
    range: Statement,
    find: Statement,
    versions: Statement,
    head: Statement,
}

impl Conn {
    async fn prepare(setup: &Setup, client: Client) -> Result<Conn> {
        let s = &setup.quoted_schema;
        let prepare = async |sql: String| {
            client.prepare(&sql).await.map_err(|e| pg_error(&format!("preparing a write on {}", setup.describe()), &e))
        };
        // One statement, so one transaction and one WAL flush for the whole group. The guard makes
        // it write nothing unless the log ends exactly where the group starts: never a gap, even if
        // something else wrote to the table.
        let insert = prepare(format!(
            "INSERT INTO {s}.events ({COLUMNS}) \
             SELECT r.position, r.stream, r.version, r.id, r.event_type, r.data, r.metadata, $8 \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::bytea[], $7::bytea[]) \
                 AS r(position, stream, version, id, event_type, data, metadata) \
             WHERE (SELECT coalesce(max(position) + 1, 0) FROM {s}.events) = $1[1]"
        ))
        .await?;
        let restore = prepare(format!(
            "INSERT INTO {s}.events ({COLUMNS}) \
             SELECT r.position, r.stream, r.version, r.id, r.event_type, r.data, r.metadata, r.recorded_at_micros \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::bytea[], $7::bytea[], \
                 $8::bigint[]) AS r(position, stream, version, id, event_type, data, metadata, recorded_at_micros) \
             WHERE (SELECT coalesce(max(position) + 1, 0) FROM {s}.events) = $1[1]"
        ))
        .await?;
        let range =
            prepare(format!("SELECT {COLUMNS} FROM {s}.events WHERE position >= $1 ORDER BY position LIMIT $2"))
                .await?;
        let find = prepare(format!("SELECT {COLUMNS} FROM {s}.events WHERE id = ANY($1::uuid[])")).await?;
        let versions = prepare(format!(
            "SELECT (SELECT e.version FROM {s}.events e WHERE e.stream = t.stream ORDER BY e.version DESC LIMIT 1) \
             FROM unnest($1::text[]) WITH ORDINALITY AS t(stream, n) ORDER BY t.n"
        ))
        .await?;
        let head = prepare(format!("SELECT coalesce(max(position) + 1, 0) FROM {s}.events")).await?;
        Ok(Conn { client, insert, restore, range, find, versions, head })
    }

    async fn load_head(&self, setup: &Setup) -> Result<u64> {
        let row = self
            .client
            .query_one(&self.head, &[])
            .await
            .map_err(|e| pg_error(&format!("reading the head of {}", setup.describe()), &e))?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}

/// Why a group's `INSERT` wrote nothing.
enum Failure {
    /// An event id of the group is in the log already: decide again, knowing the stored events.
    IdConflict,
    Other(String),
}

/// A group as decided so far: the events it writes, in position order, and what they change.
struct Draft<'a> {
    first_position: u64,
    events: Vec<&'a NewEvent>,
    streams: Vec<&'a StreamId>,
    versions: Vec<u64>,
    /// Row of each event id the group writes.
    ids: HashMap<EventId, usize>,
    /// Last version of every stream the group writes.
    last_versions: HashMap<&'a StreamId, u64>,
}

impl<'a> Draft<'a> {
    fn new(first_position: u64) -> Self {
        Draft {
            first_position,
            events: Vec::new(),
            streams: Vec::new(),
            versions: Vec::new(),
            ids: HashMap::new(),
            last_versions: HashMap::new(),
        }
    }

    /// The event with this id if the group writes it, as it will be stored.
    fn recorded(&self, id: EventId) -> Option<RecordedEvent> {
        let &row = self.ids.get(&id)?;
        let event = self.events[row];
        Some(RecordedEvent {
            position: self.first_position + row as u64,
            stream: self.streams[row].clone(),
            version: self.versions[row],
            id,
            event_type: event.event_type.clone(),
            data: event.data.clone(),
            metadata: event.metadata.clone(),
            recorded_at_micros: 0,
        })
    }
}

/// The writer task's state.
pub(crate) struct Writer {
    setup: Arc<Setup>,
    /// `None` after the connection was lost: the next group reconnects.
    conn: Option<Conn>,
    /// Position of the next event: the committed head.
    next_position: u64,
    /// Last version of streams (`None`: no events), as committed.
    versions: HashMap<StreamId, Option<u64>>,
    /// The committed head, for readers and subscribers.
    head: watch::Sender<u64>,
    /// Set when the database lost committed events: every append is refused.
    broken: Option<String>,
}

impl Writer {
    pub(crate) async fn start(setup: Arc<Setup>, client: Client) -> Result<Writer> {
        let conn = Conn::prepare(&setup, client).await?;
        let head = conn.load_head(&setup).await?;
        Ok(Writer {
            setup,
            conn: Some(conn),
            next_position: head,
            versions: HashMap::new(),
            head: watch::Sender::new(head),
            broken: None,
        })
    }

    pub(crate) fn head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// Serves appends until every handle to the log is gone. Everything that queued while a group
    /// committed joins the next group.
    /// A restore is committed on its own, after the group before it.
    pub(crate) async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Request>) {
        let (max_events, max_bytes) = (self.setup.options.max_group_events, self.setup.options.max_group_bytes);
        let mut restore: Option<Restore> = None;
        loop {
            if let Some((events, reply)) = restore.take() {
                let outcome = self.restore(events).await;
                if let Err(e) = &outcome {
                    tracing::debug!("a restore into {} was refused: {e}", self.setup.describe());
                }
                drop(reply.send(outcome));
                continue;
            }
            let Some(first) = requests.recv().await else { break };
            let mut group = Vec::new();
            let (mut events, mut bytes) = (0, 0);
            let mut next = Some(first);
            while let Some(request) = next.take() {
                let call = match request.split() {
                    Ok(call) => call,
                    Err(r) => {
                        restore = Some(r);
                        break;
                    }
                };
                let (e, b) = call.0.size();
                events += e;
                bytes += b;
                group.push(call);
                if events < max_events && bytes < max_bytes {
                    next = requests.try_recv().ok();
                }
            }
            if !group.is_empty() {
                self.commit(group).await;
            }
        }
        tracing::debug!("the writer of {} stops: the log was dropped", self.setup.describe());
    }

    async fn commit(&mut self, group: Vec<(Call, Reply)>) {
        let (calls, replies): (Vec<Call>, Vec<Reply>) = group.into_iter().unzip();
        match self.decide_and_write(&calls).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    reply.send(outcome);
                }
            }
            Err(message) => {
                tracing::warn!("a group of {} appends failed: {message}", replies.len());
                for reply in replies {
                    reply.send(Err(Error::Backend { backend: "postgres", message: message.clone() }));
                }
            }
        }
    }

    /// Decides every call of the group, writes what is to be written, and returns each call's
    /// outcome; `Err` fails the whole group (nothing of it was written, or it is unknown whether
    /// it was, and retrying with the same ids will tell).
    async fn decide_and_write(&mut self, calls: &[Call]) -> Result<Vec<Result<Vec<AppendResult>>>, String> {
        if let Some(cause) = &self.broken {
            return Err(cause.clone());
        }
        self.ensure_connected().await?;
        self.load_versions(calls).await?;
        // First optimistically: ids are looked up only where a call needs it. If the insert then
        // finds an id in the log after all, decide again knowing every stored event of the group.
        let mut known: Option<HashMap<EventId, RecordedEvent>> = None;
        loop {
            let mut draft = Draft::new(self.next_position);
            let mut outcomes = Vec::with_capacity(calls.len());
            for call in calls {
                outcomes.push(self.decide(call, &mut draft, known.as_ref()).await?);
            }
            if draft.events.is_empty() {
                return Ok(outcomes);
            }
            match self.write(&draft).await {
                Ok(()) => {
                    let head = draft.first_position + draft.events.len() as u64;
                    for (stream, version) in draft.last_versions {
                        self.versions.insert(stream.clone(), Some(version));
                    }
                    self.next_position = head;
                    self.head.send_replace(head);
                    return Ok(outcomes);
                }
                Err(Failure::IdConflict) if known.is_none() => {
                    let ids: Vec<Uuid> =
                        calls.iter().flat_map(|c| &c.parts).flat_map(|p| &p.events).map(|e| e.id.as_uuid()).collect();
                    known = Some(self.find(&ids).await?);
                }
                Err(Failure::IdConflict) => {
                    self.resync().await;
                    return Err(format!(
                        "an event id of the group is in {} although deciding found none there",
                        self.setup.describe()
                    ));
                }
                Err(Failure::Other(message)) => {
                    // Committed or not is unknown: start again from what the database holds.
                    self.resync().await;
                    return Err(message);
                }
            }
        }
    }

    /// Restores events as given, in a transaction of its own: those at positions below the head
    /// must be stored exactly so (they are skipped); the rest must start at the head, take their
    /// streams' next versions and bring ids not in the log. Nothing is written on a refusal.
    async fn restore(&mut self, events: Vec<RecordedEvent>) -> Result<()> {
        let backend = |message: String| Error::Backend { backend: "postgres", message };
        if let Some(cause) = &self.broken {
            return Err(backend(cause.clone()));
        }
        self.ensure_connected().await.map_err(backend)?;
        let head = self.next_position;
        let first = events[0].position;
        if first > head {
            return Err(Error::invalid(
                "events[0].position",
                format!("position {first} is past the log's head {head}: the log would have a gap"),
            ));
        }
        let present = ((head - first) as usize).min(events.len());
        if present > 0 {
            let stored = self.range(first, present).await.map_err(backend)?;
            for (i, e) in events[..present].iter().enumerate() {
                let Some(here) = stored.get(i) else {
                    return Err(backend(format!("position {} is below the head but not stored", e.position)));
                };
                if let Some(field) = here.differing_field(e) {
                    return Err(Error::invalid(
                        format!("events[{i}]"),
                        format!("position {} already holds another event (its {field} differs)", e.position),
                    ));
                }
            }
        }
        let rest = &events[present..];
        if rest.is_empty() {
            return Ok(());
        }
        self.load_stream_versions(rest.iter().map(|e| &e.stream)).await.map_err(backend)?;
        let mut next: HashMap<&StreamId, u64> = HashMap::new();
        for (i, e) in rest.iter().enumerate() {
            let version = match next.get(&e.stream) {
                Some(&v) => v,
                None => self.versions.get(&e.stream).copied().flatten().map_or(0, |v| v + 1),
            };
            if e.version != version {
                return Err(Error::invalid(
                    format!("events[{}].version", present + i),
                    format!(
                        "position {}: stream {} is next at version {version}, not {}",
                        e.position, e.stream, e.version
                    ),
                ));
            }
            next.insert(&e.stream, version + 1);
        }
        let ids: Vec<Uuid> = rest.iter().map(|e| e.id.as_uuid()).collect();
        let found = self.find(&ids).await.map_err(backend)?;
        if let Some(e) = rest.iter().find(|e| found.contains_key(&e.id)) {
            let at = found[&e.id].position;
            return Err(Error::DuplicateEventId { id: e.id, reason: format!("it is at position {at}") });
        }
        match self.write_restore(rest).await {
            Ok(()) => {
                for (stream, next) in next {
                    self.versions.insert(stream.clone(), Some(next - 1));
                }
                let head = head + rest.len() as u64;
                self.next_position = head;
                self.head.send_replace(head);
                Ok(())
            }
            Err(failure) => {
                self.resync().await;
                Err(backend(match failure {
                    Failure::IdConflict => {
                        format!("an event id of the restore is in {} although none was found", self.setup.describe())
                    }
                    Failure::Other(message) => message,
                }))
            }
        }
    }

    /// Up to `count` stored events from `first` on.
    async fn range(&self, first: u64, count: usize) -> Result<Vec<RecordedEvent>, String> {
        let conn = self.conn.as_ref().ok_or("the writer is not connected")?;
        let rows = conn
            .client
            .query(&conn.range, &[&(first as i64), &(count as i64)])
            .await
            .map_err(|e| format!("reading events of {}: {}", self.setup.describe(), error_chain(&e)))?;
        let mut names = StreamNames::default();
        rows.iter().map(|row| decode(row, &mut names).map_err(|e| e.to_string())).collect()
    }

    /// Writes restored events as given with one statement: one transaction.
    async fn write_restore(&self, events: &[RecordedEvent]) -> Result<(), Failure> {
        let conn = self.conn.as_ref().ok_or_else(|| Failure::Other("the writer is not connected".to_owned()))?;
        let positions: Vec<i64> = events.iter().map(|e| e.position as i64).collect();
        let streams: Vec<&str> = events.iter().map(|e| e.stream.as_str()).collect();
        let versions: Vec<i64> = events.iter().map(|e| e.version as i64).collect();
        let ids: Vec<Uuid> = events.iter().map(|e| e.id.as_uuid()).collect();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let data: Vec<&[u8]> = events.iter().map(|e| &e.data[..]).collect();
        let metadata: Vec<&[u8]> = events.iter().map(|e| &e.metadata[..]).collect();
        let recorded_at: Vec<i64> = events.iter().map(|e| e.recorded_at_micros).collect();
        let written = conn
            .client
            .execute(&conn.restore, &[&positions, &streams, &versions, &ids, &types, &data, &metadata, &recorded_at])
            .await;
        self.outcome(written, events.len(), events[0].position)
    }

    /// Decides one call against the group so far: `Ok(Ok(results))` for a write (added to the
    /// draft) or a retry of events already stored, `Ok(Err(_))` for a refusal.
    async fn decide<'a>(
        &self,
        call: &'a Call,
        draft: &mut Draft<'a>,
        known: Option<&HashMap<EventId, RecordedEvent>>,
    ) -> Result<Result<Vec<AppendResult>>, String> {
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
        // looked up when the call cannot be written as it is, or meets events of its own group.
        let events = || call.parts.iter().flat_map(|p| &p.events);
        let fetched;
        let stored = match known {
            Some(known) => Some(known),
            None if wrong.is_some() || events().any(|e| draft.ids.contains_key(&e.id)) => {
                let ids: Vec<Uuid> =
                    events().filter(|e| !draft.ids.contains_key(&e.id)).map(|e| e.id.as_uuid()).collect();
                fetched = self.find(&ids).await?;
                Some(&fetched)
            }
            None => None,
        };
        let mut hits = Vec::new();
        for part in &call.parts {
            for event in &part.events {
                let found = draft.recorded(event.id).or_else(|| stored.and_then(|s| s.get(&event.id)).cloned());
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
        for part in &call.parts {
            let first_version = self.version(draft, &part.stream)?.map_or(0, |v| v + 1);
            let first_position = draft.first_position + draft.events.len() as u64;
            for (i, event) in part.events.iter().enumerate() {
                draft.ids.insert(event.id, draft.events.len());
                draft.events.push(event);
                draft.streams.push(&part.stream);
                draft.versions.push(first_version + i as u64);
            }
            let n = part.events.len() as u64;
            draft.last_versions.insert(&part.stream, first_version + n - 1);
            results.push(AppendResult {
                first_position,
                last_position: first_position + n - 1,
                first_version,
                last_version: first_version + n - 1,
            });
        }
        Ok(Ok(results))
    }

    /// The last version of `stream` as the group so far leaves it.
    fn version(&self, draft: &Draft<'_>, stream: &StreamId) -> Result<Option<u64>, String> {
        if let Some(&version) = draft.last_versions.get(stream) {
            return Ok(Some(version));
        }
        self.versions.get(stream).copied().ok_or_else(|| format!("the version of stream {stream} was not loaded"))
    }

    /// Writes the draft with one statement: one transaction, committed (the WAL flushed) when it
    /// returns.
    async fn write(&self, draft: &Draft<'_>) -> Result<(), Failure> {
        let conn = self.conn.as_ref().ok_or_else(|| Failure::Other("the writer is not connected".to_owned()))?;
        let n = draft.events.len();
        let positions: Vec<i64> = (0..n as u64).map(|i| (draft.first_position + i) as i64).collect();
        let streams: Vec<&str> = draft.streams.iter().map(|s| s.as_str()).collect();
        let versions: Vec<i64> = draft.versions.iter().map(|&v| v as i64).collect();
        let ids: Vec<Uuid> = draft.events.iter().map(|e| e.id.as_uuid()).collect();
        let types: Vec<&str> = draft.events.iter().map(|e| e.event_type.as_str()).collect();
        let data: Vec<&[u8]> = draft.events.iter().map(|e| &e.data[..]).collect();
        let metadata: Vec<&[u8]> = draft.events.iter().map(|e| &e.metadata[..]).collect();
        let recorded_at = now_micros();
        let written = conn
            .client
            .execute(&conn.insert, &[&positions, &streams, &versions, &ids, &types, &data, &metadata, &recorded_at])
            .await;
        self.outcome(written, n, draft.first_position)
    }

    /// What an insert of `n` events from `first_position` on came to.
    fn outcome(
        &self,
        written: Result<u64, tokio_postgres::Error>,
        n: usize,
        first_position: u64,
    ) -> Result<(), Failure> {
        match written {
            Ok(rows) if rows == n as u64 => Ok(()),
            Ok(_) => Err(Failure::Other(format!(
                "the log in {} does not end at position {} as this writer expects: another writer? nothing was written",
                self.setup.describe(),
                first_position
            ))),
            Err(e)
                if e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                    && e.as_db_error().and_then(|d| d.constraint()) == Some(ID_CONSTRAINT) =>
            {
                Err(Failure::IdConflict)
            }
            Err(e) => {
                Err(Failure::Other(format!("writing {n} events to {}: {}", self.setup.describe(), error_chain(&e))))
            }
        }
    }

    /// The stored events with these ids.
    async fn find(&self, ids: &[Uuid]) -> Result<HashMap<EventId, RecordedEvent>, String> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let conn = self.conn.as_ref().ok_or("the writer is not connected")?;
        let rows = conn
            .client
            .query(&conn.find, &[&ids])
            .await
            .map_err(|e| format!("looking up event ids in {}: {}", self.setup.describe(), error_chain(&e)))?;
        let mut names = StreamNames::default();
        rows.iter().map(|row| decode(row, &mut names).map(|e| (e.id, e)).map_err(|e| e.to_string())).collect()
    }

    /// Loads the versions of the group's streams that are not in memory, in one query.
    async fn load_versions(&mut self, calls: &[Call]) -> Result<(), String> {
        self.load_stream_versions(calls.iter().flat_map(|c| &c.parts).map(|p| &p.stream)).await
    }

    /// Loads the versions of these streams that are not in memory, in one query.
    async fn load_stream_versions<'s>(&mut self, streams: impl Iterator<Item = &'s StreamId>) -> Result<(), String> {
        if self.versions.len() >= self.setup.options.stream_cache {
            self.versions.clear();
        }
        let mut seen = HashSet::new();
        let missing: Vec<&StreamId> = streams.filter(|s| !self.versions.contains_key(*s) && seen.insert(*s)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let conn = self.conn.as_ref().ok_or("the writer is not connected")?;
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

    /// Reconnects (taking the writer lock again) if the connection was lost.
    async fn ensure_connected(&mut self) -> Result<(), String> {
        if self.conn.as_ref().is_some_and(|c| !c.client.is_closed()) {
            return Ok(());
        }
        self.conn = None;
        let client = lock_session(&self.setup).await.map_err(|e| e.to_string())?;
        self.conn = Some(Conn::prepare(&self.setup, client).await.map_err(|e| e.to_string())?);
        tracing::warn!("the writer of {} reconnected", self.setup.describe());
        self.reload().await
    }

    /// After a failed write: forget what is in memory and read the head again; if the connection is
    /// gone, the next group reconnects and reads it then.
    async fn resync(&mut self) {
        if let Err(e) = self.reload().await {
            tracing::warn!("{e}");
            self.conn = None;
        }
    }

    /// Forgets stream versions and reads the head from the database. A head behind what was
    /// published means committed events were lost (a restore, a failover without them): refuse.
    async fn reload(&mut self) -> Result<(), String> {
        self.versions.clear();
        let conn = self.conn.as_ref().ok_or("the writer is not connected")?;
        let head = conn.load_head(&self.setup).await.map_err(|e| e.to_string())?;
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
            // A group whose commit was not acknowledged did commit.
            self.head.send_replace(head);
        }
        Ok(())
    }
}

/// The outcome of a call some of whose events are in the log already (or earlier in its group): its
/// original results if it is an exact retry, [`Error::DuplicateEventId`] otherwise.
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
