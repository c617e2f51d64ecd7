//! The log's tables, created and migrated by imece itself: an ordered list of migrations, applied
//! at open in one transaction under an advisory lock, recorded in `schema_version`.

use std::path::PathBuf;

use imece_log::{Error, Result};
use tokio_postgres::Client;

use crate::{Setup, pg_error};

/// The schema version this build creates and reads: the number of migrations it knows.
pub const SCHEMA_VERSION: u32 = 2;

/// One step of the schema. `{schema}` in `sql` stands for the quoted schema name. Once released,
/// a migration is never edited: a change is a new migration at the end.
struct Migration {
    version: u32,
    description: &'static str,
    sql: &'static str,
}

/// Every migration, in order; `version` counts from 1 without gaps.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "the events table: position, stream and version, id, type, data, metadata, time",
        sql: r#"
        CREATE TABLE {schema}.events (
            position bigint NOT NULL CHECK (position >= 0),
            stream text COLLATE "C" NOT NULL,
            version bigint NOT NULL CHECK (version >= 0),
            id uuid NOT NULL,
            event_type text NOT NULL,
            data bytea NOT NULL,
            metadata bytea NOT NULL,
            recorded_at_micros bigint NOT NULL,
            CONSTRAINT events_position_key PRIMARY KEY (position),
            CONSTRAINT events_id_key UNIQUE (id),
            CONSTRAINT events_stream_version_key UNIQUE (stream, version)
        );
        COMMENT ON TABLE {schema}.events IS
            'imece event log (ADR 0012): written only by the imece process holding the writer lock';
    "#,
    },
    Migration {
        version: 2,
        description: "the head row: the end of the committed, gapless prefix, for readers and recovery",
        sql: r#"
        CREATE TABLE {schema}.head (
            one boolean PRIMARY KEY DEFAULT true CHECK (one),
            next bigint NOT NULL CHECK (next >= 0)
        );
        INSERT INTO {schema}.head (next) SELECT coalesce(max(position) + 1, 0) FROM {schema}.events;
        COMMENT ON TABLE {schema}.head IS
            'imece event log (ADR 0012): every position below next is committed, and no position is missing below it; read below it';
    "#,
    },
];

/// Brings the schema to [`SCHEMA_VERSION`]: in one transaction, under a transaction-level
/// advisory lock (so two processes opening at once migrate one after the other), creates the
/// schema and `schema_version` if missing and applies every migration not yet recorded there.
/// Refuses a schema newer than this build and, with `create` off, one that does not exist or has
/// no `schema_version` table, creating nothing. Returns the version found before.
pub(crate) async fn migrate(client: &mut Client, setup: &Setup) -> Result<u32> {
    debug_assert_eq!(MIGRATIONS.len() as u32, SCHEMA_VERSION);
    let s = &setup.quoted_schema;
    let fail = |what: &str, e: tokio_postgres::Error| pg_error(&format!("{what} in {}", setup.describe()), &e);
    let tx = client.transaction().await.map_err(|e| fail("starting the migration transaction", e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&setup.migration_key])
        .await
        .map_err(|e| fail("taking the migration lock", e))?;
    let exists: bool = tx
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&setup.schema])
        .await
        .map_err(|e| fail("looking for the schema", e))?
        .get(0);
    if !setup.options.create {
        let versioned: bool = exists
            && tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relname = 'schema_version')",
                    &[&setup.schema],
                )
                .await
                .map_err(|e| fail("looking for schema_version", e))?
                .get(0);
        if !versioned {
            // Dropping the transaction rolls it back: nothing was created.
            let why = if exists { "it holds no imece log (no schema_version table)" } else { "no such schema" };
            return Err(Error::invalid(
                "schema",
                format!(
                    "there is no log in {}: {why} (opening an existing log only: nothing was created)",
                    setup.describe()
                ),
            ));
        }
    }
    if !exists {
        tx.batch_execute(&format!("CREATE SCHEMA {s}")).await.map_err(|e| fail("creating the schema", e))?;
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {s}.schema_version (
            version integer PRIMARY KEY,
            description text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )"
    ))
    .await
    .map_err(|e| fail("creating schema_version", e))?;
    let found: i32 = tx
        .query_one(&format!("SELECT coalesce(max(version), 0) FROM {s}.schema_version"), &[])
        .await
        .map_err(|e| fail("reading schema_version", e))?
        .get(0);
    let found = u32::try_from(found).map_err(|_| Error::Backend {
        backend: "postgres",
        message: format!("{} has a negative schema version {found}", setup.describe()),
    })?;
    if found > SCHEMA_VERSION {
        // Dropping the transaction rolls it back: nothing is touched.
        return Err(Error::UnsupportedFormat {
            file: PathBuf::from(setup.describe()),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.batch_execute(&m.sql.replace("{schema}", s))
            .await
            .map_err(|e| fail(&format!("applying migration {}", m.version), e))?;
        tx.execute(
            &format!("INSERT INTO {s}.schema_version (version, description) VALUES ($1, $2)"),
            &[&(m.version as i32), &m.description],
        )
        .await
        .map_err(|e| fail(&format!("recording migration {}", m.version), e))?;
        tracing::info!("applied migration {} to {}: {}", m.version, setup.describe(), m.description);
    }
    tx.commit().await.map_err(|e| fail("committing the migrations", e))?;
    Ok(found)
}
