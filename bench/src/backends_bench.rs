//! `imece-bench backends`: the same append, read and subscribe workload against imece's embedded log,
//! imece's PostgreSQL log and plain PostgreSQL clients writing a naive events table, in one run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use imece_log::{Error, EventId, EventLog, ExpectedVersion, NewEvent, RecordedEvent, Result, StreamId};
use imece_log_embedded::EmbeddedLog;
use imece_log_postgres::PostgresLog;
use tokio::sync::watch;
use tokio_postgres::{Client, NoTls, Statement};

use crate::BoxError;
use crate::report;
use crate::workload::{self, Counts, FILL_WRITERS, FillPlan, Throughput, WritePlan, WriterStreams};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenarios to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    scenario: Vec<Scenario>,
    /// Backends to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "embedded,postgres,peer")]
    backend: Vec<Backend>,
    /// Seconds each write and read scenario runs, and the live part of the subscription, per backend.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// The PostgreSQL server of imece's PostgreSQL log and of the peer; each run works in fresh schemas
    /// (`imece_bench_…`) and drops them at the end.
    #[arg(long, env = "IMECE_TEST_POSTGRES", default_value = DEFAULT_POSTGRES)]
    postgres: String,
    /// Events in the log that the read and subscribe scenarios read, over read-events / 100 streams.
    #[arg(long, default_value_t = 1_000_000)]
    read_events: u64,
    /// Events per `read_all` page (and per peer query).
    #[arg(long, default_value_t = 1_000)]
    page: usize,
    /// Events per second written while the subscription follows live.
    #[arg(long, default_value_t = 2_000)]
    live_rate: u64,
    /// Events per live append.
    #[arg(long, default_value_t = 10)]
    live_batch: usize,
    /// How often the peer's subscriber polls the table once it is caught up, in milliseconds.
    #[arg(long, default_value_t = 5)]
    peer_poll_ms: u64,
    /// Writing connections of imece's PostgreSQL log (`Options::writers`; the library's default).
    #[arg(long, default_value_t = imece_log_postgres::Options::default().writers)]
    pg_writers: usize,
    /// Where the embedded log's fresh directories go: on the disk to measure.
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    All,
    #[value(name = "single-16")]
    Single16,
    #[value(name = "single-64")]
    Single64,
    #[value(name = "batched-16")]
    Batched16,
    Read,
    Subscribe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    Embedded,
    Postgres,
    Peer,
}

impl Backend {
    const ALL: [Backend; 3] = [Backend::Embedded, Backend::Postgres, Backend::Peer];

    fn name(self) -> &'static str {
        match self {
            Backend::Embedded => "imece-embedded",
            Backend::Postgres => "imece-postgres",
            Backend::Peer => "PostgreSQL peer",
        }
    }
}

/// A write scenario.
#[derive(Debug)]
struct WriteScenario {
    scenario: Scenario,
    name: &'static str,
    plan: WritePlan,
}

const WRITES: [WriteScenario; 3] = [
    WriteScenario {
        scenario: Scenario::Single16,
        name: "single-event appends, 16 writers",
        plan: WritePlan { writers: 16, batch: 1, streams_per_writer: 100 },
    },
    WriteScenario {
        scenario: Scenario::Single64,
        name: "single-event appends, 64 writers",
        plan: WritePlan { writers: 64, batch: 1, streams_per_writer: 100 },
    },
    WriteScenario {
        scenario: Scenario::Batched16,
        name: "batched appends (100 events), 16 writers",
        plan: WritePlan { writers: 16, batch: 100, streams_per_writer: 100 },
    },
];

// ---------------------------------------------------------------------------------------------
// The events

/// Bytes of JSON data in each event.
const DATA_BYTES: usize = 500;
/// Bytes of metadata in each event.
const METADATA_BYTES: usize = 180;
const EVENT_TYPE: &str = "MemberAdmitted.v1";

/// The data and metadata of every event.
static PAYLOAD: std::sync::LazyLock<(String, String)> = std::sync::LazyLock::new(|| {
    (
        padded(
            r#"{"cooperative":"org-0196f1d2","member":"Ayse Yilmaz","shares":25,"admitted_on":"2026-11-22","note":""#,
            DATA_BYTES,
        ),
        padded(
            r#"{"actor":"user:0196f1d2-7c3e-7a10-9b2f-4e5d6c7b8a90","correlation":"0196f1d2-7c3e-7a10-9b2f-4e5d6c7b8a91","jurisdiction":"TR","visibility":"Public","origin":"local","pad":""#,
            METADATA_BYTES,
        ),
    )
});

fn payload() -> (&'static [u8], &'static [u8]) {
    (PAYLOAD.0.as_bytes(), PAYLOAD.1.as_bytes())
}

/// `start` followed by letters up to `len - 2` bytes, then `"}`: a JSON object of `len` bytes.
fn padded(start: &str, len: usize) -> String {
    let mut out = start.to_owned();
    let filler = "abcdefghijklmnopqrstuvwxyz";
    while out.len() < len - 2 {
        let room = len - 2 - out.len();
        out.push_str(&filler[..room.min(filler.len())]);
    }
    out.push_str("\"}");
    out
}

/// `count` events with fresh ids and the payload above.
fn events(count: usize) -> Vec<NewEvent> {
    let (data, metadata) = payload();
    let (data, metadata) = (Bytes::from_static(data), Bytes::from_static(metadata));
    (0..count).map(|_| NewEvent::new(EVENT_TYPE, data.clone()).with_metadata(metadata.clone())).collect()
}

// ---------------------------------------------------------------------------------------------
// The run

/// What one backend did in the read and subscribe scenarios.
#[derive(Debug, Default)]
struct ReadOutcome {
    fill: Duration,
    read: Option<Throughput>,
    subscribe: Option<Subscribed>,
}

/// A subscription from 0 over a filled log, then following live writes.
#[derive(Debug)]
struct Subscribed {
    catch_up: Duration,
    catch_up_events: u64,
    live: Live,
}

#[derive(Debug, Default)]
struct Live {
    written: u64,
    writing: Duration,
    /// Append returned → event seen by the subscription, sorted.
    lags: Vec<Duration>,
    /// Events seen before their append returned (counted as 0).
    early: u64,
    /// Events written but not seen within 10 s of the last write.
    missing: u64,
}

/// Each design of the peer tried in a write scenario, with its run.
type PeerDesigns = Vec<(peer::Design, Throughput)>;

/// Every figure of a run, by backend.
#[derive(Debug, Default)]
struct Results {
    /// By scenario: each backend's run (the peer's best design), and every design of the peer.
    writes: Vec<(&'static WriteScenario, [Option<Throughput>; 3], PeerDesigns)>,
    reads: [Option<ReadOutcome>; 3],
}

pub fn run(args: &Args) -> std::result::Result<(), BoxError> {
    if args.read_events == 0 || !args.read_events.is_multiple_of(100) {
        return Err(format!("--read-events must be a positive multiple of 100, is {}", args.read_events).into());
    }
    if args.page == 0 || args.live_batch == 0 || args.live_rate == 0 {
        return Err("--page, --live-batch and --live-rate must be positive".into());
    }
    if !args.seconds.is_finite() || args.seconds <= 0.0 {
        return Err(format!("--seconds must be positive, is {}", args.seconds).into());
    }
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    if profile != "release" {
        eprintln!("warning: this is a {profile} build, its figures mean little: run with `cargo run --release`");
    }
    std::fs::create_dir_all(&args.dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let load_before = loadavg();
    let schemas = Schemas::new();
    let outcome = runtime.block_on(async {
        let server = server_settings(&args.postgres).await;
        let results = run_all(args, &schemas).await;
        let dropped = schemas.drop_all(&args.postgres).await;
        (server, results, dropped)
    });
    drop(runtime);
    let _ = std::fs::remove_dir(&args.dir);
    let (server, results, dropped) = outcome;
    let results = results?;
    dropped?;
    let server = server?;
    print(args, profile, &server, &load_before, &loadavg(), &results);
    Ok(())
}

async fn run_all(args: &Args, schemas: &Schemas) -> Result<Results> {
    let all = args.scenario.contains(&Scenario::All);
    let wanted = |s: Scenario| all || args.scenario.contains(&s);
    let duration = Duration::from_secs_f64(args.seconds);
    let mut results = Results::default();
    for write in &WRITES {
        if !wanted(write.scenario) {
            continue;
        }
        let mut row = [None, None, None];
        let mut designs = Vec::new();
        for (i, backend) in Backend::ALL.into_iter().enumerate() {
            if !args.backend.contains(&backend) {
                continue;
            }
            eprintln!("{}: {}…", write.name, backend.name());
            row[i] = Some(match backend {
                Backend::Peer => {
                    let tried: &[peer::Design] = if write.plan.batch > 1 {
                        &[peer::Design::MultiRow, peer::Design::RowByRow]
                    } else {
                        &[peer::Design::MultiRow]
                    };
                    for &design in tried {
                        eprintln!("{}: {}, {}…", write.name, backend.name(), design.describe());
                        let schema = schemas.create_peer(&args.postgres).await?;
                        let wal = wal_position(&args.postgres).await?;
                        let mut run = peer::write(&args.postgres, &schema, write.plan, duration, design).await?;
                        run.bytes_written = Some(wal_position(&args.postgres).await? - wal);
                        schemas.drop_one(&args.postgres, &schema).await?;
                        designs.push((design, run));
                    }
                    designs
                        .iter()
                        .map(|(_, run)| *run)
                        .max_by(|a, b| a.events_per_sec().total_cmp(&b.events_per_sec()))
                        .expect("at least one peer design")
                }
                _ => {
                    let (log, cleanup) = open(args, backend, schemas).await?;
                    let wal =
                        if backend == Backend::Postgres { Some(wal_position(&args.postgres).await?) } else { None };
                    let mut run = workload::write_for(log, write.plan, duration, events).await?;
                    if let Some(wal) = wal {
                        run.bytes_written = Some(wal_position(&args.postgres).await? - wal);
                    }
                    cleanup.run(args, schemas).await?;
                    run
                }
            });
        }
        results.writes.push((write, row, designs));
    }
    let (read, subscribe) = (wanted(Scenario::Read), wanted(Scenario::Subscribe));
    if read || subscribe {
        let plan = FillPlan { events: args.read_events, streams: (args.read_events / 100) as usize, batch: 100 };
        for (i, backend) in Backend::ALL.into_iter().enumerate() {
            if !args.backend.contains(&backend) {
                continue;
            }
            let mut outcome = ReadOutcome::default();
            eprintln!("read and subscribe: filling {} with {} events…", backend.name(), plan.events);
            if backend == Backend::Peer {
                let schema = schemas.create_peer(&args.postgres).await?;
                let started = Instant::now();
                peer::fill(&args.postgres, &schema, plan).await?;
                outcome.fill = started.elapsed();
                if read {
                    eprintln!("read: {}…", backend.name());
                    outcome.read = Some(peer::read(&args.postgres, &schema, args.page, duration).await?);
                }
                if subscribe {
                    eprintln!("subscribe: {}…", backend.name());
                    outcome.subscribe = Some(peer::subscribe(args, &schema, plan.events, duration).await?);
                }
                schemas.drop_one(&args.postgres, &schema).await?;
            } else {
                let (log, cleanup) = open(args, backend, schemas).await?;
                let started = Instant::now();
                fill_log(log.clone(), plan).await?;
                outcome.fill = started.elapsed();
                if read {
                    eprintln!("read: {}…", backend.name());
                    outcome.read = Some(workload::read_passes(log.as_ref(), args.page, duration).await?);
                }
                if subscribe {
                    eprintln!("subscribe: {}…", backend.name());
                    outcome.subscribe = Some(subscribe_log(log, args, plan.events, duration).await?);
                }
                cleanup.run(args, schemas).await?;
            }
            results.reads[i] = Some(outcome);
        }
    }
    Ok(results)
}

/// What to remove once a log is closed.
enum Cleanup {
    Dir(tempfile::TempDir),
    Schema(String),
}

impl Cleanup {
    async fn run(self, args: &Args, schemas: &Schemas) -> Result<()> {
        match self {
            Cleanup::Dir(dir) => dir.close().map_err(|e| Error::io("removing the bench directory", e)),
            Cleanup::Schema(schema) => {
                // The log's connections close a moment after its last clone is dropped.
                tokio::time::sleep(Duration::from_millis(100)).await;
                schemas.drop_one(&args.postgres, &schema).await
            }
        }
    }
}

/// A fresh log of `backend` (not the peer), and what to remove once it is dropped.
async fn open(args: &Args, backend: Backend, schemas: &Schemas) -> Result<(Arc<dyn EventLog>, Cleanup)> {
    match backend {
        Backend::Embedded => {
            let dir = tempfile::Builder::new()
                .prefix("backends-")
                .tempdir_in(&args.dir)
                .map_err(|e| Error::io("creating a bench directory", e))?;
            let log = EmbeddedLog::open_with(dir.path(), imece_log_embedded::Options::default())?;
            Ok((Arc::new(log), Cleanup::Dir(dir)))
        }
        Backend::Postgres => {
            let schema = schemas.name("log");
            let options =
                imece_log_postgres::Options { schema: schema.clone(), writers: args.pg_writers, ..Default::default() };
            let log = PostgresLog::connect(&args.postgres, options).await?;
            Ok((Arc::new(log), Cleanup::Schema(schema)))
        }
        Backend::Peer => unreachable!("the peer is no EventLog"),
    }
}

// ---------------------------------------------------------------------------------------------
// imece's logs, through the trait

/// Fills the log as `plan` says, with [`FILL_WRITERS`] tasks (not measured).
async fn fill_log(log: Arc<dyn EventLog>, plan: FillPlan) -> Result<()> {
    let tasks: Vec<_> = (0..FILL_WRITERS)
        .map(|writer| {
            let log = log.clone();
            tokio::spawn(async move {
                for (stream, expected, count) in plan.appends(writer) {
                    log.append(&stream, expected, events(count)).await?;
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a fill task panicked")?;
    }
    Ok(())
}

/// Subscribes from 0 to a log of `filled` events, times the catch-up, then writes live for
/// `duration` and measures each event's lag.
async fn subscribe_log(log: Arc<dyn EventLog>, args: &Args, filled: u64, duration: Duration) -> Result<Subscribed> {
    let (stop_tx, stop_rx) = watch::channel(None);
    let started = Instant::now();
    let subscription = log.subscribe_all(0);
    let (caught_up_tx, caught_up_rx) = tokio::sync::oneshot::channel();
    let watcher = tokio::spawn(watch_events(subscription, filled, caught_up_tx, stop_rx));
    let catch_up = caught_up_rx.await.map_err(|_| Error::invalid("subscription", "ended before catching up"))?;
    let catch_up = catch_up - started;

    let period = Duration::from_secs_f64(args.live_batch as f64 / args.live_rate as f64);
    let live_start = Instant::now();
    let mut sent = Vec::new();
    let mut k = 0u32;
    while live_start.elapsed() < duration {
        tokio::time::sleep_until((live_start + period * k).into()).await;
        k += 1;
        let stream = StreamId::new(format!("live-{:03}", k % 100)).expect("a valid stream name");
        let written = log.append(&stream, ExpectedVersion::Any, events(args.live_batch)).await?;
        sent.push((written.first_position, written.last_position, Instant::now()));
    }
    let writing = live_start.elapsed();
    let head = sent.last().map_or(filled, |s| s.1 + 1);
    stop_tx.send_replace(Some(head));
    let seen = watcher.await.expect("the watcher panicked")?;
    let mut live = lags(filled, &sent, &seen);
    live.writing = writing;
    Ok(Subscribed { catch_up, catch_up_events: filled, live })
}

/// Takes events from `subscription`: says when the first `filled` were seen, then notes when each
/// later one arrives, until it has seen up to the head sent on `stop` (or 10 s after that).
async fn watch_events(
    mut subscription: imece_log::EventStream,
    filled: u64,
    caught_up: tokio::sync::oneshot::Sender<Instant>,
    stop: watch::Receiver<Option<u64>>,
) -> Result<Vec<Instant>> {
    let mut next = 0u64;
    let mut caught_up = Some(caught_up);
    if filled == 0 {
        let _ = caught_up.take().map(|c| c.send(Instant::now()));
    }
    let mut seen = Vec::new();
    let mut stop_at: Option<(u64, Instant)> = None;
    loop {
        if stop_at.is_none()
            && let Some(head) = *stop.borrow()
        {
            stop_at = Some((head, Instant::now() + Duration::from_secs(10)));
        }
        if let Some((head, deadline)) = stop_at
            && (next >= head || Instant::now() >= deadline)
        {
            return Ok(seen);
        }
        let event = match tokio::time::timeout(Duration::from_millis(100), subscription.next()).await {
            Err(_) => continue,
            Ok(None) => return Err(Error::invalid("subscription", "ended")),
            Ok(Some(event)) => event?,
        };
        let at = Instant::now();
        if event.position != next {
            return Err(Error::invalid("subscription", format!("got position {}, expected {next}", event.position)));
        }
        next += 1;
        if next == filled {
            let _ = caught_up.take().map(|c| c.send(at));
        }
        if event.position >= filled {
            seen.push(at);
        }
    }
}

/// The lags of the live events: `sent` are (first position, last position, append returned), `seen`
/// the arrival of positions `filled`, `filled + 1`, ….
fn lags(filled: u64, sent: &[(u64, u64, Instant)], seen: &[Instant]) -> Live {
    let mut live = Live::default();
    for &(first, last, returned) in sent {
        for position in first..=last {
            live.written += 1;
            match seen.get((position - filled) as usize) {
                None => live.missing += 1,
                Some(at) => live.lags.push(at.checked_duration_since(returned).unwrap_or_else(|| {
                    live.early += 1;
                    Duration::ZERO
                })),
            }
        }
    }
    live.lags.sort();
    live
}

// ---------------------------------------------------------------------------------------------
// The peer

/// Plain PostgreSQL clients on a naive events table: a `bigserial` position, one connection per
/// writer, an `INSERT` per append in its own transaction, the unique `(stream, version)` as the
/// expected-version check.
mod peer {
    use super::*;

    pub const COLUMNS: &str = "position, stream, version, id, event_type, data, metadata, recorded_at_micros";

    pub fn create_sql(schema: &str) -> String {
        format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.events (
                 position bigserial PRIMARY KEY,
                 stream text NOT NULL,
                 version bigint NOT NULL,
                 id uuid NOT NULL UNIQUE,
                 event_type text NOT NULL,
                 data bytea NOT NULL,
                 metadata bytea NOT NULL,
                 recorded_at_micros bigint NOT NULL
                     DEFAULT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
                 UNIQUE (stream, version)
             );"
        )
    }

    pub async fn connect(url: &str) -> Result<Client> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(pg("connecting"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// The statement inserting `rows` events (one statement: its own transaction).
    async fn insert(client: &Client, schema: &str, rows: usize, returning: bool) -> Result<Statement> {
        let values: Vec<String> = (0..rows)
            .map(|r| {
                let p = r * 6;
                format!("(${}, ${}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6)
            })
            .collect();
        let sql = format!(
            "INSERT INTO {schema}.events (stream, version, id, event_type, data, metadata) VALUES {}{}",
            values.join(", "),
            if returning { " RETURNING position" } else { "" }
        );
        client.prepare(&sql).await.map_err(pg("preparing the insert"))
    }

    /// Events `first_version…` of `stream` as the parameters of [`insert`].
    struct Rows {
        stream: String,
        versions: Vec<i64>,
        ids: Vec<uuid::Uuid>,
        event_type: &'static str,
        data: &'static [u8],
        metadata: &'static [u8],
    }

    impl Rows {
        fn new(stream: &StreamId, first_version: u64, count: usize) -> Self {
            let (data, metadata) = payload();
            Rows {
                stream: stream.as_str().to_owned(),
                versions: (0..count).map(|i| (first_version + i as u64) as i64).collect(),
                ids: (0..count).map(|_| EventId::new_v7().as_uuid()).collect(),
                event_type: EVENT_TYPE,
                data,
                metadata,
            }
        }

        fn params(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
            let mut out: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::with_capacity(self.ids.len() * 6);
            for (version, id) in self.versions.iter().zip(&self.ids) {
                out.extend([
                    &self.stream as &(dyn tokio_postgres::types::ToSql + Sync),
                    version,
                    id,
                    &self.event_type,
                    &self.data,
                    &self.metadata,
                ]);
            }
            out
        }
    }

    /// The first version an append expecting `expected` writes.
    fn first_version(expected: ExpectedVersion) -> u64 {
        match expected {
            ExpectedVersion::Exact(v) => v + 1,
            _ => 0,
        }
    }

    /// How the peer writes an append of several events.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Design {
        /// One multi-row `INSERT`, its own transaction.
        MultiRow,
        /// `BEGIN`, one single-row `INSERT` per event (each awaited), `COMMIT`.
        RowByRow,
    }

    impl Design {
        pub fn describe(self) -> &'static str {
            match self {
                Design::MultiRow => "one multi-row INSERT per append",
                Design::RowByRow => "BEGIN, an INSERT per event, COMMIT",
            }
        }
    }

    pub async fn write(
        url: &str,
        schema: &str,
        plan: WritePlan,
        duration: Duration,
        design: Design,
    ) -> Result<Throughput> {
        let mut clients = Vec::new();
        for _ in 0..plan.writers {
            let client = connect(url).await?;
            let rows = if design == Design::RowByRow { 1 } else { plan.batch };
            let statement = insert(&client, schema, rows, false).await?;
            clients.push((client, statement));
        }
        let start = Instant::now();
        let deadline = start + duration;
        let tasks: Vec<_> = clients
            .into_iter()
            .enumerate()
            .map(|(writer, (mut client, statement))| {
                tokio::spawn(async move {
                    let mut streams = WriterStreams::new(writer, plan.streams_per_writer);
                    let mut counts = Counts::default();
                    while Instant::now() < deadline {
                        let (stream, expected) = streams.next();
                        let first = first_version(expected);
                        let rows = Rows::new(&stream, first, plan.batch);
                        if design == Design::RowByRow && plan.batch > 1 {
                            let tx = client.transaction().await.map_err(pg("beginning"))?;
                            for row in rows.params().chunks(6) {
                                tx.execute(&statement, row).await.map_err(pg("inserting"))?;
                            }
                            tx.commit().await.map_err(pg("committing"))?;
                        } else {
                            client.execute(&statement, &rows.params()).await.map_err(pg("inserting"))?;
                        }
                        streams.advanced(first + plan.batch as u64 - 1);
                        counts += Counts { events: plan.batch as u64, appends: 1 };
                    }
                    Ok::<_, Error>(counts)
                })
            })
            .collect();
        let mut total = Counts::default();
        for task in tasks {
            total += task.await.expect("a peer writer panicked")?;
        }
        Ok(Throughput {
            events: total.events,
            appends: total.appends,
            elapsed: start.elapsed(),
            ..Throughput::default()
        })
    }

    pub async fn fill(url: &str, schema: &str, plan: FillPlan) -> Result<()> {
        let mut tasks = Vec::new();
        for writer in 0..FILL_WRITERS {
            let client = connect(url).await?;
            let schema = schema.to_owned();
            tasks.push(tokio::spawn(async move {
                let mut statements = std::collections::HashMap::new();
                for (stream, expected, count) in plan.appends(writer) {
                    if let std::collections::hash_map::Entry::Vacant(slot) = statements.entry(count) {
                        slot.insert(insert(&client, &schema, count, false).await?);
                    }
                    let rows = Rows::new(&stream, first_version(expected), count);
                    client.execute(&statements[&count], &rows.params()).await.map_err(pg("filling"))?;
                }
                Ok::<_, Error>(())
            }));
        }
        for task in tasks {
            task.await.expect("a peer fill task panicked")?;
        }
        Ok(())
    }

    /// Up to `limit` events from `from` on, decoded into [`RecordedEvent`]s as imece's logs return them.
    async fn page(client: &Client, statement: &Statement, from: i64, limit: i64) -> Result<Vec<RecordedEvent>> {
        let rows = client.query(statement, &[&from, &limit]).await.map_err(pg("reading"))?;
        let mut names: std::collections::HashMap<String, StreamId> = std::collections::HashMap::new();
        rows.iter()
            .map(|row| {
                let name: &str = row.get(1);
                let stream = match names.get(name) {
                    Some(stream) => stream.clone(),
                    None => {
                        let stream = StreamId::new(name)?;
                        names.insert(name.to_owned(), stream.clone());
                        stream
                    }
                };
                let data: &[u8] = row.get(5);
                let metadata: &[u8] = row.get(6);
                Ok(RecordedEvent {
                    position: row.get::<_, i64>(0) as u64,
                    stream,
                    version: row.get::<_, i64>(2) as u64,
                    id: EventId::from(row.get::<_, uuid::Uuid>(3)),
                    event_type: row.get(4),
                    data: Bytes::copy_from_slice(data),
                    metadata: Bytes::copy_from_slice(metadata),
                    recorded_at_micros: row.get(7),
                })
            })
            .collect()
    }

    async fn page_statement(client: &Client, schema: &str) -> Result<Statement> {
        client
            .prepare(&format!("SELECT {COLUMNS} FROM {schema}.events WHERE position >= $1 ORDER BY position LIMIT $2"))
            .await
            .map_err(pg("preparing the read"))
    }

    pub async fn read(url: &str, schema: &str, page_size: usize, duration: Duration) -> Result<Throughput> {
        let client = connect(url).await?;
        let statement = page_statement(&client, schema).await?;
        let start = Instant::now();
        let mut events = 0u64;
        while events == 0 || start.elapsed() < duration {
            let mut from = 0i64;
            loop {
                let read = page(&client, &statement, from, page_size as i64).await?;
                let Some(last) = read.last() else { break };
                from = last.position as i64 + 1;
                events += read.len() as u64;
            }
        }
        Ok(Throughput { events, elapsed: start.elapsed(), ..Throughput::default() })
    }

    /// Like [`super::subscribe_log`]: a poller reads pages after the last position it saw, waiting
    /// `--peer-poll-ms` whenever a page comes back empty; one client writes live in multi-row inserts.
    pub async fn subscribe(args: &Args, schema: &str, filled: u64, duration: Duration) -> Result<Subscribed> {
        let reader = connect(&args.postgres).await?;
        let statement = page_statement(&reader, schema).await?;
        let writer = connect(&args.postgres).await?;
        let live_insert = insert(&writer, schema, args.live_batch, true).await?;
        let poll = Duration::from_millis(args.peer_poll_ms);
        let page_size = args.page as i64;
        let (stop_tx, mut stop_rx) = watch::channel::<Option<u64>>(None);
        let (caught_up_tx, caught_up_rx) = tokio::sync::oneshot::channel();
        let started = Instant::now();
        // Positions start at 1 in a bigserial: the n-th event is at n.
        let watcher = tokio::spawn(async move {
            let mut caught_up = Some(caught_up_tx);
            let mut seen: Vec<(u64, Instant)> = Vec::new();
            let mut next = 1i64;
            let mut count = 0u64;
            let mut stop_at: Option<(u64, Instant)> = None;
            loop {
                if stop_at.is_none()
                    && let Some(head) = *stop_rx.borrow_and_update()
                {
                    stop_at = Some((head, Instant::now() + Duration::from_secs(10)));
                }
                if let Some((head, deadline)) = stop_at
                    && (next as u64 > head || Instant::now() >= deadline)
                {
                    return Ok::<_, Error>(seen);
                }
                let read = page(&reader, &statement, next, page_size).await?;
                let at = Instant::now();
                if read.is_empty() {
                    tokio::time::sleep(poll).await;
                    continue;
                }
                for event in &read {
                    count += 1;
                    if count == filled {
                        let _ = caught_up.take().map(|c| c.send(at));
                    }
                    if count > filled {
                        seen.push((event.position, at));
                    }
                }
                next = read.last().map_or(next, |e| e.position as i64 + 1);
            }
        });
        let catch_up = caught_up_rx.await.map_err(|_| Error::invalid("peer subscription", "ended"))? - started;

        let period = Duration::from_secs_f64(args.live_batch as f64 / args.live_rate as f64);
        let live_start = Instant::now();
        let mut sent = Vec::new();
        let mut versions = vec![None::<u64>; 100];
        let mut k = 0u32;
        while live_start.elapsed() < duration {
            tokio::time::sleep_until((live_start + period * k).into()).await;
            k += 1;
            let slot = k as usize % 100;
            let stream = StreamId::new(format!("live-{slot:03}")).expect("a valid stream name");
            let first = versions[slot].map_or(0, |v| v + 1);
            let rows = Rows::new(&stream, first, args.live_batch);
            let returned = writer.query(&live_insert, &rows.params()).await.map_err(pg("writing live"))?;
            let at = Instant::now();
            versions[slot] = Some(first + args.live_batch as u64 - 1);
            let positions: Vec<u64> = returned.iter().map(|r| r.get::<_, i64>(0) as u64).collect();
            let (Some(&low), Some(&high)) = (positions.iter().min(), positions.iter().max()) else { continue };
            sent.push((low, high, at));
        }
        let writing = live_start.elapsed();
        let head = sent.iter().map(|s| s.1).max().unwrap_or(filled);
        stop_tx.send_replace(Some(head));
        let seen = watcher.await.expect("the peer watcher panicked")?;
        // Positions in order of arrival; the live ones are consecutive from `filled + 1` here (one
        // writer), so index them like imece's.
        let mut arrivals = Vec::with_capacity(seen.len());
        for (expected, (position, at)) in (filled + 1..).zip(seen) {
            if position != expected {
                return Err(Error::invalid("peer subscription", format!("position {position}, expected {expected}")));
            }
            arrivals.push(at);
        }
        let sent: Vec<_> = sent.into_iter().map(|(low, high, at)| (low - 1, high - 1, at)).collect();
        let mut live = lags(filled, &sent, &arrivals);
        live.writing = writing;
        Ok(Subscribed { catch_up, catch_up_events: filled, live })
    }

    pub fn pg(what: &'static str) -> impl Fn(tokio_postgres::Error) -> Error {
        move |e| Error::Backend { backend: "postgres", message: format!("peer {what}: {e}") }
    }
}

// ---------------------------------------------------------------------------------------------
// Schemas and the server

/// The schemas this run creates, dropped as it goes and at the end (also after an error).
#[derive(Debug)]
struct Schemas {
    prefix: String,
    created: std::sync::Mutex<Vec<String>>,
    next: std::sync::atomic::AtomicU32,
}

impl Schemas {
    fn new() -> Self {
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Schemas {
            prefix: format!("imece_bench_{}_{stamp}", std::process::id()),
            created: std::sync::Mutex::default(),
            next: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// A fresh schema name, recorded to be dropped.
    fn name(&self, what: &str) -> String {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{}_{what}_{n}", self.prefix);
        self.created.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(name.clone());
        name
    }

    async fn create_peer(&self, url: &str) -> Result<String> {
        let schema = self.name("peer");
        let client = peer::connect(url).await?;
        client.batch_execute(&peer::create_sql(&schema)).await.map_err(peer::pg("creating the schema"))?;
        Ok(schema)
    }

    async fn drop_one(&self, url: &str, schema: &str) -> Result<()> {
        let client = peer::connect(url).await?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .map_err(peer::pg("dropping a schema"))?;
        self.created.lock().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|s| s != schema);
        Ok(())
    }

    async fn drop_all(&self, url: &str) -> Result<()> {
        let left = self.created.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for schema in left {
            self.drop_one(url, &schema).await?;
        }
        Ok(())
    }
}

/// The server's version and the settings that decide commit cost.
/// The server's WAL insert position in bytes: the difference over a run is the WAL it wrote (every
/// database's, so the run should have the server to itself).
async fn wal_position(url: &str) -> Result<u64> {
    let client = peer::connect(url).await?;
    let row = client
        .query_one("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint", &[])
        .await
        .map_err(peer::pg("reading the WAL position"))?;
    Ok(row.get::<_, i64>(0) as u64)
}

async fn server_settings(url: &str) -> Result<String> {
    let client = peer::connect(url).await?;
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('fsync'), \
             current_setting('synchronous_commit'), current_setting('wal_sync_method'), \
             current_setting('commit_delay'), current_setting('shared_buffers'), \
             current_setting('wal_buffers'), current_setting('max_wal_size')",
            &[],
        )
        .await
        .map_err(peer::pg("reading the settings"))?;
    let get = |i: usize| row.get::<_, String>(i);
    Ok(format!(
        "PostgreSQL {} (fsync {}, synchronous_commit {}, wal_sync_method {}, commit_delay {}, shared_buffers {}, \
         wal_buffers {}, max_wal_size {})",
        get(0),
        get(1),
        get(2),
        get(3),
        get(4),
        get(5),
        get(6),
        get(7)
    ))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

// ---------------------------------------------------------------------------------------------
// The report

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.2} ms") } else { format!("{ms:.1} ms") }
}

fn at(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn print(args: &Args, profile: &str, server: &str, load_before: &str, load_after: &str, results: &Results) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let command: Vec<String> = std::env::args().collect();
    println!(
        "imece-bench backends · {profile} build · {cpus} CPUs · load average {load_before} before, {load_after} after"
    );
    println!("command: {}", command.join(" "));
    println!(
        "events of {DATA_BYTES} B data + {METADATA_BYTES} B metadata · {} s per scenario and backend · {server}",
        args.seconds
    );
    println!();
    println!(
        "| scenario | imece-embedded | imece-postgres | PostgreSQL peer | imece-postgres / peer | embedded / imece-postgres | floor | met? |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let rate = |t: &Option<Throughput>| t.as_ref().map(Throughput::events_per_sec);
    let cell = |r: Option<f64>| r.map_or("—".to_owned(), report::count);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => report::ratio(a, b),
        _ => "—".to_owned(),
    };
    let mut notes = Vec::new();
    for (write, runs, designs) in &results.writes {
        let [e, p, q] = runs.each_ref().map(rate);
        let met = match (p, q) {
            (Some(p), Some(q)) => report::verdict(&[("beats the peer", p > q)]),
            _ => "—".to_owned(),
        };
        println!(
            "| {}, events/s | {} | {} | {} | {} | {} | the peer | {met} |",
            write.name,
            cell(e),
            cell(p),
            cell(q),
            ratio(p, q),
            ratio(e, p)
        );
        let appends: Vec<String> = Backend::ALL
            .iter()
            .zip(runs)
            .filter_map(|(b, t)| t.as_ref().map(|t| format!("{} {}", b.name(), report::count(t.appends_per_sec()))))
            .collect();
        let mut note = format!("{}: appends/s: {}", write.name, appends.join(", "));
        let wal: Vec<String> = Backend::ALL
            .iter()
            .zip(runs)
            .filter_map(|(b, t)| {
                let t = t.as_ref()?;
                let bytes = t.bytes_written? as f64;
                Some(format!(
                    "{} {:.0} MB/s, {:.0} B/event",
                    b.name(),
                    bytes / t.elapsed.as_secs_f64() / 1e6,
                    bytes / t.events.max(1) as f64
                ))
            })
            .collect();
        if !wal.is_empty() {
            note += &format!("; WAL written: {}", wal.join(", "));
        }
        if designs.len() > 1 {
            let peer: Vec<String> = designs
                .iter()
                .map(|(d, t)| format!("{} {} events/s", d.describe(), report::count(t.events_per_sec())))
                .collect();
            note += &format!("; the peer's column is the faster of: {}", peer.join(", "));
        }
        notes.push(note);
    }
    let reads = results.reads.each_ref();
    let read_rates = reads.map(|o| o.as_ref().and_then(|o| o.read.as_ref()).map(Throughput::events_per_sec));
    if read_rates.iter().any(Option::is_some) {
        let [e, p, q] = read_rates;
        println!(
            "| read_all of {} events, pages of {}, events/s | {} | {} | {} | {} | {} | — | — |",
            report::count(args.read_events as f64),
            report::count(args.page as f64),
            cell(e),
            cell(p),
            cell(q),
            ratio(p, q),
            ratio(e, p)
        );
    }
    let subscribed = reads.map(|o| o.as_ref().and_then(|o| o.subscribe.as_ref()));
    if subscribed.iter().any(Option::is_some) {
        let [e, p, q] = subscribed.map(|s| s.map(|s| s.catch_up_events as f64 / s.catch_up.as_secs_f64()));
        println!(
            "| subscribe_all from 0: catch-up over {} events, events/s | {} | {} | {} | {} | {} | — | — |",
            report::count(args.read_events as f64),
            cell(e),
            cell(p),
            cell(q),
            ratio(p, q),
            ratio(e, p)
        );
        let lag = |s: Option<&Subscribed>| {
            s.map_or("—".to_owned(), |s| format!("{} / {}", ms(at(&s.live.lags, 0.5)), ms(at(&s.live.lags, 0.99))))
        };
        let p99 = subscribed.map(|s| s.map(|s| at(&s.live.lags, 0.99).as_secs_f64()));
        println!(
            "| then live, {} events/s in appends of {}: lag p50 / p99 (append returned → seen) | {} | {} | {} | {} (p99) | {} (p99) | — | — |",
            report::count(args.live_rate as f64),
            args.live_batch,
            lag(subscribed[0]),
            lag(subscribed[1]),
            lag(subscribed[2]),
            ratio(p99[1], p99[2]),
            ratio(p99[0], p99[1])
        );
        for (backend, s) in Backend::ALL.iter().zip(subscribed) {
            let Some(s) = s else { continue };
            notes.push(format!(
                "subscribe, {}: caught up in {:.2} s; live: {} events written in {:.1} s, max lag {}, {} seen before \
                 their append returned (counted as 0), {} missing",
                backend.name(),
                s.catch_up.as_secs_f64(),
                report::count(s.live.written as f64),
                s.live.writing.as_secs_f64(),
                ms(s.live.lags.last().copied().unwrap_or_default()),
                s.live.early,
                s.live.missing
            ));
        }
    }
    for (backend, o) in Backend::ALL.iter().zip(reads) {
        let Some(o) = o else { continue };
        notes.push(format!(
            "filling {} with {} events (not timed in the table): {:.1} s, {} events/s",
            backend.name(),
            report::count(args.read_events as f64),
            o.fill.as_secs_f64(),
            report::count(args.read_events as f64 / o.fill.as_secs_f64())
        ));
    }
    println!();
    println!(
        "- writers: each on its own 100 streams in turn, ExpectedVersion::NoStream then Exact (imece); the peer \
         inserts the next versions under UNIQUE (stream, version), one multi-row INSERT per append in its own \
         transaction, one connection per writer"
    );
    println!(
        "- the peer's subscriber polls `position >= next ORDER BY position LIMIT {}`, sleeping {} ms after an \
         empty page; its table is `bigserial` positions, unique id and (stream, version)",
        args.page, args.peer_poll_ms
    );
    for note in notes {
        println!("- {note}");
    }
}
