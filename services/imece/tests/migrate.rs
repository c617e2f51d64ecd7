//! `imece migrate` end to end, through the real binary: embedded → PostgreSQL → embedded exactly,
//! copies interrupted (by `--stop-after` and by a real kill) and resumed, targets that are not a
//! beginning of the source refused, embedded → embedded without PostgreSQL, and sources that are
//! not there refused without being created.
//!
//! The PostgreSQL tests use the test server (`IMECE_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/test`) in schemas of their own, dropped afterwards; without a
//! server they are skipped, unless `IMECE_REQUIRE_POSTGRES=1`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use imece_log::{EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamAppend, StreamId};
use imece_log_embedded::EmbeddedLog;

const IMECE: &str = env!("CARGO_BIN_EXE_imece");

fn imece(args: &[&str]) -> Output {
    Command::new(IMECE).args(args).output().expect("run imece")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `imece migrate` with `args`, which must succeed; returns its stdout.
fn migrate_ok(args: &[&str]) -> String {
    let out = imece(&[&["migrate"], args].concat());
    assert!(
        out.status.success(),
        "imece migrate {args:?} failed ({}):\n{}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs `imece migrate` with `args`, which must fail; returns its stderr.
fn migrate_fails(args: &[&str]) -> String {
    let out = imece(&[&["migrate"], args].concat());
    assert!(!out.status.success(), "imece migrate {args:?} succeeded:\n{}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stderr)
}

/// The chain hash a successful migration printed.
fn chain_hash(stdout: &str) -> String {
    let line = stdout.lines().find(|l| l.starts_with("chain hash ")).unwrap_or_else(|| panic!("no hash in {stdout}"));
    line["chain hash ".len()..].trim().to_owned()
}

/// `1234567` as `1,234,567`, as imece prints counts.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// Fills an embedded log with `count` events over many streams: appends and `append_many` calls,
/// metadata on some, some payloads large, in batches (each call is one sync).
async fn fill(dir: &Path, count: u64) {
    let log = EmbeddedLog::open(dir).expect("open the source");
    let mut n = log.head().await.unwrap();
    let end = n + count;
    while n < end {
        let size = (end - n).min(1000);
        let parts: Vec<StreamAppend> = (0..size)
            .collect::<Vec<_>>()
            .chunks(7)
            .map(|chunk| {
                let stream = StreamId::new(format!("org-{}", (n + chunk[0]) % 97)).unwrap();
                let events = chunk
                    .iter()
                    .map(|i| {
                        let k = n + i;
                        let data = if k % 500 == 3 { "x".repeat(50_000) } else { format!("{{\"k\":{k}}}") };
                        let e = NewEvent::new(format!("Filled.{}.v1", k % 5), data);
                        if k.is_multiple_of(3) { e.with_metadata(format!("{{\"trace\":\"t{k}\"}}")) } else { e }
                    })
                    .collect();
                StreamAppend::new(stream, ExpectedVersion::Any, events)
            })
            .collect();
        log.append_many(parts).await.expect("fill the source");
        n += size;
    }
}

/// Every event of an embedded log.
async fn everything(dir: &Path) -> Vec<RecordedEvent> {
    let log = EmbeddedLog::open(dir).expect("open a log to read it");
    let mut out = Vec::new();
    loop {
        let page = log.read_all(out.len() as u64, 5000).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// Asserts two logs' events equal in every field, naming the first difference.
#[track_caller]
fn assert_identical(got: &[RecordedEvent], want: &[RecordedEvent], ctx: &str) {
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!(
            "{ctx}: position {i} differs in {:?}:\n  got  {:?}\n  want {:?}",
            got[i].differing_field(&want[i]),
            got[i],
            want[i]
        );
    }
    assert_eq!(got.len(), want.len(), "{ctx}: a different number of events");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL of the tests
// ---------------------------------------------------------------------------------------------

fn pg_url() -> String {
    std::env::var("IMECE_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

async fn pg_client(url: &str) -> Result<tokio_postgres::Client, String> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{e}"))?;
    config.connect_timeout(Duration::from_secs(3));
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(|e| format!("{e}"))?;
    tokio::spawn(connection);
    Ok(client)
}

/// The test server's URL; `None` (having said so) when there is none and it is not required.
async fn pg_server(test: &str) -> Option<String> {
    let url = pg_url();
    match pg_client(&url).await {
        Ok(client) => {
            client.simple_query("SELECT 1").await.expect("query the test server");
            Some(url)
        }
        Err(e) if std::env::var("IMECE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            panic!("IMECE_REQUIRE_POSTGRES=1, but PostgreSQL at {url} is unreachable: {e}")
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: no PostgreSQL at {url} ({e})");
            None
        }
    }
}

/// A schema of the test's own, dropped when the test ends.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    fn new(url: &str) -> Schema {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        Schema { url: url.to_owned(), name: format!("imece_test_migrate_{}_{nanos}", std::process::id()) }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let client = pg_client(&url).await?;
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .await
                    .map_err(|e| format!("{e}"))
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(std::io::stderr(), "could not drop test schema {}: {dropped:?}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// Guards (a): a node's log (loaded by `imece demo`, plus appends) goes to PostgreSQL and back to a
/// new directory exactly: every event equal in every field, `recorded_at_micros` included, the
/// chain hashes printed equal; `--verify-only` agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_to_postgres_and_back_is_exact() {
    let Some(url) = pg_server("embedded_to_postgres_and_back_is_exact").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let demo = imece(&["demo", "--data-dir", path(&data)]);
    assert!(demo.status.success(), "imece demo failed:\n{}", text(&demo.stderr));
    let source = data.join("log");
    fill(&source, 2500).await;
    let schema = Schema::new(&url);

    let out = migrate_ok(&["--from", path(&source), "--to", &url, "--to-schema", &schema.name, "--batch", "300"]);
    let there = chain_hash(&out);
    let back = dir.path().join("back");
    let out = migrate_ok(&["--from", &url, "--from-schema", &schema.name, "--to", path(&back), "--batch", "1000"]);
    assert_eq!(
        chain_hash(&out),
        there,
        "the chain hash of PostgreSQL → embedded must be that of embedded → PostgreSQL"
    );
    let out = migrate_ok(&["--verify-only", "--from", path(&source), "--to", &url, "--to-schema", &schema.name]);
    assert_eq!(chain_hash(&out), there, "--verify-only must print the same chain hash");

    let (want, got) = (everything(&source).await, everything(&back).await);
    assert!(want.len() > 2500, "the demo loaded events ({} in all)", want.len());
    assert_identical(&got, &want, "embedded → PostgreSQL → embedded");
    // The copy is a working log: appends continue after the copied events.
    let log = EmbeddedLog::open(&back).unwrap();
    let r = log.append(&want[0].stream, ExpectedVersion::Any, vec![NewEvent::new("After.v1", "{}")]).await.unwrap();
    assert_eq!(r.first_position, want.len() as u64, "an append to the copy takes the next position");
}

/// Guards (b): a copy stopped after some batches (`--stop-after`, deterministic) and one killed
/// with SIGKILL mid-copy both leave a beginning of the source in the target, whole batches only;
/// running the same command again finishes and verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_migration_resumes() {
    const TOTAL: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    fill(&source, TOTAL).await;
    let want = everything(&source).await;

    // Stopped on purpose after 3 batches of 1,000.
    let stopped = dir.path().join("stopped");
    let args = ["--from", path(&source), "--to", path(&stopped), "--batch", "1000"];
    let err = migrate_fails(&[&args[..], &["--stop-after", "3000"]].concat());
    assert!(err.contains("run the same command"), "a stopped copy must say how to resume:\n{err}");
    let partial = everything(&stopped).await;
    assert_eq!(partial.len(), 3000, "a copy stopped after 3,000 events holds 3,000");
    assert_identical(&partial, &want[..3000], "a stopped copy");
    let out = migrate_ok(&args);
    assert!(out.contains("copied 17,000 events") && out.contains("3,000 were there already"), "{out}");
    assert_identical(&everything(&stopped).await, &want, "a resumed copy");

    // Killed for real, mid-copy: small batches, a pause after each, a kill once it is copying.
    let killed = dir.path().join("killed");
    let mut child = Command::new(IMECE)
        .args(["migrate", "--from", path(&source), "--to", path(&killed), "--batch", "50", "--pause-ms", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start imece migrate");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("copying: ") {
                let _ = tx.send(());
            }
        }
    });
    // The first progress line comes a second into the copy.
    rx.recv_timeout(Duration::from_secs(60)).expect("the copy reports progress");
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("kill the copy");
    child.wait().unwrap();
    let partial = everything(&killed).await;
    let n = partial.len();
    assert!(n > 0 && (n as u64) < TOTAL, "the kill must land mid-copy: the target holds {n} of {TOTAL}");
    assert_eq!(n % 50, 0, "a killed copy keeps whole restore calls only: {n} events");
    assert_identical(&partial, &want[..n], "a killed copy");
    let started = Instant::now();
    let out = migrate_ok(&["--from", path(&source), "--to", path(&killed)]);
    assert!(out.contains(&format!("{} were there already", thousands(n as u64))), "{out}");
    assert_identical(&everything(&killed).await, &want, "a copy resumed after a kill");
    let _ = writeln!(std::io::stderr(), "resumed after a kill at {n} of {TOTAL} in {:?}", started.elapsed());
}

/// Guards (c): a target whose events are not the source's first ones is refused, naming the first
/// differing position, and left untouched; so is a target longer than the source; `--verify-only`
/// names a difference in `recorded_at_micros` alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_differs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    fill(&source, 500).await;
    let want = everything(&source).await;

    let differs = dir.path().join("differs");
    {
        let log = EmbeddedLog::open(&differs).unwrap();
        let mut prefix = want[..100].to_vec();
        prefix[42].data = "{\"k\":\"other\"}".into();
        log.restore(prefix).await.unwrap();
    }
    let err = migrate_fails(&["--from", path(&source), "--to", path(&differs)]);
    assert!(
        err.contains("position 42") && err.contains("data"),
        "the refusal must name position 42 and its data:\n{err}"
    );
    assert_eq!(everything(&differs).await.len(), 100, "a refused target is left as it was");

    let longer = dir.path().join("longer");
    migrate_ok(&["--from", path(&source), "--to", path(&longer)]);
    {
        let log = EmbeddedLog::open(&longer).unwrap();
        log.append(&want[0].stream, ExpectedVersion::Any, vec![NewEvent::new("Extra.v1", "{}")]).await.unwrap();
    }
    let err = migrate_fails(&["--from", path(&source), "--to", path(&longer)]);
    assert!(err.contains("holds 501 events, the source only 500"), "{err}");
    let err = migrate_fails(&["--verify-only", "--from", path(&source), "--to", path(&longer)]);
    assert!(err.contains("verification failed"), "{err}");

    let retimed = dir.path().join("retimed");
    {
        let log = EmbeddedLog::open(&retimed).unwrap();
        let mut all = want.clone();
        all[300].recorded_at_micros += 1;
        log.restore(all).await.unwrap();
    }
    let err = migrate_fails(&["--verify-only", "--from", path(&source), "--to", path(&retimed)]);
    assert!(
        err.contains("position 300") && err.contains("recorded_at_micros"),
        "--verify-only must name position 300 and its time:\n{err}"
    );
}

/// Guards (d): embedded → embedded, no PostgreSQL involved: an exact copy; running it again copies
/// nothing and verifies; a log held by a running process (a node) is refused, saying to stop it;
/// a node's data directory given for its log is refused with the right path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_to_embedded_without_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    fill(&source, 1234).await;
    let want = everything(&source).await;
    let target = dir.path().join("target");
    let first = migrate_ok(&["--from", path(&source), "--to", path(&target), "--batch", "100"]);
    assert!(first.contains("copied 1,234 events"), "{first}");
    assert_identical(&everything(&target).await, &want, "embedded → embedded");
    let again = migrate_ok(&["--from", path(&source), "--to", path(&target)]);
    assert!(again.contains("copied 0 events") && again.contains("1,234 were there already"), "{again}");
    assert_eq!(chain_hash(&again), chain_hash(&first), "the chain hash of the same log twice");

    let held = EmbeddedLog::open(&source).unwrap();
    let err = migrate_fails(&["--from", path(&source), "--to", path(&dir.path().join("other"))]);
    assert!(err.contains("stop the node"), "a log in use must be refused with what to do:\n{err}");
    drop(held);
    let held = EmbeddedLog::open(&target).unwrap();
    let err = migrate_fails(&["--verify-only", "--from", path(&source), "--to", path(&target)]);
    assert!(err.contains("stop the node"), "a target in use must be refused with what to do:\n{err}");
    drop(held);

    let data_dir: PathBuf = dir.path().join("node");
    std::fs::create_dir_all(data_dir.join("log")).unwrap();
    let err = migrate_fails(&["--from", path(&data_dir), "--to", path(&dir.path().join("x"))]);
    assert!(err.contains("node's data directory"), "{err}");
    let err = migrate_fails(&["--from", path(&dir.path().join("missing")), "--to", path(&dir.path().join("y"))]);
    assert!(err.contains("no such directory"), "{err}");
}

/// Whether the test server has a schema of this name.
async fn pg_schema_exists(url: &str, name: &str) -> bool {
    let client = pg_client(url).await.expect("a plain client");
    client
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&name])
        .await
        .expect("look for the schema")
        .get(0)
}

/// Guards (e): a source that is not there (a mistyped `--from`, or a directory that holds no log)
/// is refused, naming it, and nothing is created: neither the source nor the target; nor is a
/// missing target of `--verify-only`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_embedded_source_is_refused_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo");
    let target = dir.path().join("target");
    let err = migrate_fails(&["--from", path(&missing), "--to", path(&target)]);
    assert!(err.contains(path(&missing)) && err.contains("no such directory"), "the error names the source:\n{err}");
    assert!(!missing.exists(), "a missing source must not be created");
    assert!(!target.exists(), "nothing is copied, so no target is created");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = migrate_fails(&["--from", path(&empty), "--to", path(&target)]);
    assert!(err.contains(path(&empty)) && err.contains("no segment file"), "the error names the source:\n{err}");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0, "a directory without a log is left empty");
    assert!(!target.exists(), "nothing is copied, so no target is created");

    let source = dir.path().join("source");
    fill(&source, 10).await;
    let err = migrate_fails(&["--verify-only", "--from", path(&source), "--to", path(&missing)]);
    assert!(err.contains(path(&missing)) && err.contains("no such directory"), "the error names the target:\n{err}");
    assert!(!missing.exists(), "--verify-only must not create its target");
}

/// Guards (f): a PostgreSQL source schema that does not exist (a mistyped `--from-schema`) is
/// refused, naming it, and not created; nor is a missing target schema of `--verify-only`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_postgres_source_schema_is_refused_and_not_created() {
    let Some(url) = pg_server("a_missing_postgres_source_schema_is_refused_and_not_created").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let missing = Schema::new(&url);
    let target = dir.path().join("target");
    let err = migrate_fails(&["--from", &url, "--from-schema", &missing.name, "--to", path(&target)]);
    assert!(
        err.contains(&format!("schema \"{}\"", missing.name)) && err.contains("no such schema"),
        "the error names the source schema:\n{err}"
    );
    assert!(!pg_schema_exists(&url, &missing.name).await, "a missing source schema must not be created");
    assert!(!target.exists(), "nothing is copied, so no target is created");

    let source = dir.path().join("source");
    fill(&source, 10).await;
    let err = migrate_fails(&["--verify-only", "--from", path(&source), "--to", &url, "--to-schema", &missing.name]);
    assert!(err.contains(&missing.name) && err.contains("no such schema"), "the error names the target:\n{err}");
    assert!(!pg_schema_exists(&url, &missing.name).await, "--verify-only must not create its target schema");
}
