//! Reads: a few connections of their own, each carrying many concurrent queries, with prepared
//! statements; reconnected when found closed.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use imece_log::{Direction, Error, EventId, RecordedEvent, Result, StreamFrom, StreamId};
use tokio::sync::Mutex;
use tokio_postgres::{Client, Row, Statement};

use crate::{Setup, pg_error};

/// The columns every event query selects, in the order [`decode`] reads them.
pub(crate) const COLUMNS: &str = "position, stream, version, id, event_type, data, metadata, recorded_at_micros";

/// The reading connections of one log.
pub(crate) struct Readers {
    setup: Arc<Setup>,
    slots: Vec<Slot>,
}

impl fmt::Debug for Readers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readers").field("target", &self.setup.describe()).field("slots", &self.slots.len()).finish()
    }
}

/// A reading connection, opened when first needed, and the reads running on it.
struct Slot {
    conn: Mutex<Option<Arc<ReaderConn>>>,
    busy: AtomicUsize,
}

/// A connection lent to one read, which counts as running on it until this is dropped.
struct Lent<'a> {
    conn: Arc<ReaderConn>,
    _busy: Busy<'a>,
}

impl std::ops::Deref for Lent<'_> {
    type Target = ReaderConn;

    fn deref(&self) -> &ReaderConn {
        &self.conn
    }
}

/// One read counted on a slot: counted when made, given back when dropped.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn on(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Busy(count)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

struct ReaderConn {
    client: Client,
    all: Statement,
    forward: Statement,
    backward: Statement,
    version: Statement,
}

impl ReaderConn {
    async fn open(setup: &Setup) -> Result<Self> {
        let client = setup.session("reader").await?;
        let s = &setup.quoted_schema;
        let prepare = async |sql: String| {
            client.prepare(&sql).await.map_err(|e| pg_error(&format!("preparing a read on {}", setup.describe()), &e))
        };
        // Every read stops at the head ($2 or $4): above it are groups that committed before a group
        // in front of them did, not yet part of the log (ADR 0012).
        let all = prepare(format!(
            "SELECT {COLUMNS} FROM {s}.events WHERE position >= $1 AND position < $2 ORDER BY position LIMIT $3"
        ))
        .await?;
        let forward = prepare(format!(
            "SELECT {COLUMNS} FROM {s}.events WHERE stream = $1 AND version >= $2 AND position < $4 \
             ORDER BY version LIMIT $3"
        ))
        .await?;
        let backward = prepare(format!(
            "SELECT {COLUMNS} FROM {s}.events WHERE stream = $1 AND version <= $2 AND position < $4 \
             ORDER BY version DESC LIMIT $3"
        ))
        .await?;
        let version = prepare(format!(
            "SELECT version FROM {s}.events WHERE stream = $1 AND position < $2 ORDER BY version DESC LIMIT 1"
        ))
        .await?;
        Ok(ReaderConn { client, all, forward, backward, version })
    }
}

impl Readers {
    pub(crate) fn new(setup: Arc<Setup>) -> Self {
        let slots =
            (0..setup.options.readers).map(|_| Slot { conn: Mutex::new(None), busy: AtomicUsize::new(0) }).collect();
        Readers { setup, slots }
    }

    /// The connection with the fewest reads running, the first of those on a tie; (re)connected
    /// if it is not open. Reads one after another so stay on one connection, and one server
    /// backend, whose caches are warm (round robin measured 10–20% slower for `read_all`); reads
    /// at once spread over all of them.
    async fn conn(&self) -> Result<Lent<'_>> {
        // `min_by_key` returns the first of equal minimums.
        let slot = self.slots.iter().min_by_key(|s| s.busy.load(Ordering::Relaxed)).expect("at least one reader");
        let busy = Busy::on(&slot.busy);
        let mut current = slot.conn.lock().await;
        let conn = match current.as_ref().filter(|c| !c.client.is_closed()) {
            Some(conn) => conn.clone(),
            None => {
                let conn = Arc::new(ReaderConn::open(&self.setup).await?);
                *current = Some(conn.clone());
                conn
            }
        };
        Ok(Lent { conn, _busy: busy })
    }

    fn fail(&self, what: &str, e: &tokio_postgres::Error) -> Error {
        pg_error(&format!("{what} in {}", self.setup.describe()), e)
    }

    /// Up to `limit` events from position `from` on, below `head`.
    pub(crate) async fn read_all(&self, from: u64, limit: usize, head: u64) -> Result<Vec<RecordedEvent>> {
        if limit == 0 || from >= head {
            return Ok(Vec::new());
        }
        let conn = self.conn().await?;
        let rows = conn
            .client
            .query(&conn.all, &[&(from as i64), &bigint(head), &bigint(limit as u64)])
            .await
            .map_err(|e| self.fail("reading the log", &e))?;
        decode_rows(&rows)
    }

    pub(crate) async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamFrom,
        direction: Direction,
        limit: usize,
        head: u64,
    ) -> Result<Vec<RecordedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Forward from the end is the last event alone, as read backward from the end.
        let (forward, version, limit) = match (direction, from) {
            (Direction::Forward, StreamFrom::Start) => (true, 0, bigint(limit as u64)),
            (Direction::Forward, StreamFrom::Version(v)) if v > i64::MAX as u64 => return Ok(Vec::new()),
            (Direction::Forward, StreamFrom::Version(v)) => (true, v as i64, bigint(limit as u64)),
            (Direction::Forward, StreamFrom::End) => (false, i64::MAX, 1),
            (Direction::Backward, StreamFrom::Start) => (false, 0, bigint(limit as u64)),
            (Direction::Backward, StreamFrom::Version(v)) => (false, bigint(v), bigint(limit as u64)),
            (Direction::Backward, StreamFrom::End) => (false, i64::MAX, bigint(limit as u64)),
        };
        let conn = self.conn().await?;
        let statement = if forward { &conn.forward } else { &conn.backward };
        let rows = conn
            .client
            .query(statement, &[&stream.as_str(), &version, &limit, &bigint(head)])
            .await
            .map_err(|e| self.fail(&format!("reading stream {stream}"), &e))?;
        decode_rows(&rows)
    }

    pub(crate) async fn stream_version(&self, stream: &StreamId, head: u64) -> Result<Option<u64>> {
        let conn = self.conn().await?;
        let row = conn
            .client
            .query_opt(&conn.version, &[&stream.as_str(), &bigint(head)])
            .await
            .map_err(|e| self.fail(&format!("reading the version of stream {stream}"), &e))?;
        row.map(|row| row.try_get::<_, i64>(0).map(|v| v as u64))
            .transpose()
            .map_err(|e| self.fail("decoding a stream version", &e))
    }
}

/// `n` as a PostgreSQL bigint, saturating.
fn bigint(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

fn decode_rows(rows: &[Row]) -> Result<Vec<RecordedEvent>> {
    let mut names = StreamNames::default();
    rows.iter().map(|row| decode(row, &mut names)).collect()
}

/// Stream ids already made for a page, so that its events share them.
#[derive(Default)]
pub(crate) struct StreamNames(HashMap<String, StreamId>);

impl StreamNames {
    fn get(&mut self, name: &str) -> Result<StreamId> {
        if let Some(id) = self.0.get(name) {
            return Ok(id.clone());
        }
        let id = StreamId::new(name).map_err(|e| Error::Backend {
            backend: "postgres",
            message: format!("a stored stream name is not a valid stream id: {e}"),
        })?;
        self.0.insert(name.to_owned(), id.clone());
        Ok(id)
    }
}

/// One row of [`COLUMNS`] as an event.
pub(crate) fn decode(row: &Row, names: &mut StreamNames) -> Result<RecordedEvent> {
    let fail = |e: tokio_postgres::Error| pg_error("decoding a stored event", &e);
    let position: i64 = row.try_get(0).map_err(fail)?;
    let stream = names.get(row.try_get::<_, &str>(1).map_err(fail)?)?;
    let version: i64 = row.try_get(2).map_err(fail)?;
    let id: uuid::Uuid = row.try_get(3).map_err(fail)?;
    let event_type: String = row.try_get(4).map_err(fail)?;
    let data: &[u8] = row.try_get(5).map_err(fail)?;
    let metadata: &[u8] = row.try_get(6).map_err(fail)?;
    let recorded_at_micros: i64 = row.try_get(7).map_err(fail)?;
    Ok(RecordedEvent {
        position: position as u64,
        stream,
        version: version as u64,
        id: EventId::from(id),
        event_type,
        data: Bytes::copy_from_slice(data),
        metadata: Bytes::copy_from_slice(metadata),
        recorded_at_micros,
    })
}
