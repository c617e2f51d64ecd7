//! The writer's pipeline: several groups commit in parallel but are answered, and shown, in
//! position order. These tests break it on purpose: a group that fails in the middle of the
//! pipeline, a writing connection killed under load, and a log left with events committed after a
//! gap (what a process dying with groups in flight leaves). Tests skip (pass, saying so) without a
//! server, unless `IMECE_REQUIRE_POSTGRES=1`.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use imece_log::{AppendResult, Error, EventId, EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamId};
use imece_log_postgres::{Options, PostgresLog};
use support::TestSchema;

fn stream(name: &str) -> StreamId {
    StreamId::new(name).expect("a valid stream id")
}

fn event(n: u64) -> NewEvent {
    NewEvent::new("Test.Happened.v1", format!("{{\"n\":{n}}}")).with_metadata(format!("{{\"seq\":{n}}}"))
}

/// Reads the whole log and checks it is gapless from 0 to the head.
async fn whole_log(log: &PostgresLog) -> Vec<RecordedEvent> {
    let head = log.head().await.expect("head");
    let mut all = Vec::new();
    while (all.len() as u64) < head {
        let page = log.read_all(all.len() as u64, 1000).await.expect("read_all");
        assert!(!page.is_empty(), "read_all stopped at {} below the head {head}", all.len());
        all.extend(page);
    }
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.position, i as u64, "the log has a gap or a repeat");
    }
    all
}

/// Every stream's versions run 0, 1, 2… in position order.
fn assert_versions_contiguous(all: &[RecordedEvent]) {
    let mut next: HashMap<&StreamId, u64> = HashMap::new();
    for e in all {
        let expected = next.entry(&e.stream).or_insert(0);
        assert_eq!(e.version, *expected, "stream {} at position {}", e.stream, e.position);
        *expected += 1;
    }
}

/// Groups that fail in the middle of the pipeline (an event id reused in another stream is caught
/// only by the database's unique constraint, since a group is decided without looking its ids up)
/// cost no other append: the groups behind them are decided again, the reuse is refused, exact
/// retries get their original results, and the log stays gapless, every stream's versions
/// contiguous, every acknowledged event at the position its append was told, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_group_costs_no_other_append() {
    const WRITERS: u64 = 24;
    const ROUNDS: u64 = 40;
    let Some(url) = support::server("a_failing_group_costs_no_other_append").await else { return };
    let schema = TestSchema::new(&url, "fail");
    let log = Arc::new(PostgresLog::connect(&url, schema.options()).await.expect("open"));
    let mut sub = log.subscribe_all(0);
    let taken = event(0);
    log.append(&stream("taken"), ExpectedVersion::NoStream, vec![taken.clone()]).await.expect("the first event");

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (log, taken) = (log.clone(), taken.clone());
            tokio::spawn(async move {
                let own = stream(&format!("own-{w}"));
                let mut acknowledged: Vec<(EventId, AppendResult)> = Vec::new();
                let (mut refused, mut retried) = (0, 0);
                let mut last: Option<(NewEvent, AppendResult)> = None;
                for r in 0..ROUNDS {
                    let expected = last
                        .as_ref()
                        .map_or(ExpectedVersion::NoStream, |(_, a)| ExpectedVersion::Exact(a.last_version));
                    let e = event(1 + w * 1000 + r);
                    let result = log.append(&own, expected, vec![e.clone()]).await.expect("an append");
                    acknowledged.push((e.id, result));
                    match r % 8 {
                        3 => {
                            // Another stream with an id the log holds.
                            let mut reused = event(w * 1000 + r + 500_000);
                            reused.id = taken.id;
                            match log.append(&stream(&format!("reuse-{w}")), ExpectedVersion::Any, vec![reused]).await {
                                Err(Error::DuplicateEventId { id, .. }) if id == taken.id => refused += 1,
                                other => panic!("a reused id must be refused, got {other:?}"),
                            }
                        }
                        6 => {
                            // The same append again: its original result.
                            let again = log.append(&own, expected, vec![e.clone()]).await.expect("a retry");
                            assert_eq!(again, result, "an exact retry returns the original result");
                            retried += 1;
                        }
                        _ => {}
                    }
                    last = Some((e, result));
                }
                (acknowledged, refused, retried)
            })
        })
        .collect();

    let mut acknowledged = Vec::new();
    let (mut refused, mut retried) = (0, 0);
    for w in writers {
        let (a, f, r) = w.await.expect("a writer");
        acknowledged.extend(a);
        refused += f;
        retried += r;
    }
    assert_eq!(refused, WRITERS * ROUNDS / 8, "every reuse refused");
    assert_eq!(retried, WRITERS * ROUNDS / 8, "every retry answered");

    let all = whole_log(&log).await;
    assert_eq!(all.len() as u64, 1 + WRITERS * ROUNDS, "exactly the acknowledged events, once each");
    let by_id: HashMap<EventId, &RecordedEvent> = all.iter().map(|e| (e.id, e)).collect();
    assert_eq!(by_id.len(), all.len(), "an id twice in the log");
    for (id, result) in &acknowledged {
        let stored = by_id.get(id).unwrap_or_else(|| panic!("acknowledged event {id} is not in the log"));
        assert_eq!((stored.position, stored.version), (result.first_position, result.first_version));
    }
    assert_versions_contiguous(&all);
    for expected in &all {
        let seen = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("the subscription stalled")
            .expect("the subscription ended")
            .expect("a subscription error");
        assert_eq!(&seen, expected, "the subscription and read_all differ");
    }
}

/// Killing writing connections under load (not the lock session), in their `BEGIN`, `COPY` or
/// `COMMIT`, fails at most the appends of the groups that were on them, with a backend error;
/// retrying each with the same ids either finds it committed (the original result) or writes it.
/// In the end every event is in the log once, the log is gapless, and nothing acknowledged was
/// lost. (Before the writer wrapped its `COPY` in `BEGIN` … `COMMIT`, this test lost acknowledged
/// groups: a kill between the `COPY`'s answer and its commit.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_writing_connections_loses_no_acknowledged_append() {
    const WRITERS: u64 = 16;
    const APPENDS: u64 = 150;
    let Some(url) = support::server("killing_writing_connections_loses_no_acknowledged_append").await else {
        return;
    };
    let schema = TestSchema::new(&url, "killw");
    let app = schema.name.clone();
    let log_url = support::named(&url, &app);
    let log = Arc::new(PostgresLog::connect(&log_url, schema.options()).await.expect("open"));

    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let (stop, client) = (stop.clone(), support::client(&url).await.expect("a plain client"));
        tokio::spawn(async move {
            let mut killed = 0i64;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(40)).await;
                let row = client
                    .query_one(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                         WHERE application_name = $1 AND state <> 'idle' \
                         AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')",
                        &[&app],
                    )
                    .await
                    .expect("kill writing connections");
                killed += row.get::<_, i64>(0);
            }
            killed
        })
    };

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                let own = stream(&format!("k-{w}"));
                let mut written = Vec::new();
                let mut failures = 0;
                for i in 0..APPENDS {
                    let events: Vec<NewEvent> = (0..1 + i % 3).map(|j| event(w * 10_000 + i * 10 + j)).collect();
                    let mut attempts = 0;
                    let result = loop {
                        attempts += 1;
                        match log.append(&own, ExpectedVersion::Any, events.clone()).await {
                            Ok(result) => break result,
                            Err(Error::Backend { .. }) if attempts < 20 => {
                                failures += 1;
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                            Err(e) => panic!("an append failed {attempts} times, the last with: {e}"),
                        }
                    };
                    written.push((events.iter().map(|e| e.id).collect::<Vec<_>>(), result));
                }
                (written, failures)
            })
        })
        .collect();
    let mut written = Vec::new();
    let mut failures = 0;
    for w in writers {
        let (a, f) = w.await.expect("a writer");
        written.extend(a);
        failures += f;
    }
    stop.store(true, Ordering::Relaxed);
    let killed = killer.await.expect("the killer");
    support::say(&format!("killed {killed} writing connections; {failures} appends failed and were retried"));

    let all = whole_log(&log).await;
    let by_id: HashMap<EventId, &RecordedEvent> = all.iter().map(|e| (e.id, e)).collect();
    assert_eq!(by_id.len(), all.len(), "an id twice in the log");
    let ids: HashSet<EventId> = written.iter().flat_map(|(ids, _)| ids.iter().copied()).collect();
    assert_eq!(all.len(), ids.len(), "the log holds exactly the events written");
    for (ids, result) in &written {
        for (k, id) in ids.iter().enumerate() {
            let stored = by_id.get(id).unwrap_or_else(|| panic!("acknowledged event {id} is not in the log"));
            assert_eq!(stored.position, result.first_position + k as u64, "where its append said");
        }
    }
    assert_versions_contiguous(&all);

    // A fresh process sees the same log.
    drop(log);
    let reopened = PostgresLog::connect(&log_url, schema.options()).await.expect("reopen");
    assert_eq!(whole_log(&reopened).await, all, "the log after reopening");
}

/// What a process dying with groups in flight can leave: events committed just above the head row
/// (a group whose answer was lost: kept, a retry will find it) and events committed after a gap (a
/// group committed before one in front of it did: never answered nor shown, so deleted). Opening
/// repairs it, moves the head row, and appends continue at the right position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_repairs_what_committed_after_a_gap() {
    let Some(url) = support::server("opening_repairs_what_committed_after_a_gap").await else { return };
    let schema = TestSchema::new(&url, "repair");
    let s = stream("r");
    let log = PostgresLog::connect(&url, schema.options()).await.expect("open");
    let first: Vec<NewEvent> = (0..10).map(event).collect();
    log.append(&s, ExpectedVersion::NoStream, first).await.expect("ten events");
    drop(log);

    let client = support::client(&url).await.expect("a plain client");
    let q = |sql: &str| sql.replace("{s}", &format!("\"{}\"", schema.name));
    // Wait until the closed log's head row shows its ten events.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let marked: i64 = client.query_one(&q("SELECT next FROM {s}.head"), &[]).await.unwrap().get(0);
        if marked == 10 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the head row stayed at {marked}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Rows as groups in flight would have left them: 10 and 11 right above the head row, 14 and
    // 15 after a gap; and a head row that lags behind.
    let insert = q("INSERT INTO {s}.events (position, stream, version, id, event_type, data, metadata, \
         recorded_at_micros) VALUES ($1, 'r', $2, $3, 'Test.Happened.v1', '{}', '{}', 0)");
    let kept: Vec<EventId> = (0..2).map(|_| EventId::new_v7()).collect();
    for (position, id) in [(10i64, kept[0]), (11, kept[1]), (14, EventId::new_v7()), (15, EventId::new_v7())] {
        client.execute(&insert, &[&position, &position, &id.as_uuid()]).await.expect("insert a row");
    }
    client.execute(&q("UPDATE {s}.head SET next = 7"), &[]).await.unwrap();

    let log = PostgresLog::connect(&url, schema.options()).await.expect("reopen");
    assert_eq!(log.head().await.unwrap(), 12, "the gapless prefix: 0 to 11");
    let all = whole_log(&log).await;
    assert_eq!(all.iter().skip(10).map(|e| e.id).collect::<Vec<_>>(), kept, "the rows above the head row kept");
    let rows: i64 = client.query_one(&q("SELECT count(*) FROM {s}.events"), &[]).await.unwrap().get(0);
    assert_eq!(rows, 12, "the rows after the gap deleted");
    let marked: i64 = client.query_one(&q("SELECT next FROM {s}.head"), &[]).await.unwrap().get(0);
    assert_eq!(marked, 12, "the head row moved to the end");
    assert_eq!(log.stream_version(&s).await.unwrap(), Some(11));
    let next = log.append(&s, ExpectedVersion::Exact(11), vec![event(99)]).await.expect("an append after");
    assert_eq!((next.first_position, next.first_version), (12, 12));
}

/// A writer with one writing connection commits one group at a time and still passes everything
/// above; the option is checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_writing_connection_works_and_zero_is_refused() {
    let Some(url) = support::server("one_writing_connection_works_and_zero_is_refused").await else { return };
    let schema = TestSchema::new(&url, "one");
    let options = Options { writers: 1, ..schema.options() };
    let log = Arc::new(PostgresLog::connect(&url, options).await.expect("open"));
    let tasks: Vec<_> = (0..8u64)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    log.append(&stream(&format!("one-{w}")), ExpectedVersion::Any, vec![event(w * 100 + i)])
                        .await
                        .expect("an append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(whole_log(&log).await.len(), 160);
    match PostgresLog::connect(&url, Options { writers: 0, ..schema.options() }).await {
        Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "writers"),
        other => panic!("writers 0 must be refused, got {other:?}"),
    }
}
