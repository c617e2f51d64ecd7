//! Crash test: a child process runs a projection over a log and is killed with SIGKILL at random
//! moments, mostly in the middle of catching up, while it also appends; after every kill the stored
//! snapshot must hold each position before its checkpoint exactly once, and a final run must reach
//! the head with every position applied exactly once.
//!
//! The child is this test binary run again with `--ignored --exact` on
//! [`crash_child_projects_until_killed`], with the directory in `IMECE_PROJECTION_CRASH_DIR`.
//! Knobs: `IMECE_CRASH_ITERATIONS` (default 12), `IMECE_CRASH_SEED` (printed, to replay a run).

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imece_log::{EventLog, ExpectedVersion, NewEvent, StreamId};
use imece_projections::{Options, Projection, Projector, snapshot};
use support::{Recorder, append, check_exactly_once};

const CHILD_TEST: &str = "crash_child_projects_until_killed";
const ENV_DIR: &str = "IMECE_PROJECTION_CRASH_DIR";
const SIGKILL: i32 = 9;
/// Events in the log before the first child starts: the catch-up the kills interrupt.
const INITIAL_EVENTS: usize = 15_000;

/// Small batches and frequent snapshots, so kills land between, inside and during them.
fn options() -> Options {
    Options { snapshot_every_events: 500, snapshot_interval: Duration::from_millis(50), batch_size: 32 }
}

/// A few microseconds per event, so catching up takes long enough to be interrupted.
type Slow = Recorder<1, 5>;

/// Child side, not a test on its own: does nothing unless `IMECE_PROJECTION_CRASH_DIR` is set. With
/// it, opens the log and the projection there, appends now and then, and runs until killed.
#[test]
#[ignore = "child process of projections_survive_sigkill; does nothing when run alone"]
fn crash_child_projects_until_killed() {
    let Some(dir) = std::env::var_os(ENV_DIR) else { return };
    let dir = Path::new(&dir).to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let log: Arc<dyn EventLog> = Arc::new(support::open_log(&dir));
        let p = Projector::<Slow>::start(log.clone(), dir.join("views"), options()).await.unwrap();
        let stream = StreamId::new("child").unwrap();
        loop {
            let events = (0..5).map(|_| NewEvent::new("Test.v1", "{}")).collect();
            log.append(&stream, ExpectedVersion::Any, events).await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
            // A failed projection ends the child, so the parent sees it did not die by SIGKILL.
            match p.status().await.map(|s| s.state) {
                Ok(imece_projections::RunState::Failed { reason }) => {
                    eprintln!("crash child: projection failed: {reason}");
                    std::process::exit(3);
                }
                Err(e) => {
                    eprintln!("crash child: {e}");
                    std::process::exit(3);
                }
                Ok(_) => {}
            }
        }
    });
}

/// Xorshift64*, for the kill delays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Guards exactly-once under SIGKILL: the snapshot after every kill holds positions 0..checkpoint
/// each once, checkpoints never go back, kills land while the child is behind the head, and a last
/// run catches up to the head applying only what the last snapshot lacked.
#[test]
fn projections_survive_sigkill() {
    let iterations: u64 = std::env::var("IMECE_CRASH_ITERATIONS").map_or(12, |v| v.parse().unwrap());
    let seed: u64 = std::env::var("IMECE_CRASH_SEED").map_or_else(
        |_| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1,
        |v| v.parse().unwrap(),
    );
    println!("projection crash test: {iterations} iterations, IMECE_CRASH_SEED={seed}");
    let mut rng = Rng(seed.max(1));
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let log = support::open(dir.path());
        append(&*log, "initial", INITIAL_EVENTS).await;
    });
    println!("initial log written after {:?}", started.elapsed());
    let exe = std::env::current_exe().unwrap();
    let views = dir.path().join("views");
    let mut checkpoint = 0;
    let mut behind = 0;
    let mut advanced = 0;
    for i in 0..iterations {
        let delay = Duration::from_millis(30 + rng.next() % 250);
        let mut child = Command::new(&exe)
            .args([CHILD_TEST, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(ENV_DIR, dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.signal(),
            Some(SIGKILL),
            "iteration {i} (IMECE_CRASH_SEED={seed}): the child ended on its own with {}; stderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );

        let head = rt.block_on(async { support::open_log(dir.path()).head().await.unwrap() });
        let stored = snapshot::read(&views, Slow::NAME).unwrap();
        let now = match stored {
            None => 0,
            Some(s) => {
                assert_eq!(s.projection_version, 1);
                let state = Slow::decode(&s.state).unwrap();
                if let Err(why) = check_exactly_once(&state.positions, s.checkpoint) {
                    panic!("iteration {i} (IMECE_CRASH_SEED={seed}, killed after {delay:?}): {why}");
                }
                s.checkpoint
            }
        };
        assert!(now >= checkpoint, "iteration {i}: the snapshot went back from {checkpoint} to {now}");
        assert!(now <= head, "iteration {i}: checkpoint {now} is past the head {head}");
        if now < INITIAL_EVENTS as u64 {
            behind += 1;
        }
        if now > checkpoint {
            advanced += 1;
        }
        println!("iteration {i}: killed after {delay:?}, snapshot at {now}, head {head}, at {:?}", started.elapsed());
        checkpoint = now;
    }

    // A last run in this process: it resumes from the last snapshot and reaches the head.
    rt.block_on(async {
        let log: Arc<dyn EventLog> = Arc::new(support::open_log(dir.path()));
        let head = log.head().await.unwrap();
        let p = Projector::<Slow>::start(log.clone(), &views, options()).await.unwrap();
        p.wait_for(head - 1, Duration::from_secs(30)).await.unwrap();
        p.read_at(|r, at| {
            assert_eq!(at, head);
            check_exactly_once(&r.positions, at).unwrap();
            assert_eq!(r.applied_here, head - checkpoint, "applied only what the last snapshot lacked");
        });
        p.shutdown().await.unwrap();
    });
    println!("caught up after {:?}", started.elapsed());
    if iterations >= 4 {
        assert!(behind >= 1, "no kill landed in the middle of catching up");
        assert!(advanced >= 2, "the snapshot advanced in only {advanced} of {iterations} iterations");
    }
}
