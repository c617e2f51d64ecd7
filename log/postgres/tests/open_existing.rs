//! Opening an existing log only (`Options::create` false): a schema that does not exist, or one that
//! holds no imece log, is refused naming the target and the schema, and nothing is created; an
//! existing log opens, and an existing schema of an older version is migrated. Tests that need a
//! server skip (pass, saying so) without one, unless `IMECE_REQUIRE_POSTGRES=1`.

mod support;

use imece_log::{Error, EventLog, ExpectedVersion, NewEvent, StreamId};
use imece_log_postgres::{Options, PostgresLog, SCHEMA_VERSION};
use support::TestSchema;
use tokio_postgres::Client;

fn existing_only(schema: &TestSchema) -> Options {
    Options { create: false, ..schema.options() }
}

async fn schema_exists(client: &Client, name: &str) -> bool {
    client
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&name])
        .await
        .expect("look for the schema")
        .get(0)
}

async fn tables(client: &Client, name: &str) -> i64 {
    client
        .query_one("SELECT count(*) FROM pg_tables WHERE schemaname = $1", &[&name])
        .await
        .expect("count the schema's tables")
        .get(0)
}

/// Asserts that opening was refused as a missing log, naming the target and the schema.
#[track_caller]
fn assert_no_log(result: imece_log::Result<PostgresLog>, schema: &TestSchema, why: &str) {
    match result {
        Err(Error::InvalidInput { field, rule }) => {
            assert_eq!(field, "schema");
            assert!(rule.contains(&format!("schema \"{}\"", schema.name)), "the error names the schema: {rule}");
            assert!(rule.contains("127.0.0.1") || rule.contains("postgres://"), "the error names the target: {rule}");
            assert!(rule.contains(why), "the error says {why:?}: {rule}");
            assert!(rule.contains("nothing was created"), "the error says nothing was created: {rule}");
        }
        other => panic!("opening a missing log must be refused with InvalidInput, got {other:?}"),
    }
}

/// A schema that does not exist is refused, and it still does not exist afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_schema_is_refused_and_not_created() {
    let Some(url) = support::server("a_missing_schema_is_refused_and_not_created").await else { return };
    let schema = TestSchema::new(&url, "missing");
    let client = support::client(&url).await.expect("a plain client");

    assert_no_log(PostgresLog::connect(&url, existing_only(&schema)).await, &schema, "no such schema");
    assert!(!schema_exists(&client, &schema.name).await, "refusing a missing schema must not create it");
}

/// A schema that exists but holds no imece log (no `schema_version`) is refused and left empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_without_a_log_is_refused_and_left_alone() {
    let Some(url) = support::server("a_schema_without_a_log_is_refused_and_left_alone").await else { return };
    let schema = TestSchema::new(&url, "nolog");
    let client = support::client(&url).await.expect("a plain client");
    client.batch_execute(&format!("CREATE SCHEMA \"{}\"", schema.name)).await.expect("create an empty schema");

    assert_no_log(PostgresLog::connect(&url, existing_only(&schema)).await, &schema, "holds no imece log");
    assert_eq!(tables(&client, &schema.name).await, 0, "refusing a schema without a log creates no table in it");
}

/// An existing log opens with its events; one of an older schema version is migrated on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_log_opens_and_an_older_one_is_migrated() {
    let Some(url) = support::server("an_existing_log_opens_and_an_older_one_is_migrated").await else { return };
    let schema = TestSchema::new(&url, "existing");
    let client = support::client(&url).await.expect("a plain client");
    let stream = StreamId::new("org-1").unwrap();
    {
        let log = PostgresLog::connect(&url, schema.options()).await.expect("create the log");
        log.append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Registered.v1", "{}")]).await.unwrap();
    }

    let log = PostgresLog::connect(&url, existing_only(&schema)).await.expect("open the existing log");
    assert_eq!(log.schema_version_found(), SCHEMA_VERSION);
    assert_eq!(log.head().await.unwrap(), 1, "the existing log's event is there");
    drop(log);

    // Back to version 1: the head row (migration 2) is gone, as in a log an older imece wrote.
    const { assert!(SCHEMA_VERSION >= 2, "this test steps back from migration 2") };
    client
        .batch_execute(&format!(
            "DROP TABLE \"{s}\".head; DELETE FROM \"{s}\".schema_version WHERE version >= 2",
            s = schema.name
        ))
        .await
        .expect("step the schema back to version 1");
    let log = PostgresLog::connect(&url, existing_only(&schema)).await.expect("open an older existing log");
    assert_eq!(log.schema_version_found(), 1, "the older version was found");
    assert_eq!(log.head().await.unwrap(), 1, "and migrated with its event");
    drop(log);
    let latest: i32 = client
        .query_one(&format!("SELECT max(version) FROM \"{}\".schema_version", schema.name), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(latest as u32, SCHEMA_VERSION, "opening an existing log migrates it to this build's version");
}
