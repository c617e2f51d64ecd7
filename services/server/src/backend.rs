//! The event log a node runs on, chosen by configuration: the embedded log by default,
//! PostgreSQL (ADR 0012), or KurrentDB when built with the `kurrentdb` feature (ADR 0013).

use std::path::Path;

use imece_log::{
    AppendResult, Direction, EventLog, EventStream, ExpectedVersion, NewEvent, RecordedEvent, StreamAppend, StreamFrom,
    StreamId,
};
use imece_log_embedded::EmbeddedLog;
use imece_log_postgres::PostgresLog;

use crate::Error;
use crate::config::LogConfig;

/// Where a log is: what `[log] url` (or `imece migrate --from/--to`) names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogLocation {
    /// The embedded log in this directory.
    Embedded(std::path::PathBuf),
    /// PostgreSQL: the connection string, the schema, and the writing connections (`None`: the
    /// library's default).
    Postgres { url: String, schema: String, writers: Option<usize> },
    /// KurrentDB: the connection string and the stream holding the whole log.
    Kurrent { url: String, stream: String },
}

/// The KurrentDB stream of a log when the configuration names none.
pub const DEFAULT_KURRENT_STREAM: &str = "imece-log";

impl LogLocation {
    /// `postgres://…` or `postgresql://…`, or libpq's `key=value` form (`host=db dbname=imece`),
    /// is PostgreSQL (in `schema`); `kurrentdb://…` (also
    /// `kurrentdb+discover://`, `esdb://`, `esdb+discover://`) is KurrentDB, in the stream
    /// [`DEFAULT_KURRENT_STREAM`]; anything else is the directory of an embedded log.
    pub fn parse(text: &str, schema: &str) -> LogLocation {
        LogLocation::parse_with(text, schema, DEFAULT_KURRENT_STREAM)
    }

    /// [`LogLocation::parse`] with the KurrentDB stream named.
    pub fn parse_with(text: &str, schema: &str, stream: &str) -> LogLocation {
        if imece_log_postgres::is_connection_string(text) {
            return LogLocation::Postgres { url: text.to_owned(), schema: schema.to_owned(), writers: None };
        }
        let scheme = text.split_once("://").map_or("", |(scheme, _)| scheme);
        match scheme {
            "kurrentdb" | "kurrentdb+discover" | "esdb" | "esdb+discover" => {
                LogLocation::Kurrent { url: text.to_owned(), stream: stream.to_owned() }
            }
            _ => LogLocation::Embedded(text.into()),
        }
    }

    /// The location a node's configuration names: `[log] url`, or `<data_dir>/log`.
    pub fn of(config: &LogConfig, data_dir: &Path) -> LogLocation {
        match &config.url {
            Some(url) => match LogLocation::parse_with(url, &config.schema, &config.stream) {
                LogLocation::Postgres { url, schema, .. } => {
                    LogLocation::Postgres { url, schema, writers: config.writers }
                }
                other => other,
            },
            None => LogLocation::Embedded(data_dir.join("log")),
        }
    }

    /// Opens the log (creating it if there is none yet).
    pub async fn open(&self) -> Result<NodeLog, Error> {
        self.open_with(true).await
    }

    /// Opens the log only if it is there already: a directory that holds no embedded log, a
    /// PostgreSQL schema that does not exist or holds no log, a KurrentDB stream without events
    /// are refused with [`imece_log::Error::InvalidInput`] naming where, and nothing is created.
    /// An existing PostgreSQL schema of an older version is migrated, as [`LogLocation::open`]
    /// would.
    pub async fn open_existing(&self) -> Result<NodeLog, Error> {
        self.open_with(false).await
    }

    async fn open_with(&self, create: bool) -> Result<NodeLog, Error> {
        Ok(match self {
            LogLocation::Embedded(dir) => {
                let options = imece_log_embedded::Options { create, ..Default::default() };
                NodeLog::Embedded(EmbeddedLog::open_with(dir, options)?)
            }
            LogLocation::Postgres { url, schema, writers } => {
                let defaults = imece_log_postgres::Options::default();
                let writers = writers.unwrap_or(defaults.writers);
                let options = imece_log_postgres::Options { schema: schema.clone(), create, writers, ..defaults };
                NodeLog::Postgres(PostgresLog::connect(url, options).await?)
            }
            #[cfg(feature = "kurrentdb")]
            LogLocation::Kurrent { url, stream } => {
                let options = imece_log_kurrentdb::Options { stream: stream.clone(), create, ..Default::default() };
                NodeLog::Kurrent(imece_log_kurrentdb::KurrentLog::connect(url, options).await?)
            }
            #[cfg(not(feature = "kurrentdb"))]
            LogLocation::Kurrent { .. } => {
                return Err(Error::Config(
                    "this build of imece has no KurrentDB backend: build it with `--features kurrentdb`".into(),
                ));
            }
        })
    }
}

impl std::fmt::Display for LogLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogLocation::Embedded(dir) => write!(f, "the embedded log in {}", dir.display()),
            LogLocation::Postgres { url, schema, .. } => {
                // Never print a password.
                let target = imece_log_postgres::redacted_target(url);
                write!(
                    f,
                    "PostgreSQL {}, schema {schema}",
                    target.as_deref().unwrap_or("(a connection string that does not parse)")
                )
            }
            LogLocation::Kurrent { url, stream } => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
                let hosts = rest.rsplit_once('@').map_or(rest, |(_, hosts)| hosts);
                let hosts = hosts.split(['?', '/']).next().unwrap_or_default();
                write!(f, "KurrentDB {hosts}, stream {stream}")
            }
        }
    }
}

/// The node's log, whichever backend it is.
#[derive(Clone, Debug)]
pub enum NodeLog {
    Embedded(EmbeddedLog),
    Postgres(PostgresLog),
    #[cfg(feature = "kurrentdb")]
    Kurrent(imece_log_kurrentdb::KurrentLog),
}

macro_rules! each {
    ($self:ident, $log:ident => $body:expr) => {
        match $self {
            NodeLog::Embedded($log) => $body,
            NodeLog::Postgres($log) => $body,
            #[cfg(feature = "kurrentdb")]
            NodeLog::Kurrent($log) => $body,
        }
    };
}

#[async_trait::async_trait]
impl EventLog for NodeLog {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> imece_log::Result<AppendResult> {
        each!(self, log => log.append(stream, expected, events).await)
    }

    async fn append_many(&self, appends: Vec<StreamAppend>) -> imece_log::Result<Vec<AppendResult>> {
        each!(self, log => log.append_many(appends).await)
    }

    async fn restore(&self, events: Vec<RecordedEvent>) -> imece_log::Result<()> {
        each!(self, log => log.restore(events).await)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: StreamFrom,
        direction: Direction,
        limit: usize,
    ) -> imece_log::Result<Vec<RecordedEvent>> {
        each!(self, log => log.read_stream(stream, from, direction, limit).await)
    }

    async fn read_all(&self, from: u64, limit: usize) -> imece_log::Result<Vec<RecordedEvent>> {
        each!(self, log => log.read_all(from, limit).await)
    }

    async fn stream_version(&self, stream: &StreamId) -> imece_log::Result<Option<u64>> {
        each!(self, log => log.stream_version(stream).await)
    }

    async fn head(&self) -> imece_log::Result<u64> {
        each!(self, log => log.head().await)
    }

    fn subscribe_all(&self, from: u64) -> EventStream {
        each!(self, log => log.subscribe_all(from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_told_apart_and_shown_without_passwords() {
        let pg = LogLocation::parse("postgres://imece:secret@db.example:5432/imece", "izmir");
        assert_eq!(
            pg,
            LogLocation::Postgres {
                url: "postgres://imece:secret@db.example:5432/imece".into(),
                schema: "izmir".into(),
                writers: None
            }
        );
        assert_eq!(pg.to_string(), "PostgreSQL postgres://imece@db.example:5432/imece, schema izmir");
        let no_user = LogLocation::parse("postgresql://db/imece", "imece");
        assert_eq!(no_user.to_string(), "PostgreSQL postgres://db:5432/imece, schema imece");
        let keywords =
            LogLocation::parse("host=db.example user=imece password=secret dbname=imece sslmode=require", "x");
        assert!(matches!(&keywords, LogLocation::Postgres { schema, .. } if schema == "x"));
        assert_eq!(keywords.to_string(), "PostgreSQL postgres://imece@db.example:5432/imece, schema x");
        assert_eq!(
            LogLocation::parse("/var/lib/host=x/log", "imece"),
            LogLocation::Embedded("/var/lib/host=x/log".into()),
            "a path with = in it is still a directory"
        );
        assert_eq!(
            LogLocation::parse("/var/lib/imece/log", "imece"),
            LogLocation::Embedded("/var/lib/imece/log".into())
        );
        let kurrent =
            LogLocation::parse_with("kurrentdb://admin:changeit@n1:2113,n2:2113?tls=false", "x", "imece-izmir");
        assert_eq!(kurrent.to_string(), "KurrentDB n1:2113,n2:2113, stream imece-izmir");
        assert_eq!(
            LogLocation::parse("esdb://localhost:2113", "x"),
            LogLocation::Kurrent { url: "esdb://localhost:2113".into(), stream: DEFAULT_KURRENT_STREAM.into() }
        );
    }
}
