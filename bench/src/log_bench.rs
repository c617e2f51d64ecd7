//! `imece-bench log`: the embedded log against SQLite, scenario by scenario, in the same run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use imece_log_embedded::Options;
use tempfile::TempDir;

use crate::report::{self, Row};
use crate::sqlite::Design;
use crate::workload::{self, FillPlan, Throughput, WritePlan};
use crate::{BoxError, embedded, sqlite};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenarios to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    scenario: Vec<Scenario>,
    /// Seconds each write and read scenario runs, per peer (and per SQLite design).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Events in the log the reopen scenario builds, over scale / 100 streams; the target is for
    /// 10000000.
    #[arg(long, env = "IMECE_BENCH_SCALE", default_value_t = 2_000_000)]
    scale: u64,
    /// Events in the log the read scenario reads, over read-events / 100 streams.
    #[arg(long, default_value_t = 1_000_000)]
    read_events: u64,
    /// Events per `read_all` page (and per SQLite query) in the read scenario.
    #[arg(long, default_value_t = 1_000)]
    page: usize,
    /// Where the scenarios' fresh directories go: on the disk to measure (the system temp dir may
    /// be in memory).
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
    /// Open the embedded log with `preallocate: false`: segments grow as they are written instead
    /// of being zero-filled ahead.
    #[arg(long)]
    no_preallocate: bool,
    /// Before the reopen, sync and drop the page cache (`/proc/sys/vm/drop_caches`), so that the
    /// child reads the log from disk as after a reboot. Needs root; affects the whole machine.
    #[arg(long)]
    drop_caches: bool,
}

impl Args {
    fn options(&self) -> Options {
        Options { preallocate: !self.no_preallocate, ..Options::default() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    All,
    #[value(name = "batched-1")]
    Batched1,
    #[value(name = "batched-8")]
    Batched8,
    #[value(name = "single-64")]
    Single64,
    Read,
    Reopen,
}

/// A write scenario and what it should reach.
#[derive(Debug)]
struct WriteScenario {
    name: &'static str,
    plan: WritePlan,
    min_events_per_sec: f64,
    min_ratio: f64,
    sqlite_designs: &'static [Design],
}

const BOTH_DESIGNS: &[Design] = &[Design::WriterThread, Design::ConnectionPerThread];

const BATCHED_1: WriteScenario = WriteScenario {
    name: "1. batched appends (100 events), 1 writer",
    plan: WritePlan { writers: 1, batch: 100, streams_per_writer: 100 },
    min_events_per_sec: 400_000.0,
    min_ratio: 10.0,
    sqlite_designs: &[Design::ConnectionPerThread],
};

const BATCHED_8: WriteScenario = WriteScenario {
    name: "2. batched appends (100 events), 8 writers",
    plan: WritePlan { writers: 8, batch: 100, streams_per_writer: 100 },
    min_events_per_sec: 1_000_000.0,
    min_ratio: 10.0,
    sqlite_designs: BOTH_DESIGNS,
};

const SINGLE_64: WriteScenario = WriteScenario {
    name: "3. single-event appends, 64 writers",
    plan: WritePlan { writers: 64, batch: 1, streams_per_writer: 100 },
    min_events_per_sec: 200_000.0,
    min_ratio: 20.0,
    sqlite_designs: BOTH_DESIGNS,
};

const MIN_READ_EVENTS_PER_SEC: f64 = 3_000_000.0;
const TARGET_REOPEN_EVENTS: u64 = 10_000_000;
const MAX_REOPEN: Duration = Duration::from_secs(5);
const MAX_REOPEN_RSS: u64 = 1 << 30;

pub fn run(args: &Args) -> Result<(), BoxError> {
    for (name, events) in [("--scale", args.scale), ("--read-events", args.read_events)] {
        if events == 0 || events % 100 != 0 {
            return Err(format!("{name} must be a positive multiple of 100, is {events}").into());
        }
    }
    if args.page == 0 {
        return Err("--page must be positive".into());
    }
    if !args.seconds.is_finite() || args.seconds <= 0.0 {
        return Err(format!("--seconds must be positive, is {}", args.seconds).into());
    }
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    if profile != "release" {
        eprintln!("warning: this is a {profile} build, its figures mean little: run with `cargo run --release`");
    }
    std::fs::create_dir_all(&args.dir)?;
    let all = args.scenario.contains(&Scenario::All);
    let wanted = |s: Scenario| all || args.scenario.contains(&s);
    let duration = Duration::from_secs_f64(args.seconds);

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (scenario, write) in
        [(Scenario::Batched1, &BATCHED_1), (Scenario::Batched8, &BATCHED_8), (Scenario::Single64, &SINGLE_64)]
    {
        if wanted(scenario) {
            let (row, note) = run_write(args, write, duration)?;
            rows.push(row);
            notes.push(note);
        }
    }
    if wanted(Scenario::Read) {
        let (row, note) = run_read(args, duration)?;
        rows.push(row);
        notes.push(note);
    }
    if wanted(Scenario::Reopen) {
        let (row, note) = run_reopen(args)?;
        rows.push(row);
        notes.push(note);
    }
    // Removes the data directory if the scenarios left it empty, as they should.
    let _ = std::fs::remove_dir(&args.dir);

    let command: Vec<String> = std::env::args().skip(1).collect();
    println!("imece-bench {} · {profile} build · {} CPUs", command.join(" "), cpus());
    let options = args.options();
    println!(
        "events of {} B data + {} B metadata · {} s per run · data in {} · imece segments of {} MiB, preallocate {} · \
         SQLite {} (WAL, synchronous=FULL)",
        workload::DATA_BYTES,
        workload::metadata_bytes(),
        args.seconds,
        args.dir.display(),
        options.segment_size >> 20,
        if options.preallocate { "on" } else { "off" },
        sqlite::version(),
    );
    println!();
    print!("{}", report::table(&rows));
    println!();
    for note in notes {
        println!("- {note}");
    }
    Ok(())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A fresh directory for one run of one peer, removed when dropped.
fn scratch(dir: &Path, name: &str) -> std::io::Result<TempDir> {
    tempfile::Builder::new().prefix(&format!("{name}-")).tempdir_in(dir)
}

fn run_write(args: &Args, scenario: &WriteScenario, duration: Duration) -> Result<(Row, String), BoxError> {
    eprintln!("{}: imece…", scenario.name);
    let imece = embedded::write(scratch(&args.dir, "imece")?.path(), &args.options(), scenario.plan, duration)?;
    let mut sqlite_runs = Vec::new();
    for &design in scenario.sqlite_designs {
        eprintln!("{}: SQLite, {}…", scenario.name, design.describe());
        sqlite_runs
            .push((design, sqlite::write(scratch(&args.dir, "sqlite")?.path(), scenario.plan, duration, design)?));
    }
    let (best_design, sqlite) = sqlite_runs
        .iter()
        .copied()
        .max_by(|(_, a), (_, b)| a.events_per_sec().total_cmp(&b.events_per_sec()))
        .expect("at least one SQLite design");

    let ratio = imece.events_per_sec() / sqlite.events_per_sec();
    let row = Row {
        scenario: scenario.name.to_owned(),
        imece: report::count(imece.events_per_sec()),
        imece_syncs: imece.syncs_per_sec().map_or("—".to_owned(), report::count),
        sqlite: report::count(sqlite.events_per_sec()),
        ratio: report::ratio(imece.events_per_sec(), sqlite.events_per_sec()),
        target: format!("≥ {} ev/s, ≥ {}×", report::count(scenario.min_events_per_sec), scenario.min_ratio),
        met: report::verdict(&[
            ("rate", imece.events_per_sec() >= scenario.min_events_per_sec),
            ("ratio", ratio >= scenario.min_ratio),
        ]),
    };
    let mut note = format!(
        "{}: imece {}; SQLite {} appends/s, {}",
        scenario.name,
        describe_imece(&imece),
        report::count(sqlite.appends_per_sec()),
        if scenario.plan.writers == 1 { "one connection" } else { best_design.describe() }
    );
    for (design, run) in sqlite_runs.iter().filter(|(design, _)| *design != best_design) {
        note += &format!(" (faster than {}: {} events/s)", design.describe(), report::count(run.events_per_sec()));
    }
    Ok((row, note))
}

fn describe_imece(run: &Throughput) -> String {
    let mut out = format!("{} appends/s", report::count(run.appends_per_sec()));
    if let Some(syncs) = run.syncs.filter(|&s| s > 0) {
        out += &format!(
            ", {:.1} appends ({:.0} events) per sync",
            run.appends as f64 / syncs as f64,
            run.events as f64 / syncs as f64
        );
    }
    if let Some(bytes) = run.bytes_written {
        out += &format!(", {:.0} MB/s written", bytes as f64 / run.elapsed.as_secs_f64() / 1e6);
    }
    out
}

fn run_read(args: &Args, duration: Duration) -> Result<(Row, String), BoxError> {
    let name = format!("4. read_all forward, pages of {}", report::count(args.page as f64));
    let plan = FillPlan::hundred_per_stream(args.read_events);
    eprintln!("{name}: filling imece with {} events…", report::count(plan.events as f64));
    let imece_dir = scratch(&args.dir, "imece")?;
    embedded::fill(imece_dir.path(), &args.options(), plan)?;
    eprintln!("{name}: imece…");
    let imece = embedded::read(imece_dir.path(), args.page, duration)?;
    drop(imece_dir);
    eprintln!("{name}: filling SQLite with {} events…", report::count(plan.events as f64));
    let sqlite_dir = scratch(&args.dir, "sqlite")?;
    sqlite::fill(sqlite_dir.path(), plan)?;
    eprintln!("{name}: SQLite…");
    let sqlite = sqlite::read(sqlite_dir.path(), args.page, duration)?;
    drop(sqlite_dir);

    let row = Row {
        scenario: name.clone(),
        imece: report::count(imece.events_per_sec()),
        imece_syncs: "—".to_owned(),
        sqlite: report::count(sqlite.events_per_sec()),
        ratio: report::ratio(imece.events_per_sec(), sqlite.events_per_sec()),
        target: format!("≥ {} ev/s", report::count(MIN_READ_EVENTS_PER_SEC)),
        met: report::verdict(&[("rate", imece.events_per_sec() >= MIN_READ_EVENTS_PER_SEC)]),
    };
    let note = format!(
        "{name}: a log of {} events over {} streams, reopened, then read whole {} times by imece and {} times by \
         SQLite (`SELECT … WHERE position > ? ORDER BY position LIMIT {}`, into the same `RecordedEvent`s)",
        report::count(plan.events as f64),
        report::count(plan.streams as f64),
        imece.events / plan.events,
        sqlite.events / plan.events,
        args.page
    );
    Ok((row, note))
}

fn run_reopen(args: &Args) -> Result<(Row, String), BoxError> {
    let plan = FillPlan::hundred_per_stream(args.scale);
    let name = format!(
        "5. reopen {} events / {} streams",
        report::count(plan.events as f64),
        report::count(plan.streams as f64)
    );
    eprintln!("{name}: filling imece…");
    let dir = scratch(&args.dir, "imece")?;
    embedded::fill(dir.path(), &args.options(), plan)?;
    if args.drop_caches {
        eprintln!("{name}: dropping the page cache…");
        drop_page_cache()?;
    }
    eprintln!("{name}: reopening in a fresh process…");
    let reopened = embedded::reopen(dir.path())?;
    drop(dir);

    let secs = reopened.duration.as_secs_f64();
    let rss_mib = reopened.peak_rss as f64 / (1024.0 * 1024.0);
    let met = if plan.events >= TARGET_REOPEN_EVENTS {
        report::verdict(&[("time", reopened.duration < MAX_REOPEN), ("memory", reopened.peak_rss < MAX_REOPEN_RSS)])
    } else {
        format!("n/a below {} events", report::count(TARGET_REOPEN_EVENTS as f64))
    };
    let row = Row {
        scenario: name.clone(),
        imece: format!("open {secs:.2} s, peak RSS {rss_mib:.0} MiB"),
        imece_syncs: "—".to_owned(),
        sqlite: "—".to_owned(),
        ratio: "—".to_owned(),
        target: "< 5 s, < 1 GiB at 10M events / 100k streams".to_owned(),
        met,
    };
    let note = format!(
        "{name}: recovery found {} events, {} streams, {} segments; scanned {} events record by record, rebuilt {} \
         indexes, truncated {} bytes; {} events/s indexed; the child process ran {:.2} s in all (page cache {})",
        report::count(reopened.events as f64),
        report::count(reopened.streams as f64),
        reopened.segments,
        report::count(reopened.scanned_events as f64),
        reopened.rebuilt_indexes,
        reopened.truncated_bytes,
        report::count(reopened.events as f64 / secs),
        reopened.wall.as_secs_f64(),
        if args.drop_caches { "dropped before" } else { "warm" }
    );
    Ok((row, note))
}

/// Writes dirty pages back, then drops the clean ones from the page cache.
fn drop_page_cache() -> Result<(), BoxError> {
    let status = std::process::Command::new("sync").status()?;
    if !status.success() {
        return Err(format!("sync failed: {status}").into());
    }
    std::fs::write("/proc/sys/vm/drop_caches", "1\n")
        .map_err(|e| format!("dropping the page cache needs root: writing /proc/sys/vm/drop_caches: {e}"))?;
    Ok(())
}
