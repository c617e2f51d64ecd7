//! The projector over a real embedded log in a temporary directory.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use imece_log::{ExpectedVersion, NewEvent, StreamId};
use imece_projections::{Error, Options, Projection, ProjectionControl, Projector, RunState, snapshot};
use support::{POISON, Recorder, append, check_exactly_once, open};

const WAIT: Duration = Duration::from_secs(10);

fn options() -> Options {
    Options { snapshot_every_events: 1_000_000, snapshot_interval: Duration::from_secs(3600), batch_size: 64 }
}

/// Guards resuming: after a clean stop the projection starts from its snapshot and applies exactly
/// the events appended after it, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_snapshot_applies_exactly_the_events_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    let log = open(dir.path());
    append(&*log, "a", 300).await;
    let p = Projector::<Recorder>::start(log.clone(), &views, options()).await.unwrap();
    p.wait_for(299, WAIT).await.unwrap();
    p.shutdown().await.unwrap();
    let stored = snapshot::read(&views, Recorder::<1>::NAME).unwrap().expect("a snapshot at shutdown");
    assert_eq!(stored.checkpoint, 300);
    assert_eq!(stored.projection_version, 1);

    let last = append(&*log, "b", 120).await;
    assert_eq!(last, 419);
    let p = Projector::<Recorder>::start(log.clone(), &views, options()).await.unwrap();
    let status = p.status().await.unwrap();
    assert_eq!(status.last_snapshot.map(|s| s.checkpoint), Some(300), "{status:?}");
    p.wait_for(last, WAIT).await.unwrap();
    p.read_at(|r, checkpoint| {
        assert_eq!(checkpoint, 420);
        check_exactly_once(&r.positions, checkpoint).unwrap();
        assert_eq!(r.applied_here, 120, "only the events after the snapshot are applied again");
    });
    p.shutdown().await.unwrap();
}

/// Guards the version rule: a snapshot written under another version is not decoded; the
/// projection is rebuilt from position 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_rebuilds_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    let log = open(dir.path());
    let last = append(&*log, "a", 250).await;
    let v1 = Projector::<Recorder<1>>::start(log.clone(), &views, options()).await.unwrap();
    v1.wait_for(last, WAIT).await.unwrap();
    v1.shutdown().await.unwrap();

    let v2 = Projector::<Recorder<2>>::start(log.clone(), &views, options()).await.unwrap();
    assert_eq!(v2.status().await.unwrap().last_snapshot, None, "the version 1 snapshot is not used");
    v2.wait_for(last, WAIT).await.unwrap();
    v2.read(|r| {
        check_exactly_once(&r.positions, 250).unwrap();
        assert_eq!(r.applied_here, 250);
    });
    v2.shutdown().await.unwrap();
    assert_eq!(snapshot::read(&views, "recorder").unwrap().unwrap().projection_version, 2);
}

/// Guards the checksum: a damaged snapshot is never used; the projection is rebuilt from the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_snapshot_rebuilds_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    let log = open(dir.path());
    let last = append(&*log, "a", 200).await;
    let p = Projector::<Recorder>::start(log.clone(), &views, options()).await.unwrap();
    p.wait_for(last, WAIT).await.unwrap();
    p.shutdown().await.unwrap();

    // Flip one bit of the stored state: still a well-formed list of positions, but not what was
    // written.
    let path = snapshot::path(&views, "recorder");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[snapshot::HEADER_LEN + 8] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(snapshot::read(&views, "recorder"), Err(Error::CorruptSnapshot { .. })));

    let p = Projector::<Recorder>::start(log.clone(), &views, options()).await.unwrap();
    p.wait_for(last, WAIT).await.unwrap();
    p.read(|r| {
        check_exactly_once(&r.positions, 200).unwrap();
        assert_eq!(r.applied_here, 200);
    });
    p.shutdown().await.unwrap();
    assert!(snapshot::read(&views, "recorder").unwrap().is_some(), "a good snapshot replaces the damaged one");
}

/// Guards read-your-writes: at once when reached, after the append when not, a timeout naming
/// the wanted position and the checkpoint otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_returns_at_once_after_an_append_or_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    let log = open(dir.path());
    let last = append(&*log, "a", 10).await;
    let p = Projector::<Recorder>::start(log.clone(), &views, options()).await.unwrap();
    p.wait_for(last, WAIT).await.unwrap();

    let started = Instant::now();
    p.wait_for(last, Duration::from_millis(1)).await.unwrap();
    let n = p.query(Some(3), Duration::from_millis(1), |r| r.positions.len()).await.unwrap();
    assert_eq!(n, 10);
    assert!(started.elapsed() < Duration::from_millis(500));

    // Not yet in the log: the wait ends when it is appended and applied.
    let writer = {
        let log = log.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            append(&*log, "b", 1).await
        })
    };
    let started = Instant::now();
    p.wait_for(10, WAIT).await.unwrap();
    assert_eq!(writer.await.unwrap(), 10);
    assert!(started.elapsed() >= Duration::from_millis(90), "returned before the event was appended");
    assert!(p.read(|r| r.positions.contains(&10)));

    // Never appended: a timeout with the wanted position and where the projection stands.
    let started = Instant::now();
    match p.wait_for(15, Duration::from_millis(150)).await {
        Err(Error::Timeout { projection: "recorder", wanted: 15, reached: 11 }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(150));
    let timeout = p.query(Some(15), Duration::from_millis(10), |_| ()).await.unwrap_err();
    assert!(timeout.to_string().contains("has not reached position 15"), "{timeout}");
    p.shutdown().await.unwrap();
    // Stopped: no wait for the timeout.
    let started = Instant::now();
    assert!(matches!(p.wait_for(15, WAIT).await, Err(Error::Stopped { .. })));
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// Guards failure handling: an event the projection cannot apply stops it there, with the reason
/// in its status; it is not skipped, now or after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_error_stops_the_projection_at_that_event() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    let log = open(dir.path());
    append(&*log, "a", 5).await;
    let stream = StreamId::new("bad").unwrap();
    log.append(&stream, ExpectedVersion::Any, vec![NewEvent::new(POISON, "{}")]).await.unwrap();
    append(&*log, "a", 4).await;

    for _restart in 0..2 {
        let p = Projector::<Recorder>::start(log.clone(), &views, options()).await.unwrap();
        match p.wait_for(7, WAIT).await {
            Err(Error::Stopped { reason, .. }) => assert!(reason.contains("at position 5"), "{reason}"),
            other => panic!("expected the projection to stop, got {other:?}"),
        }
        let status = p.status().await.unwrap();
        assert_eq!(status.checkpoint, 5);
        assert_eq!(status.head, 10);
        assert_eq!(status.lag, 5);
        match &status.state {
            RunState::Failed { reason } => assert!(reason.contains("refusing to apply Poison.v1"), "{reason}"),
            other => panic!("expected failed, got {other:?}"),
        }
        // The state before the event keeps answering.
        p.read(|r| check_exactly_once(&r.positions, 5).unwrap());
        assert!(p.rebuild().is_err(), "a stopped projection does not rebuild");
        assert!(p.shutdown().await.is_err(), "shutdown reports the failure");
    }
}

/// Guards rebuilds: a fresh state is built from position 0 while the current one answers and
/// events keep being appended; the swap loses nothing and applies nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_swaps_in_without_losing_an_event_while_queries_answer() {
    type Slow = Recorder<1, 20>;
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    let log = open(dir.path());
    let last = append(&*log, "a", 1500).await;
    let p = Projector::<Slow>::start(log.clone(), &views, options()).await.unwrap();
    p.wait_for(last, WAIT).await.unwrap();
    p.shutdown().await.unwrap();
    // Start from the snapshot, so the live state did not apply everything itself.
    let p = Projector::<Slow>::start(log.clone(), &views, options()).await.unwrap();
    assert_eq!(p.read(|r| r.applied_here), 0);

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (log, stop) = (log.clone(), stop.clone());
        tokio::spawn(async move {
            let stream = StreamId::new("live").unwrap();
            let mut last = 0;
            while !stop.load(Ordering::Relaxed) {
                let events = (0..3).map(|_| NewEvent::new("Test.v1", "{}")).collect();
                last = log.append(&stream, ExpectedVersion::Any, events).await.unwrap().last_position;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            last
        })
    };
    let reader = {
        let (p, stop) = (p.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut reads, mut saw_rebuilding) = (0u64, false);
            while !stop.load(Ordering::Relaxed) {
                p.read_at(|r, checkpoint| check_exactly_once(&r.positions, checkpoint)).unwrap();
                if let RunState::Rebuilding { position, target } = p.status().await.unwrap().state {
                    assert!(position <= target);
                    saw_rebuilding = true;
                }
                reads += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            (reads, saw_rebuilding)
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    p.rebuild().unwrap();
    p.rebuild().unwrap(); // joins the running one
    p.wait_rebuilt().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    let last = writer.await.unwrap();
    let (reads, saw_rebuilding) = reader.await.unwrap();
    assert!(reads > 10, "queries kept answering during the rebuild ({reads} reads)");
    assert!(saw_rebuilding, "the status showed the rebuild");

    p.wait_for(last, WAIT).await.unwrap();
    let status = p.status().await.unwrap();
    assert_eq!(status.rebuilds, 1);
    assert_eq!(status.rebuild_error, None);
    assert!(status.last_snapshot.is_some_and(|s| s.checkpoint >= 1500));
    p.read_at(|r, checkpoint| {
        assert_eq!(checkpoint, last + 1);
        check_exactly_once(&r.positions, checkpoint).unwrap();
        assert_eq!(r.applied_here, checkpoint, "the answering state is the rebuilt one, folded from 0");
    });
    p.shutdown().await.unwrap();
}

/// Guards the admin view: every projection behind one type-erased handle, with its lag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_handle_reports_status_and_lag() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    let log = open(dir.path());
    let last = append(&*log, "a", 30).await;
    let p = Projector::<Recorder>::start(log.clone(), &views, options()).await.unwrap();
    let all: Vec<Arc<dyn ProjectionControl>> = vec![p.control()];
    all[0].wait_for(last, WAIT).await.unwrap();
    // Live once the task finds nothing more to read, just after its last batch.
    let status = eventually(&p, |s| s.state == RunState::Live).await;
    assert_eq!((status.name, status.version, status.checkpoint, status.head, status.lag), ("recorder", 1, 30, 30, 0));
    assert_eq!(all[0].status().await.unwrap(), status);
    all[0].rebuild().unwrap();
    all[0].wait_rebuilt().await.unwrap();
    assert_eq!(all[0].status().await.unwrap().rebuilds, 1);

    p.shutdown().await.unwrap();
    append(&*log, "a", 7).await;
    let status = all[0].status().await.unwrap();
    assert_eq!((status.checkpoint, status.head, status.lag), (30, 37, 7));
    assert_eq!(status.state, RunState::Stopped);
    assert_eq!(all[0].checkpoint(), 30);
}

/// Guards the periodic snapshot: after the interval, a changed state is stored without a
/// shutdown, so a crash loses little work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_stored_by_count_and_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    let log = open(dir.path());
    let opts = Options { snapshot_every_events: 100, snapshot_interval: Duration::from_millis(100), batch_size: 10 };
    let last = append(&*log, "a", 250).await;
    let p = Projector::<Recorder>::start(log.clone(), &views, opts).await.unwrap();
    p.wait_for(last, WAIT).await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let stored = snapshot::read(&views, "recorder").unwrap().map(|s| s.checkpoint);
        if stored == Some(250) {
            break;
        }
        assert!(Instant::now() < deadline, "no snapshot at 250 after the interval: {stored:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored = snapshot::read(&views, "recorder").unwrap().unwrap();
    let state = Recorder::<1>::decode(&stored.state).unwrap();
    check_exactly_once(&state.positions, stored.checkpoint).unwrap();
    drop(p);
}

/// Guards snapshot failures: a snapshot that cannot be written is reported in the status while
/// the view keeps applying events, and the next good one clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_snapshot_write_is_reported_and_the_view_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views");
    let log = open(dir.path());
    let opts = Options { snapshot_every_events: 10, snapshot_interval: Duration::from_secs(3600), batch_size: 10 };
    let p = Projector::<Recorder>::start(log.clone(), &views, opts).await.unwrap();
    std::fs::remove_dir_all(&views).unwrap();
    let last = append(&*log, "a", 25).await;
    p.wait_for(last, WAIT).await.unwrap();
    // The snapshot is written after the batch is published: wait for its outcome.
    let status = eventually(&p, |s| s.snapshot_error.is_some()).await;
    assert!(status.snapshot_error.as_deref().is_some_and(|e| e.contains("recorder.snapshot")), "{status:?}");
    assert_eq!(status.last_snapshot, None);
    assert_eq!(status.checkpoint, 25);
    assert!(!matches!(status.state, RunState::Failed { .. }), "{status:?}");

    std::fs::create_dir_all(&views).unwrap();
    let last = append(&*log, "a", 10).await;
    p.wait_for(last, WAIT).await.unwrap();
    let status = eventually(&p, |s| s.snapshot_error.is_none()).await;
    assert!(status.last_snapshot.is_some());
    p.shutdown().await.unwrap();
    assert_eq!(snapshot::read(&views, "recorder").unwrap().unwrap().checkpoint, 35);
}

/// The status once `done` holds of it; panics after [`WAIT`].
async fn eventually(
    p: &Projector<Recorder>,
    done: impl Fn(&imece_projections::Status) -> bool,
) -> imece_projections::Status {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = p.status().await.unwrap();
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "status never got there: {status:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
