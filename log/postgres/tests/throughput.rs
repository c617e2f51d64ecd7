//! Rough throughput of the PostgreSQL log, not a benchmark harness: appends per second with 64
//! concurrent single-event writers, with 16 and with 1 writer of batches of 100, and `read_all` in
//! pages of 1,000. Ignored by default; run in release against a real server:
//!
//! ```text
//! cargo test -p imece-log-postgres --release --test throughput -- --ignored --nocapture
//! ```

mod support;

use std::sync::Arc;
use std::time::Instant;

use imece_log::{EventLog, ExpectedVersion, NewEvent, StreamId};
use imece_log_postgres::PostgresLog;
use support::TestSchema;

/// About 200 bytes of JSON and 60 of metadata, like a registry event.
fn event(n: u64) -> NewEvent {
    let data = format!(
        "{{\"organisation\":\"org-{n:08}\",\"name\":\"Kooperatif {n}\",\"members\":{},\"address\":\"Cumhuriyet Cad. {} Ankara\",\"kind\":\"agricultural\",\"registered\":\"2025-06-01\"}}",
        n % 500,
        n % 97
    );
    NewEvent::new("OrganisationRegistered.v1", data)
        .with_metadata(format!("{{\"causation\":\"cmd-{n}\",\"actor\":\"registrar-{}\"}}", n % 13))
}

async fn appends(log: &Arc<PostgresLog>, writers: u64, appends_each: u64, batch: u64, tag: &str) -> (u64, f64) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let log = log.clone();
            let s = StreamId::new(format!("{tag}-{w}")).unwrap();
            tokio::spawn(async move {
                for i in 0..appends_each {
                    let first = (w * appends_each + i) * batch;
                    let events: Vec<NewEvent> = (first..first + batch).map(event).collect();
                    log.append(&s, ExpectedVersion::Any, events).await.expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let events = writers * appends_each * batch;
    (events, events as f64 / started.elapsed().as_secs_f64())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: run with --ignored --nocapture, in release"]
async fn throughput() {
    let Some(url) = support::server("throughput").await else { return };
    let schema = TestSchema::new(&url, "tput");
    let log = Arc::new(PostgresLog::connect(&url, schema.options()).await.expect("open"));

    let (n, rate) = appends(&log, 64, 300, 1, "single").await;
    support::say(&format!("64 writers x single-event appends: {n} events, {rate:.0} appends/s"));
    let (n, rate) = appends(&log, 16, 40, 100, "batch16").await;
    support::say(&format!("16 writers x batches of 100: {n} events, {rate:.0} events/s"));
    let (n, rate) = appends(&log, 1, 200, 100, "batch1").await;
    support::say(&format!(" 1 writer  x batches of 100: {n} events, {rate:.0} events/s"));

    let head = log.head().await.unwrap();
    let started = Instant::now();
    let mut read = 0;
    while read < head {
        read += log.read_all(read, 1000).await.unwrap().len() as u64;
    }
    let rate = read as f64 / started.elapsed().as_secs_f64();
    support::say(&format!("read_all in pages of 1,000: {read} events, {rate:.0} events/s"));
}
