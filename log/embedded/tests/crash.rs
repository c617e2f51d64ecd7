//! Crash test: a child process appends from many tasks and is killed with SIGKILL at random
//! moments, over and over; after every kill the log must hold every acknowledged event at the
//! position it was acknowledged at, in order, and nothing the child never wrote.
//!
//! The child is this test binary run again with `--ignored --exact` on
//! [`crash_child_appends_until_killed`] and the log directory in `IMECE_CRASH_CHILD_DIR`. It prints
//! `ack <task> <seq> <first_position> <count>` once an append has returned, so every printed line is
//! a durable event. Every event is a pure function of its task and sequence number, so the parent
//! can recompute each stored event and tell an invented or damaged one.
//!
//! Knobs: `IMECE_CRASH_ITERATIONS` (default 25) and `IMECE_CRASH_SEED` (printed at the start, to
//! replay the kill delays of a failed run).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use imece_log::{Direction, EventId, EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamFrom, StreamId};
use imece_log_embedded::{EmbeddedLog, Options};

/// Name of the child entry point; must match the function name below.
const CHILD_TEST: &str = "crash_child_appends_until_killed";
const ENV_DIR: &str = "IMECE_CRASH_CHILD_DIR";
const ENV_PREALLOCATE: &str = "IMECE_CRASH_CHILD_PREALLOCATE";

/// Appending tasks in the child.
const TASKS: u64 = 16;
/// Tasks below this append to their own stream `crash-{t}` with exact expected versions; the
/// others share `crash-shared` with `ExpectedVersion::Any`.
const OWN_STREAM_TASKS: u64 = 12;
const SHARED_STREAM: &str = "crash-shared";
/// Small segments, so rolls and spare-segment preparation happen while the child is killed.
const SEGMENT_SIZE: u64 = 256 * 1024;
const SIGKILL: i32 = 9;
/// Events at the end of each stream whose stream read is checked after every kill.
const STREAM_TAIL: usize = 1000;

fn options(preallocate: bool) -> Options {
    Options { segment_size: SEGMENT_SIZE, preallocate, ..Options::default() }
}

fn stream_of(t: u64) -> StreamId {
    if t < OWN_STREAM_TASKS {
        StreamId::new(format!("crash-{t}")).unwrap()
    } else {
        StreamId::new(SHARED_STREAM).unwrap()
    }
}

/// SplitMix64: the deterministic content of every event comes from it.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn key(t: u64, seq: u64) -> u64 {
    mix((t << 48) ^ seq)
}

/// Events in the append that starts at `seq`: odd tasks append batches of 1..=5, even ones single
/// events. Appends are all-or-nothing and a task resumes after its last stored event, so the
/// batches of a task always fall on the same boundaries.
fn batch_len(t: u64, seq: u64) -> u64 {
    if t % 2 == 1 { 1 + mix(key(t, seq) ^ 0xBA7C) % 5 } else { 1 }
}

/// The one event task `t` writes as its `seq`-th.
fn event_for(t: u64, seq: u64) -> NewEvent {
    let a = key(t, seq);
    let b = mix(a ^ 0x1D);
    let id = uuid::Builder::from_random_bytes((((a as u128) << 64) | b as u128).to_le_bytes()).into_uuid();
    // 16 bytes naming the event, then filler: mostly 0..1000 bytes, now and then 32..160 KiB, so
    // records vary in size and some group commits are large writes a kill can cut.
    let pad = if a.is_multiple_of(256) { 32 * 1024 + (b % (128 * 1024)) as usize } else { (b % 1000) as usize };
    let mut data = Vec::with_capacity(16 + pad + 8);
    data.extend_from_slice(&t.to_le_bytes());
    data.extend_from_slice(&seq.to_le_bytes());
    data.extend_from_slice(&b.to_le_bytes().repeat(pad / 8 + 1));
    data.truncate(16 + pad);
    let event_type = ["CrashSmall.v1", "CrashOther.v2", "Crash.v1"][(a % 3) as usize];
    let metadata = if b & 4 == 0 { Vec::new() } else { format!("{{\"t\":{t},\"seq\":{seq}}}").into_bytes() };
    NewEvent::new(event_type, data).with_id(EventId::from(id)).with_metadata(metadata)
}

/// The task and sequence number an event names in its first 16 bytes.
fn origin(event: &RecordedEvent) -> Option<(u64, u64)> {
    let d = event.data.get(..16)?;
    Some((u64::from_le_bytes(d[..8].try_into().ok()?), u64::from_le_bytes(d[8..].try_into().ok()?)))
}

/// An event in a few words: the data may be 160 KiB.
fn show(e: &RecordedEvent) -> String {
    format!(
        "{{position {}, stream {}, version {}, id {}, type {}, origin {:?}, {} bytes of data, metadata {:?}}}",
        e.position,
        e.stream,
        e.version,
        e.id,
        e.event_type,
        origin(e),
        e.data.len(),
        String::from_utf8_lossy(&e.metadata)
    )
}

/// The append of task `t` that holds its event `seq`: (first seq, len).
fn batch_containing(t: u64, seq: u64) -> (u64, u64) {
    let mut start = 0;
    loop {
        let len = batch_len(t, start);
        if seq < start + len {
            return (start, len);
        }
        start += len;
    }
}

/// Child side, not a test on its own: does nothing unless `IMECE_CRASH_CHILD_DIR` is set. With it,
/// opens the log there and appends from [`TASKS`] tasks until the process is killed, printing an
/// `ack` line after each acknowledged append. On start it first retries each task's last stored
/// append with a wrong expected version, which must return the original result (idempotency
/// across recovery).
#[test]
#[ignore = "child process of acknowledged_appends_survive_sigkill; does nothing when run alone"]
fn crash_child_appends_until_killed() {
    let Some(dir) = std::env::var_os(ENV_DIR) else { return };
    let preallocate = std::env::var(ENV_PREALLOCATE).map_or(true, |v| v == "1");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let log = EmbeddedLog::open_with(&dir, options(preallocate)).unwrap_or_else(|e| fail(format!("open: {e}")));
        say("opened\n");
        // Where each shared-stream task stands: the last sequence number it stored, read backward
        // from the end of the shared stream until every task is found.
        let shared = StreamId::new(SHARED_STREAM).unwrap();
        let mut shared_next: HashMap<u64, u64> = HashMap::new();
        let mut from = StreamFrom::End;
        while shared_next.len() < (TASKS - OWN_STREAM_TASKS) as usize {
            let events = log.read_stream(&shared, from, Direction::Backward, 256).await;
            let events = events.unwrap_or_else(|e| fail(format!("reading {SHARED_STREAM}: {e}")));
            for e in &events {
                let (t, seq) = origin(e).unwrap_or_else(|| fail(format!("unknown event {}", show(e))));
                shared_next.entry(t).or_insert(seq + 1);
            }
            match events.last() {
                Some(e) if e.version > 0 => from = StreamFrom::Version(e.version - 1),
                _ => break,
            }
        }
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let log = log.clone();
            let next = shared_next.get(&t).copied();
            tasks.push(tokio::spawn(async move { child_task(log, t, next).await }));
        }
        for task in tasks {
            task.await.unwrap_or_else(|e| fail(format!("task: {e}")));
        }
    });
}

async fn child_task(log: EmbeddedLog, t: u64, shared_next: Option<u64>) {
    let stream = stream_of(t);
    let own = t < OWN_STREAM_TASKS;
    let mut seq = if own {
        match log.stream_version(&stream).await.unwrap_or_else(|e| fail(format!("version of {stream}: {e}"))) {
            None => 0,
            Some(v) => {
                let last = log.read_stream(&stream, StreamFrom::End, Direction::Backward, 1).await;
                let last = last.unwrap_or_else(|e| fail(format!("last event of {stream}: {e}")));
                if last.len() != 1 || origin(&last[0]) != Some((t, v)) || last[0].version != v {
                    let last: Vec<String> = last.iter().map(show).collect();
                    fail(format!("{stream} is at version {v} but its last event is {last:?}"));
                }
                v + 1
            }
        }
    } else {
        shared_next.unwrap_or(0)
    };
    if seq > 0 {
        let (start, len) = batch_containing(t, seq - 1);
        if start + len != seq {
            fail(format!("task {t} stored events up to {} inside its append {start}+{len}", seq - 1));
        }
        let events = (start..seq).map(|s| event_for(t, s)).collect();
        match log.append(&stream, ExpectedVersion::NoStream, events).await {
            Ok(r) if r.last_position - r.first_position + 1 == len && (!own || r.first_version == start) => {
                ack(t, start, r.first_position, len)
            }
            other => fail(format!("retry of task {t}'s append {start}+{len} gave {other:?}")),
        }
    }
    loop {
        let len = batch_len(t, seq);
        let events = (seq..seq + len).map(|s| event_for(t, s)).collect();
        let expected = match (own, seq) {
            (false, _) => ExpectedVersion::Any,
            (true, 0) => ExpectedVersion::NoStream,
            (true, _) => ExpectedVersion::Exact(seq - 1),
        };
        match log.append(&stream, expected, events).await {
            Ok(r) if r.last_position - r.first_position + 1 == len && (!own || r.first_version == seq) => {
                ack(t, seq, r.first_position, len)
            }
            other => fail(format!("task {t} appending {seq}+{len} with {expected:?} gave {other:?}")),
        }
        seq += len;
    }
}

/// Prints one acknowledgement as a single write, so a kill never leaves half a line.
fn ack(t: u64, seq: u64, first_position: u64, count: u64) {
    say(&format!("ack {t} {seq} {first_position} {count}\n"));
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes()).and_then(|()| out.flush()).unwrap_or_else(|e| fail(format!("stdout: {e}")));
}

/// Ends the child at once: a panic in a task would not stop the others.
fn fail(message: String) -> ! {
    eprintln!("crash child failed: {message}");
    std::process::exit(3)
}

#[derive(Clone, Copy, Debug)]
struct Ack {
    t: u64,
    seq: u64,
    first_position: u64,
    count: u64,
}

fn parse_ack(line: &str) -> Option<Ack> {
    // The test harness may print its own text before the first line.
    let fields: Vec<u64> =
        line[line.find("ack ")? + 4..].split_whitespace().map(|f| f.parse().ok()).collect::<Option<_>>()?;
    match fields[..] {
        [t, seq, first_position, count] => Some(Ack { t, seq, first_position, count }),
        _ => None,
    }
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

/// What one check of the log found.
struct Checked {
    head: u64,
    truncated_bytes: u64,
    segments: usize,
}

/// Guards durability and recovery under SIGKILL: a child appending from 16 tasks (own streams with
/// exact expected versions, batches of 1..=5, a shared stream) is killed at random moments, with
/// and without preallocated segments; after every kill, reopening must find every acknowledged
/// event at its acknowledged position, a gapless log of events the child could have written, each
/// task's appends whole and in order, no duplicate ids, and `verify()` must pass.
#[test]
fn acknowledged_appends_survive_sigkill() {
    let iterations: u64 = std::env::var("IMECE_CRASH_ITERATIONS").map_or(25, |v| v.parse().unwrap());
    let seed: u64 = std::env::var("IMECE_CRASH_SEED").map_or_else(
        |_| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1,
        |v| v.parse().unwrap(),
    );
    println!("crash test: {iterations} iterations, IMECE_CRASH_SEED={seed}");
    let mut rng = Rng(seed.max(1));
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let started = Instant::now();

    let mut acks: Vec<Ack> = Vec::new();
    let mut head = 0;
    let mut grew = 0;
    let mut truncated_total = 0;
    let mut segments = 0;
    let mut kills_after_open = 0;
    for i in 0..iterations {
        let preallocate = i % 2 == 0;
        let delay = Duration::from_millis(20 + rng.next() % 381);
        let mut child = Command::new(&exe)
            .args([CHILD_TEST, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(ENV_DIR, dir.path())
            .env(ENV_PREALLOCATE, if preallocate { "1" } else { "0" })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let spawned = Instant::now();
        let reader = std::thread::spawn(move || {
            let mut out = BufReader::new(stdout);
            let mut acks = Vec::new();
            let mut opened = None;
            let mut line = String::new();
            while out.read_line(&mut line).unwrap() > 0 {
                // Only whole lines: each was written with one write after its append returned.
                if line.ends_with('\n') {
                    if let Some(ack) = parse_ack(&line) {
                        acks.push(ack);
                    } else if line.ends_with("opened\n") {
                        opened = Some(spawned.elapsed());
                    }
                }
                line.clear();
            }
            (acks, opened)
        });
        let errors = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        std::thread::sleep(delay);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let (new_acks, opened) = reader.join().unwrap();
        if opened.is_some() {
            kills_after_open += 1;
        }
        let errors = errors.join().unwrap();
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "iteration {i} (seed {seed}): the child ended on its own with {status}; stderr:\n{errors}"
        );
        acks.extend(&new_acks);

        let checking = Instant::now();
        let whole_streams = i + 1 == iterations || i % 5 == 4;
        let checked = match rt.block_on(check(dir.path(), preallocate, &acks, whole_streams)) {
            Ok(checked) => checked,
            Err(why) => {
                // Keep the directory for a post-mortem.
                let kept = dir.keep();
                panic!(
                    "iteration {i} (IMECE_CRASH_SEED={seed}, preallocate {preallocate}, killed after {delay:?}): \
                     {why}\nthe log is kept in {}",
                    kept.display()
                )
            }
        };
        if checked.head > head {
            grew += 1;
        }
        head = checked.head;
        truncated_total += checked.truncated_bytes;
        segments = checked.segments;
        println!(
            "iteration {i}: preallocate {preallocate}, opened after {opened:?}, killed after {delay:?}, {} acks, \
             head {head}, {} bytes truncated, checked in {:?}",
            new_acks.len(),
            checked.truncated_bytes,
            checking.elapsed()
        );
    }
    println!(
        "crash test: {iterations} iterations in {:?}, {} acks, {head} events in {segments} segments, \
         {kills_after_open} kills after the child had opened the log, log grew in {grew} iterations, \
         {truncated_total} bytes of torn tails truncated",
        started.elapsed(),
        acks.len()
    );
    if iterations > 0 {
        assert!(!acks.is_empty() && head > 0, "the child never got an append acknowledged: the test proved nothing");
        // Kills before the child has opened the log or appended anything are part of the test, but
        // not all of it.
        assert!(grew >= iterations.min(3), "the log grew in only {grew} of {iterations} iterations");
    }
}

/// Opens the log after a kill and checks it against the acknowledgements so far. Stream reads are
/// compared with the log for the last [`STREAM_TAIL`] events of each stream, or for whole streams
/// with `whole_streams`.
async fn check(dir: &Path, preallocate: bool, acks: &[Ack], whole_streams: bool) -> Result<Checked, String> {
    let streams: Vec<StreamId> = (0..TASKS).map(stream_of).collect();
    let log = EmbeddedLog::open_with(dir, options(preallocate)).map_err(|e| format!("reopening: {e}"))?;
    let recovery = log.recovery().clone();
    let head = log.head().await.map_err(|e| e.to_string())?;
    let mut all: Vec<RecordedEvent> = Vec::with_capacity(head as usize);
    loop {
        let chunk = log.read_all(all.len() as u64, 4096).await.map_err(|e| format!("read_all: {e}"))?;
        if chunk.is_empty() {
            break;
        }
        all.extend(chunk);
    }
    if all.len() as u64 != head {
        return Err(format!("head is {head} but read_all returned {} events", all.len()));
    }
    if recovery.events != head {
        return Err(format!("recovery reports {} events, head is {head}", recovery.events));
    }

    // The whole log: gapless positions, known events, gapless versions, whole appends in order.
    let mut ids = HashSet::new();
    let mut versions: HashMap<StreamId, u64> = HashMap::new();
    let mut next_seq = [0u64; TASKS as usize];
    let mut batch_end = [0u64; TASKS as usize];
    for (p, e) in all.iter().enumerate() {
        let p = p as u64;
        let at = || format!("position {p}: {}", show(e));
        if e.position != p {
            return Err(format!("{} holds position {}", at(), e.position));
        }
        let (t, seq) = origin(e).filter(|&(t, _)| t < TASKS).ok_or_else(|| format!("{} is no child's event", at()))?;
        let expected = event_for(t, seq);
        if !expected.same_content(e) || e.stream != streams[t as usize] {
            return Err(format!("{} is not task {t}'s event {seq} as the child wrote it", at()));
        }
        if !ids.insert(e.id) {
            return Err(format!("{}: its id appears twice", at()));
        }
        let version = versions.entry(e.stream.clone()).or_insert(0);
        if e.version != *version {
            return Err(format!("{} has version {}, the stream is at {version}", at(), e.version));
        }
        *version += 1;
        if t < OWN_STREAM_TASKS && e.version != seq {
            return Err(format!("{} is task {t}'s event {seq} but has version {}", at(), e.version));
        }
        let t = t as usize;
        if seq != next_seq[t] {
            return Err(format!("{}: task {t} continues with event {seq}, expected {}", at(), next_seq[t]));
        }
        if seq == batch_end[t] {
            batch_end[t] = seq + batch_len(t as u64, seq);
        } else if all[p as usize - 1].data.get(..8) != Some(&(t as u64).to_le_bytes()[..]) {
            return Err(format!("{}: task {t}'s append is interleaved with another", at()));
        }
        next_seq[t] = seq + 1;
    }
    for t in 0..TASKS as usize {
        if next_seq[t] != batch_end[t] {
            return Err(format!(
                "task {t}'s last append is cut short: events up to {}, append ends at {}",
                next_seq[t], batch_end[t]
            ));
        }
    }

    // Every acknowledged event, where it was acknowledged.
    for a in acks {
        for k in 0..a.count {
            let p = a.first_position + k;
            let found = all.get(p as usize).and_then(origin);
            if found != Some((a.t, a.seq + k)) {
                return Err(format!(
                    "acknowledged {a:?}: position {p} holds {}",
                    all.get(p as usize).map_or("nothing (lost)".to_owned(), show)
                ));
            }
        }
    }

    // The stream index agrees with the log.
    for stream in &streams[..=OWN_STREAM_TASKS as usize] {
        let want: Vec<&RecordedEvent> = all.iter().filter(|e| e.stream == *stream).collect();
        let version = log.stream_version(stream).await.map_err(|e| e.to_string())?;
        if version != (want.len() as u64).checked_sub(1) {
            return Err(format!("{stream} has version {version:?} but {} events", want.len()));
        }
        let from = if whole_streams { 0 } else { want.len().saturating_sub(STREAM_TAIL) };
        let read = log.read_stream(stream, StreamFrom::Version(from as u64), Direction::Forward, usize::MAX).await;
        let read = read.map_err(|e| format!("read_stream {stream}: {e}"))?;
        if read.iter().ne(want[from..].iter().copied()) {
            return Err(format!("read_stream {stream} from version {from} differs from its events in read_all"));
        }
    }

    let verified = log.verify().map_err(|e| format!("verify: {e}"))?;
    if verified != head {
        return Err(format!("verify counted {verified} events, head is {head}"));
    }
    Ok(Checked { head, truncated_bytes: recovery.truncated_bytes, segments: recovery.segments })
}
