//! What the conformance suite cannot see of the PostgreSQL log: gap safety under many concurrent
//! writers as a subscriber and a foreign reader see it, the writer lock, migrations, reopening,
//! reconnecting, and errors. Tests that need a server skip (pass, saying so) without one, unless
//! `IMECE_REQUIRE_POSTGRES=1`.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use imece_log::{Error, EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamAppend, StreamId};
use imece_log_postgres::{Options, PostgresLog, SCHEMA_VERSION};
use support::TestSchema;

fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("a valid stream id")
}

fn event(n: u64) -> NewEvent {
    NewEvent::new("Test.Happened.v1", format!("{{\"n\":{n}}}")).with_metadata(format!("{{\"seq\":{n}}}"))
}

async fn open(schema: &TestSchema) -> PostgresLog {
    PostgresLog::connect(&schema.url, schema.options()).await.expect("open the postgres log")
}

/// The gap-safety test: a subscriber made before 32 writers start sees every position exactly once,
/// in order, with no gap, while the writers append single events, batches and `append_many` calls
/// at once (groups commit in parallel, so this is what the head protects); a foreign reader polling
/// the table on its own connection below the head row only ever sees a gapless prefix, and the head
/// row reaches the end once the writers stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_sees_every_position_once_under_32_concurrent_writers() {
    const WRITERS: u64 = 32;
    const ROUNDS: u64 = 100;
    let Some(url) = support::server("subscriber_sees_every_position_once_under_32_concurrent_writers").await else {
        return;
    };
    let schema = TestSchema::new(&url, "gaps");
    let log = Arc::new(open(&schema).await);
    let mut sub = log.subscribe_all(0);

    let stop = Arc::new(AtomicBool::new(false));
    let foreign = {
        let (stop, client) = (stop.clone(), support::client(&url).await.expect("a plain client"));
        let sql = format!(
            "SELECT (SELECT count(*) FROM \"{s}\".events WHERE position < h.next), h.next FROM \"{s}\".head h",
            s = schema.name
        );
        tokio::spawn(async move {
            let mut polls = 0u64;
            let mut last = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let row = client.query_one(&sql, &[]).await.expect("poll the events table");
                let (count, end): (i64, i64) = (row.get(0), row.get(1));
                assert_eq!(count, end, "a foreign reader saw {count} rows below the head row's {end}: a gap");
                assert!(end >= last, "a foreign reader saw the log shrink from {last} to {end}");
                last = end;
                polls += 1;
            }
            polls
        })
    };

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                let own = stream(&format!("gap-own-{w}"));
                let shared = stream("gap-shared");
                let mut written = 0;
                for r in 0..ROUNDS {
                    let n = w * 1_000_000 + r * 100;
                    match r % 4 {
                        0 | 1 => {
                            log.append(&own, ExpectedVersion::Any, vec![event(n)]).await.expect("a single append");
                            written += 1;
                        }
                        2 => {
                            let batch: Vec<NewEvent> = (0..5).map(|i| event(n + i)).collect();
                            log.append(&shared, ExpectedVersion::Any, batch).await.expect("a batch");
                            written += 5;
                        }
                        _ => {
                            let call = vec![
                                StreamAppend::new(own.clone(), ExpectedVersion::Any, vec![event(n), event(n + 1)]),
                                StreamAppend::new(shared.clone(), ExpectedVersion::Any, vec![event(n + 2)]),
                                StreamAppend::new(own.clone(), ExpectedVersion::Any, vec![event(n + 3)]),
                            ];
                            log.append_many(call).await.expect("an append_many");
                            written += 4;
                        }
                    }
                }
                written
            })
        })
        .collect();

    let mut total = 0;
    for w in writers {
        total += w.await.expect("a writer");
    }
    assert_eq!(log.head().await.expect("head"), total, "head after the writers");
    let client = support::client(&url).await.expect("a plain client");
    let head_row = format!("SELECT next FROM \"{}\".head", schema.name);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let marked: i64 = client.query_one(&head_row, &[]).await.expect("the head row").get(0);
        if marked as u64 == total {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the head row stayed at {marked} of {total}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut seen: Vec<RecordedEvent> = Vec::with_capacity(total as usize);
    while (seen.len() as u64) < total {
        let next = tokio::time::timeout(Duration::from_secs(30), sub.next())
            .await
            .unwrap_or_else(|_| panic!("the subscription stalled after {} of {total} events", seen.len()))
            .expect("the subscription ended early")
            .expect("a subscription error");
        assert_eq!(next.position, seen.len() as u64, "the subscription skipped or repeated a position");
        seen.push(next);
    }
    let extra = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
    assert!(extra.is_err(), "the subscription yielded more than was written: {extra:?}");
    stop.store(true, Ordering::Relaxed);
    let polls = foreign.await.expect("the foreign reader");

    let ids: HashSet<_> = seen.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), seen.len(), "an event was written twice");
    let mut all = Vec::new();
    while (all.len() as u64) < total {
        all.extend(log.read_all(all.len() as u64, 1000).await.expect("read_all"));
    }
    assert_eq!(all, seen, "the subscription and read_all differ");
    support::say(&format!("gap test: {total} events from {WRITERS} writers, {polls} foreign polls saw only prefixes"));
}

/// A second log on the same schema is refused while the first is open, whatever else the schema
/// is doing; once the first is dropped, the schema opens again with everything in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_writer_is_refused_until_the_first_closes() {
    let Some(url) = support::server("second_writer_is_refused_until_the_first_closes").await else { return };
    let schema = TestSchema::new(&url, "lock");
    let first = open(&schema).await;
    let s = stream("locked");
    first.append(&s, ExpectedVersion::NoStream, vec![event(0)]).await.expect("append");

    let quick = Options { lock_wait: Duration::from_millis(300), ..schema.options() };
    match PostgresLog::connect(&url, quick.clone()).await {
        Err(Error::Locked { dir }) => {
            let dir = dir.display().to_string();
            assert!(dir.contains(&schema.name) && dir.starts_with("postgres://"), "Locked names {dir}");
        }
        other => panic!("a second writer on the schema must be refused with Locked, got {other:?}"),
    }
    // A clone shares the writer: no second lock.
    let clone = first.clone();
    clone.append(&s, ExpectedVersion::Exact(0), vec![event(1)]).await.expect("append through a clone");
    // Another schema of the same database is another log.
    let other = TestSchema::new(&url, "lock2");
    let neighbour = open(&other).await;
    neighbour.append(&s, ExpectedVersion::NoStream, vec![event(2)]).await.expect("append to another schema");

    drop((first, clone));
    let again = PostgresLog::connect(&url, schema.options()).await.expect("reopen once the first log is dropped");
    assert_eq!(again.head().await.expect("head"), 2);
    assert_eq!(again.stream_version(&s).await.expect("stream_version"), Some(1));
}

/// Opening a new schema applies every migration once; reopening applies none; a schema newer than
/// this build is refused with `UnsupportedFormat` and left as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_applied_once_and_a_newer_schema_is_refused() {
    let Some(url) = support::server("migrations_are_applied_once_and_a_newer_schema_is_refused").await else { return };
    let schema = TestSchema::new(&url, "migr");
    let client = support::client(&url).await.expect("a plain client");
    let versions_sql = format!("SELECT version FROM \"{}\".schema_version ORDER BY version", schema.name);
    let expected: Vec<i32> = (1..=SCHEMA_VERSION as i32).collect();

    let log = open(&schema).await;
    assert_eq!(log.schema_version_found(), 0, "a new schema");
    log.append(&stream("m"), ExpectedVersion::NoStream, vec![event(0)]).await.expect("append");
    drop(log);
    let versions: Vec<i32> = client.query(&versions_sql, &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, expected, "every migration recorded once");

    let log = PostgresLog::connect(&url, schema.options()).await.expect("reopen");
    assert_eq!(log.schema_version_found(), SCHEMA_VERSION, "a migrated schema");
    assert_eq!(log.head().await.unwrap(), 1);
    drop(log);
    let versions: Vec<i32> = client.query(&versions_sql, &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, expected, "reopening applies no migration again");

    let newer = SCHEMA_VERSION as i32 + 1;
    client
        .execute(
            &format!(
                "INSERT INTO \"{}\".schema_version (version, description) VALUES ($1, 'from the future')",
                schema.name
            ),
            &[&newer],
        )
        .await
        .unwrap();
    match PostgresLog::connect(&url, schema.options()).await {
        Err(Error::UnsupportedFormat { file, found, supported }) => {
            assert_eq!((found, supported), (newer as u32, SCHEMA_VERSION));
            assert!(file.display().to_string().contains(&schema.name), "the error names {}", file.display());
        }
        other => panic!("a newer schema must be refused with UnsupportedFormat, got {other:?}"),
    }
    let rows: i64 =
        client.query_one(&format!("SELECT count(*) FROM \"{}\".events", schema.name), &[]).await.unwrap().get(0);
    assert_eq!(rows, 1, "refusing a newer schema touches nothing");
}

/// Everything survives a reopen: events, head, versions, and idempotency (an exact retry returns
/// its original result, another use of an id is refused); appends continue where they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_preserves_events_versions_and_idempotency() {
    let Some(url) = support::server("reopen_preserves_events_versions_and_idempotency").await else { return };
    let schema = TestSchema::new(&url, "reopen");
    let (a, b) = (stream("reopen-a"), stream("reopen-b"));
    let log = open(&schema).await;
    let first: Vec<NewEvent> = (0..3).map(event).collect();
    let r1 = log.append(&a, ExpectedVersion::NoStream, first.clone()).await.unwrap();
    let call = vec![
        StreamAppend::new(b.clone(), ExpectedVersion::NoStream, vec![event(3)]),
        StreamAppend::new(a.clone(), ExpectedVersion::Exact(2), vec![event(4), event(5)]),
    ];
    let r2 = log.append_many(call.clone()).await.unwrap();
    let before = log.read_all(0, 100).await.unwrap();
    let target = log.target().to_owned();
    drop(log);

    // Reopened through libpq's `key=value` form of the same connection string.
    let keywords = support::keyword_form(&url);
    let log = PostgresLog::connect(&keywords, schema.options()).await.expect("reopen by key=value");
    assert_eq!(log.target(), target, "{keywords} names the same server");
    assert_eq!(log.read_all(0, 100).await.unwrap(), before, "events after a reopen");
    assert_eq!(log.head().await.unwrap(), 6);
    assert_eq!(log.stream_version(&a).await.unwrap(), Some(4));
    assert_eq!(log.append(&a, ExpectedVersion::NoStream, first.clone()).await.unwrap(), r1, "retry after reopen");
    assert_eq!(log.append_many(call).await.unwrap(), r2, "append_many retry after reopen");
    match log.append(&b, ExpectedVersion::Any, vec![first[0].clone()]).await {
        Err(Error::DuplicateEventId { id, .. }) => assert_eq!(id, first[0].id),
        other => panic!("an id reused in another stream after a reopen: {other:?}"),
    }
    let r3 = log.append(&a, ExpectedVersion::Exact(4), vec![event(6)]).await.unwrap();
    assert_eq!((r3.first_position, r3.first_version), (6, 5), "appends continue after a reopen");
}

/// Reads one after another run on one reading connection (one warm server backend); reads at once
/// spread over several.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_stay_on_one_connection_until_they_overlap() {
    let Some(url) = support::server("reads_stay_on_one_connection_until_they_overlap").await else { return };
    let schema = TestSchema::new(&url, "readers");
    let app = schema.name.clone();
    let log = PostgresLog::connect(&support::named(&url, &app), schema.options()).await.expect("open");
    log.append(&stream("r"), ExpectedVersion::NoStream, (0..50).map(event).collect()).await.unwrap();
    let client = support::client(&url).await.unwrap();
    // Sessions of the log whose last statement was a `read_all`.
    let reading = async || -> i64 {
        client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                 AND query LIKE '%WHERE position >= $1 AND position < $2 ORDER BY position%'",
                &[&app],
            )
            .await
            .unwrap()
            .get(0)
    };
    for from in 0..20 {
        assert_eq!(log.read_all(from, 10).await.unwrap().len(), 10);
    }
    assert_eq!(reading().await, 1, "reads one after another share one connection");
    let at_once = futures_util::future::join_all((0..16).map(|from| log.read_all(from, 10))).await;
    assert!(at_once.iter().all(|r| r.as_ref().is_ok_and(|page| page.len() == 10)));
    assert!(reading().await > 1, "reads at once spread over the connections");
}

/// When the writer's connection is killed, the next group reconnects, takes the lock again and
/// continues at the right position; nothing is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_reconnects_after_its_connection_is_killed() {
    let Some(url) = support::server("writer_reconnects_after_its_connection_is_killed").await else { return };
    let schema = TestSchema::new(&url, "kill");
    let app = schema.name.clone();
    let log_url = support::named(&url, &app);
    let log = PostgresLog::connect(&log_url, schema.options()).await.expect("open");
    let s = stream("killed");
    log.append(&s, ExpectedVersion::NoStream, vec![event(0)]).await.unwrap();

    let client = support::client(&url).await.unwrap();
    let killed: i64 = client
        .query_one(
            "SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity a \
             WHERE a.application_name = $1 AND a.pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')",
            &[&app],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(killed, 1, "the writer's session");
    tokio::time::sleep(Duration::from_millis(200)).await;

    let e1 = event(1);
    let mut attempts = 0;
    let r = loop {
        attempts += 1;
        match log.append(&s, ExpectedVersion::Exact(0), vec![e1.clone()]).await {
            Ok(r) => break r,
            Err(Error::Backend { message, .. }) if attempts < 5 => {
                support::say(&format!("append after the kill, attempt {attempts}: {message}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("append after the writer's connection was killed: {e}"),
        }
    };
    assert_eq!((r.first_position, r.first_version), (1, 1));
    assert_eq!(log.read_all(0, 10).await.unwrap().len(), 2);
}

/// An unreachable server is `Error::Backend` naming host and port, never the password.
#[tokio::test]
async fn unreachable_server_is_a_backend_error_naming_host_and_port() {
    let options = Options { connect_timeout: Duration::from_secs(2), ..Options::default() };
    match PostgresLog::connect("postgres://imece:sekret@127.0.0.1:1/imece", options).await {
        Err(Error::Backend { backend, message }) => {
            assert_eq!(backend, "postgres");
            assert!(message.contains("127.0.0.1:1"), "the message names host and port: {message}");
            assert!(!message.contains("sekret"), "the message shows the password: {message}");
        }
        other => panic!("expected Backend, got {other:?}"),
    }
}

/// Bad options and connection strings are refused before anything is touched.
#[tokio::test]
async fn invalid_options_are_refused() {
    let url = "postgres://postgres@127.0.0.1:1/test";
    for bad in ["", "Imece", "1imece", "pg_imece", "imece-log", "imece\"; DROP TABLE x; --", &"a".repeat(64)] {
        let options = Options { schema: bad.to_owned(), ..Options::default() };
        match PostgresLog::connect(url, options).await {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "schema", "schema {bad:?}"),
            other => panic!("schema {bad:?} must be refused, got {other:?}"),
        }
    }
    match PostgresLog::connect("postgres://a:b@host:notaport/db", Options::default()).await {
        Err(Error::InvalidInput { field, rule }) => {
            assert_eq!(field, "url");
            assert!(!rule.contains(":b@"), "the rule shows the password: {rule}");
        }
        other => panic!("a bad URL must be refused, got {other:?}"),
    }
}
