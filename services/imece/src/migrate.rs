//! `imece migrate`: copies a stopped node's log from one backend to another (the embedded log,
//! PostgreSQL), exactly, then proves the copy.
//!
//! Events are copied with [`EventLog::restore`], which keeps every field as the source recorded it
//! (positions, streams, versions, ids, types, data, metadata and `recorded_at_micros`): the
//! federation's hash chain covers them all, so a copy that changed one would break the node's chain
//! toward its partners.
//!
//! - **Resume.** A target that already holds N events must hold exactly the source's first N (they
//!   are compared event by event); the copy continues from N. Each restore call is atomic and
//!   durable, so a copy interrupted in any way (Ctrl-C, kill, crash) resumes when run again.
//! - **Verify.** Both logs are read back in full and compared: heads, every position present, every
//!   event equal in every field, every stream's version, and a BLAKE3 hash chain computed over each
//!   side's events ([`Chain`]) equal. `--verify-only` re-checks two logs without copying.
//! - **No empty source.** The source, and the target of `--verify-only`, are opened only if they
//!   hold a log ([`LogLocation::open_existing`]): a mistyped directory, schema or stream is refused
//!   rather than created and "copied" as an empty log.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use imece_log::{EventLog, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, RecordedEvent, StreamId};
use imece_server::backend::{DEFAULT_KURRENT_STREAM, LogLocation, NodeLog};

/// `imece migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The log to copy: the directory of an embedded log (a node's `<data_dir>/log`), a
    /// `postgres://user@host:port/database` URL (or libpq's `host=… dbname=…`, quoted), or a
    /// `kurrentdb://…` connection string (a build with `--features kurrentdb`). The node must be
    /// stopped. It must exist: a directory, schema or stream that holds no log is refused, and
    /// nothing is created.
    #[arg(long)]
    from: String,
    /// Where to copy it, in the same forms. Created if missing; if it holds events already they
    /// must be the source's first ones, and the copy resumes after them.
    #[arg(long)]
    to: String,
    /// The PostgreSQL schema of the source.
    #[arg(long, default_value = "imece")]
    from_schema: String,
    /// The PostgreSQL schema of the target.
    #[arg(long, default_value = "imece")]
    to_schema: String,
    /// The KurrentDB stream of the source.
    #[arg(long, default_value = DEFAULT_KURRENT_STREAM)]
    from_stream: String,
    /// The KurrentDB stream of the target.
    #[arg(long, default_value = DEFAULT_KURRENT_STREAM)]
    to_stream: String,
    /// Events per restore call: each is one atomic, durable write.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=MAX_BATCH_EVENTS as u64))]
    batch: u64,
    /// Copy nothing: only compare the two logs (counts, heads, every event, the hash chain). Both
    /// must exist.
    #[arg(long)]
    verify_only: bool,
    /// Stop once at least this many events are copied in this run, as if interrupted (for tests).
    #[arg(long, hide = true)]
    stop_after: Option<u64>,
    /// Pause this many milliseconds after each restore call (for tests that kill a copy).
    #[arg(long, hide = true)]
    pause_ms: Option<u64>,
}

/// Runs `imece migrate`.
pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let from = LogLocation::parse_with(&args.from, &args.from_schema, &args.from_stream);
    let to = LogLocation::parse_with(&args.to, &args.to_schema, &args.to_stream);
    if same_location(&from, &to) {
        bail!("--from and --to name the same log ({from})");
    }
    let source = open(&from, "source", true).await?;
    let target = open(&to, "target", args.verify_only).await?;
    let page = args.batch as usize;
    if !args.verify_only {
        let copied = copy(&source, &target, &from, &to, page, &args).await?;
        println!(
            "copied {} events from {from} to {to} in {:.2?} ({}); {} were there already",
            thousands(copied.events),
            copied.took,
            rate(copied.events, copied.took),
            thousands(copied.resumed_at),
        );
    }
    let started = Instant::now();
    let verified = verify(&source, &target, page).await?;
    let took = started.elapsed();
    println!(
        "verified {} events in {} streams in {took:.2?} ({}): heads equal, every position present, every event \
         equal in every field",
        thousands(verified.events),
        thousands(verified.streams as u64),
        rate(verified.events, took),
    );
    println!("chain hash {}", hex(&verified.hash));
    Ok(())
}

/// Whether two locations are the same log: the same directory, or the same database and schema.
fn same_location(a: &LogLocation, b: &LogLocation) -> bool {
    match (a, b) {
        (LogLocation::Embedded(x), LogLocation::Embedded(y)) => {
            x == y || matches!((x.canonicalize(), y.canonicalize()), (Ok(x), Ok(y)) if x == y)
        }
        (LogLocation::Postgres { url: u, schema: s, .. }, LogLocation::Postgres { url: v, schema: t, .. }) => {
            u == v && s == t
        }
        (LogLocation::Kurrent { url: u, stream: s }, LogLocation::Kurrent { url: v, stream: t }) => u == v && s == t,
        _ => false,
    }
}

/// Opens a log for the migration, which needs it to itself: a running node holds it (the embedded
/// log's directory lock, PostgreSQL's writer lock), and then it must be stopped first. A log that
/// `must_exist` (the source; the target of `--verify-only`) is opened only if it is there: a
/// mistyped directory, schema or stream is refused and nothing is created.
async fn open(location: &LogLocation, role: &str, must_exist: bool) -> anyhow::Result<NodeLog> {
    if let LogLocation::Embedded(dir) = location
        && must_exist
        && !holds_segments(dir)
        && dir.join("log").is_dir()
    {
        bail!(
            "the {role}, {location}, holds no log but has a log/ folder: is it a node's data directory? give {}",
            dir.join("log").display()
        );
    }
    let opened = if must_exist { location.open_existing().await } else { location.open().await };
    match opened {
        Ok(log) => Ok(log),
        Err(imece_server::Error::Log(imece_log::Error::Locked { .. })) => bail!(
            "the {role}, {location}, is in use: stop the node that runs on it first (imece migrate needs both logs \
             to itself)"
        ),
        Err(e) => Err(e).with_context(|| format!("opening the {role}, {location}")),
    }
}

/// Whether a directory holds segment files of an embedded log.
fn holds_segments(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().any(|e| e.path().extension().is_some_and(|x| x == "seg")))
        .unwrap_or(false)
}

/// What a copy did.
struct Copied {
    /// Events the target held when the copy started.
    resumed_at: u64,
    /// Events copied in this run.
    events: u64,
    took: Duration,
}

/// Copies the source's events the target lacks, after checking that what it holds is the source's
/// beginning.
async fn copy(
    source: &NodeLog,
    target: &NodeLog,
    from: &LogLocation,
    to: &LogLocation,
    page: usize,
    args: &MigrateArgs,
) -> anyhow::Result<Copied> {
    let total = source.head().await.context("reading the source's head")?;
    let held = target.head().await.context("reading the target's head")?;
    if held > total {
        bail!(
            "the target holds {held} events, the source only {total}: the target is not a copy of this source; \
             refusing to touch it"
        );
    }
    if held > 0 {
        eprintln!("the target holds {held} events already: checking that they are the source's first {held}");
        let mut progress = Progress::new("checking", held, 0);
        compare(source, target, held, page, &mut progress).await.map_err(|e| {
            e.context(format!("{to} is not a beginning of {from}: refusing to copy into it (nothing was written)"))
        })?;
        progress.finish(held);
    }
    let started = Instant::now();
    if held == total {
        eprintln!("the target holds every event of the source already: nothing to copy");
        return Ok(Copied { resumed_at: held, events: 0, took: started.elapsed() });
    }
    eprintln!("copying {} events from {from} to {to}, from position {held} on", thousands(total - held));

    // Ctrl-C (or SIGTERM) stops after the restore in flight: every restore is atomic, so a rerun
    // resumes. A second one stops at once, which is as safe.
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = {
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            imece_server::shutdown_signal().await;
            interrupted.store(true, Ordering::Relaxed);
            eprintln!("\nstopping after the batch being written (again to stop at once; a rerun resumes)");
            imece_server::shutdown_signal().await;
            std::process::exit(130);
        })
    };
    let outcome = copy_pages(source, target, held, total, page, args, &interrupted).await;
    watcher.abort();
    let at = outcome?;
    let copied = Copied { resumed_at: held, events: at - held, took: started.elapsed() };
    if at < total {
        let why = if interrupted.load(Ordering::Relaxed) { "interrupted" } else { "stopped as asked (--stop-after)" };
        bail!(
            "{why} after copying {} events: the target holds the source's first {at} of {total}; run the same command \
             again to resume",
            thousands(copied.events)
        );
    }
    Ok(copied)
}

/// The copy loop: reads the next page of the source while the last one is restored into the
/// target. Returns the target's head when it stopped.
async fn copy_pages(
    source: &NodeLog,
    target: &NodeLog,
    held: u64,
    total: u64,
    page: usize,
    args: &MigrateArgs,
    interrupted: &AtomicBool,
) -> anyhow::Result<u64> {
    let mut progress = Progress::new("copying", total, held);
    let mut at = held;
    let mut events = source.read_all(at, page).await.context("reading the source")?;
    while !events.is_empty() {
        if let Some((i, e)) = events.iter().enumerate().find(|(i, e)| e.position != at + *i as u64) {
            bail!("the source returned position {} where {} was expected", e.position, at + i as u64);
        }
        let next = at + events.len() as u64;
        let (restored, following) = tokio::join!(restore(target, events), async {
            if next < total { source.read_all(next, page).await } else { Ok(Vec::new()) }
        });
        restored.with_context(|| format!("restoring positions {at}..{next} into the target"))?;
        at = next;
        progress.update(at);
        if let Some(ms) = args.pause_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if interrupted.load(Ordering::Relaxed) || args.stop_after.is_some_and(|n| at - held >= n) {
            progress.finish(at);
            return Ok(at);
        }
        events = following.context("reading the source")?;
    }
    progress.finish(at);
    Ok(at)
}

/// Restores a page, cut into calls within the byte limit of one call.
async fn restore(target: &NodeLog, events: Vec<RecordedEvent>) -> imece_log::Result<()> {
    let mut call = Vec::new();
    let mut bytes = 0;
    for e in events {
        let size = e.data.len() + e.metadata.len();
        if !call.is_empty() && bytes + size > MAX_BATCH_BYTES {
            target.restore(std::mem::take(&mut call)).await?;
            bytes = 0;
        }
        bytes += size;
        call.push(e);
    }
    if !call.is_empty() {
        target.restore(call).await?;
    }
    Ok(())
}

/// What a verification found equal.
struct Verified {
    events: u64,
    streams: usize,
    hash: [u8; 32],
}

/// Compares the two logs in full: heads, every event, every stream's version, and each side's
/// hash chain.
async fn verify(source: &NodeLog, target: &NodeLog, page: usize) -> anyhow::Result<Verified> {
    let (head, target_head) = tokio::try_join!(source.head(), target.head()).context("reading the heads")?;
    if head != target_head {
        bail!("verification failed: the source holds {head} events, the target {target_head}");
    }
    let mut progress = Progress::new("verifying", head, 0);
    let compared = compare(source, target, head, page, &mut progress).await.context("verification failed")?;
    progress.finish(head);
    // The streams' own indexes (versions) must agree with the events: the target's were built by
    // the restores.
    for (stream, &version) in &compared.streams {
        let (a, b) = tokio::try_join!(source.stream_version(stream), target.stream_version(stream))
            .with_context(|| format!("reading the version of stream {stream}"))?;
        if a != Some(version) || b != Some(version) {
            bail!(
                "verification failed: stream {stream} ends at version {version} in the log, but the source reports \
                 {a:?} and the target {b:?}"
            );
        }
    }
    let (ours, theirs) = (compared.source.hash, compared.target.hash);
    if ours != theirs || compared.source.count != head || compared.target.count != head {
        bail!(
            "verification failed: the chain hashes differ ({} events, source {}, target {})",
            compared.source.count,
            hex(&ours),
            hex(&theirs)
        );
    }
    Ok(Verified { events: head, streams: compared.streams.len(), hash: ours })
}

/// Both logs' chains over a range, and every stream's last version in it.
struct Compared {
    source: Chain,
    target: Chain,
    streams: HashMap<StreamId, u64>,
}

/// Reads positions `0..end` of both logs in pages, side by side, and compares them event by event,
/// naming the first position where they differ; hashes each side's events into a chain of its own.
async fn compare(
    source: &NodeLog,
    target: &NodeLog,
    end: u64,
    page: usize,
    progress: &mut Progress,
) -> anyhow::Result<Compared> {
    let mut compared = Compared { source: Chain::new(), target: Chain::new(), streams: HashMap::new() };
    let mut at = 0;
    while at < end {
        let limit = page.min((end - at) as usize);
        let (ours, theirs) = tokio::try_join!(source.read_all(at, limit), target.read_all(at, limit))
            .with_context(|| format!("reading both logs from position {at}"))?;
        for i in 0..limit {
            let position = at + i as u64;
            let (a, b) = match (ours.get(i), theirs.get(i)) {
                (Some(a), Some(b)) => (a, b),
                (None, _) => bail!("position {position} is missing from the source"),
                (_, None) => bail!("position {position} is missing from the target"),
            };
            if a.position != position {
                bail!("the source holds position {} where {position} was expected", a.position);
            }
            if let Some(field) = a.differing_field(b) {
                bail!(
                    "the logs differ at position {position}: its {field} differs\n  source: {}\n  target: {}",
                    summary(a),
                    summary(b)
                );
            }
            compared.source.push(a);
            compared.target.push(b);
            compared.streams.insert(a.stream.clone(), a.version);
        }
        at += limit as u64;
        progress.update(at);
    }
    Ok(compared)
}

/// A BLAKE3 hash chain over events: `h(0)` is the hash of `imece migrate: event chain v1`, and
/// `h(n+1) = BLAKE3(h(n) || encoding of event n)`, where the encoding is, in order: position,
/// stream, version, id (16 bytes), event type, data, metadata, recorded_at_micros; integers are 8
/// bytes little-endian, and stream, type, data and metadata are each preceded by their length in
/// bytes as 8 bytes little-endian. Two logs with the same chain hash hold the same events in every
/// field, in the same order.
struct Chain {
    hash: [u8; 32],
    count: u64,
}

impl Chain {
    fn new() -> Self {
        Chain { hash: *blake3::hash(b"imece migrate: event chain v1").as_bytes(), count: 0 }
    }

    fn push(&mut self, e: &RecordedEvent) {
        let mut h = blake3::Hasher::new();
        h.update(&self.hash);
        h.update(&e.position.to_le_bytes());
        field(&mut h, e.stream.as_str().as_bytes());
        h.update(&e.version.to_le_bytes());
        h.update(e.id.as_bytes());
        field(&mut h, e.event_type.as_bytes());
        field(&mut h, &e.data);
        field(&mut h, &e.metadata);
        h.update(&e.recorded_at_micros.to_le_bytes());
        self.hash = *h.finalize().as_bytes();
        self.count += 1;
    }
}

fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// One line about an event, without its payload.
fn summary(e: &RecordedEvent) -> String {
    format!(
        "stream {} version {} id {} type {} data {} bytes metadata {} bytes recorded at {}",
        e.stream,
        e.version,
        e.id,
        e.event_type,
        e.data.len(),
        e.metadata.len(),
        e.recorded_at_micros
    )
}

/// Lower-case hex, for hashes on the command line.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(events: u64, took: Duration) -> String {
    let secs = took.as_secs_f64();
    if secs <= 0.0 {
        format!("{events} events")
    } else {
        format!("{} events/s", thousands((events as f64 / secs) as u64))
    }
}

/// A progress bar on stderr: one line redrawn in place on a terminal, plain lines every few seconds
/// otherwise (a log file, a pipe).
struct Progress {
    label: &'static str,
    total: u64,
    /// Where this run started: the rate counts what it did.
    start: u64,
    started: Instant,
    last: Option<Instant>,
    /// What the last line showed.
    shown: Option<u64>,
    tty: bool,
}

impl Progress {
    fn new(label: &'static str, total: u64, start: u64) -> Self {
        Progress {
            label,
            total,
            start,
            started: Instant::now(),
            last: None,
            shown: None,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn update(&mut self, done: u64) {
        let every = if self.tty { Duration::from_millis(100) } else { Duration::from_secs(1) };
        if self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        self.draw(done);
    }

    fn finish(&mut self, done: u64) {
        if self.shown != Some(done) {
            self.draw(done);
        }
        if self.tty {
            eprintln!();
        }
    }

    fn draw(&mut self, done: u64) {
        self.shown = Some(done);
        let elapsed = self.started.elapsed().as_secs_f64();
        let per_second = if elapsed > 0.0 { (done - self.start) as f64 / elapsed } else { 0.0 };
        let percent = if self.total == 0 { 100.0 } else { done as f64 * 100.0 / self.total as f64 };
        let eta = if per_second > 0.0 {
            clock(Duration::from_secs_f64((self.total - done.min(self.total)) as f64 / per_second))
        } else {
            "?".to_owned()
        };
        let numbers = format!(
            "{}/{} {percent:5.1}% {} events/s ETA {eta}",
            thousands(done),
            thousands(self.total),
            thousands(per_second as u64)
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            const WIDTH: usize = 30;
            let filled = ((percent / 100.0) * WIDTH as f64).round() as usize;
            let bar = format!("{}{}", "#".repeat(filled.min(WIDTH)), "-".repeat(WIDTH - filled.min(WIDTH)));
            let _ = write!(err, "\r\x1b[K{} [{bar}] {numbers}", self.label);
        } else {
            let _ = writeln!(err, "{}: {numbers}", self.label);
        }
        let _ = err.flush();
    }
}

/// `h:mm:ss`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }

    /// Guards the chain: every field counts, and the length prefixes keep fields from running into
    /// each other.
    #[test]
    fn the_chain_covers_every_field() {
        let e = RecordedEvent {
            position: 7,
            stream: StreamId::new("org-1").unwrap(),
            version: 2,
            id: imece_log::EventId::new_v7(),
            event_type: "Registered.v1".to_owned(),
            data: "ab".into(),
            metadata: "c".into(),
            recorded_at_micros: 1_700_000_000_000_000,
        };
        let hash = |e: &RecordedEvent| {
            let mut c = Chain::new();
            c.push(e);
            c.hash
        };
        let base = hash(&e);
        let changes: Vec<RecordedEvent> = vec![
            RecordedEvent { position: 8, ..e.clone() },
            RecordedEvent { stream: StreamId::new("org-2").unwrap(), ..e.clone() },
            RecordedEvent { version: 3, ..e.clone() },
            RecordedEvent { id: imece_log::EventId::new_v7(), ..e.clone() },
            RecordedEvent { event_type: "Registered.v2".to_owned(), ..e.clone() },
            RecordedEvent { data: "a".into(), metadata: "bc".into(), ..e.clone() },
            RecordedEvent { recorded_at_micros: e.recorded_at_micros + 1, ..e.clone() },
        ];
        for changed in changes {
            assert_ne!(hash(&changed), base, "a change in {:?} must change the chain", e.differing_field(&changed));
        }
        assert_eq!(hash(&e.clone()), base);
    }
}
