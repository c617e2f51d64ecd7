//! imece's embedded log, driven through the [`EventLog`] trait from tokio tasks.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use imece_log::{Error, EventLog, Result};
use imece_log_embedded::{EmbeddedLog, Options};

use crate::workload::{self, FILL_WRITERS, FillPlan, Throughput, WritePlan};

/// The hidden subcommand under which the benchmark re-invokes itself to reopen a log.
pub const REOPEN_SUBCOMMAND: &str = "reopen-child";

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Error::io("starting tokio", e))
}

/// Runs the write scenario `plan` for `duration` on a fresh log in `dir` opened with `options`: one
/// tokio task per writer.
pub fn write(dir: &Path, options: &Options, plan: WritePlan, duration: Duration) -> Result<Throughput> {
    let log = EmbeddedLog::open_with(dir, options.clone())?;
    runtime()?.block_on(async {
        let before = log.stats();
        let measured = workload::write_for(std::sync::Arc::new(log.clone()), plan, duration, workload::events).await?;
        let after = log.stats();
        Ok(Throughput {
            syncs: Some(after.syncs - before.syncs),
            bytes_written: Some(after.bytes_written - before.bytes_written),
            ..measured
        })
    })
}

/// Fills a fresh log in `dir`, opened with `options`, as `plan` says (not measured).
pub fn fill(dir: &Path, options: &Options, plan: FillPlan) -> Result<()> {
    let log = EmbeddedLog::open_with(dir, options.clone())?;
    runtime()?.block_on(async {
        let tasks: Vec<_> = (0..FILL_WRITERS)
            .map(|writer| {
                let log = log.clone();
                tokio::spawn(async move {
                    for (stream, expected, count) in plan.appends(writer) {
                        log.append(&stream, expected, workload::events(count)).await?;
                    }
                    Ok::<_, Error>(())
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a fill task panicked")?;
        }
        Ok(())
    })
}

/// Reopens the log in `dir` and reads it forward with `read_all`, `page` events at a time, pass
/// after pass until `duration` is over (at least one pass).
pub fn read(dir: &Path, page: usize, duration: Duration) -> Result<Throughput> {
    let log = EmbeddedLog::open(dir)?;
    runtime()?.block_on(crate::workload::read_passes(&log, page, duration))
}

/// What opening a log in a fresh process found and cost.
#[derive(Clone, Debug)]
pub struct Reopened {
    pub events: u64,
    pub streams: u64,
    pub segments: u64,
    pub scanned_events: u64,
    pub rebuilt_indexes: u64,
    pub truncated_bytes: u64,
    /// `recovery().duration`, as the child measured it.
    pub duration: Duration,
    /// The child's peak resident set size after opening (`VmHWM`), in bytes.
    pub peak_rss: u64,
    /// From spawning the child to its exit, as the parent measured it.
    pub wall: Duration,
}

/// Opens the log in `dir` in a fresh child process (this binary, under [`REOPEN_SUBCOMMAND`]).
pub fn reopen(dir: &Path) -> Result<Reopened> {
    let exe = std::env::current_exe().map_err(|e| Error::io("finding the benchmark binary", e))?;
    let start = Instant::now();
    let output = Command::new(exe)
        .arg(REOPEN_SUBCOMMAND)
        .arg(dir)
        .output()
        .map_err(|e| Error::io("running the reopen child", e))?;
    let wall = start.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::invalid("reopen child", format!("failed ({}): {stdout}{stderr}", output.status)));
    }
    let fields: HashMap<&str, u64> = stdout
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(key, value)| Some((key, value.parse().ok()?)))
        .collect();
    let field = |name: &str| {
        fields.get(name).copied().ok_or_else(|| Error::invalid("reopen child", format!("no {name} in {stdout:?}")))
    };
    Ok(Reopened {
        events: field("events")?,
        streams: field("streams")?,
        segments: field("segments")?,
        scanned_events: field("scanned_events")?,
        rebuilt_indexes: field("rebuilt_indexes")?,
        truncated_bytes: field("truncated_bytes")?,
        duration: Duration::from_micros(field("duration_us")?),
        peak_rss: field("vmhwm_kib")? * 1024,
        wall,
    })
}

/// The child's side of [`reopen`]: opens the log in `dir` and prints what it found as `key=value`.
pub fn report_reopen(dir: &Path) -> Result<()> {
    let log = EmbeddedLog::open(dir)?;
    let recovery = log.recovery();
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| Error::io("reading /proc/self/status", e))?;
    let vmhwm_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!(
        "events={} streams={} segments={} scanned_events={} rebuilt_indexes={} truncated_bytes={} duration_us={} vmhwm_kib={vmhwm_kib}",
        recovery.events,
        recovery.streams,
        recovery.segments,
        recovery.scanned_events,
        recovery.rebuilt_indexes,
        recovery.truncated_bytes,
        recovery.duration.as_micros(),
    );
    Ok(())
}
