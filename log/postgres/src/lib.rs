//! The PostgreSQL event log of imece (ADR 0012).
//!
//! One writer task per log holds a session-level advisory lock on its own connection, takes
//! concurrent appends from a channel, decides them (expected versions, idempotency by event id),
//! assigns their positions itself and writes each group of them with one binary `COPY` between
//! `BEGIN` and `COMMIT`, sent together: one transaction, one WAL flush. Groups are written on
//! [`Options::writers`] connections of their own and commit in parallel; an append is answered,
//! and the head readers see moves past it, only once every group before it committed, and every
//! read stops at the head, so no reader ever sees a gap. Subscriptions catch up by pages, then
//! wait on that head. The tables live in a schema of their own, created and migrated by imece
//! (see [`SCHEMA_VERSION`]); opening the log deletes whatever committed after a gap (never
//! answered, never shown).
//!
//! One imece process writes to a schema at a time: a second one is refused with
//! [`Error::Locked`].
//!
//! ```no_run
//! # async fn example() -> imece_log::Result<()> {
//! use imece_log::{EventLog, ExpectedVersion, NewEvent, StreamId};
//! use imece_log_postgres::{Options, PostgresLog};
//!
//! let log = PostgresLog::connect("postgres://imece@127.0.0.1:5432/imece", Options::default()).await?;
//! let stream = StreamId::new("org-1")?;
//! let written = log.append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Registered.v1", "{}")]).await?;
//! assert_eq!(log.stream_version(&stream).await?, Some(written.last_version));
//! # Ok(()) }
//! ```

mod read;
mod schema;
mod tls;
mod writer;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream;
use imece_log::{
    AppendResult, Direction, Error, EventLog, EventStream, ExpectedVersion, NewEvent, RecordedEvent, Result,
    StreamAppend, StreamFrom, StreamId,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config};

pub use schema::SCHEMA_VERSION;

use crate::read::Readers;
use crate::writer::{Request, Writer};

/// How a [`PostgresLog`] is laid out and writes.
#[derive(Clone, Debug)]
pub struct Options {
    /// The PostgreSQL schema holding the log's tables, created if missing (unless `create` is
    /// false): lower-case ASCII letters, digits and `_`, not starting with a digit or `pg_`, at
    /// most 63 bytes. Default `imece`.
    pub schema: String,
    /// Whether opening creates the schema and its tables when there are none. With false, opening
    /// refuses a schema that does not exist, or holds no imece log (no `schema_version` table),
    /// with [`Error::InvalidInput`] naming the target and the schema, and creates nothing: for
    /// opening a log that must be there already (the source of `imece migrate`). An existing
    /// schema of an older version is still migrated to [`SCHEMA_VERSION`], as a node opening it
    /// would. Default true.
    pub create: bool,
    /// Connections for reads and subscriptions, opened when first needed; each read goes to the
    /// one with the fewest reads running, and each carries many concurrent queries (pipelined).
    /// Default 4.
    pub readers: usize,
    /// How long opening waits for the writer lock while another session holds it (a log of this
    /// process still closing, say) before refusing with [`Error::Locked`]. Default 5 s.
    pub lock_wait: Duration,
    /// The connect timeout when the connection string sets none. Default 10 s.
    pub connect_timeout: Duration,
    /// Connections that write groups of appends, up to 4 groups in flight on each: the groups
    /// insert and commit in parallel and count in position order. 1 still pipelines on one
    /// connection. Default 2, the best of 1, 2, 3, 4 and 6 where PostgreSQL and imece share two
    /// cores (BENCHMARKS.md); a server with more cores may gain from more.
    pub writers: usize,
    /// The most events one group commit writes (an append is never split). Default 10,000.
    pub max_group_events: usize,
    /// The most bytes of data and metadata one group commit writes. Default 16 MiB.
    pub max_group_bytes: usize,
    /// Stream versions the writer keeps in memory (emptied when full, then filled again from the
    /// database as streams are written). Default 100,000.
    pub stream_cache: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            schema: "imece".to_owned(),
            create: true,
            readers: 4,
            writers: 2,
            lock_wait: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            max_group_events: 10_000,
            max_group_bytes: 16 * 1024 * 1024,
            stream_cache: 100_000,
        }
    }
}

/// Events a subscription reads from the database at a time.
const SUBSCRIPTION_PAGE: usize = 1000;

/// The log in a PostgreSQL schema. Cheap to clone: clones share one writer. The writer lock is
/// released once the last clone is dropped (its connection closes a moment later).
#[derive(Clone, Debug)]
pub struct PostgresLog {
    handle: Arc<Handle>,
}

#[derive(Debug)]
struct Handle {
    requests: mpsc::UnboundedSender<Request>,
    shared: Arc<Shared>,
    schema_found: u32,
}

/// What readers and subscriptions share: they outlive no writer state.
#[derive(Debug)]
struct Shared {
    setup: Arc<Setup>,
    readers: Readers,
    /// The committed head, published by the writer after each commit.
    head: watch::Receiver<u64>,
}

/// Where the log lives and how to reach it.
#[derive(Debug)]
pub(crate) struct Setup {
    config: Config,
    /// TLS as the connection string's `sslmode` and `sslrootcert` ask.
    tls: tls::MakeRustls,
    /// The connection string's target without password, for messages.
    target: String,
    schema: String,
    quoted_schema: String,
    writer_key: i64,
    migration_key: i64,
    options: Options,
}

impl Setup {
    /// The target and the schema, for messages: never the password.
    pub(crate) fn describe(&self) -> String {
        format!("{} schema \"{}\"", self.target, self.schema)
    }

    /// A connection whose task runs on the current runtime; in UTF-8, so that every stream name
    /// and event type is stored as given, and with commits that wait for the WAL flush.
    pub(crate) async fn session(&self, role: &str) -> Result<Client> {
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|e| pg_error(&format!("cannot connect to {} ({role} connection)", self.target), &e))?;
        let target = self.target.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!("postgres connection to {target} ended: {}", error_chain(&e));
            }
        });
        let fail = |what: &str, e: tokio_postgres::Error| pg_error(&format!("{what} on {}", self.target), &e);
        let row = client
            .query_one("SELECT current_setting('server_encoding'), current_setting('synchronous_commit')", &[])
            .await
            .map_err(|e| fail("reading the session settings", e))?;
        let (encoding, synchronous_commit): (String, String) = (row.get(0), row.get(1));
        if encoding != "UTF8" {
            return Err(Error::Backend {
                backend: "postgres",
                message: format!(
                    "the database of {} uses encoding {encoding}; imece needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')",
                    self.target
                ),
            });
        }
        if synchronous_commit == "off" {
            // An append returns only once it is durable: never acknowledge before the WAL flush.
            client
                .batch_execute("SET synchronous_commit = on")
                .await
                .map_err(|e| fail("setting synchronous_commit", e))?;
        }
        Ok(client)
    }
}

impl PostgresLog {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`, or a
    /// `key=value` connection string), takes the writer lock of `options.schema`, creates (unless
    /// `options.create` is false) or migrates the schema, and starts the writer task on the current
    /// tokio runtime. TLS follows libpq's `sslmode` (`disable`, `prefer` by default, `require`,
    /// `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file of CA certificates) parameters.
    ///
    /// Errors: [`Error::InvalidInput`] for a bad URL, TLS parameter, unreadable `sslrootcert` or
    /// schema name, and with `options.create` false for a schema that holds no log (field
    /// `schema`); [`Error::Backend`] naming host and port (never the password) when the server
    /// cannot be reached, fails, or its TLS handshake does;
    /// [`Error::Locked`] when another session holds the schema's writer lock for longer than
    /// `options.lock_wait`; [`Error::UnsupportedFormat`] when the schema is newer than this build.
    pub async fn connect(url: &str, options: Options) -> Result<Self> {
        let setup = Arc::new(Setup::new(url, options)?);
        let mut client = writer::lock_session(&setup).await?;
        let found = schema::migrate(&mut client, &setup).await?;
        let writer = Writer::start(setup.clone(), client).await?;
        let head = writer.head();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer.run(rx));
        tracing::info!("opened the postgres log in {} at head {}", setup.describe(), *head.borrow());
        let readers = Readers::new(setup.clone());
        Ok(PostgresLog {
            handle: Arc::new(Handle {
                requests: tx,
                shared: Arc::new(Shared { setup, readers, head }),
                schema_found: found,
            }),
        })
    }

    /// The PostgreSQL schema of the log.
    pub fn schema(&self) -> &str {
        &self.handle.shared.setup.schema
    }

    /// Where the log is, as `postgres://user@host:port/database?sslmode=…`: never the password.
    pub fn target(&self) -> &str {
        &self.handle.shared.setup.target
    }

    /// The schema version opening found, before migrating: 0 for a new schema.
    pub fn schema_version_found(&self) -> u32 {
        self.handle.schema_found
    }

    fn send(&self, request: Request) -> Result<()> {
        self.handle.requests.send(request).map_err(|_| Error::Closed)
    }
}

impl Setup {
    fn new(url: &str, options: Options) -> Result<Self> {
        check_schema_name(&options.schema)?;
        if options.readers == 0 {
            return Err(Error::invalid("readers", "must be at least 1"));
        }
        if options.writers == 0 {
            return Err(Error::invalid("writers", "must be at least 1"));
        }
        let (url, tls) = tls::take_tls_params(url)?;
        let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
            Error::invalid("url", format!("is not a PostgreSQL connection string: {}", error_chain(&e)))
        })?;
        let tls = tls::MakeRustls::new(&tls, &mut config)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("imece-log");
        }
        let target = format!("{}?sslmode={}", target(&config), tls.mode().as_str());
        let schema = options.schema.clone();
        Ok(Setup {
            config,
            tls,
            target,
            quoted_schema: format!("\"{schema}\""),
            writer_key: lock_key("writer", &schema),
            migration_key: lock_key("migration", &schema),
            schema,
            options,
        })
    }
}

fn check_schema_name(name: &str) -> Result<()> {
    let rule = "must be 1 to 63 bytes of a-z, 0-9 and _, not starting with a digit or pg_";
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with("pg_")
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(()) } else { Err(Error::invalid("schema", rule)) }
}

/// A connection string, in URL or `key=value` form, as `postgres://user@host:port/database` for
/// messages: never the password. `None` if it does not parse.
pub fn redacted_target(url: &str) -> Option<String> {
    let (url, _) = tls::take_tls_params(url).ok()?;
    url.parse::<Config>().ok().map(|config| target(&config))
}

/// libpq's keywords that can begin a connection string in `key=value` form.
const KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "options",
    "application_name",
    "connect_timeout",
    "sslmode",
    "sslrootcert",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
];

/// Whether `text` is a PostgreSQL connection string: a `postgres://` or `postgresql://` URL, or
/// libpq's `key=value` form beginning with one of its keywords (`host=db.example dbname=imece`).
pub fn is_connection_string(text: &str) -> bool {
    if text.contains("://") {
        return is_url(text);
    }
    let first = text.split_whitespace().next().and_then(|word| word.split_once('='));
    first.is_some_and(|(key, _)| KEYWORDS.contains(&key))
}

/// Whether `text` is a connection string in URL form.
pub(crate) fn is_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// Each host of `config` with its port: its own, else the first one given, else 5432.
pub(crate) fn host_ports(config: &Config) -> impl Iterator<Item = (&Host, u16)> {
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| (host, ports.get(i).or(ports.first()).copied().unwrap_or(5432)))
}

/// `postgres://user@host:port,host:port/database`, for messages.
fn target(config: &Config) -> String {
    let hosts: Vec<String> = host_ports(config)
        .map(|(host, port)| match host {
            Host::Tcp(name) => format!("{name}:{port}"),
            Host::Unix(path) => format!("{}:{port}", path.display()),
        })
        .collect();
    let hosts = if hosts.is_empty() { "localhost:5432".to_owned() } else { hosts.join(",") };
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    format!("postgres://{user}{hosts}/{}", config.get_dbname().unwrap_or(""))
}

/// A stable 64-bit advisory lock key for `purpose` on `schema` (FNV-1a): the same in every build.
fn lock_key(purpose: &str, schema: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("imece-log-postgres/{purpose}/{schema}").bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash as i64
}

/// The error and its causes, as one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// An [`Error::Backend`] for a failed PostgreSQL call.
pub(crate) fn pg_error(context: &str, e: &tokio_postgres::Error) -> Error {
    Error::Backend { backend: "postgres", message: format!("{context}: {}", error_chain(e)) }
}

/// The log's locked-by-another-process error.
pub(crate) fn locked(setup: &Setup) -> Error {
    Error::Locked { dir: PathBuf::from(setup.describe()) }
}

#[async_trait::async_trait]
impl EventLog for PostgresLog {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        imece_log::validate_batch(&events)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::One { stream: stream.clone(), expected, events, reply })?;
        answer.await.map_err(|_| Error::Closed)?
    }

    async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
        imece_log::validate_appends(&appends)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Many { appends, reply })?;
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
        let shared = &self.handle.shared;
        let head = *shared.head.borrow();
        shared.readers.read_stream(stream, from, direction, limit, head).await
    }

    async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        let shared = &self.handle.shared;
        let head = *shared.head.borrow();
        shared.readers.read_all(from, limit, head).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
        let shared = &self.handle.shared;
        let head = *shared.head.borrow();
        shared.readers.stream_version(stream, head).await
    }

    async fn head(&self) -> Result<u64> {
        // Only this process writes the schema, and its writer publishes each commit's head.
        Ok(*self.handle.shared.head.borrow())
    }

    fn subscribe_all(&self, from: u64) -> EventStream {
        // The subscription holds the readers, not the writer: a forgotten subscription keeps no
        // append waiting, and the log can close under it (the subscription then ends).
        let shared = self.handle.shared.clone();
        let head = shared.head.clone();
        let state = (shared, head, from, VecDeque::new());
        Box::pin(stream::unfold(state, |(shared, mut head, mut next, mut buffered)| async move {
            loop {
                if let Some(event) = buffered.pop_front() {
                    return Some((Ok(event), (shared, head, next, buffered)));
                }
                // Mark the head seen before reading, so a commit after the read wakes us.
                let committed = *head.borrow_and_update();
                if next < committed {
                    let page = SUBSCRIPTION_PAGE.min((committed - next) as usize);
                    match shared.readers.read_all(next, page, committed).await {
                        Ok(events) if events.is_empty() => {
                            let error = Error::Backend {
                                backend: "postgres",
                                message: format!("position {next} is committed but not readable"),
                            };
                            return Some((Err(error), (shared, head, u64::MAX, buffered)));
                        }
                        Ok(events) => {
                            next += events.len() as u64;
                            buffered.extend(events);
                            continue;
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
