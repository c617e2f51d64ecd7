//! The conformance suite: the contract of [`EventLog`] as tests that every storage backend runs.
//!
//! A backend implements [`Harness`] (how to open its storage) in one test file and invokes
//! [`conformance_suite!`](crate::conformance_suite) with a function that makes a fresh harness, with
//! empty storage, for every test:
//!
//! ```ignore
//! struct Embedded(tempfile::TempDir);
//!
//! #[async_trait::async_trait]
//! impl imece_log::conformance::Harness for Embedded {
//!     type Log = EmbeddedLog;
//!
//!     async fn open(&self) -> EmbeddedLog {
//!         EmbeddedLog::open(self.0.path()).expect("open the embedded log")
//!     }
//! }
//!
//! imece_log::conformance_suite!(|| async { Embedded(tempfile::tempdir().unwrap()) });
//! ```
//!
//! The macro expands to a module `conformance` with one `#[tokio::test]` per test; the using crate
//! needs nothing but `imece-log` with the feature `conformance`. Every test is also a public
//! `async fn` here, for a backend that wants to run some of them its own way.
//!
//! The tests are deterministic and small (the whole suite takes seconds). Every wait on the backend
//! is bounded, so a backend that hangs fails its test instead of stalling the run, and every
//! assertion says which rule of the contract broke.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::Barrier;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{
    AppendResult, Direction, Error, EventId, EventLog, EventStream, ExpectedVersion, MAX_BATCH_BYTES, MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES, MAX_EVENT_TYPE_LEN, NewEvent, RecordedEvent, Result, StreamAppend, StreamFrom, StreamId,
};

/// The runtime the tests of [`conformance_suite!`](crate::conformance_suite) run on, re-exported so
/// the using crate need not depend on it.
#[doc(hidden)]
pub use ::tokio;

/// How the suite reaches one backend's storage.
///
/// The suite makes a fresh harness for every test, whose storage is empty. Every call to
/// [`open`](Harness::open) opens that same storage again, so a test can drop the log and open it
/// anew to check that every acknowledged event survived (durability across reopen). Before it opens
/// again, a test drops the log it holds and every subscription of it: a backend that locks its
/// storage (the embedded log locks its directory) must release the lock once its handles are gone.
#[async_trait::async_trait]
pub trait Harness: Send + Sync + 'static {
    /// The backend under test.
    type Log: EventLog;

    /// Opens the harness's storage. Panics if it cannot, which fails the test.
    async fn open(&self) -> Self::Log;
}

/// One `#[tokio::test]` per test of the [conformance suite](crate::conformance), in a module
/// `conformance`.
///
/// `$make` is a function (usually a closure) returning a future of a fresh [`Harness`]; it is
/// called once per test (twice for a test that copies one log into another, such as
/// [`restore_reproduces_a_log_exactly`]), so a backend can set up its storage asynchronously (create
/// a database schema, say). Each call must give storage of its own. Items of the invoking module
/// are visible to `$make`.
///
/// ```ignore
/// imece_log::conformance_suite!(|| async { Embedded(tempfile::tempdir().unwrap()) });
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@tests $make;
            empty_log_reads_empty,
            appends_get_gapless_positions_and_versions,
            expected_version_any,
            expected_version_no_stream,
            expected_version_stream_exists,
            expected_version_exact,
            invalid_batch_is_refused_whole,
            retry_returns_original_result,
            retry_after_reopen_returns_original_result,
            concurrent_retries_write_once,
            reused_event_id_is_refused,
            read_stream_directions_and_limits,
            read_all_in_position_order,
            streams_with_similar_names_are_distinct,
            payloads_roundtrip,
            subscribe_before_first_event,
            subscribe_from_middle,
            subscribe_from_future_position,
            subscription_seam_under_concurrent_appends,
            slow_subscriber_does_not_block_writers,
            concurrent_exact_appends_have_one_winner,
            concurrent_optimistic_writers_all_land_once,
            concurrent_appends_to_distinct_streams,
            reopen_preserves_everything,
            many_events_read_in_pages,
            append_many_orders_parts_across_streams,
            append_many_wrong_version_in_last_part_writes_nothing,
            append_many_invalid_part_is_refused_whole,
            append_many_reused_ids_are_refused,
            append_many_retry_returns_original_results,
            append_many_is_seen_whole_by_subscribers,
            concurrent_append_many_and_appends_land_once,
            restore_refuses_conflicts_and_writes_nothing,
            repeated_restore_is_a_no_op,
            appends_continue_after_restore,
            restore_is_seen_by_subscribers,
            restored_ids_stay_idempotency_keys;
            // Tests given two harnesses: a source log and a target.
            restore_reproduces_a_log_exactly,
        );
    };
    (@tests $make:expr; $($test:ident),* $(,)?; $($pair:ident),* $(,)?) => {
        #[allow(unused_imports)]
        mod conformance {
            use super::*;
            // `#[tokio::test]` names its runtime by the path `tokio`; this makes that path the
            // suite's own tokio, whether or not the invoking crate depends on tokio itself.
            use $crate::conformance::tokio;

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::conformance::$test(($make)().await).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $pair() {
                    $crate::conformance::$pair(($make)().await, ($make)().await).await;
                }
            )*
        }
    };
}

/// How long one test may take before it fails as hung.
const TEST_LIMIT: Duration = Duration::from_secs(120);
/// How long a test waits for a subscription to yield what it should.
const WAIT: Duration = Duration::from_secs(30);
/// How long a subscription must stay silent to count as having nothing more to yield.
const QUIET: Duration = Duration::from_millis(200);
/// A read limit above the size of any test's log.
const ALL: usize = 10_000;
/// How far `recorded_at_micros` may be from the test's clock: catches other units, not clock skew.
const DAY_MICROS: i64 = 86_400_000_000;

// ---------------------------------------------------------------------------------------------
// Tests: the log as a whole
// ---------------------------------------------------------------------------------------------

/// Guards the empty log: head 0, every read empty, no stream versions, a silent subscription, the
/// same after a reopen, and the first event at position 0, version 0.
pub async fn empty_log_reads_empty<H: Harness>(h: H) {
    bounded("empty_log_reads_empty", async move {
        let s = stream("org-empty");
        let log = h.open().await;
        assert_empty(&log, &s, "a new log").await;
        drop(log);

        let log = h.open().await;
        assert_empty(&log, &s, "a new log, reopened").await;
        let r = ok("first append", log.append(&s, ExpectedVersion::NoStream, vec![event(0)]).await);
        assert_eq!(r, result(0, 0, 0, 0), "the first event of a reopened empty log must be at position 0, version 0");
        assert_eq!(ok("head", log.head().await), 1, "head after the first event");
    })
    .await;
}

/// Guards gapless numbering: positions from 0 across the log, versions from 0 per stream, batches
/// consecutive, the exact [`AppendResult`] of each append, `head` and `stream_version` after each.
pub async fn appends_get_gapless_positions_and_versions<H: Harness>(h: H) {
    bounded("appends_get_gapless_positions_and_versions", async move {
        let log = h.open().await;
        let (a, b, c) = (stream("org-a"), stream("org-b"), stream("org-c"));
        let mut model = Model::default();
        let steps: Vec<(&StreamId, ExpectedVersion, u64, AppendResult)> = vec![
            (&a, ExpectedVersion::NoStream, 3, result(0, 2, 0, 2)),
            (&b, ExpectedVersion::Any, 1, result(3, 3, 0, 0)),
            (&a, ExpectedVersion::Exact(2), 2, result(4, 5, 3, 4)),
            (&c, ExpectedVersion::NoStream, 4, result(6, 9, 0, 3)),
            (&b, ExpectedVersion::StreamExists, 1, result(10, 10, 1, 1)),
            (&a, ExpectedVersion::Any, 1, result(11, 11, 5, 5)),
        ];
        let mut n = 0;
        for (i, (s, expected, count, want)) in steps.into_iter().enumerate() {
            let batch = events(n, count);
            n += count;
            let ctx = format!("append #{i} ({count} events to {s}, expected {expected})");
            let got = ok(&ctx, log.append(s, expected, batch.clone()).await);
            assert_eq!(got, want, "{ctx}: wrong AppendResult");
            model.record(s, &got, &batch, &ctx);
            assert_eq!(ok("head", log.head().await), want.last_position + 1, "{ctx}: head must be the next position");
            assert_eq!(
                ok("stream_version", log.stream_version(s).await),
                Some(want.last_version),
                "{ctx}: stream_version must be the version of the stream's last event"
            );
        }
        model.check(&log, "after appends to three streams").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Tests: expected versions
// ---------------------------------------------------------------------------------------------

/// Guards [`ExpectedVersion::Any`]: it creates a stream and appends to an existing one.
pub async fn expected_version_any<H: Harness>(h: H) {
    bounded("expected_version_any", async move {
        let log = h.open().await;
        let (a, b) = (stream("any-a"), stream("any-b"));
        let mut model = Model::default();
        for (i, (s, count, want)) in
            [(&a, 1, result(0, 0, 0, 0)), (&b, 2, result(1, 2, 0, 1)), (&a, 2, result(3, 4, 1, 2))]
                .into_iter()
                .enumerate()
        {
            let batch = events(i as u64 * 10, count);
            let ctx = format!("append #{i} with Any to {s}");
            let got = ok(&ctx, log.append(s, ExpectedVersion::Any, batch.clone()).await);
            assert_eq!(got, want, "{ctx}: wrong AppendResult");
            model.record(s, &got, &batch, &ctx);
        }
        model.check(&log, "after appends with Any").await;
    })
    .await;
}

/// Guards [`ExpectedVersion::NoStream`]: it creates a stream, is refused on a stream with events
/// (reporting the stream's version), writes nothing when refused, and looks at the stream only,
/// not at the log.
pub async fn expected_version_no_stream<H: Harness>(h: H) {
    bounded("expected_version_no_stream", async move {
        let log = h.open().await;
        let (a, b) = (stream("no-stream-a"), stream("no-stream-b"));
        let mut model = Model::default();
        let batch = events(0, 2);
        let r = ok("NoStream on a new stream", log.append(&a, ExpectedVersion::NoStream, batch.clone()).await);
        assert_eq!(r, result(0, 1, 0, 1), "NoStream on a new stream: wrong AppendResult");
        model.record(&a, &r, &batch, "first append");

        let refused = log.append(&a, ExpectedVersion::NoStream, vec![event(2)]).await;
        assert_wrong_version(refused, &a, ExpectedVersion::NoStream, Some(1), "NoStream on a stream at version 1");
        assert_untouched(&log, 2, &a, Some(1), "after a refused NoStream").await;

        let batch = vec![event(3)];
        let r = ok(
            "NoStream on a new stream of a non-empty log",
            log.append(&b, ExpectedVersion::NoStream, batch.clone()).await,
        );
        assert_eq!(r, result(2, 2, 0, 0), "NoStream on a new stream of a non-empty log: wrong AppendResult");
        model.record(&b, &r, &batch, "append to b");
        model.check(&log, "after NoStream appends").await;
    })
    .await;
}

/// Guards [`ExpectedVersion::StreamExists`]: refused on a stream without events (actual `None`),
/// writing nothing; admitted once the stream has an event.
pub async fn expected_version_stream_exists<H: Harness>(h: H) {
    bounded("expected_version_stream_exists", async move {
        let log = h.open().await;
        let (a, other) = (stream("exists-a"), stream("exists-other"));
        let mut model = Model::default();

        let refused = log.append(&a, ExpectedVersion::StreamExists, vec![event(0)]).await;
        assert_wrong_version(refused, &a, ExpectedVersion::StreamExists, None, "StreamExists on an empty log");
        assert_untouched(&log, 0, &a, None, "after a refused StreamExists on an empty log").await;
        assert!(
            ok("read_stream", log.read_stream(&a, StreamFrom::Start, Direction::Forward, ALL).await).is_empty(),
            "a refused StreamExists left events in the stream"
        );

        let batch = vec![event(1)];
        let r = ok("append to another stream", log.append(&other, ExpectedVersion::Any, batch.clone()).await);
        model.record(&other, &r, &batch, "append to another stream");
        let refused = log.append(&a, ExpectedVersion::StreamExists, vec![event(2)]).await;
        assert_wrong_version(refused, &a, ExpectedVersion::StreamExists, None, "StreamExists on a missing stream");
        assert_untouched(&log, 1, &a, None, "after a refused StreamExists on a missing stream").await;

        let batch = vec![event(3)];
        let r = ok("create the stream", log.append(&a, ExpectedVersion::NoStream, batch.clone()).await);
        model.record(&a, &r, &batch, "create the stream");
        let batch = events(4, 3);
        let r = ok(
            "StreamExists on a stream with an event",
            log.append(&a, ExpectedVersion::StreamExists, batch.clone()).await,
        );
        assert_eq!(r, result(2, 4, 1, 3), "StreamExists on a stream at version 0: wrong AppendResult");
        model.record(&a, &r, &batch, "StreamExists append");
        model.check(&log, "after StreamExists appends").await;
    })
    .await;
}

/// Guards [`ExpectedVersion::Exact`]: refused on a missing stream (actual `None`), on a stale and
/// on a future version (actual the stream's version), writing nothing; admitted at the version.
pub async fn expected_version_exact<H: Harness>(h: H) {
    bounded("expected_version_exact", async move {
        let log = h.open().await;
        let a = stream("exact-a");
        let mut model = Model::default();

        let refused = log.append(&a, ExpectedVersion::Exact(0), vec![event(0)]).await;
        assert_wrong_version(refused, &a, ExpectedVersion::Exact(0), None, "Exact(0) on a missing stream");
        assert_untouched(&log, 0, &a, None, "after a refused Exact(0) on a missing stream").await;

        let batch = events(1, 3);
        let r = ok("create the stream", log.append(&a, ExpectedVersion::NoStream, batch.clone()).await);
        model.record(&a, &r, &batch, "create the stream");
        let batch = events(4, 2);
        let r = ok("Exact(2) on a stream at version 2", log.append(&a, ExpectedVersion::Exact(2), batch.clone()).await);
        assert_eq!(r, result(3, 4, 3, 4), "Exact(2) on a stream at version 2: wrong AppendResult");
        model.record(&a, &r, &batch, "Exact(2) append");

        for wrong in [2, 0, 3, 5, 1000, u64::MAX] {
            let refused = log.append(&a, ExpectedVersion::Exact(wrong), vec![event(6)]).await;
            let ctx = format!("Exact({wrong}) on a stream at version 4");
            assert_wrong_version(refused, &a, ExpectedVersion::Exact(wrong), Some(4), &ctx);
            assert_untouched(&log, 5, &a, Some(4), &format!("after a refused {ctx}")).await;
        }
        let batch = vec![event(7)];
        let r = ok("Exact(4) on a stream at version 4", log.append(&a, ExpectedVersion::Exact(4), batch.clone()).await);
        assert_eq!(r, result(5, 5, 5, 5), "Exact(4) on a stream at version 4: wrong AppendResult");
        model.record(&a, &r, &batch, "Exact(4) append");
        model.check(&log, "after Exact appends").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Tests: validation and idempotency
// ---------------------------------------------------------------------------------------------

/// Guards batch validation: a batch breaking a rule of [`crate::validate_batch`] anywhere is refused
/// as [`Error::InvalidInput`] naming the offending field, and none of it is written, not even its
/// valid events.
pub async fn invalid_batch_is_refused_whole<H: Harness>(h: H) {
    bounded("invalid_batch_is_refused_whole", async move {
        let log = h.open().await;
        let s = stream("invalid");
        let mut model = Model::default();
        let batch = vec![event(0)];
        let r = ok("first append", log.append(&s, ExpectedVersion::NoStream, batch.clone()).await);
        model.record(&s, &r, &batch, "first append");

        let nil = EventId::from_bytes([0; 16]);
        let repeated = event(12);
        let big = pattern(MAX_BATCH_BYTES / 4, 7);
        let first_valid = event(1);
        let cases: Vec<(&str, Vec<NewEvent>, &str)> = vec![
            ("an empty batch", vec![], "events"),
            ("a nil id in the middle", vec![first_valid.clone(), event(2).with_id(nil), event(3)], "events[1].id"),
            (
                "an id repeated in the batch",
                vec![repeated.clone(), event(13), repeated.with_metadata("x")],
                "events[2].id",
            ),
            ("an empty event type", vec![event(4), NewEvent::new("", "{}"), event(5)], "events[1].event_type"),
            (
                "an over-long event type",
                vec![event(6), NewEvent::new("t".repeat(MAX_EVENT_TYPE_LEN + 1), "{}")],
                "events[1].event_type",
            ),
            (
                "a control character in the event type",
                vec![event(7), NewEvent::new("Bad\n.v1", "{}")],
                "events[1].event_type",
            ),
            (
                "an event one byte too large",
                vec![
                    event(8),
                    NewEvent::new("Large.v1", pattern(MAX_EVENT_BYTES - 9, 8)).with_metadata(pattern(10, 9)),
                ],
                "events[1].data",
            ),
            ("too many events", (0..MAX_BATCH_EVENTS as u64 + 1).map(event).collect(), "events"),
            ("too many bytes", (0..5).map(|_| NewEvent::new("Large.v1", big.clone())).collect(), "events"),
        ];
        for (what, batch, field) in cases {
            let ctx = format!("a batch with {what}");
            match log.append(&s, ExpectedVersion::Any, batch).await {
                Err(Error::InvalidInput { field: got, rule }) => {
                    assert_eq!(got, field, "{ctx}: InvalidInput names the wrong field (rule: {rule})")
                }
                other => panic!("{ctx}: expected InvalidInput for {field}, got {other:?}"),
            }
            assert_untouched(&log, 1, &s, Some(0), &format!("after refusing {ctx}")).await;
        }

        // The valid first event of a refused batch was not recorded: appending it alone is a new append.
        let batch = vec![first_valid];
        let r = ok(
            "appending alone a valid event of a refused batch",
            log.append(&s, ExpectedVersion::Exact(0), batch.clone()).await,
        );
        assert_eq!(r, result(1, 1, 1, 1), "a valid event of a refused batch must append as new: wrong AppendResult");
        model.record(&s, &r, &batch, "appending a valid event of a refused batch");
        model.check(&log, "after refused batches").await;
    })
    .await;
}

/// Guards idempotency: re-appending a batch already in the log (same ids, stream and content)
/// returns its original [`AppendResult`] whatever the expected version, even one the stream is at
/// now, and writes nothing.
pub async fn retry_returns_original_result<H: Harness>(h: H) {
    bounded("retry_returns_original_result", async move {
        let log = h.open().await;
        let (a, b) = (stream("retry-a"), stream("retry-b"));
        let mut model = Model::default();
        let first = events(0, 3);
        let r1 = ok("first batch", log.append(&a, ExpectedVersion::NoStream, first.clone()).await);
        model.record(&a, &r1, &first, "first batch");
        let single = vec![event(3)];
        let r2 = ok("single event", log.append(&b, ExpectedVersion::NoStream, single.clone()).await);
        model.record(&b, &r2, &single, "single event");
        let third = events(4, 2);
        let r3 = ok("third batch", log.append(&a, ExpectedVersion::Exact(2), third.clone()).await);
        model.record(&a, &r3, &third, "third batch");

        let retries: Vec<(&str, &StreamId, ExpectedVersion, &Vec<NewEvent>, AppendResult)> = vec![
            ("the first batch with its stale NoStream", &a, ExpectedVersion::NoStream, &first, r1),
            ("the first batch with Any", &a, ExpectedVersion::Any, &first, r1),
            ("the first batch with StreamExists", &a, ExpectedVersion::StreamExists, &first, r1),
            ("the first batch with the stream's current version", &a, ExpectedVersion::Exact(4), &first, r1),
            ("the first batch with a wrong version", &a, ExpectedVersion::Exact(99), &first, r1),
            ("the single event with its stale NoStream", &b, ExpectedVersion::NoStream, &single, r2),
            ("the single event with the stream's current version", &b, ExpectedVersion::Exact(0), &single, r2),
            ("the last batch with its stale Exact(2)", &a, ExpectedVersion::Exact(2), &third, r3),
            ("the last batch with the stream's current version", &a, ExpectedVersion::Exact(4), &third, r3),
        ];
        for (what, s, expected, batch, original) in retries {
            let ctx = format!("retrying {what}");
            let got = ok(&ctx, log.append(s, expected, batch.clone()).await);
            assert_eq!(got, original, "{ctx}: a retry must return the original AppendResult");
            assert_untouched(&log, 6, &a, Some(4), &ctx).await;
            assert_eq!(ok("stream_version", log.stream_version(&b).await), Some(0), "{ctx}: stream {b} changed");
        }
        model.check(&log, "after retries").await;
    })
    .await;
}

/// Guards idempotency across a reopen: a retry after reopening still returns the original result
/// and writes nothing, a reused id with other content is still refused, and appends continue.
pub async fn retry_after_reopen_returns_original_result<H: Harness>(h: H) {
    bounded("retry_after_reopen_returns_original_result", async move {
        let log = h.open().await;
        let (a, b) = (stream("reopen-retry-a"), stream("reopen-retry-b"));
        let mut model = Model::default();
        let first = events(0, 4);
        let r1 = ok("first batch", log.append(&a, ExpectedVersion::NoStream, first.clone()).await);
        model.record(&a, &r1, &first, "first batch");
        let second = events(4, 2);
        let r2 = ok("second batch", log.append(&b, ExpectedVersion::NoStream, second.clone()).await);
        model.record(&b, &r2, &second, "second batch");
        drop(log);

        let log = h.open().await;
        let got = ok(
            "retrying the first batch after reopening",
            log.append(&a, ExpectedVersion::NoStream, first.clone()).await,
        );
        assert_eq!(got, r1, "retrying the first batch after reopening must return the original AppendResult");
        let got =
            ok("retrying the second batch after reopening", log.append(&b, ExpectedVersion::Any, second.clone()).await);
        assert_eq!(got, r2, "retrying the second batch after reopening must return the original AppendResult");
        assert_untouched(&log, 6, &a, Some(3), "after retries following a reopen").await;

        let changed = vec![first[1].clone().with_metadata("changed")];
        assert_duplicate(
            log.append(&a, ExpectedVersion::Any, changed).await,
            &[first[1].id],
            "after reopening, an id reused with other metadata",
        );
        assert_untouched(&log, 6, &a, Some(3), "after a refused reused id following a reopen").await;

        let batch = vec![event(6)];
        let r = ok("appending after the retries", log.append(&a, ExpectedVersion::Exact(3), batch.clone()).await);
        assert_eq!(r, result(6, 6, 4, 4), "appending after retries following a reopen: wrong AppendResult");
        model.record(&a, &r, &batch, "appending after the retries");
        model.check(&log, "after retries following a reopen").await;
    })
    .await;
}

/// Guards idempotency under a race: the same batch appended by several tasks at once lands once,
/// and every task gets the same, original result.
pub async fn concurrent_retries_write_once<H: Harness>(h: H) {
    bounded("concurrent_retries_write_once", async move {
        const TASKS: usize = 6;
        let log = Arc::new(h.open().await);
        let s = stream("racing-retries");
        let batch = events(0, 3);
        let barrier = Arc::new(Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (log, s, batch, barrier) = (log.clone(), s.clone(), batch.clone(), barrier.clone());
                spawn(async move {
                    barrier.wait().await;
                    log.append(&s, ExpectedVersion::NoStream, batch).await
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let got = ok(&format!("racing append #{i} of the same batch"), join(task).await);
            assert_eq!(
                got,
                result(0, 2, 0, 2),
                "racing append #{i} of the same batch: every racer must get the one original result"
            );
        }
        let mut model = Model::default();
        model.record(&s, &result(0, 2, 0, 2), &batch, "the racing batch");
        model.check(log.as_ref(), "after racing appends of the same batch").await;
    })
    .await;
}

/// Guards reused event ids: an id already in the log with other data, type or metadata, or in
/// another stream, or a batch only part of which is in the log, is [`Error::DuplicateEventId`]
/// naming the id, and nothing of the batch is written.
pub async fn reused_event_id_is_refused<H: Harness>(h: H) {
    bounded("reused_event_id_is_refused", async move {
        let log = h.open().await;
        let (a, b) = (stream("dup-a"), stream("dup-b"));
        let mut model = Model::default();
        let original = events(0, 2);
        let r = ok("original batch", log.append(&a, ExpectedVersion::NoStream, original.clone()).await);
        model.record(&a, &r, &original, "original batch");
        let (e0, e1) = (original[0].clone(), original[1].clone());
        let fresh = event(10);

        let mut other_data = e0.clone();
        other_data.data = Bytes::from_static(b"{\"n\":\"other\"}");
        let mut other_type = e0.clone();
        other_type.event_type = "Conformance.Other.v1".to_owned();
        // Expected versions the stream is at, so that only the reused id is wrong.
        let at_a = [ExpectedVersion::Any, ExpectedVersion::Exact(1)];
        let at_b = [ExpectedVersion::Any, ExpectedVersion::NoStream];
        let cases = vec![
            ("an id reused with other data", &a, at_a, vec![other_data], vec![e0.id]),
            ("an id reused with another event type", &a, at_a, vec![other_type], vec![e0.id]),
            (
                "an id reused with other metadata",
                &a,
                at_a,
                vec![e0.clone().with_metadata("{\"other\":1}")],
                vec![e0.id],
            ),
            ("an id reused with the same content in another stream", &b, at_b, vec![e0.clone()], vec![e0.id]),
            ("a batch whose later event is in the log", &a, at_a, vec![fresh.clone(), e1.clone()], vec![e1.id]),
            ("a batch whose first event is in the log", &a, at_a, vec![e0.clone(), fresh.clone()], vec![e0.id]),
            (
                "a batch whose events are in the log, but with a new one",
                &a,
                at_a,
                vec![e0.clone(), e1.clone(), fresh.clone()],
                vec![e0.id, e1.id],
            ),
        ];
        for (what, s, expecteds, batch, ids) in cases {
            for expected in expecteds {
                let ctx = format!("{what} (expected {expected})");
                assert_duplicate(log.append(s, expected, batch.clone()).await, &ids, &ctx);
                assert_untouched(&log, 2, &a, Some(1), &ctx).await;
                assert_eq!(ok("stream_version", log.stream_version(&b).await), None, "{ctx}: stream {b} was written");
            }
        }

        // The new event of the refused batches was not recorded.
        let batch = vec![fresh];
        let r = ok(
            "appending alone the new event of refused batches",
            log.append(&a, ExpectedVersion::Exact(1), batch.clone()).await,
        );
        assert_eq!(r, result(2, 2, 2, 2), "the new event of refused batches must append as new: wrong AppendResult");
        model.record(&a, &r, &batch, "the new event alone");
        model.check(&log, "after reused ids").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Tests: reads
// ---------------------------------------------------------------------------------------------

/// Guards `read_stream`: forward from the start, backward from the end, from a version (included)
/// either way, limits (0 and huge included), past the end and missing streams reading empty, and
/// every event as it was appended with the right position.
pub async fn read_stream_directions_and_limits<H: Harness>(h: H) {
    bounded("read_stream_directions_and_limits", async move {
        let log = h.open().await;
        let (a, b, missing) = (stream("reads-a"), stream("reads-b"), stream("reads-missing"));
        let mut model = Model::default();
        // Interleaved, so that positions and versions differ.
        for i in 0..10 {
            let batch = vec![event(i * 2)];
            let r = ok("append to a", log.append(&a, ExpectedVersion::Any, batch.clone()).await);
            model.record(&a, &r, &batch, "append to a");
            if i % 2 == 0 {
                let batch = vec![event(i * 2 + 1)];
                let r = ok("append to b", log.append(&b, ExpectedVersion::Any, batch.clone()).await);
                model.record(&b, &r, &batch, "append to b");
            }
        }
        model.check(&log, "the stream to read").await;

        use Direction::{Backward, Forward};
        use StreamFrom::{End, Start, Version};
        let down = |from: u64| (0..=from).rev().collect::<Vec<u64>>();
        let cases: Vec<(StreamFrom, Direction, usize, Vec<u64>)> = vec![
            (Start, Forward, ALL, (0..10).collect()),
            (Start, Forward, 3, vec![0, 1, 2]),
            (Start, Forward, 10, (0..10).collect()),
            (Start, Forward, 11, (0..10).collect()),
            (Start, Forward, usize::MAX, (0..10).collect()),
            (Start, Forward, 0, vec![]),
            (Version(0), Forward, ALL, (0..10).collect()),
            (Version(4), Forward, 3, vec![4, 5, 6]),
            (Version(8), Forward, 5, vec![8, 9]),
            (Version(9), Forward, 1, vec![9]),
            (Version(10), Forward, ALL, vec![]),
            (Version(11), Forward, ALL, vec![]),
            (Version(u64::MAX), Forward, ALL, vec![]),
            (Version(4), Forward, 0, vec![]),
            (End, Backward, ALL, down(9)),
            (End, Backward, 3, vec![9, 8, 7]),
            (End, Backward, 1, vec![9]),
            (End, Backward, usize::MAX, down(9)),
            (End, Backward, 0, vec![]),
            (Version(9), Backward, ALL, down(9)),
            (Version(4), Backward, ALL, down(4)),
            (Version(4), Backward, 2, vec![4, 3]),
            (Version(0), Backward, ALL, vec![0]),
            (Version(4), Backward, 0, vec![]),
        ];
        for (from, direction, limit, want) in cases {
            let ctx = format!("read_stream({a}, {from:?}, {direction:?}, limit {limit})");
            let got = ok(&ctx, log.read_stream(&a, from, direction, limit).await);
            assert_eq!(got.iter().map(|e| e.version).collect::<Vec<_>>(), want, "{ctx}: wrong versions");
            for e in &got {
                model.assert_matches(e, &ctx);
            }
        }
        let got = ok("read_stream b", log.read_stream(&b, End, Backward, 2).await);
        assert_eq!(got.iter().map(|e| e.version).collect::<Vec<_>>(), vec![4, 3], "read_stream({b}, End, Backward, 2)");

        for (from, direction) in
            [(Start, Forward), (End, Backward), (Version(0), Forward), (Version(0), Backward), (End, Forward)]
        {
            let ctx = format!("read_stream of a missing stream from {from:?} {direction:?}");
            let got = ok(&ctx, log.read_stream(&missing, from, direction, ALL).await);
            assert!(got.is_empty(), "{ctx}: must be empty, got {} events", got.len());
        }
    })
    .await;
}

/// Guards `read_all`: events in position order from `from` (included), limits (0 and huge
/// included), reads past the head empty, and paging one event at a time.
pub async fn read_all_in_position_order<H: Harness>(h: H) {
    bounded("read_all_in_position_order", async move {
        let log = h.open().await;
        let streams = [stream("all-a"), stream("all-b"), stream("all-c")];
        let mut model = Model::default();
        let mut n = 0;
        for (i, size) in chunks(20, &[1, 3, 2, 5, 1, 4]).into_iter().enumerate() {
            let s = &streams[i % 3];
            let batch = events(n, size);
            n += size;
            let r = ok("append", log.append(s, ExpectedVersion::Any, batch.clone()).await);
            model.record(s, &r, &batch, "append");
        }
        model.check(&log, "the log to read").await;

        let cases: Vec<(u64, usize, Vec<u64>)> = vec![
            (0, ALL, (0..20).collect()),
            (0, 20, (0..20).collect()),
            (0, 21, (0..20).collect()),
            (0, usize::MAX, (0..20).collect()),
            (0, 1, vec![0]),
            (5, 3, vec![5, 6, 7]),
            (19, 10, vec![19]),
            (20, 10, vec![]),
            (21, 1, vec![]),
            (u64::MAX, 10, vec![]),
            (0, 0, vec![]),
            (7, 0, vec![]),
        ];
        for (from, limit, want) in cases {
            let ctx = format!("read_all({from}, limit {limit})");
            let got = ok(&ctx, log.read_all(from, limit).await);
            assert_eq!(got.iter().map(|e| e.position).collect::<Vec<_>>(), want, "{ctx}: wrong positions");
            for e in &got {
                model.assert_matches(e, &ctx);
            }
        }
        let mut paged = Vec::new();
        loop {
            let page = ok("read_all one at a time", log.read_all(paged.len() as u64, 1).await);
            assert!(page.len() <= 1, "read_all with limit 1 returned {} events", page.len());
            match page.into_iter().next() {
                Some(e) => paged.push(e),
                None => break,
            }
            assert!(paged.len() <= 20, "read_all one at a time does not end at the head");
        }
        assert_eq!(paged.len(), 20, "read_all one at a time read the wrong number of events");
        assert_same_events(&paged, &ok("read_all", log.read_all(0, ALL).await), "read_all one at a time vs at once");
    })
    .await;
}

/// Guards stream identity: streams whose names are prefixes of each other, differ in case, in a
/// trailing space, or in characters special to SQL or paths, are all distinct streams.
pub async fn streams_with_similar_names_are_distinct<H: Harness>(h: H) {
    bounded("streams_with_similar_names_are_distinct", async move {
        let log = h.open().await;
        let longest = format!("o{}", "r".repeat(crate::MAX_STREAM_ID_LEN - 1));
        let names = [
            "org",
            "org-1",
            "org-10",
            "org-1-a",
            "Org",
            "ORG",
            "org ",
            " org",
            "org_1",
            "org%",
            "org/1",
            "org\\1",
            "org:1",
            "org'1",
            "örgüt",
            "orgüt",
            "org-1\u{200b}",
            "o",
            longest.as_str(),
        ];
        let streams: Vec<StreamId> = names.iter().map(|n| stream(n)).collect();
        let mut model = Model::default();
        let mut n = 0;
        for round in 0..2 {
            for s in &streams {
                let expected = if round == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(0) };
                let batch = vec![event(n)];
                n += 1;
                let ctx = format!("append #{round} to stream {s:?} (expected {expected})");
                let r = ok(&ctx, log.append(s, expected, batch.clone()).await);
                assert_eq!(r.first_version, round, "{ctx}: the stream is not distinct from the others");
                model.record(s, &r, &batch, &ctx);
            }
        }
        model.check(&log, "after appends to similarly named streams").await;
    })
    .await;
}

/// Guards payloads: empty data, one byte, every byte value, 100 KB, metadata alone, non-ASCII and
/// longest event types and the largest allowed event roundtrip byte for byte, through every read,
/// a subscription, and a reopen; `recorded_at_micros` is microseconds since the Unix epoch.
pub async fn payloads_roundtrip<H: Harness>(h: H) {
    bounded("payloads_roundtrip", async move {
        let log = h.open().await;
        let s = stream("payloads");
        let mut model = Model::default();
        let cases: Vec<(&str, NewEvent)> = vec![
            ("empty data and metadata", NewEvent::new("Empty.v1", Bytes::new())),
            ("one byte of data", NewEvent::new("OneByte.v1", Bytes::from_static(b"x"))),
            ("a zero byte", NewEvent::new("Zero.v1", vec![0u8])),
            ("every byte value", NewEvent::new("AllBytes.v1", (0..=255u8).collect::<Vec<u8>>())),
            (
                "100 KB of data and 1 KB of metadata",
                NewEvent::new("Large.v1", pattern(100 * 1024, 1)).with_metadata(pattern(1024, 2)),
            ),
            ("metadata only", NewEvent::new("MetadataOnly.v1", Bytes::new()).with_metadata("{\"causation\":\"c-1\"}")),
            ("a non-ASCII event type", NewEvent::new("ÜyeKaydı.Tamamlandı.v1", "{\"ad\":\"Çağrı\"}")),
            ("the longest event type", NewEvent::new("T".repeat(MAX_EVENT_TYPE_LEN), "{}")),
            (
                "the largest allowed event",
                NewEvent::new("Largest.v1", pattern(MAX_EVENT_BYTES - 100, 3)).with_metadata(pattern(100, 4)),
            ),
        ];
        for (what, e) in &cases {
            let batch = vec![e.clone()];
            let ctx = format!("appending {what}");
            let r = ok(&ctx, log.append(&s, ExpectedVersion::Any, batch.clone()).await);
            model.record(&s, &r, &batch, &ctx);
        }
        let batch: Vec<NewEvent> = cases.iter().map(|(_, e)| e.clone().with_id(EventId::new_v7())).collect();
        let r = ok("appending every payload in one batch", log.append(&s, ExpectedVersion::Any, batch.clone()).await);
        model.record(&s, &r, &batch, "appending every payload in one batch");
        model.check(&log, "payloads").await;

        let head = ok("head", log.head().await);
        let mut sub = log.subscribe_all(0);
        let got = take_events(&mut sub, head, "subscription to payloads").await;
        for e in &got {
            model.assert_matches(e, "payloads through a subscription");
        }
        drop(sub);
        drop(log);

        let log = h.open().await;
        model.check(&log, "payloads after a reopen").await;
        let backward = ok("read_stream backward", log.read_stream(&s, StreamFrom::End, Direction::Backward, ALL).await);
        for e in &backward {
            model.assert_matches(e, "payloads after a reopen, read backward");
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Tests: subscriptions
// ---------------------------------------------------------------------------------------------

/// Guards a subscription from position 0 made before the first event: silent while the log is
/// empty, then every event live, in order, exactly as `read_all` returns it.
pub async fn subscribe_before_first_event<H: Harness>(h: H) {
    bounded("subscribe_before_first_event", async move {
        let log = h.open().await;
        let mut sub = log.subscribe_all(0);
        assert_quiet(&mut sub, "a subscription to an empty log").await;
        let (a, b) = (stream("sub-a"), stream("sub-b"));
        let mut n = 0;
        for (s, size) in [(&a, 1), (&b, 3), (&a, 2)] {
            ok("append", log.append(s, ExpectedVersion::Any, events(n, size)).await);
            n += size;
        }
        let got = take_events(&mut sub, 6, "a subscription made before the first event").await;
        assert_contiguous(&got, 0, "a subscription made before the first event");
        assert_same_events(&got, &ok("read_all", log.read_all(0, ALL).await), "subscription vs read_all");
        assert_quiet(&mut sub, "a subscription that has seen every event").await;
    })
    .await;
}

/// Guards a subscription from a position inside the log: it starts exactly there, catches up and
/// goes on live; one from the head yields only what comes after.
pub async fn subscribe_from_middle<H: Harness>(h: H) {
    bounded("subscribe_from_middle", async move {
        let log = h.open().await;
        let s = stream("sub-middle");
        for i in 0..4 {
            ok("append", log.append(&s, ExpectedVersion::Any, events(i * 5, 5)).await);
        }
        let mut middle = log.subscribe_all(7);
        let mut at_head = log.subscribe_all(20);
        let got = take_events(&mut middle, 13, "a subscription from position 7").await;
        assert_contiguous(&got, 7, "a subscription from position 7");
        assert_quiet(&mut at_head, "a subscription from the head, before new events").await;

        ok("append", log.append(&s, ExpectedVersion::Exact(19), events(20, 2)).await);
        ok("append", log.append(&s, ExpectedVersion::Exact(21), events(22, 3)).await);
        let mut live = take_events(&mut middle, 5, "a subscription from position 7, once live").await;
        let mut all = got;
        all.append(&mut live);
        assert_contiguous(&all, 7, "a subscription from position 7, caught up and live");
        assert_same_events(&all, &ok("read_all", log.read_all(7, ALL).await), "subscription from 7 vs read_all");
        let got = take_events(&mut at_head, 5, "a subscription from the head").await;
        assert_contiguous(&got, 20, "a subscription from the head");
        assert_quiet(&mut middle, "a subscription from position 7 that has seen every event").await;
        assert_quiet(&mut at_head, "a subscription from the head that has seen every event").await;
    })
    .await;
}

/// Guards a subscription from a position the log has not reached: it yields nothing before that
/// position, then every event from it on.
pub async fn subscribe_from_future_position<H: Harness>(h: H) {
    bounded("subscribe_from_future_position", async move {
        let log = h.open().await;
        let s = stream("sub-future");
        ok("append", log.append(&s, ExpectedVersion::Any, events(0, 3)).await);
        let mut sub = log.subscribe_all(6);
        assert_quiet(&mut sub, "a subscription from position 6 of a log with 3 events").await;
        for i in 3..8 {
            ok("append", log.append(&s, ExpectedVersion::Any, vec![event(i)]).await);
        }
        let got = take_events(&mut sub, 2, "a subscription from position 6").await;
        assert_contiguous(&got, 6, "a subscription from a position the log had not reached");
        assert_quiet(&mut sub, "a subscription from position 6 that has seen every event").await;
    })
    .await;
}

/// Guards the catch-up/live seam: subscriptions made before and while 4 tasks append 1,000 events
/// in batches yield every position from theirs on exactly once, in order, with no gap, and then a
/// later append.
pub async fn subscription_seam_under_concurrent_appends<H: Harness>(h: H) {
    bounded("subscription_seam_under_concurrent_appends", async move {
        const WRITERS: u64 = 4;
        const PER_WRITER: u64 = 250;
        const HISTORY: u64 = 100;
        const TOTAL: u64 = HISTORY + WRITERS * PER_WRITER;
        let log = Arc::new(h.open().await);
        let history = stream("seam-history");
        for i in 0..HISTORY / 10 {
            ok("history append", log.append(&history, ExpectedVersion::Any, events(i * 10, 10)).await);
        }

        let mut subscribers =
            vec![consume(log.subscribe_all(50), 50, TOTAL, "a subscription from 50 made before the writers")];
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let log = log.clone();
                spawn(async move {
                    let s = stream(&format!("seam-writer-{w}"));
                    let mut n = 0;
                    for size in chunks(PER_WRITER, &[1, 4, 1, 9, 2, 25, 1, 7]) {
                        let ctx = format!("writer {w} appending {size} events");
                        ok(&ctx, log.append(&s, ExpectedVersion::Any, events((w + 1) * 1000 + n, size)).await);
                        n += size;
                    }
                })
            })
            .collect();
        let mid = wait_for_head(log.as_ref(), HISTORY + 300).await;
        subscribers.push(consume(
            log.subscribe_all(mid),
            mid,
            TOTAL,
            "a subscription from the head while writers append",
        ));
        subscribers.push(consume(
            log.subscribe_all(mid - 7),
            mid - 7,
            TOTAL,
            "a subscription from just behind the head while writers append",
        ));
        subscribers.push(consume(log.subscribe_all(0), 0, TOTAL, "a subscription from 0 while writers append"));
        for w in writers {
            join(w).await;
        }
        assert_eq!(ok("head", log.head().await), TOTAL, "head after all writers finished");
        let all = ok("read_all", log.read_all(0, ALL).await);
        assert_contiguous(&all, 0, "read_all after concurrent writers");

        let mut subs = Vec::new();
        for (task, from) in subscribers {
            let (sub, got, what) = join(task).await;
            assert_contiguous(&got, from, &what);
            assert_same_events(&got, &all[from as usize..], &format!("{what} vs read_all"));
            subs.push((sub, what));
        }

        ok("a later append", log.append(&history, ExpectedVersion::Any, vec![event(99_999)]).await);
        let later = ok("read_all", log.read_all(TOTAL, ALL).await);
        for (mut sub, what) in subs {
            let got = take_events(&mut sub, 1, &format!("{what}, after the writers")).await;
            assert_same_events(&got, &later, &format!("{what}: the append after the writers"));
            assert_quiet(&mut sub, &format!("{what}, having seen every event")).await;
        }
    })
    .await;
}

/// Guards slow subscribers: appends finish while subscriptions go unpolled (or are dropped), and
/// those subscriptions then still yield every event exactly once, in order.
pub async fn slow_subscriber_does_not_block_writers<H: Harness>(h: H) {
    bounded("slow_subscriber_does_not_block_writers", async move {
        const WRITERS: u64 = 4;
        const APPENDS: u64 = 50;
        const BATCH: u64 = 10;
        const TOTAL: u64 = 1 + WRITERS * APPENDS * BATCH;
        let log = Arc::new(h.open().await);
        ok("first append", log.append(&stream("slow-first"), ExpectedVersion::NoStream, vec![event(0)]).await);
        let mut live = log.subscribe_all(0);
        take_events(&mut live, 1, "a subscription before the writers").await;
        let mut idle = log.subscribe_all(0);
        drop(log.subscribe_all(0));

        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let log = log.clone();
                spawn(async move {
                    let s = stream(&format!("slow-writer-{w}"));
                    for i in 0..APPENDS {
                        let ctx = format!("writer {w} append {i}");
                        ok(
                            &ctx,
                            log.append(&s, ExpectedVersion::Any, events((w + 1) * 10_000 + i * BATCH, BATCH)).await,
                        );
                    }
                })
            })
            .collect();
        let all_writers = async {
            for w in writers {
                join(w).await;
            }
        };
        if tokio::time::timeout(WAIT, all_writers).await.is_err() {
            panic!(
                "appends of {} events did not finish within {WAIT:?} while two subscriptions went unpolled",
                TOTAL - 1
            );
        }
        assert_eq!(ok("head", log.head().await), TOTAL, "head after the writers");

        let all = ok("read_all", log.read_all(0, ALL).await);
        let got = take_events(&mut live, TOTAL - 1, "a subscription unpolled while writers appended").await;
        assert_contiguous(&got, 1, "a subscription unpolled while writers appended");
        assert_same_events(&got, &all[1..], "an unpolled subscription vs read_all");
        let got = take_events(&mut idle, TOTAL, "a subscription never polled before the writers finished").await;
        assert_contiguous(&got, 0, "a subscription never polled before the writers finished");
        assert_same_events(&got, &all, "a never-polled subscription vs read_all");
        assert_quiet(&mut live, "an unpolled subscription, having seen every event").await;
        assert_quiet(&mut idle, "a never-polled subscription, having seen every event").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Tests: concurrency
// ---------------------------------------------------------------------------------------------

/// Guards optimistic concurrency: of tasks appending at once to one stream at the same expected
/// version, exactly one wins each round; the others get [`Error::WrongExpectedVersion`] with the
/// winner's version and write nothing.
pub async fn concurrent_exact_appends_have_one_winner<H: Harness>(h: H) {
    bounded("concurrent_exact_appends_have_one_winner", async move {
        const ROUNDS: u64 = 8;
        const CONTENDERS: u64 = 6;
        let log = Arc::new(h.open().await);
        let s = stream("contended");
        let mut model = Model::default();
        for round in 0..ROUNDS {
            let expected = if round == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(round - 1) };
            let barrier = Arc::new(Barrier::new(CONTENDERS as usize));
            let tasks: Vec<_> = (0..CONTENDERS)
                .map(|c| {
                    let (log, s, barrier) = (log.clone(), s.clone(), barrier.clone());
                    spawn(async move {
                        let batch = vec![event(round * 100 + c)];
                        barrier.wait().await;
                        let r = log.append(&s, expected, batch.clone()).await;
                        (batch, r)
                    })
                })
                .collect();
            let mut winners = Vec::new();
            for task in tasks {
                let (batch, r) = join(task).await;
                let ctx = format!("round {round}: a contender appending with expected {expected}");
                match r {
                    Ok(r) => winners.push((batch, r)),
                    Err(e) => assert_wrong_version(Err::<(), _>(e), &s, expected, Some(round), &ctx),
                }
            }
            assert_eq!(
                winners.len(),
                1,
                "round {round}: {} of {CONTENDERS} appends with expected {expected} succeeded; exactly one must",
                winners.len()
            );
            let (batch, r) = winners.remove(0);
            assert_eq!(r, result(round, round, round, round), "round {round}: the winner's AppendResult");
            model.record(&s, &r, &batch, &format!("round {round}"));
        }
        model.check(log.as_ref(), "after contended rounds").await;
    })
    .await;
}

/// Guards optimistic writers racing on one stream with read-then-append retry loops: every event
/// lands exactly once, versions gapless, and no append succeeds at a version it did not expect.
pub async fn concurrent_optimistic_writers_all_land_once<H: Harness>(h: H) {
    bounded("concurrent_optimistic_writers_all_land_once", async move {
        const WRITERS: u64 = 4;
        const PER_WRITER: u64 = 15;
        let log = Arc::new(h.open().await);
        let s = stream("optimistic");
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (log, s) = (log.clone(), s.clone());
                spawn(async move {
                    let mut ids = Vec::new();
                    for i in 0..PER_WRITER {
                        let e = event(w * 100 + i);
                        ids.push(e.id);
                        let mut attempts = 0;
                        loop {
                            attempts += 1;
                            assert!(attempts < 10_000, "writer {w}: event {i} did not land after {attempts} attempts");
                            let seen = ok("stream_version", log.stream_version(&s).await);
                            let expected = seen.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                            match log.append(&s, expected, vec![e.clone()]).await {
                                Ok(r) => {
                                    let want = seen.map_or(0, |v| v + 1);
                                    assert_eq!(
                                        (r.first_version, r.last_version),
                                        (want, want),
                                        "writer {w}: an append expecting {expected} landed at the wrong version"
                                    );
                                    break;
                                }
                                Err(Error::WrongExpectedVersion { actual, .. }) => assert!(
                                    actual > seen,
                                    "writer {w}: refused expecting {expected}, but the stream was at {actual:?}"
                                ),
                                Err(e) => panic!("writer {w}: unexpected error: {e}"),
                            }
                        }
                    }
                    ids
                })
            })
            .collect();
        let mut ids = HashSet::new();
        for task in tasks {
            ids.extend(join(task).await);
        }
        let total = WRITERS * PER_WRITER;
        assert_eq!(ok("head", log.head().await), total, "head after racing writers");
        let got = ok("read_stream", log.read_stream(&s, StreamFrom::Start, Direction::Forward, ALL).await);
        assert_eq!(
            got.iter().map(|e| e.version).collect::<Vec<_>>(),
            (0..total).collect::<Vec<_>>(),
            "stream versions"
        );
        let read: HashSet<EventId> = got.iter().map(|e| e.id).collect();
        assert_eq!(read.len(), got.len(), "an event landed twice");
        assert_eq!(read, ids, "the stream holds other events than those appended");
    })
    .await;
}

/// Guards concurrent appends to distinct streams: every position from 0 to the head is used exactly
/// once, every batch lands contiguously with consecutive versions, and each stream's versions follow
/// its writer's order.
pub async fn concurrent_appends_to_distinct_streams<H: Harness>(h: H) {
    bounded("concurrent_appends_to_distinct_streams", async move {
        const WRITERS: u64 = 8;
        const PER_WRITER: u64 = 40;
        let log = Arc::new(h.open().await);
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let log = log.clone();
                spawn(async move {
                    let s = stream(&format!("distinct-{w}"));
                    let mut done = Vec::new();
                    let mut n = 0;
                    for size in chunks(PER_WRITER, &[1, 3, 1, 5, 2]) {
                        let batch = events(w * 1000 + n, size);
                        n += size;
                        let r = ok(&format!("writer {w}"), log.append(&s, ExpectedVersion::Any, batch.clone()).await);
                        done.push((r, batch));
                    }
                    (s, done)
                })
            })
            .collect();
        let mut model = Model::default();
        for task in tasks {
            let (s, done) = join(task).await;
            let mut next_version = 0;
            let mut last_position = None;
            for (r, batch) in done {
                let ctx = format!("a batch of {} to {s}", batch.len());
                assert_eq!(
                    r.first_version, next_version,
                    "{ctx}: versions of one writer's stream must follow its appends"
                );
                assert!(
                    Some(r.first_position) > last_position,
                    "{ctx}: a later append of one writer got an earlier position"
                );
                next_version = r.last_version + 1;
                last_position = Some(r.last_position);
                model.record(&s, &r, &batch, &ctx);
            }
        }
        model.check(log.as_ref(), "after concurrent writers").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Tests: durability and volume
// ---------------------------------------------------------------------------------------------

/// Guards durability across reopen: after a reopen every event reads the same (all fields, the
/// recording time included), head and versions are the same, a subscription replays it, appends
/// continue at the right position and version, and a second reopen keeps those too.
pub async fn reopen_preserves_everything<H: Harness>(h: H) {
    bounded("reopen_preserves_everything", async move {
        let log = h.open().await;
        let (a, b, c) = (stream("org-0196f1d2"), stream("membership-örnek"), stream("assembly-2025"));
        let mut model = Model::default();
        let steps: Vec<(&StreamId, ExpectedVersion, Vec<NewEvent>)> = vec![
            (&a, ExpectedVersion::NoStream, events(0, 3)),
            (
                &b,
                ExpectedVersion::NoStream,
                vec![NewEvent::new("Large.v1", pattern(100 * 1024, 11)).with_metadata("{\"m\":1}")],
            ),
            (&a, ExpectedVersion::Exact(2), vec![event(3)]),
            (
                &c,
                ExpectedVersion::Any,
                vec![NewEvent::new("Empty.v1", Bytes::new()), NewEvent::new("One.v1", vec![7u8])],
            ),
            (&b, ExpectedVersion::Exact(0), vec![NewEvent::new("Larger.v1", pattern(200 * 1024, 12)), event(4)]),
            (&a, ExpectedVersion::StreamExists, events(5, 20)),
            (&c, ExpectedVersion::Exact(1), vec![event(30)]),
        ];
        for (i, (s, expected, batch)) in steps.into_iter().enumerate() {
            let ctx = format!("append #{i} to {s}");
            let r = ok(&ctx, log.append(s, expected, batch.clone()).await);
            model.record(s, &r, &batch, &ctx);
        }
        model.check(&log, "before reopening").await;
        let before = snapshot(&log, &[&a, &b, &c]).await;
        drop(log);

        let log = h.open().await;
        let after = snapshot(&log, &[&a, &b, &c]).await;
        assert_same_snapshot(&before, &after, "after reopening");
        let mut sub = log.subscribe_all(0);
        let replayed = take_events(&mut sub, before.head, "a subscription from 0 after reopening").await;
        assert_same_events(&replayed, &before.all, "a subscription from 0 after reopening vs before");
        drop(sub);

        let head = before.head;
        let batch = vec![event(100)];
        let r = ok("appending to a after reopening", log.append(&a, ExpectedVersion::Exact(23), batch.clone()).await);
        assert_eq!(
            r,
            result(head, head, 24, 24),
            "appending to an existing stream after reopening: wrong AppendResult"
        );
        model.record(&a, &r, &batch, "appending to a after reopening");
        let refused = log.append(&b, ExpectedVersion::NoStream, vec![event(101)]).await;
        assert_wrong_version(
            refused,
            &b,
            ExpectedVersion::NoStream,
            Some(2),
            "NoStream on an existing stream after reopening",
        );
        let d = stream("org-new");
        let batch = events(102, 2);
        let r = ok(
            "appending to a new stream after reopening",
            log.append(&d, ExpectedVersion::NoStream, batch.clone()).await,
        );
        assert_eq!(
            r,
            result(head + 1, head + 2, 0, 1),
            "appending to a new stream after reopening: wrong AppendResult"
        );
        model.record(&d, &r, &batch, "appending to a new stream after reopening");
        model.check(&log, "after appending past a reopen").await;
        drop(log);

        let log = h.open().await;
        model.check(&log, "after a second reopen").await;
        let again = ok("read_all", log.read_all(0, before.head as usize).await);
        assert_same_events(&again, &before.all, "the first events after a second reopen vs before the first");
    })
    .await;
}

/// Guards volume: 5,000 events appended concurrently across 50 streams read back through
/// `read_all` in pages of 333 and `read_stream` in pages of 33 both ways, before and after a reopen.
pub async fn many_events_read_in_pages<H: Harness>(h: H) {
    bounded("many_events_read_in_pages", async move {
        const WRITERS: u64 = 10;
        const STREAMS_PER_WRITER: u64 = 5;
        const PER_STREAM: u64 = 100;
        const TOTAL: u64 = WRITERS * STREAMS_PER_WRITER * PER_STREAM;
        const PAGE: usize = 333;
        const STREAM_PAGE: usize = 33;
        let log = Arc::new(h.open().await);
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let log = log.clone();
                spawn(async move {
                    let streams: Vec<StreamId> =
                        (0..STREAMS_PER_WRITER).map(|k| stream(&format!("bulk-{w}-{k}"))).collect();
                    let sizes = chunks(PER_STREAM, &[1, 2, 3, 5, 8, 13, 21]);
                    let mut done = Vec::new();
                    let mut n = 0;
                    for size in sizes {
                        for s in &streams {
                            let batch: Vec<NewEvent> = (n..n + size)
                                .map(|i| {
                                    let seed = w * 1_000_000 + i;
                                    if i.is_multiple_of(41) {
                                        NewEvent::new("Bulk.Large.v1", pattern(2048, seed))
                                    } else {
                                        event(seed)
                                    }
                                })
                                .collect();
                            let r = ok(
                                &format!("writer {w} to {s}"),
                                log.append(s, ExpectedVersion::Any, batch.clone()).await,
                            );
                            done.push((s.clone(), r, batch));
                        }
                        n += size;
                    }
                    done
                })
            })
            .collect();
        let mut model = Model::default();
        for task in tasks {
            for (s, r, batch) in join(task).await {
                model.record(&s, &r, &batch, &format!("a batch to {s}"));
            }
        }
        assert_eq!(model.by_position.len() as u64, TOTAL, "events recorded");

        let paged = read_all_paged(log.as_ref(), PAGE, TOTAL).await;
        for e in &paged {
            model.assert_matches(e, "read_all in pages of 333");
        }
        assert_contiguous(&paged, 0, "read_all in pages of 333");

        for s in model.streams() {
            let want: Vec<u64> = (0..PER_STREAM).collect();
            let mut forward = Vec::new();
            loop {
                let from = StreamFrom::Version(forward.len() as u64);
                let page = ok("read_stream forward", log.read_stream(&s, from, Direction::Forward, STREAM_PAGE).await);
                if page.is_empty() {
                    break;
                }
                assert!(page.len() <= STREAM_PAGE, "read_stream returned more than its limit");
                forward.extend(page);
                assert!(forward.len() <= PER_STREAM as usize, "read_stream forward in pages of 33 does not end");
            }
            assert_eq!(forward.iter().map(|e| e.version).collect::<Vec<_>>(), want, "{s} forward in pages of 33");
            let mut backward = Vec::new();
            let mut from = StreamFrom::End;
            loop {
                let page =
                    ok("read_stream backward", log.read_stream(&s, from, Direction::Backward, STREAM_PAGE).await);
                assert!(page.len() <= STREAM_PAGE, "read_stream returned more than its limit");
                let Some(last) = page.last().map(|e| e.version) else { break };
                backward.extend(page);
                if last == 0 {
                    break;
                }
                from = StreamFrom::Version(last - 1);
            }
            backward.reverse();
            assert_same_events(&backward, &forward, &format!("{s} backward in pages of 33 vs forward"));
            for e in &forward {
                model.assert_matches(e, "read_stream in pages of 33");
            }
        }

        drop(log);
        let log = h.open().await;
        let reread = read_all_paged(&log, PAGE, TOTAL).await;
        assert_same_events(&reread, &paged, "read_all in pages after a reopen vs before");
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Tests: appends to several streams at once
// ---------------------------------------------------------------------------------------------

/// Guards the order of [`EventLog::append_many`]: the log's positions follow the order of the
/// parts, across streams, gapless and with nothing between them; one [`AppendResult`] per part with
/// the right versions; a stream that appears in several parts gets consecutive versions, each part
/// checked against the stream as the parts before it leave it; the same after a reopen.
pub async fn append_many_orders_parts_across_streams<H: Harness>(h: H) {
    bounded("append_many_orders_parts_across_streams", async move {
        use ExpectedVersion::{Any, Exact, NoStream, StreamExists};
        let log = h.open().await;
        let (a, b, c, d) = (stream("many-a"), stream("many-b"), stream("many-c"), stream("many-d"));
        let mut model = Model::default();
        let batch = events(0, 2);
        let r = ok("first append", log.append(&a, NoStream, batch.clone()).await);
        model.record(&a, &r, &batch, "first append");

        let calls: Vec<(&str, Vec<StreamAppend>, Vec<AppendResult>)> = vec![
            (
                "five parts to three streams, b and a twice",
                vec![
                    part(&b, NoStream, events(10, 2)),
                    part(&a, Exact(1), events(20, 1)),
                    part(&c, Any, events(30, 3)),
                    part(&b, Exact(1), events(40, 2)),
                    part(&a, StreamExists, events(50, 1)),
                ],
                vec![
                    result(2, 3, 0, 1),
                    result(4, 4, 2, 2),
                    result(5, 7, 0, 2),
                    result(8, 9, 2, 3),
                    result(10, 10, 3, 3),
                ],
            ),
            ("one part", vec![part(&c, Exact(2), events(60, 1))], vec![result(11, 11, 3, 3)]),
            (
                "one new stream three times",
                vec![
                    part(&d, NoStream, events(70, 1)),
                    part(&d, Exact(0), events(71, 2)),
                    part(&d, Exact(2), events(73, 1)),
                ],
                vec![result(12, 12, 0, 0), result(13, 14, 1, 2), result(15, 15, 3, 3)],
            ),
        ];
        for (what, call, want) in calls {
            let ctx = format!("append_many of {what}");
            let head = ok("head", log.head().await);
            let got = ok(&ctx, log.append_many(call.clone()).await);
            assert_eq!(got, want, "{ctx}: wrong results (one per part, in order)");
            record_parts(&mut model, &call, &got, &ctx);
            let written = ok("read_all", log.read_all(head, ALL).await);
            let placed: Vec<(StreamId, EventId)> = written.iter().map(|e| (e.stream.clone(), e.id)).collect();
            assert_eq!(placed, flat(&call), "{ctx}: the log must hold the call's events in the order of its parts");
            for p in &call {
                let version =
                    want.iter().zip(&call).rev().find(|(_, q)| q.stream == p.stream).map(|(r, _)| r.last_version);
                assert_eq!(
                    ok("stream_version", log.stream_version(&p.stream).await),
                    version,
                    "{ctx}: stream_version({}) must be the version of its last event",
                    p.stream
                );
            }
        }
        model.check(&log, "after append_many calls").await;
        drop(log);
        let log = h.open().await;
        model.check(&log, "after append_many calls and a reopen").await;
    })
    .await;
}

/// Guards all-or-nothing across parts: a wrong expected version in the last part (also one that
/// holds before the call but not after its earlier parts) refuses the whole call with
/// [`Error::WrongExpectedVersion`] for that part, and nothing of the earlier parts is written: head
/// and every stream stay as they were, and the refused events append later as new.
pub async fn append_many_wrong_version_in_last_part_writes_nothing<H: Harness>(h: H) {
    bounded("append_many_wrong_version_in_last_part_writes_nothing", async move {
        use ExpectedVersion::{Any, Exact, NoStream, StreamExists};
        let log = h.open().await;
        let (a, b, c, d) =
            (stream("many-wrong-a"), stream("many-wrong-b"), stream("many-wrong-c"), stream("many-wrong-d"));
        let mut model = Model::default();
        for (s, batch) in [(&a, events(0, 2)), (&b, events(2, 1))] {
            let r = ok("setup append", log.append(s, NoStream, batch.clone()).await);
            model.record(s, &r, &batch, "setup append");
        }
        let before = [(&a, Some(1)), (&b, Some(0)), (&c, None), (&d, None)];

        // What the call is, then the stream, expected and actual version the refusal names.
        type Case<'a> = (&'a str, Vec<StreamAppend>, &'a StreamId, ExpectedVersion, Option<u64>);
        let cases: Vec<Case<'_>> = vec![
            (
                "an Exact the stream is not at in the last part",
                vec![
                    part(&a, Exact(1), events(100, 2)),
                    part(&c, NoStream, events(102, 1)),
                    part(&b, Exact(5), events(103, 1)),
                ],
                &b,
                Exact(5),
                Some(0),
            ),
            (
                "a NoStream in the last part on a stream an earlier part creates",
                vec![
                    part(&c, NoStream, events(110, 1)),
                    part(&a, Any, events(111, 1)),
                    part(&c, NoStream, events(112, 1)),
                ],
                &c,
                NoStream,
                Some(0),
            ),
            (
                "an Exact in the last part that holds before the call but not after its earlier parts",
                vec![
                    part(&a, Exact(1), events(120, 1)),
                    part(&b, Any, events(121, 1)),
                    part(&a, Exact(1), events(122, 1)),
                ],
                &a,
                Exact(1),
                Some(2),
            ),
            (
                "a StreamExists in the last part on a missing stream",
                vec![
                    part(&a, Any, events(130, 1)),
                    part(&b, Any, events(131, 3)),
                    part(&d, StreamExists, events(134, 1)),
                ],
                &d,
                StreamExists,
                None,
            ),
            (
                "a wrong Exact in a middle part",
                vec![part(&c, Any, events(140, 1)), part(&a, Exact(0), events(141, 1)), part(&b, Any, events(142, 1))],
                &a,
                Exact(0),
                Some(1),
            ),
        ];
        for (what, call, s, expected, actual) in cases {
            let ctx = format!("append_many with {what}");
            assert_wrong_version(log.append_many(call).await, s, expected, actual, &ctx);
            for (s, version) in before {
                assert_untouched(&log, 3, s, version, &format!("after refusing {ctx}")).await;
            }
        }

        // The refused events were not recorded: the first call, with the right expectation, is new.
        let call = vec![
            part(&a, Exact(1), events(100, 2)),
            part(&c, NoStream, events(102, 1)),
            part(&b, Exact(0), events(103, 1)),
        ];
        let got = ok("append_many after refusals", log.append_many(call.clone()).await);
        assert_eq!(
            got,
            vec![result(3, 4, 2, 3), result(5, 5, 0, 0), result(6, 6, 1, 1)],
            "the events of refused calls must append as new: wrong results"
        );
        record_parts(&mut model, &call, &got, "append_many after refusals");
        model.check(&log, "after refused append_many calls").await;
    })
    .await;
}

/// Guards validation of [`EventLog::append_many`] by [`crate::validate_appends`]: an empty call, an
/// empty part, a part breaking a rule of [`crate::validate_batch`], and a call within the limits per
/// part but over them in all are refused as [`Error::InvalidInput`] naming the field
/// (`appends[2].events[1].event_type`), and nothing of the call is written.
pub async fn append_many_invalid_part_is_refused_whole<H: Harness>(h: H) {
    bounded("append_many_invalid_part_is_refused_whole", async move {
        use ExpectedVersion::Any;
        let log = h.open().await;
        let streams =
            [stream("many-invalid-a"), stream("many-invalid-b"), stream("many-invalid-c"), stream("many-invalid-d")];
        let [a, b, c, d] = &streams;
        let mut model = Model::default();
        let batch = vec![event(0)];
        let r = ok("first append", log.append(a, ExpectedVersion::NoStream, batch.clone()).await);
        model.record(a, &r, &batch, "first append");

        let nil = EventId::from_bytes([0; 16]);
        let first_valid = event(1);
        let half = MAX_BATCH_EVENTS as u64 / 2 + 1;
        let big = pattern(MAX_BATCH_BYTES / 4, 7);
        let cases: Vec<(&str, Vec<StreamAppend>, &str)> = vec![
            ("no parts", vec![], "appends"),
            (
                "an empty event type in part 2",
                vec![
                    part(a, Any, vec![first_valid.clone()]),
                    part(b, Any, events(2, 2)),
                    part(c, Any, vec![event(4), NewEvent::new("", "{}")]),
                ],
                "appends[2].events[1].event_type",
            ),
            (
                "a part without events",
                vec![part(b, Any, events(5, 1)), part(c, Any, vec![]), part(d, Any, events(6, 1))],
                "appends[1].events",
            ),
            (
                "a nil id in part 0",
                vec![part(b, Any, vec![event(7).with_id(nil)]), part(c, Any, events(8, 1))],
                "appends[0].events[0].id",
            ),
            (
                "a control character in the event type of part 3",
                vec![
                    part(a, Any, events(9, 1)),
                    part(b, Any, events(10, 1)),
                    part(c, Any, events(11, 1)),
                    part(d, Any, vec![NewEvent::new("Bad\n.v1", "{}")]),
                ],
                "appends[3].events[0].event_type",
            ),
            (
                "an event one byte too large in part 1",
                vec![
                    part(a, Any, events(12, 1)),
                    part(
                        b,
                        Any,
                        vec![NewEvent::new("Large.v1", pattern(MAX_EVENT_BYTES - 9, 8)).with_metadata(pattern(10, 9))],
                    ),
                ],
                "appends[1].events[0].data",
            ),
            (
                "too many events in all, each part within the limit",
                vec![part(b, Any, events(1000, half)), part(c, Any, events(1000 + half, half))],
                "appends",
            ),
            (
                "too many bytes in all, each part within the limit",
                [a, b, c, d, a].iter().map(|s| part(s, Any, vec![NewEvent::new("Large.v1", big.clone())])).collect(),
                "appends",
            ),
        ];
        for (what, call, field) in cases {
            let ctx = format!("append_many with {what}");
            match log.append_many(call).await {
                Err(Error::InvalidInput { field: got, rule }) => {
                    assert_eq!(got, field, "{ctx}: InvalidInput names the wrong field (rule: {rule})")
                }
                other => panic!("{ctx}: expected InvalidInput for {field}, got {other:?}"),
            }
            for (s, version) in [(a, Some(0)), (b, None), (c, None), (d, None)] {
                assert_untouched(&log, 1, s, version, &format!("after refusing {ctx}")).await;
            }
        }

        // The valid first part of a refused call was not recorded: appending it alone is new.
        let call = vec![part(a, ExpectedVersion::Exact(0), vec![first_valid])];
        let got = ok("appending alone a valid part of a refused call", log.append_many(call.clone()).await);
        assert_eq!(got, vec![result(1, 1, 1, 1)], "a valid part of a refused call must append as new: wrong results");
        record_parts(&mut model, &call, &got, "appending a valid part of a refused call");
        model.check(&log, "after refused append_many calls").await;
    })
    .await;
}

/// Guards ids in [`EventLog::append_many`]: an id repeated across two parts is
/// [`Error::InvalidInput`] naming the later one; an id already in the log with other content, in
/// another stream, or as a part that is a whole earlier append next to a new part, is
/// [`Error::DuplicateEventId`] naming it; nothing of the call is written in any case.
pub async fn append_many_reused_ids_are_refused<H: Harness>(h: H) {
    bounded("append_many_reused_ids_are_refused", async move {
        use ExpectedVersion::{Any, NoStream};
        let log = h.open().await;
        let (a, b, c) = (stream("many-dup-a"), stream("many-dup-b"), stream("many-dup-c"));
        let mut model = Model::default();
        let original = events(0, 2);
        let r = ok("original batch", log.append(&a, NoStream, original.clone()).await);
        model.record(&a, &r, &original, "original batch");
        let (e0, e1) = (original[0].clone(), original[1].clone());
        let (x, y, z) = (event(10), event(11), event(12));

        let repeated = vec![
            part(&b, NoStream, vec![x.clone(), y.clone()]),
            part(&c, Any, vec![z.clone()]),
            part(&a, Any, vec![y.clone()]),
        ];
        match log.append_many(repeated).await {
            Err(Error::InvalidInput { field, rule }) => {
                assert_eq!(field, "appends[2].events[0].id", "an id repeated across parts: wrong field (rule: {rule})")
            }
            other => panic!("an id repeated across parts: expected InvalidInput, got {other:?}"),
        }
        let check = |ctx: String| {
            let log = &log;
            let (a, b, c) = (&a, &b, &c);
            async move {
                assert_untouched(log, 2, a, Some(1), &ctx).await;
                assert_untouched(log, 2, b, None, &ctx).await;
                assert_untouched(log, 2, c, None, &ctx).await;
            }
        };
        check("after refusing an id repeated across parts".to_owned()).await;

        let mut other_data = e0.clone();
        other_data.data = Bytes::from_static(b"{\"n\":\"other\"}");
        let cases: Vec<(&str, Vec<StreamAppend>, Vec<EventId>)> = vec![
            (
                "an id in the log with other data, in the last part",
                vec![part(&b, NoStream, vec![x.clone()]), part(&a, Any, vec![other_data])],
                vec![e0.id],
            ),
            (
                "an id in the log with other metadata",
                vec![
                    part(&a, Any, vec![e1.clone().with_metadata("{\"other\":1}")]),
                    part(&c, NoStream, vec![y.clone()]),
                ],
                vec![e1.id],
            ),
            (
                "an id in the log with the same content in another stream",
                vec![part(&b, Any, vec![e1.clone()])],
                vec![e1.id],
            ),
            (
                "a whole earlier append as one part, next to a new part",
                vec![part(&a, Any, original.clone()), part(&b, NoStream, vec![x.clone()])],
                vec![e0.id, e1.id],
            ),
            (
                "a new part, then a whole earlier append",
                vec![part(&c, NoStream, vec![z.clone()]), part(&a, Any, original.clone())],
                vec![e0.id, e1.id],
            ),
        ];
        for (what, call, ids) in cases {
            let ctx = format!("append_many with {what}");
            assert_duplicate(log.append_many(call).await, &ids, &ctx);
            check(format!("after refusing {ctx}")).await;
        }

        // The new events of the refused calls were not recorded.
        let call = vec![part(&b, NoStream, vec![x, y]), part(&c, NoStream, vec![z])];
        let got = ok("appending the new events of refused calls", log.append_many(call.clone()).await);
        assert_eq!(got, vec![result(2, 3, 0, 1), result(4, 4, 0, 0)], "new events of refused calls: wrong results");
        record_parts(&mut model, &call, &got, "the new events of refused calls");
        model.check(&log, "after reused ids in append_many").await;
    })
    .await;
}

/// Guards idempotency of [`EventLog::append_many`]: retrying a whole call returns its original
/// results whatever the parts expect and writes nothing, also after a reopen; a retry of which only
/// some parts are in the log, with parts in another order, in another stream or with other content
/// is [`Error::DuplicateEventId`] and writes nothing.
pub async fn append_many_retry_returns_original_results<H: Harness>(h: H) {
    bounded("append_many_retry_returns_original_results", async move {
        use ExpectedVersion::{Any, Exact, NoStream};
        let mut log = h.open().await;
        let (a, b, c) = (stream("many-retry-a"), stream("many-retry-b"), stream("many-retry-c"));
        let mut model = Model::default();
        let batch = events(0, 1);
        let r = ok("first append", log.append(&a, NoStream, batch.clone()).await);
        model.record(&a, &r, &batch, "first append");
        let call = vec![
            part(&a, Exact(0), events(10, 2)),
            part(&b, NoStream, events(20, 1)),
            part(&a, Exact(2), events(30, 1)),
        ];
        let original = ok("the call", log.append_many(call.clone()).await);
        assert_eq!(
            original,
            vec![result(1, 2, 1, 2), result(3, 3, 0, 0), result(4, 4, 3, 3)],
            "the call: wrong results"
        );
        record_parts(&mut model, &call, &original, "the call");
        for (s, expected, batch) in [(&c, NoStream, events(40, 2)), (&a, Exact(3), events(50, 1))] {
            let r = ok("a later append", log.append(s, expected, batch.clone()).await);
            model.record(s, &r, &batch, "a later append");
        }
        let state = [(&a, Some(4)), (&b, Some(0)), (&c, Some(1))];

        let with = |expected: ExpectedVersion| -> Vec<StreamAppend> {
            call.iter().map(|p| StreamAppend { expected, ..p.clone() }).collect()
        };
        let retries = [
            ("with its stale expectations", call.clone()),
            ("with Any", with(Any)),
            ("with expectations the streams are not at", with(Exact(99))),
        ];
        for round in ["", " after a reopen"] {
            for (what, retry) in &retries {
                let ctx = format!("retrying the call {what}{round}");
                assert_eq!(
                    ok(&ctx, log.append_many(retry.clone()).await),
                    original,
                    "{ctx}: must return the original results"
                );
                for (s, version) in state {
                    assert_untouched(&log, 8, s, version, &ctx).await;
                }
            }
            if round.is_empty() {
                drop(log);
                log = h.open().await;
            }
        }

        let mut changed = call.clone();
        changed[2].events[0] = changed[2].events[0].clone().with_metadata("changed");
        let mut elsewhere = call.clone();
        elsewhere[1].stream = c.clone();
        let ids: Vec<EventId> = flat(&call).into_iter().map(|(_, id)| id).collect();
        let refused: Vec<(&str, Vec<StreamAppend>)> = vec![
            ("only some parts in the log", vec![call[0].clone(), part(&b, Any, events(60, 1))]),
            (
                "only some parts in the log, the new one first",
                vec![part(&c, Any, events(61, 1)), call[1].clone(), call[2].clone()],
            ),
            ("its parts in another order", vec![call[1].clone(), call[0].clone(), call[2].clone()]),
            ("a part naming another stream", elsewhere),
            ("an event with other metadata", changed),
        ];
        for (what, retry) in refused {
            let ctx = format!("a retry of the call with {what}");
            assert_duplicate(log.append_many(retry).await, &ids, &ctx);
            for (s, version) in state {
                assert_untouched(&log, 8, s, version, &ctx).await;
            }
        }
        model.check(&log, "after retries of append_many").await;
    })
    .await;
}

/// Guards subscriptions and [`EventLog::append_many`]: a subscriber sees the call's events one after
/// another in the order of its parts, from before and from inside the call; and while other tasks
/// append single events, every call's events still reach a subscriber as one run, in order.
pub async fn append_many_is_seen_whole_by_subscribers<H: Harness>(h: H) {
    bounded("append_many_is_seen_whole_by_subscribers", async move {
        use ExpectedVersion::{Any, Exact, NoStream};
        let log = Arc::new(h.open().await);
        let (a, b, c) = (stream("many-sub-a"), stream("many-sub-b"), stream("many-sub-c"));
        let mut sub = log.subscribe_all(0);
        ok("append", log.append(&a, NoStream, events(0, 2)).await);
        let call = vec![
            part(&b, NoStream, events(10, 3)),
            part(&a, Exact(1), events(20, 2)),
            part(&c, Any, events(30, 1)),
            part(&b, Exact(2), events(40, 2)),
        ];
        ok("append_many", log.append_many(call.clone()).await);
        ok("append", log.append(&c, Any, events(50, 1)).await);
        let got = take_events(&mut sub, 11, "a subscription made before the call").await;
        assert_contiguous(&got, 0, "a subscription made before the call");
        let seen: Vec<(StreamId, EventId)> = got[2..10].iter().map(|e| (e.stream.clone(), e.id)).collect();
        assert_eq!(seen, flat(&call), "a subscription must see the call's events one after another, in order");
        assert_same_events(&got, &ok("read_all", log.read_all(0, ALL).await), "subscription vs read_all");
        assert_quiet(&mut sub, "a subscription that has seen every event").await;
        let mut inside = log.subscribe_all(5);
        let got = take_events(&mut inside, 6, "a subscription from inside the call").await;
        assert_contiguous(&got, 5, "a subscription from inside the call");
        drop((sub, inside));

        // Calls racing single appends: each call's events form one run in what a subscriber sees.
        const CALLS: u64 = 20;
        const SINGLES: u64 = 60;
        let head = ok("head", log.head().await);
        let total = CALLS * 4 + SINGLES;
        let (watcher, _) =
            consume(log.subscribe_all(head), head, head + total, "a subscription while calls race appends");
        let singles = {
            let log = log.clone();
            spawn(async move {
                let s = stream("many-sub-single");
                for i in 0..SINGLES {
                    ok("single append", log.append(&s, Any, vec![event(10_000 + i)]).await);
                }
            })
        };
        let mut calls = Vec::new();
        for i in 0..CALLS {
            let n = 1000 + i * 10;
            let call =
                vec![part(&a, Any, events(n, 2)), part(&b, Any, events(n + 2, 1)), part(&c, Any, events(n + 3, 1))];
            ok("racing append_many", log.append_many(call.clone()).await);
            calls.push(call);
        }
        join(singles).await;
        let (_sub, got, what) = join(watcher).await;
        assert_contiguous(&got, head, &what);
        let order: HashMap<EventId, usize> = got.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
        for (k, call) in calls.iter().enumerate() {
            let ids = flat(call);
            let Some(&start) = order.get(&ids[0].1) else { panic!("{what}: call #{k} was not seen") };
            let seen: Vec<(StreamId, EventId)> =
                got[start..(start + ids.len()).min(got.len())].iter().map(|e| (e.stream.clone(), e.id)).collect();
            assert_eq!(seen, ids, "{what}: call #{k} must be seen as one run of its events, in order");
        }
    })
    .await;
}

/// Guards [`EventLog::append_many`] under concurrency: tasks making calls (each with a stream of
/// its own at exact versions, twice per call, and shared streams) race tasks appending single
/// events; every event lands exactly once, the parts of each call are one run of positions, each
/// call's own stream follows its parts, and no reader ever sees a call's events in part (the head,
/// polled throughout, never falls inside a call).
pub async fn concurrent_append_many_and_appends_land_once<H: Harness>(h: H) {
    bounded("concurrent_append_many_and_appends_land_once", async move {
        use ExpectedVersion::{Any, Exact, NoStream};
        const CALLERS: u64 = 4;
        const APPENDERS: u64 = 4;
        const ROUNDS: u64 = 15;
        let log = Arc::new(h.open().await);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let heads = {
            let (log, stop) = (log.clone(), stop.clone());
            spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    seen.push(ok("head", log.head().await));
                    tokio::task::yield_now().await;
                }
                seen
            })
        };
        let callers: Vec<_> = (0..CALLERS)
            .map(|w| {
                let log = log.clone();
                spawn(async move {
                    let own = stream(&format!("many-race-own-{w}"));
                    let (shared, other) = (stream("many-race-shared"), stream("many-race-other"));
                    let mut done = Vec::new();
                    let mut version: Option<u64> = None;
                    for r in 0..ROUNDS {
                        let n = (w + 1) * 100_000 + r * 100;
                        let k = 1 + r % 3;
                        let expected = version.map_or(NoStream, Exact);
                        let call = vec![
                            part(&own, expected, events(n, k)),
                            part(&shared, Any, events(n + 10, 1 + r % 2)),
                            part(&own, Exact(version.map_or(0, |v| v + 1) + k - 1), events(n + 20, 1)),
                            part(&other, Any, events(n + 30, 2)),
                        ];
                        let got = ok(&format!("caller {w} round {r}"), log.append_many(call.clone()).await);
                        version = Some(got[2].last_version);
                        done.push((call, got));
                    }
                    done
                })
            })
            .collect();
        let appenders: Vec<_> = (0..APPENDERS)
            .map(|w| {
                let log = log.clone();
                spawn(async move {
                    let s =
                        if w % 2 == 0 { stream("many-race-shared") } else { stream(&format!("many-race-single-{w}")) };
                    let mut done = Vec::new();
                    let mut n = (w + 1) * 1_000_000;
                    for size in chunks(40, &[1, 3, 2, 5]) {
                        let batch = events(n, size);
                        n += size;
                        let r = ok(&format!("appender {w}"), log.append(&s, Any, batch.clone()).await);
                        done.push((s.clone(), r, batch));
                    }
                    done
                })
            })
            .collect();
        let mut model = Model::default();
        let mut calls = Vec::new();
        for (w, task) in callers.into_iter().enumerate() {
            let mut next_own = 0;
            for (r, (call, got)) in join(task).await.into_iter().enumerate() {
                let ctx = format!("caller {w} round {r}");
                record_parts(&mut model, &call, &got, &ctx);
                assert_eq!(got[0].first_version, next_own, "{ctx}: the caller's own stream must follow its calls");
                assert_eq!(got[2].first_version, got[0].last_version + 1, "{ctx}: a stream twice in a call");
                next_own = got[2].last_version + 1;
                calls.push((ctx, got[0].first_position, got[got.len() - 1].last_position));
            }
        }
        for task in appenders {
            for (s, r, batch) in join(task).await {
                model.record(&s, &r, &batch, &format!("a single append to {s}"));
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let heads = join(heads).await;
        model.check(log.as_ref(), "after calls racing single appends").await;
        let all = ok("read_all", log.read_all(0, ALL).await);
        let ids: HashSet<EventId> = all.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), all.len(), "an event landed twice");
        for (ctx, first, last) in calls {
            if let Some(h) = heads.iter().find(|&&h| h > first && h <= last) {
                panic!("{ctx}: the head was seen at {h}, inside the call's positions {first}..={last}");
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Tests: restoring events exactly as another log recorded them
// ---------------------------------------------------------------------------------------------

/// Guards [`EventLog::restore`] as a copy: a source log built of restored history (old times, one
/// going back, equal ones, empty and large payloads) and of ordinary appends is read and restored
/// into an empty log in pages of several sizes; the copy then holds every event exactly, in every
/// field including `recorded_at_micros`, through `read_all`, `read_stream` both ways and
/// `stream_version`, and still does after a reopen.
pub async fn restore_reproduces_a_log_exactly<H: Harness>(source: H, target: H) {
    bounded("restore_reproduces_a_log_exactly", async move {
        use ExpectedVersion::{Any, NoStream};
        let src = source.open().await;
        let old = recorded_history(&[], 10);
        ok("restore the first history into the source", src.restore(old[..4].to_vec()).await);
        ok("restore the rest of the first history into the source", src.restore(old[4..].to_vec()).await);
        let appended = stream("restored-appended");
        ok("append to the source", src.append(&appended, NoStream, events(0, 3)).await);
        ok("append to a restored stream", src.append(&stream("restored-a"), Any, events(3, 2)).await);
        let call = vec![part(&appended, Any, events(5, 1)), part(&stream("restored-c"), Any, events(6, 2))];
        ok("append_many to the source", src.append_many(call).await);
        let so_far = ok("read_all", src.read_all(0, ALL).await);
        let later = recorded_history(&so_far, 25);
        ok("restore later history into the source", src.restore(later.clone()).await);
        let all = read_all_paged(&src, 16, 43).await;
        assert_same_events(&all[..10], &old, "the source: restored events must read back as given");
        assert_same_events(&all[18..], &later, "the source: events restored after appends must read back as given");
        assert_log_is(&src, &all, "the source").await;

        let dst = target.open().await;
        let mut at = 0;
        for size in chunks(all.len() as u64, &[1, 4, 9, 16]) {
            let page = all[at..at + size as usize].to_vec();
            ok(&format!("restore positions {at}.. into the target"), dst.restore(page).await);
            at += size as usize;
            assert_eq!(ok("head", dst.head().await), at as u64, "the target's head after restoring {at} events");
        }
        assert_log_is(&dst, &all, "the target after restoring the source").await;
        drop(dst);
        let dst = target.open().await;
        assert_log_is(&dst, &all, "the target after restoring the source and a reopen").await;
    })
    .await;
}

/// Guards the refusals of [`EventLog::restore`], each writing nothing (not even the valid events
/// before the offending one): a gap past the head, a wrong version (of a stream with events, of a
/// new stream, after a valid event), another event at a position already taken (differing in its
/// time alone, or in its data in the middle of a call overlapping the head, named by position),
/// an id the log holds at another position, positions not consecutive, and the shared limits.
pub async fn restore_refuses_conflicts_and_writes_nothing<H: Harness>(h: H) {
    bounded("restore_refuses_conflicts_and_writes_nothing", async move {
        let log = h.open().await;
        let history = recorded_history(&[], 10);
        ok("restore", log.restore(history.clone()).await);
        ok("append", log.append(&stream("restored-a"), ExpectedVersion::Any, events(0, 2)).await);
        let all = ok("read_all", log.read_all(0, ALL).await);
        let head = all.len() as u64;
        let streams: Vec<StreamId> = {
            let set: std::collections::BTreeSet<StreamId> = all.iter().map(|e| e.stream.clone()).collect();
            set.into_iter().chain([stream("restored-new")]).collect()
        };
        let refs: Vec<&StreamId> = streams.iter().collect();
        let before = snapshot(&log, &refs).await;

        let next = recorded_history(&all, 3);
        let with = |e: &RecordedEvent, f: &dyn Fn(&mut RecordedEvent)| {
            let mut e = e.clone();
            f(&mut e);
            e
        };
        let brand_new = with(&next[0], &|e| {
            e.stream = stream("restored-new");
            e.version = 1;
        });
        let nil = EventId::from_bytes([0; 16]);
        let cases: Vec<(&str, Vec<RecordedEvent>, &str, Option<String>)> = vec![
            (
                "a first position past the head",
                vec![with(&next[0], &|e| e.position = head + 1)],
                "events[0].position",
                Some(format!("{}", head + 1)),
            ),
            (
                "a version past the stream's next",
                vec![with(&next[0], &|e| e.version += 1)],
                "events[0].version",
                Some(format!("{head}")),
            ),
            (
                "a version behind the stream's next",
                vec![with(&next[0], &|e| e.version = e.version.saturating_sub(1))],
                "events[0].version",
                None,
            ),
            ("a new stream not at version 0", vec![brand_new], "events[0].version", None),
            (
                "a wrong version after a valid event",
                vec![next[0].clone(), with(&next[1], &|e| e.version += 2)],
                "events[1].version",
                Some(format!("{}", head + 1)),
            ),
            (
                "another time at a position taken",
                vec![with(&all[5], &|e| e.recorded_at_micros += 1)],
                "events[0]",
                Some("position 5".to_owned()),
            ),
            (
                "other data in the middle of a call overlapping the head",
                vec![all[10].clone(), with(&all[11], &|e| e.data = Bytes::from_static(b"{}")), next[0].clone()],
                "events[1]",
                Some("position 11".to_owned()),
            ),
            (
                "other data at a position taken, then a valid event",
                vec![with(&all[head as usize - 1], &|e| e.metadata = Bytes::from_static(b"x")), next[0].clone()],
                "events[0]",
                Some(format!("position {}", head - 1)),
            ),
            ("positions not consecutive", vec![next[0].clone(), next[2].clone()], "events[1].position", None),
            (
                "an id repeated in the call",
                vec![next[0].clone(), with(&next[1], &|e| e.id = next[0].id)],
                "events[1].id",
                None,
            ),
            ("no events", vec![], "events", None),
            ("a nil id", vec![with(&next[0], &|e| e.id = nil)], "events[0].id", None),
            (
                "an empty event type",
                vec![next[0].clone(), with(&next[1], &|e| e.event_type.clear())],
                "events[1].event_type",
                None,
            ),
            (
                "too many events",
                (0..=MAX_BATCH_EVENTS as u64).map(|i| with(&next[0], &|e| e.position += i)).collect(),
                "events",
                None,
            ),
        ];
        for (what, call, field, mentions) in cases {
            let ctx = format!("a restore with {what}");
            match log.restore(call).await {
                Err(Error::InvalidInput { field: got, rule }) => {
                    assert_eq!(got, field, "{ctx}: InvalidInput names the wrong field (rule: {rule})");
                    if let Some(m) = mentions {
                        assert!(rule.contains(&m), "{ctx}: the refusal must name {m:?}; it says {rule:?}");
                    }
                }
                other => panic!("{ctx}: expected InvalidInput for {field}, got {other:?}"),
            }
            assert_same_snapshot(&before, &snapshot(&log, &refs).await, &format!("after refusing {ctx}"));
        }

        let reused = with(&next[0], &|e| e.id = all[3].id);
        match log.restore(vec![reused]).await {
            Err(Error::DuplicateEventId { id, reason }) => {
                assert_eq!(id, all[3].id, "a restore reusing an id: DuplicateEventId names the wrong id");
                assert!(reason.contains("position 3"), "a restore reusing an id must name where it is: {reason:?}");
            }
            other => panic!("a restore reusing the id of position 3: expected DuplicateEventId, got {other:?}"),
        }
        assert_same_snapshot(&before, &snapshot(&log, &refs).await, "after refusing a restore reusing an id");

        // The events refused above restore once they are right.
        ok("a valid restore after refused ones", log.restore(next.clone()).await);
        let want: Vec<RecordedEvent> = all.iter().chain(&next).cloned().collect();
        assert_log_is(&log, &want, "after refused restores and a valid one").await;
    })
    .await;
}

/// Guards the idempotency of [`EventLog::restore`]: restoring the same events again, a slice of
/// them, or a call overlapping the head (its first events here already, the rest new) writes only
/// what is missing; the same after a reopen.
pub async fn repeated_restore_is_a_no_op<H: Harness>(h: H) {
    bounded("repeated_restore_is_a_no_op", async move {
        let log = h.open().await;
        let first = recorded_history(&[], 12);
        ok("restore", log.restore(first.clone()).await);
        assert_log_is(&log, &first, "after a restore").await;
        ok("the same restore again", log.restore(first.clone()).await);
        assert_log_is(&log, &first, "after the same restore again").await;
        ok("a slice of it again", log.restore(first[3..7].to_vec()).await);
        assert_log_is(&log, &first, "after restoring a slice of it again").await;

        let more = recorded_history(&first, 3);
        let overlapping: Vec<RecordedEvent> = first[8..].iter().chain(&more).cloned().collect();
        ok("a restore overlapping the head", log.restore(overlapping.clone()).await);
        let all: Vec<RecordedEvent> = first.iter().chain(&more).cloned().collect();
        assert_log_is(&log, &all, "after a restore overlapping the head").await;
        ok("the overlapping restore again", log.restore(overlapping).await);
        assert_log_is(&log, &all, "after the overlapping restore again").await;
        drop(log);

        let log = h.open().await;
        ok("the whole log again after a reopen", log.restore(all.clone()).await);
        assert_log_is(&log, &all, "after restoring the whole log again after a reopen").await;
    })
    .await;
}

/// Guards appends after [`EventLog::restore`]: they take the next positions and their streams'
/// next versions, expected versions hold against the restored streams, and a restore may follow
/// appends (and appends follow it again); the same after a reopen.
pub async fn appends_continue_after_restore<H: Harness>(h: H) {
    bounded("appends_continue_after_restore", async move {
        use ExpectedVersion::{Any, Exact, NoStream, StreamExists};
        let log = h.open().await;
        let history = recorded_history(&[], 9);
        ok("restore", log.restore(history.clone()).await);
        let (a, b, c) = (stream("restored-a"), stream("restored-b"), stream("restored-c"));
        let last =
            |s: &StreamId, events: &[RecordedEvent]| events.iter().rev().find(|e| &e.stream == s).map(|e| e.version);
        let (va, vb) = (last(&a, &history).unwrap(), last(&b, &history).unwrap());

        let r = ok("append to a restored stream", log.append(&a, Exact(va), events(0, 2)).await);
        assert_eq!(r, result(9, 10, va + 1, va + 2), "an append after a restore: wrong AppendResult");
        assert_wrong_version(
            log.append(&b, NoStream, vec![event(2)]).await,
            &b,
            NoStream,
            Some(vb),
            "NoStream on a restored stream",
        );
        assert_wrong_version(
            log.append(&b, Exact(vb + 1), vec![event(3)]).await,
            &b,
            Exact(vb + 1),
            Some(vb),
            "a version past a restored stream's",
        );
        let results = ok(
            "append_many after a restore",
            log.append_many(vec![
                part(&b, StreamExists, events(4, 1)),
                part(&stream("restored-fresh"), NoStream, events(5, 2)),
            ])
            .await,
        );
        assert_eq!(results, vec![result(11, 11, vb + 1, vb + 1), result(12, 13, 0, 1)], "append_many after a restore");

        let so_far = ok("read_all", log.read_all(0, ALL).await);
        let later = recorded_history(&so_far, 6);
        ok("a restore after appends", log.restore(later.clone()).await);
        let head = 14 + later.len() as u64;
        let vc = last(&c, &later).or(last(&c, &so_far));
        let r = ok("append after the second restore", log.append(&c, Any, events(7, 1)).await);
        let next_c = vc.map_or(0, |v| v + 1);
        assert_eq!(r, result(head, head, next_c, next_c), "an append after a restore following appends");
        drop(log);

        let log = h.open().await;
        let r = ok("append after a reopen", log.append(&a, Any, events(8, 1)).await);
        let va = last(&a, &later).unwrap_or(va + 2);
        assert_eq!(r, result(head + 1, head + 1, va + 1, va + 1), "an append after a restore and a reopen");
        let all = ok("read_all", log.read_all(0, ALL).await);
        assert_contiguous(&all, 0, "after restores and appends");
        assert_same_events(&all[..9], &history, "the first restore after appends and a reopen");
        assert_same_events(&all[14..14 + later.len()], &later, "the second restore after appends and a reopen");
        assert_log_is(&log, &all, "after restores, appends and a reopen").await;
    })
    .await;
}

/// Guards subscriptions and [`EventLog::restore`]: a subscriber from before sees restored events
/// exactly as given (their times included), one after another, then what is appended after them;
/// a subscriber from inside a restore catches up from storage.
pub async fn restore_is_seen_by_subscribers<H: Harness>(h: H) {
    bounded("restore_is_seen_by_subscribers", async move {
        let log = Arc::new(h.open().await);
        let history = recorded_history(&[], 20);
        // Each restore must wake a waiting subscriber by itself, with no append after it.
        let (waiting, _) = consume(log.subscribe_all(0), 0, 7, "a subscription waiting before a restore");
        tokio::time::sleep(QUIET).await;
        ok("restore", log.restore(history[..7].to_vec()).await);
        let (sub, mut got, _) = join(waiting).await;
        let (waiting, _) = consume(sub, 7, 20, "a subscription waiting before a second restore");
        tokio::time::sleep(QUIET).await;
        ok("restore", log.restore(history[7..].to_vec()).await);
        let (mut sub, more, _) = join(waiting).await;
        got.extend(more);
        assert_contiguous(&got, 0, "a subscription made before the restores");
        assert_same_events(&got, &history, "a subscription must see restored events as given");
        ok("append", log.append(&stream("restored-a"), ExpectedVersion::Any, vec![event(0)]).await);
        let appended = take_events(&mut sub, 1, "a subscription, after restores and an append").await;
        assert_eq!(appended[0].position, 20, "the append after the restores, as a subscriber sees it");
        assert_eq!(appended[0].id, ok("read_all", log.read_all(20, 1).await)[0].id, "the append after the restores");
        assert_quiet(&mut sub, "a subscription that has seen every event").await;
        let mut inside = log.subscribe_all(5);
        let got = take_events(&mut inside, 16, "a subscription from inside a restore").await;
        assert_same_events(&got[..15], &history[5..], "a subscription from inside a restore");
    })
    .await;
}

/// Guards idempotency by id across [`EventLog::restore`]: an append of restored events exactly as
/// they were (same ids, stream, content, in order) is a retry that writes nothing and returns where
/// they are; any other reuse of a restored id (other data, another stream, beside a new event, in
/// an `append_many`) is [`Error::DuplicateEventId`]; the same after a reopen.
pub async fn restored_ids_stay_idempotency_keys<H: Harness>(h: H) {
    bounded("restored_ids_stay_idempotency_keys", async move {
        use ExpectedVersion::Any;
        let log = h.open().await;
        let history = recorded_history(&[], 6);
        ok("restore", log.restore(history.clone()).await);
        let a = stream("restored-a");
        assert!(history[..3].iter().all(|e| e.stream == a), "the history starts with three events of {a}");
        let as_new = |e: &RecordedEvent| {
            NewEvent::new(e.event_type.clone(), e.data.clone()).with_metadata(e.metadata.clone()).with_id(e.id)
        };
        let streams = [&a, &stream("restored-b"), &stream("restored-c"), &stream("other")];
        let check = async |log: &H::Log, round: &str| {
            let before = snapshot(log, &streams).await;
            let r = ok(
                &format!("an append of restored events as they are{round}"),
                log.append(&a, Any, history[..3].iter().map(as_new).collect()).await,
            );
            assert_eq!(r, result(0, 2, 0, 2), "an append of restored events{round} must return where they are");
            let changed = as_new(&history[0]).with_metadata("other");
            assert_duplicate(
                log.append(&a, Any, vec![changed]).await,
                &[history[0].id],
                &format!("a restored id with other metadata{round}"),
            );
            assert_duplicate(
                log.append(&stream("other"), Any, vec![as_new(&history[3])]).await,
                &[history[3].id],
                &format!("a restored event appended to another stream{round}"),
            );
            assert_duplicate(
                log.append(&history[4].stream, Any, vec![event(0), as_new(&history[4])]).await,
                &[history[4].id],
                &format!("a restored id beside a new event{round}"),
            );
            assert_duplicate(
                log.append_many(vec![
                    part(&stream("other"), Any, events(1, 1)),
                    part(&history[5].stream, Any, vec![as_new(&history[5])]),
                ])
                .await,
                &[history[5].id],
                &format!("a restored id in an append_many{round}"),
            );
            assert_same_snapshot(
                &before,
                &snapshot(log, &streams).await,
                &format!("after reusing restored ids{round}"),
            );
        };
        check(&log, "").await;
        drop(log);
        let log = h.open().await;
        check(&log, " after a reopen").await;
        assert_log_is(&log, &history, "after reusing restored ids").await;
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Runs a test's body as its own task, bounded by [`TEST_LIMIT`], re-raising its panic. As a
/// separate task, a backend that blocks its runtime thread still fails the test by timeout.
async fn bounded<F>(test: &str, body: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match tokio::time::timeout(TEST_LIMIT, tokio::spawn(body)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("{test}: the test task failed: {e}"),
        },
        Err(_) => panic!("{test}: did not finish within {TEST_LIMIT:?}; the backend hangs"),
    }
}

fn spawn<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> JoinHandle<T> {
    tokio::spawn(f)
}

/// Awaits a task, re-raising its panic with the original message.
async fn join<T>(task: JoinHandle<T>) -> T {
    match task.await {
        Ok(v) => v,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("a task of the test failed: {e}"),
        },
    }
}

#[track_caller]
fn ok<T>(what: &str, result: Result<T>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error: {e} ({e:?})"),
    }
}

fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap_or_else(|e| panic!("stream id {name:?}: {e}"))
}

fn result(first_position: u64, last_position: u64, first_version: u64, last_version: u64) -> AppendResult {
    AppendResult { first_position, last_position, first_version, last_version }
}

/// One part of an [`EventLog::append_many`].
fn part(stream: &StreamId, expected: ExpectedVersion, events: Vec<NewEvent>) -> StreamAppend {
    StreamAppend { stream: stream.clone(), expected, events }
}

/// The stream and id of every event of a call, in order.
fn flat(call: &[StreamAppend]) -> Vec<(StreamId, EventId)> {
    call.iter().flat_map(|p| p.events.iter().map(move |e| (p.stream.clone(), e.id))).collect()
}

/// Records an acknowledged [`EventLog::append_many`] in the model, checking that it got one result
/// per part and that its parts took one run of positions, in order.
#[track_caller]
fn record_parts(model: &mut Model, call: &[StreamAppend], results: &[AppendResult], ctx: &str) {
    assert_eq!(results.len(), call.len(), "{ctx}: append_many must return one result per part");
    for (i, (p, r)) in call.iter().zip(results).enumerate() {
        if i > 0 {
            assert_eq!(
                r.first_position,
                results[i - 1].last_position + 1,
                "{ctx}: part {i} must follow part {} in the log",
                i - 1
            );
        }
        model.record(&p.stream, r, &p.events, &format!("{ctx}, part {i}"));
    }
}

/// A small event numbered `n`; odd ones carry metadata.
fn event(n: u64) -> NewEvent {
    let e = NewEvent::new("Conformance.Tested.v1", format!("{{\"n\":{n}}}"));
    if n % 2 == 1 { e.with_metadata(format!("{{\"trace\":\"t-{n}\"}}")) } else { e }
}

/// `count` events numbered from `from`.
fn events(from: u64, count: u64) -> Vec<NewEvent> {
    (from..from + count).map(event).collect()
}

/// `len` bytes that vary with the offset and the seed, so that misplaced bytes do not go unseen.
fn pattern(len: usize, seed: u64) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    bytes.into()
}

/// `total` cut into batch sizes taken in turn from `sizes`, the last one cut short.
fn chunks(total: u64, sizes: &[u64]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut left = total;
    for &size in sizes.iter().cycle() {
        if left == 0 {
            break;
        }
        let size = size.min(left);
        out.push(size);
        left -= size;
    }
    out
}

fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// A one-line description of an event, without its payload.
fn summary(e: &RecordedEvent) -> String {
    format!(
        "position {} stream {} version {} id {} type {:?} data {} bytes metadata {} bytes recorded at {}",
        e.position,
        e.stream,
        e.version,
        e.id,
        e.event_type,
        e.data.len(),
        e.metadata.len(),
        e.recorded_at_micros
    )
}

/// The first offset where two byte strings differ, for messages.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()))
}

#[track_caller]
fn assert_wrong_version<T: std::fmt::Debug>(
    result: Result<T>,
    stream: &StreamId,
    expected: ExpectedVersion,
    actual: Option<u64>,
    ctx: &str,
) {
    match result {
        Err(Error::WrongExpectedVersion { stream: s, expected: e, actual: a }) => {
            assert_eq!(&s, stream, "{ctx}: WrongExpectedVersion names the wrong stream");
            assert_eq!(e, expected, "{ctx}: WrongExpectedVersion reports the wrong expected version");
            assert_eq!(a, actual, "{ctx}: WrongExpectedVersion reports the wrong actual version");
        }
        other => {
            panic!("{ctx}: expected WrongExpectedVersion {{ expected: {expected}, actual: {actual:?} }}, got {other:?}")
        }
    }
}

#[track_caller]
fn assert_duplicate<T: std::fmt::Debug>(result: Result<T>, ids: &[EventId], ctx: &str) {
    match result {
        Err(Error::DuplicateEventId { id, reason }) => {
            assert!(ids.contains(&id), "{ctx}: DuplicateEventId names {id}, not one of {ids:?} (reason: {reason})")
        }
        other => panic!("{ctx}: expected DuplicateEventId for one of {ids:?}, got {other:?}"),
    }
}

/// Asserts the head and a stream's version, and that nothing lies past the head: what a refused
/// append must leave as it was.
async fn assert_untouched<L: EventLog>(log: &L, head: u64, stream: &StreamId, version: Option<u64>, ctx: &str) {
    assert_eq!(ok("head", log.head().await), head, "{ctx}: the head moved, so events were written");
    assert_eq!(
        ok("stream_version", log.stream_version(stream).await),
        version,
        "{ctx}: the version of {stream} changed, so events were written"
    );
    let past = ok("read_all past the head", log.read_all(head, ALL).await);
    assert!(past.is_empty(), "{ctx}: read_all from the head ({head}) found {} events", past.len());
    let in_stream = ok("read_stream", log.read_stream(stream, StreamFrom::Start, Direction::Forward, ALL).await);
    assert_eq!(
        in_stream.len() as u64,
        version.map_or(0, |v| v + 1),
        "{ctx}: {stream} holds a different number of events than its version says"
    );
}

/// Asserts a log with no events, `stream` being any stream.
async fn assert_empty<L: EventLog>(log: &L, stream: &StreamId, ctx: &str) {
    assert_eq!(ok("head", log.head().await), 0, "{ctx}: head must be 0");
    assert_eq!(ok("stream_version", log.stream_version(stream).await), None, "{ctx}: stream_version must be None");
    for (from, limit) in [(0, ALL), (0, 1), (1, ALL)] {
        let got = ok("read_all", log.read_all(from, limit).await);
        assert!(got.is_empty(), "{ctx}: read_all({from}, {limit}) returned {} events", got.len());
    }
    for (from, direction) in [
        (StreamFrom::Start, Direction::Forward),
        (StreamFrom::End, Direction::Backward),
        (StreamFrom::Start, Direction::Backward),
        (StreamFrom::End, Direction::Forward),
        (StreamFrom::Version(0), Direction::Forward),
        (StreamFrom::Version(0), Direction::Backward),
    ] {
        let got = ok("read_stream", log.read_stream(stream, from, direction, ALL).await);
        assert!(got.is_empty(), "{ctx}: read_stream({stream}, {from:?}, {direction:?}) returned {} events", got.len());
    }
    let mut sub = log.subscribe_all(0);
    assert_quiet(&mut sub, &format!("{ctx}: a subscription from 0")).await;
}

/// Asserts that `got` holds consecutive positions from `from`.
#[track_caller]
fn assert_contiguous(got: &[RecordedEvent], from: u64, ctx: &str) {
    for (i, e) in got.iter().enumerate() {
        let want = from + i as u64;
        if e.position != want {
            let kind = if e.position < want { "a duplicate or an event out of order" } else { "a gap" };
            let around: Vec<u64> =
                got[i.saturating_sub(3)..(i + 4).min(got.len())].iter().map(|e| e.position).collect();
            panic!("{ctx}: expected position {want}, got {} ({kind}); positions around it: {around:?}", e.position);
        }
    }
}

/// Asserts two lists of events equal in every field, naming the first difference.
#[track_caller]
fn assert_same_events(got: &[RecordedEvent], want: &[RecordedEvent], ctx: &str) {
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        panic!("{ctx}: event #{i} differs:\n  got  {}\n  want {}", summary(&got[i]), summary(&want[i]));
    }
    assert_eq!(got.len(), want.len(), "{ctx}: a different number of events");
}

/// Waits for the next `n` events of a subscription, failing if it errs, ends or stalls.
async fn take_events(sub: &mut EventStream, n: u64, ctx: &str) -> Vec<RecordedEvent> {
    let deadline = Instant::now() + WAIT;
    let mut out = Vec::with_capacity(n as usize);
    while (out.len() as u64) < n {
        match tokio::time::timeout_at(deadline, sub.next()).await {
            Err(_) => panic!("{ctx}: yielded {} of {n} events, then nothing within {WAIT:?}", out.len()),
            Ok(None) => panic!("{ctx}: ended after {} of {n} events", out.len()),
            Ok(Some(Err(e))) => panic!("{ctx}: failed after {} of {n} events: {e} ({e:?})", out.len()),
            Ok(Some(Ok(e))) => out.push(e),
        }
    }
    out
}

/// Asserts that a subscription yields nothing more for a while.
async fn assert_quiet(sub: &mut EventStream, ctx: &str) {
    match tokio::time::timeout(QUIET, sub.next()).await {
        Err(_) => {}
        Ok(None) => panic!("{ctx}: the subscription ended; it must wait for new events"),
        Ok(Some(Err(e))) => panic!("{ctx}: the subscription failed: {e} ({e:?})"),
        Ok(Some(Ok(e))) => panic!("{ctx}: yielded an event it should not have: {}", summary(&e)),
    }
}

/// Collects `total - from` events of a subscription in a task of their own; returns the task and
/// `from`.
fn consume(
    mut sub: EventStream,
    from: u64,
    total: u64,
    what: &str,
) -> (JoinHandle<(EventStream, Vec<RecordedEvent>, String)>, u64) {
    let what = what.to_owned();
    let task = spawn(async move {
        let got = take_events(&mut sub, total - from, &what).await;
        (sub, got, what)
    });
    (task, from)
}

/// Waits until the head reaches `at_least`, and returns it.
async fn wait_for_head<L: EventLog>(log: &L, at_least: u64) -> u64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let head = ok("head", log.head().await);
        if head >= at_least {
            return head;
        }
        assert!(Instant::now() < deadline, "the head stayed at {head} for {WAIT:?}, below {at_least}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Reads the whole log through `read_all` in pages of `page`, checking each page's size.
async fn read_all_paged<L: EventLog>(log: &L, page: usize, total: u64) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    loop {
        let from = out.len() as u64;
        let got = ok("read_all in pages", log.read_all(from, page).await);
        let want = (total - from).min(page as u64) as usize;
        assert_eq!(got.len(), want, "read_all({from}, {page}) of a log of {total} events: wrong page size");
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

/// `count` events as another log would have recorded them, following `before` (positions and
/// stream versions continue from it): streams `restored-a`, `-b` and `-c` (the first three events
/// in `restored-a`), times years ago with some equal and one going back, metadata on some, empty
/// and large payloads.
fn recorded_history(before: &[RecordedEvent], count: u64) -> Vec<RecordedEvent> {
    const STREAMS: [&str; 11] = ["a", "a", "a", "b", "c", "b", "a", "c", "c", "b", "a"];
    let mut next: HashMap<StreamId, u64> = HashMap::new();
    for e in before {
        next.insert(e.stream.clone(), e.version + 1);
    }
    let start = before.len() as u64;
    let mut at = before.last().map_or(1_600_000_000_000_000, |e| e.recorded_at_micros.min(1_700_000_000_000_000));
    (start..start + count)
        .map(|position| {
            let n = position - start;
            let s = stream(&format!("restored-{}", STREAMS[(n % STREAMS.len() as u64) as usize]));
            let version = next.get(&s).copied().unwrap_or(0);
            next.insert(s.clone(), version + 1);
            at = match n % 7 {
                3 => at,
                5 => at - 10_000_000,
                _ => at + 1_234_567 * (n as i64 % 5 + 1),
            };
            let data = match n % 13 {
                4 => Bytes::new(),
                6 => pattern(100_000, position),
                _ => Bytes::from(format!("{{\"restored\":{position}}}")),
            };
            let metadata =
                if n % 2 == 1 { Bytes::from(format!("{{\"trace\":\"r-{position}\"}}")) } else { Bytes::new() };
            let event_type = if n.is_multiple_of(4) { "Restored.Registered.v1" } else { "Restored.Changed.v2" };
            RecordedEvent {
                position,
                stream: s,
                version,
                id: EventId::new_v7(),
                event_type: event_type.to_owned(),
                data,
                metadata,
                recorded_at_micros: at,
            }
        })
        .collect()
}

/// Asserts that the log holds exactly `want`, in every field: its head, every event through
/// `read_all` in pages, and each stream's events through `read_stream` both ways and its version.
async fn assert_log_is<L: EventLog>(log: &L, want: &[RecordedEvent], ctx: &str) {
    let head = want.len() as u64;
    assert_eq!(ok("head", log.head().await), head, "{ctx}: head must be the number of events");
    let all = read_all_paged(log, 7, head).await;
    assert_same_events(&all, want, &format!("{ctx}: read_all"));
    let mut streams: BTreeMap<StreamId, Vec<RecordedEvent>> = BTreeMap::new();
    for e in want {
        streams.entry(e.stream.clone()).or_default().push(e.clone());
    }
    for (s, events) in &streams {
        let sctx = format!("{ctx}: read_stream({s})");
        let forward = ok("read_stream", log.read_stream(s, StreamFrom::Start, Direction::Forward, ALL).await);
        assert_same_events(&forward, events, &format!("{sctx} forward"));
        let mut backward = ok("read_stream", log.read_stream(s, StreamFrom::End, Direction::Backward, ALL).await);
        backward.reverse();
        assert_same_events(&backward, events, &format!("{sctx} backward"));
        let last = events.last().map(|e| e.version);
        assert_eq!(ok("stream_version", log.stream_version(s).await), last, "{ctx}: stream_version({s})");
    }
}

/// What a log shows from outside: its head, every event, and its streams' versions and events.
struct Snapshot {
    head: u64,
    all: Vec<RecordedEvent>,
    streams: Vec<(StreamId, Option<u64>, Vec<RecordedEvent>)>,
}

async fn snapshot<L: EventLog>(log: &L, streams: &[&StreamId]) -> Snapshot {
    let mut snap = Snapshot {
        head: ok("head", log.head().await),
        all: ok("read_all", log.read_all(0, ALL).await),
        streams: Vec::new(),
    };
    for s in streams {
        let version = ok("stream_version", log.stream_version(s).await);
        let events = ok("read_stream", log.read_stream(s, StreamFrom::Start, Direction::Forward, ALL).await);
        snap.streams.push(((*s).clone(), version, events));
    }
    snap
}

#[track_caller]
fn assert_same_snapshot(before: &Snapshot, after: &Snapshot, ctx: &str) {
    assert_eq!(after.head, before.head, "{ctx}: the head changed");
    assert_same_events(&after.all, &before.all, &format!("{ctx}: read_all"));
    for ((s, v0, e0), (_, v1, e1)) in before.streams.iter().zip(&after.streams) {
        assert_eq!(v1, v0, "{ctx}: the version of {s} changed");
        assert_same_events(e1, e0, &format!("{ctx}: read_stream({s})"));
    }
}

/// What the log must hold, from acknowledged appends: by position, the stream, the version and the
/// event appended.
#[derive(Default)]
struct Model {
    by_position: BTreeMap<u64, (StreamId, u64, NewEvent)>,
}

impl Model {
    /// Records an acknowledged append, checking that its result fits its batch.
    #[track_caller]
    fn record(&mut self, stream: &StreamId, r: &AppendResult, batch: &[NewEvent], ctx: &str) {
        let n = batch.len() as u64 - 1;
        assert_eq!(
            r.last_position.checked_sub(r.first_position),
            Some(n),
            "{ctx}: positions {}..={} for a batch of {}: a batch must take consecutive positions",
            r.first_position,
            r.last_position,
            batch.len()
        );
        assert_eq!(
            r.last_version.checked_sub(r.first_version),
            Some(n),
            "{ctx}: versions {}..={} for a batch of {}: a batch must take consecutive versions",
            r.first_version,
            r.last_version,
            batch.len()
        );
        for (i, e) in batch.iter().enumerate() {
            let position = r.first_position + i as u64;
            let earlier = self.by_position.insert(position, (stream.clone(), r.first_version + i as u64, e.clone()));
            if let Some((s, v, _)) = earlier {
                panic!("{ctx}: position {position} was given twice, the first time to {s} version {v}");
            }
        }
    }

    fn streams(&self) -> Vec<StreamId> {
        let set: std::collections::BTreeSet<StreamId> = self.by_position.values().map(|(s, _, _)| s.clone()).collect();
        set.into_iter().collect()
    }

    /// Asserts that `got` is the event the model holds at its position, in every field.
    #[track_caller]
    fn assert_matches(&self, got: &RecordedEvent, ctx: &str) {
        let Some((stream, version, want)) = self.by_position.get(&got.position) else {
            panic!("{ctx}: read an event at position {} that no append was given: {}", got.position, summary(got));
        };
        let at = format!("{ctx}: the event at position {}", got.position);
        assert_eq!(&got.stream, stream, "{at}: wrong stream");
        assert_eq!(got.version, *version, "{at}: wrong version");
        assert_eq!(got.id, want.id, "{at}: wrong id");
        assert_eq!(got.event_type, want.event_type, "{at}: wrong event type");
        if got.data != want.data {
            panic!(
                "{at}: data differs: read {} bytes, appended {}, first difference at byte {}",
                got.data.len(),
                want.data.len(),
                first_difference(&got.data, &want.data)
            );
        }
        if got.metadata != want.metadata {
            panic!(
                "{at}: metadata differs: read {} bytes, appended {}, first difference at byte {}",
                got.metadata.len(),
                want.metadata.len(),
                first_difference(&got.metadata, &want.metadata)
            );
        }
        let now = now_micros();
        assert!(
            (got.recorded_at_micros - now).abs() < DAY_MICROS,
            "{at}: recorded_at_micros {} is not within a day of now ({now}); it must be microseconds since the Unix epoch",
            got.recorded_at_micros
        );
    }

    /// Asserts that the log holds exactly the model: head, every event through `read_all`, and each
    /// stream's version and events through `read_stream`.
    async fn check<L: EventLog>(&self, log: &L, ctx: &str) {
        let head = self.by_position.len() as u64;
        if let Some((&last, _)) = self.by_position.last_key_value() {
            assert_eq!(last + 1, head, "{ctx}: the positions acknowledged are not gapless from 0");
        }
        assert_eq!(ok("head", log.head().await), head, "{ctx}: head must be the number of events");
        let all = ok("read_all", log.read_all(0, ALL).await);
        assert_eq!(all.len() as u64, head, "{ctx}: read_all from 0 returned the wrong number of events");
        assert_contiguous(&all, 0, &format!("{ctx}: read_all"));
        for e in &all {
            self.assert_matches(e, &format!("{ctx}: read_all"));
        }
        for s in self.streams() {
            let want: Vec<u64> =
                self.by_position.iter().filter(|(_, (st, _, _))| *st == s).map(|(&position, _)| position).collect();
            let got = ok("read_stream", log.read_stream(&s, StreamFrom::Start, Direction::Forward, ALL).await);
            let sctx = format!("{ctx}: read_stream({s})");
            assert_eq!(got.iter().map(|e| e.position).collect::<Vec<_>>(), want, "{sctx}: wrong positions");
            assert_eq!(
                got.iter().map(|e| e.version).collect::<Vec<_>>(),
                (0..want.len() as u64).collect::<Vec<_>>(),
                "{sctx}: versions must be gapless from 0"
            );
            for e in &got {
                self.assert_matches(e, &sctx);
            }
            assert_eq!(
                ok("stream_version", log.stream_version(&s).await),
                Some(want.len() as u64 - 1),
                "{ctx}: stream_version({s}) must be the version of its last event"
            );
        }
    }
}

/// The suite run against a minimal in-memory log, which checks the suite itself and the macro.
#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use tokio::sync::watch;

    use super::Harness;
    use crate::{
        AppendResult, Direction, Error, EventId, EventLog, EventStream, ExpectedVersion, NewEvent, RecordedEvent,
        Result, StreamAppend, StreamFrom, StreamId, validate_appends, validate_batch, validate_restore,
    };

    #[derive(Default)]
    struct Store {
        events: Vec<RecordedEvent>,
        /// Per stream, the positions of its events.
        streams: HashMap<StreamId, Vec<u64>>,
        /// Per event id, its position.
        ids: HashMap<EventId, u64>,
    }

    impl Store {
        /// Writes the parts, all or none, one after another; or, if every event is already in the
        /// log as given, returns where they are.
        fn write(&mut self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
            let flat: Vec<(&StreamId, &NewEvent)> =
                parts.iter().flat_map(|p| p.events.iter().map(move |e| (&p.stream, e))).collect();
            let known: Vec<(EventId, u64)> =
                flat.iter().filter_map(|(_, e)| self.ids.get(&e.id).map(|&at| (e.id, at))).collect();
            if let Some(&(id, first)) = known.first() {
                let retry = known.len() == flat.len()
                    && flat.iter().zip(&known).enumerate().all(|(i, ((s, e), &(_, at)))| {
                        let stored = &self.events[at as usize];
                        at == first + i as u64 && stored.stream == **s && e.same_content(stored)
                    });
                if !retry {
                    return Err(Error::DuplicateEventId { id, reason: "not a retry of its append".to_owned() });
                }
                let mut at = first;
                let results = parts
                    .iter()
                    .map(|p| {
                        let (a, b) =
                            (&self.events[at as usize], &self.events[(at + p.events.len() as u64 - 1) as usize]);
                        at += p.events.len() as u64;
                        AppendResult {
                            first_position: a.position,
                            last_position: b.position,
                            first_version: a.version,
                            last_version: b.version,
                        }
                    })
                    .collect();
                return Ok(results);
            }
            // Each part's expectation, against the stream as the parts before it leave it.
            let mut versions: HashMap<&StreamId, Option<u64>> = HashMap::new();
            for p in &parts {
                let actual = match versions.get(&p.stream) {
                    Some(&v) => v,
                    None => self.streams.get(&p.stream).map(|ps| ps.len() as u64 - 1),
                };
                if !p.expected.admits(actual) {
                    return Err(Error::WrongExpectedVersion { stream: p.stream.clone(), expected: p.expected, actual });
                }
                versions.insert(&p.stream, Some(actual.map_or(0, |v| v + 1) + p.events.len() as u64 - 1));
            }
            drop(versions);
            let now = super::now_micros();
            let mut results = Vec::with_capacity(parts.len());
            for part in parts {
                let first_position = self.events.len() as u64;
                let positions = self.streams.entry(part.stream.clone()).or_default();
                let first_version = positions.len() as u64;
                let n = part.events.len() as u64;
                positions.extend(first_position..first_position + n);
                for (i, e) in part.events.into_iter().enumerate() {
                    self.ids.insert(e.id, first_position + i as u64);
                    self.events.push(RecordedEvent {
                        position: first_position + i as u64,
                        stream: part.stream.clone(),
                        version: first_version + i as u64,
                        id: e.id,
                        event_type: e.event_type,
                        data: e.data,
                        metadata: e.metadata,
                        recorded_at_micros: now,
                    });
                }
                results.push(AppendResult {
                    first_position,
                    last_position: first_position + n - 1,
                    first_version,
                    last_version: first_version + n - 1,
                });
            }
            Ok(results)
        }
    }

    impl Store {
        /// Restores events as given: those already here exactly are skipped, the rest must follow
        /// the head with their streams' next versions and new ids; all or none.
        fn restore(&mut self, events: Vec<RecordedEvent>) -> Result<()> {
            let present = crate::check_restore(
                &events,
                self.events.len() as u64,
                |position| Ok(self.events[position as usize].clone()),
                |stream| Ok(self.streams.get(stream).map_or(0, |p| p.len() as u64)),
            )?;
            if let Some(e) = events[present..].iter().find(|e| self.ids.contains_key(&e.id)) {
                let at = self.ids[&e.id];
                return Err(Error::DuplicateEventId { id: e.id, reason: format!("it is at position {at}") });
            }
            for e in events.into_iter().skip(present) {
                self.streams.entry(e.stream.clone()).or_default().push(e.position);
                self.ids.insert(e.id, e.position);
                self.events.push(e);
            }
            Ok(())
        }
    }

    struct Shared {
        store: Mutex<Store>,
        head: watch::Sender<u64>,
    }

    #[derive(Clone)]
    struct MemoryLog(std::sync::Arc<Shared>);

    impl MemoryLog {
        fn write(&self, parts: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
            let mut store = self.0.store.lock().unwrap();
            let results = store.write(parts)?;
            self.0.head.send_replace(store.events.len() as u64);
            Ok(results)
        }
    }

    #[async_trait::async_trait]
    impl EventLog for MemoryLog {
        async fn append(
            &self,
            stream: &StreamId,
            expected: ExpectedVersion,
            events: Vec<NewEvent>,
        ) -> Result<AppendResult> {
            validate_batch(&events)?;
            let results = self.write(vec![StreamAppend::new(stream.clone(), expected, events)])?;
            Ok(results[0])
        }

        async fn append_many(&self, appends: Vec<StreamAppend>) -> Result<Vec<AppendResult>> {
            validate_appends(&appends)?;
            self.write(appends)
        }

        async fn restore(&self, events: Vec<RecordedEvent>) -> Result<()> {
            validate_restore(&events)?;
            let mut store = self.0.store.lock().unwrap();
            store.restore(events)?;
            self.0.head.send_replace(store.events.len() as u64);
            Ok(())
        }

        async fn read_stream(
            &self,
            stream: &StreamId,
            from: StreamFrom,
            direction: Direction,
            limit: usize,
        ) -> Result<Vec<RecordedEvent>> {
            let store = self.0.store.lock().unwrap();
            let Some(positions) = store.streams.get(stream) else { return Ok(Vec::new()) };
            let last = positions.len() as u64 - 1;
            let start = match from {
                StreamFrom::Start => 0,
                StreamFrom::End => last,
                StreamFrom::Version(v) => v,
            };
            let versions: Vec<u64> = match direction {
                Direction::Forward => (start..=last).take(limit).collect(),
                Direction::Backward => (0..=start.min(last)).rev().take(limit).collect(),
            };
            Ok(versions.into_iter().map(|v| store.events[positions[v as usize] as usize].clone()).collect())
        }

        async fn read_all(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
            let store = self.0.store.lock().unwrap();
            let from = usize::try_from(from).unwrap_or(usize::MAX).min(store.events.len());
            Ok(store.events[from..].iter().take(limit).cloned().collect())
        }

        async fn stream_version(&self, stream: &StreamId) -> Result<Option<u64>> {
            Ok(self.0.store.lock().unwrap().streams.get(stream).map(|p| p.len() as u64 - 1))
        }

        async fn head(&self) -> Result<u64> {
            Ok(self.0.store.lock().unwrap().events.len() as u64)
        }

        fn subscribe_all(&self, from: u64) -> EventStream {
            let changes = self.0.head.subscribe();
            let state = (self.0.clone(), changes, from);
            Box::pin(futures_util::stream::unfold(state, |(shared, mut changes, next)| async move {
                loop {
                    let event = shared.store.lock().unwrap().events.get(next as usize).cloned();
                    if let Some(event) = event {
                        return Some((Ok(event), (shared, changes, next + 1)));
                    }
                    changes.changed().await.ok()?;
                }
            }))
        }
    }

    /// Storage that outlives the handles opened on it.
    struct Memory(MemoryLog);

    #[async_trait::async_trait]
    impl Harness for Memory {
        type Log = MemoryLog;

        async fn open(&self) -> MemoryLog {
            self.0.clone()
        }
    }

    fn memory() -> Memory {
        let shared = Shared { store: Mutex::default(), head: watch::Sender::new(0) };
        Memory(MemoryLog(std::sync::Arc::new(shared)))
    }

    crate::conformance_suite!(|| async { memory() });
}
