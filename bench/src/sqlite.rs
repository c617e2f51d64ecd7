//! The peer: SQLite through rusqlite, in WAL mode with `synchronous=FULL`, so that a commit returns
//! only once the WAL is synced, as an append to the embedded log returns only once it is durable.

use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use imece_log::{AppendResult, Error, EventId, ExpectedVersion, NewEvent, RecordedEvent, Result, StreamId};
use rusqlite::{Connection, TransactionBehavior, params};

use crate::workload::{self, Counts, FILL_WRITERS, FillPlan, Throughput, WritePlan, WriterStreams};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,
    stream TEXT,
    version INTEGER,
    id BLOB UNIQUE,
    type TEXT,
    data BLOB,
    metadata BLOB,
    UNIQUE (stream, version)
)";

const INSERT: &str = "INSERT INTO events (stream, version, id, type, data, metadata) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// How concurrent writers share SQLite, which lets one writer in at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Design {
    /// Each writer thread has its own connection; SQLite's write lock and `busy_timeout` take turns.
    ConnectionPerThread,
    /// One thread owns the only connection and commits one transaction per append, fed by a channel.
    WriterThread,
}

impl Design {
    pub fn describe(self) -> &'static str {
        match self {
            Design::ConnectionPerThread => "a connection per writer thread, busy_timeout",
            Design::WriterThread => "one writer thread fed by a channel, one transaction per append",
        }
    }
}

/// The SQLite version linked in.
pub fn version() -> &'static str {
    rusqlite::version()
}

/// Opens (and if need be creates) the database in `dir`.
fn open(dir: &Path) -> Result<Connection> {
    let conn = Connection::open(dir.join("events.db")).map_err(backend)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(backend)?;
    if mode != "wal" {
        return Err(Error::Backend { backend: "sqlite", message: format!("journal_mode is {mode}, not wal") });
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;").map_err(backend)?;
    conn.busy_timeout(Duration::from_secs(60)).map_err(backend)?;
    conn.execute_batch(SCHEMA).map_err(backend)?;
    Ok(conn)
}

/// Appends `events` to `stream` if it is at `expected`, in one transaction: read the stream's
/// version, compare, insert, commit.
fn append(
    conn: &mut Connection,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendResult> {
    imece_log::validate_batch(events)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let actual: Option<i64> = tx
        .prepare_cached("SELECT MAX(version) FROM events WHERE stream = ?1")
        .and_then(|mut stmt| stmt.query_row([stream.as_str()], |row| row.get(0)))
        .map_err(backend)?;
    let actual = actual.map(|v| v as u64);
    if !expected.admits(actual) {
        return Err(Error::WrongExpectedVersion { stream: stream.clone(), expected, actual });
    }
    let first_version = actual.map_or(0, |v| v + 1);
    {
        let mut stmt = tx.prepare_cached(INSERT).map_err(backend)?;
        for (i, event) in events.iter().enumerate() {
            insert(&mut stmt, stream, first_version + i as u64, event)?;
        }
    }
    let last_position = tx.last_insert_rowid() as u64 - 1;
    tx.commit().map_err(backend)?;
    let count = events.len() as u64;
    Ok(AppendResult {
        first_position: last_position + 1 - count,
        last_position,
        first_version,
        last_version: first_version + count - 1,
    })
}

fn insert(stmt: &mut rusqlite::CachedStatement<'_>, stream: &StreamId, version: u64, event: &NewEvent) -> Result<()> {
    stmt.execute(params![
        stream.as_str(),
        version as i64,
        &event.id.as_bytes()[..],
        event.event_type,
        &event.data[..],
        &event.metadata[..]
    ])
    .map_err(backend)?;
    Ok(())
}

/// Runs the write scenario `plan` for `duration` on a fresh database in `dir`.
pub fn write(dir: &Path, plan: WritePlan, duration: Duration, design: Design) -> Result<Throughput> {
    match design {
        Design::ConnectionPerThread => {
            let connections = (0..plan.writers).map(|_| open(dir)).collect::<Result<Vec<_>>>()?;
            let appenders = connections
                .into_iter()
                .map(|mut conn| {
                    move |stream: StreamId, expected, events: Vec<NewEvent>| {
                        append(&mut conn, &stream, expected, &events)
                    }
                })
                .collect();
            run_writers(plan, duration, appenders)
        }
        Design::WriterThread => {
            let mut conn = open(dir)?;
            type Request = (StreamId, ExpectedVersion, Vec<NewEvent>, mpsc::SyncSender<Result<AppendResult>>);
            let (requests, queue) = mpsc::sync_channel::<Request>(plan.writers);
            let writer = thread::spawn(move || {
                for (stream, expected, events, reply) in queue {
                    let _ = reply.send(append(&mut conn, &stream, expected, &events));
                }
            });
            let appenders = (0..plan.writers)
                .map(|_| {
                    let requests = requests.clone();
                    let (reply, answer) = mpsc::sync_channel(1);
                    move |stream, expected, events| {
                        requests.send((stream, expected, events, reply.clone())).map_err(|_| Error::Closed)?;
                        answer.recv().map_err(|_| Error::Closed)?
                    }
                })
                .collect();
            drop(requests);
            let throughput = run_writers(plan, duration, appenders);
            writer.join().expect("the SQLite writer thread panicked");
            throughput
        }
    }
}

/// Runs one thread per appender, each appending `plan.batch` events at a time to its own streams
/// until `duration` is over.
fn run_writers<F>(plan: WritePlan, duration: Duration, appenders: Vec<F>) -> Result<Throughput>
where
    F: FnMut(StreamId, ExpectedVersion, Vec<NewEvent>) -> Result<AppendResult> + Send + 'static,
{
    let start = Instant::now();
    let deadline = start + duration;
    let threads: Vec<_> = appenders
        .into_iter()
        .enumerate()
        .map(|(writer, mut append)| {
            thread::spawn(move || -> Result<Counts> {
                let mut streams = WriterStreams::new(writer, plan.streams_per_writer);
                let mut counts = Counts::default();
                while Instant::now() < deadline {
                    let (stream, expected) = streams.next();
                    let written = append(stream, expected, workload::events(plan.batch))?;
                    streams.advanced(written.last_version);
                    counts += Counts { events: plan.batch as u64, appends: 1 };
                }
                Ok(counts)
            })
        })
        .collect();
    let mut total = Counts::default();
    for thread in threads {
        total += thread.join().expect("a SQLite writer thread panicked")?;
    }
    let elapsed = start.elapsed();
    Ok(Throughput { events: total.events, appends: total.appends, elapsed, ..Throughput::default() })
}

/// Fills a fresh database in `dir` as `plan` says, in one transaction (not measured), and
/// checkpoints it, so that reads find the rows in the database file rather than in the WAL.
pub fn fill(dir: &Path, plan: FillPlan) -> Result<()> {
    let mut conn = open(dir)?;
    let tx = conn.transaction().map_err(backend)?;
    {
        let mut stmt = tx.prepare_cached(INSERT).map_err(backend)?;
        for writer in 0..FILL_WRITERS {
            for (stream, expected, count) in plan.appends(writer) {
                let first_version = match expected {
                    ExpectedVersion::Exact(v) => v + 1,
                    _ => 0,
                };
                for (i, event) in workload::events(count).iter().enumerate() {
                    insert(&mut stmt, &stream, first_version + i as u64, event)?;
                }
            }
        }
    }
    tx.commit().map_err(backend)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(backend)?;
    Ok(())
}

/// Reads the whole database in `dir` forward, `page` rows at a time into [`RecordedEvent`]s, pass
/// after pass until `duration` is over (at least one pass).
pub fn read(dir: &Path, page: usize, duration: Duration) -> Result<Throughput> {
    let conn = open(dir)?;
    let mut select = conn
        .prepare(
            "SELECT position, stream, version, id, type, data, metadata FROM events \
             WHERE position > ?1 ORDER BY position LIMIT ?2",
        )
        .map_err(backend)?;
    let start = Instant::now();
    let mut total = 0u64;
    while total == 0 || start.elapsed() < duration {
        let mut from = 0u64;
        loop {
            let events: Vec<RecordedEvent> = select
                .query_map(params![from as i64, page as i64], |row| {
                    let id: [u8; 16] = row.get_ref(3)?.as_blob()?.try_into().expect("16-byte event ids");
                    Ok(RecordedEvent {
                        position: row.get::<_, i64>(0)? as u64 - 1,
                        stream: StreamId::new(row.get_ref(1)?.as_str()?).expect("stored stream ids are valid"),
                        version: row.get::<_, i64>(2)? as u64,
                        id: EventId::from_bytes(id),
                        event_type: row.get(4)?,
                        data: Bytes::copy_from_slice(row.get_ref(5)?.as_blob()?),
                        metadata: Bytes::copy_from_slice(row.get_ref(6)?.as_blob()?),
                        recorded_at_micros: 0,
                    })
                })
                .and_then(|rows| rows.collect())
                .map_err(backend)?;
            let Some(last) = events.last() else { break };
            from = last.position + 1;
            total += events.len() as u64;
        }
    }
    Ok(Throughput { events: total, elapsed: start.elapsed(), ..Throughput::default() })
}

fn backend(e: rusqlite::Error) -> Error {
    Error::Backend { backend: "sqlite", message: e.to_string() }
}
