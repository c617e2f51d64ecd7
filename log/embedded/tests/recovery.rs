//! Crash recovery and damage: torn tails are dropped, damage before the tail is reported with its
//! file and offset, index files are rebuilt, and a newer format is refused.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use imece_log::{AppendResult, Error, EventLog, ExpectedVersion, NewEvent, RecordedEvent, StreamAppend, StreamId};
use imece_log_embedded::{EmbeddedLog, Options};

fn opts(segment_size: u64, preallocate: bool) -> Options {
    Options { segment_size, preallocate, ..Options::default() }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

fn event(i: usize) -> NewEvent {
    NewEvent::new("Tested.v1", Bytes::from(format!("event number {i} {}", "x".repeat(i % 50))))
}

/// Appends `appends` separate appends of `per` events each (each awaited, so each is its own group
/// commit) to stream `s`, and returns the log.
async fn fill(dir: &Path, options: Options, appends: usize, per: usize) -> EmbeddedLog {
    let log = EmbeddedLog::open_with(dir, options).unwrap();
    let stream = StreamId::new("s").unwrap();
    for a in 0..appends {
        let events = (0..per).map(|k| event(a * per + k)).collect();
        log.append(&stream, ExpectedVersion::Any, events).await.unwrap();
    }
    log
}

/// The byte offset of every record in a segment, found by walking the length fields.
fn record_offsets(segment: &Path) -> Vec<u64> {
    let bytes = fs::read(segment).unwrap();
    let mut at = 32usize;
    let mut out = Vec::new();
    while at + 12 <= bytes.len() && &bytes[at..at + 4] == b"imEv" {
        out.push(at as u64);
        at += u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    out
}

/// Leaves the directory as a crash would: a clean close writes the open segment's index file, a
/// crash does not, and then opening reads the open segment record by record.
fn as_after_a_crash(dir: &Path) {
    let last = segments(dir).pop().unwrap();
    fs::remove_file(last.with_extension("idx")).unwrap();
}

fn flip_bit(path: &Path, offset: u64) {
    let f = fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= 0x10;
    f.write_all_at(&b, offset).unwrap();
}

/// Guards: a torn write at the end (half a record, never acknowledged) is dropped on reopen, every
/// acknowledged event stays, and the log goes on appending where it was.
#[tokio::test]
async fn torn_tail_is_dropped_and_acknowledged_events_are_kept() {
    for preallocate in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        drop(fill(dir.path(), opts(1 << 20, preallocate), 10, 3).await);
        as_after_a_crash(dir.path());
        let seg = segments(dir.path()).pop().unwrap();
        let offsets = record_offsets(&seg);
        let end = {
            let bytes = fs::read(&seg).unwrap();
            let last = *offsets.last().unwrap() as usize;
            last + u32::from_le_bytes(bytes[last + 8..last + 12].try_into().unwrap()) as usize
        };
        // Half a copy of the first record, where the next would go: what a crash mid-write leaves.
        let first = offsets[0] as usize;
        let bytes = fs::read(&seg).unwrap();
        let torn = bytes[first..first + 60].to_vec();
        fs::OpenOptions::new().write(true).open(&seg).unwrap().write_all_at(&torn, end as u64).unwrap();

        let log = EmbeddedLog::open_with(dir.path(), opts(1 << 20, preallocate)).unwrap();
        assert_eq!(log.recovery().truncated_bytes, 60, "preallocate={preallocate}");
        assert_eq!(log.head().await.unwrap(), 30);
        let s = StreamId::new("s").unwrap();
        let w = log.append(&s, ExpectedVersion::Exact(29), vec![event(30)]).await.unwrap();
        assert_eq!((w.first_position, w.last_version), (30, 30));
        drop(log);
        let log = EmbeddedLog::open_with(dir.path(), opts(1 << 20, preallocate)).unwrap();
        assert_eq!(log.recovery().truncated_bytes, 0);
        assert_eq!(log.verify().unwrap(), 31);
    }
}

/// Guards: an append cut anywhere (the file truncated at every byte of its last two appends) comes
/// back whole or not at all: never a part of an append.
#[tokio::test]
async fn an_append_cut_at_any_byte_is_all_or_nothing() {
    let src = tempfile::tempdir().unwrap();
    drop(fill(src.path(), opts(1 << 20, false), 4, 3).await);
    let seg = segments(src.path()).pop().unwrap();
    let full = fs::read(&seg).unwrap();
    let offsets = record_offsets(&seg);
    // Appends end after records 2, 5, 8 and 11.
    let append_ends = [offsets[3], offsets[6], offsets[9], full.len() as u64];
    for cut in offsets[6]..full.len() as u64 {
        let dir = tempfile::tempdir().unwrap();
        let name = seg.file_name().unwrap();
        fs::write(dir.path().join(name), &full[..cut as usize]).unwrap();
        let log = EmbeddedLog::open_with(dir.path(), opts(1 << 20, false)).unwrap();
        let whole_appends = append_ends.iter().filter(|&&e| e <= cut).count() as u64;
        assert_eq!(log.head().await.unwrap(), whole_appends * 3, "cut at byte {cut}");
        assert_eq!(log.verify().unwrap(), whole_appends * 3);
    }
}

/// `batch_remaining` of the record at `at`.
fn batch_remaining(bytes: &[u8], at: u64) -> u32 {
    let at = at as usize;
    u32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap())
}

fn id(name: &str) -> StreamId {
    StreamId::new(name).unwrap()
}

/// A log of 7 events (6 in `s`, then one in `a`) followed by one `append_many` of 6 events in 4
/// parts over 3 streams (`a`, `b` twice, `s`); returns the 7 events before the call, the call and
/// its results.
async fn log_with_a_multi_stream_call(
    dir: &Path,
    options: Options,
) -> (Vec<RecordedEvent>, Vec<StreamAppend>, Vec<AppendResult>) {
    use ExpectedVersion::{Exact, NoStream};
    let log = fill(dir, options, 3, 2).await;
    log.append(&id("a"), NoStream, vec![event(100)]).await.unwrap();
    let call = vec![
        StreamAppend::new(id("a"), Exact(0), vec![event(200), event(201)]),
        StreamAppend::new(id("b"), NoStream, vec![event(202)]),
        StreamAppend::new(id("s"), Exact(5), vec![event(203), event(204)]),
        StreamAppend::new(id("b"), Exact(0), vec![event(205)]),
    ];
    let results = log.append_many(call.clone()).await.unwrap();
    let positions: Vec<(u64, u64)> = results.iter().map(|r| (r.first_position, r.last_position)).collect();
    assert_eq!(positions, [(7, 8), (9, 9), (10, 11), (12, 12)]);
    let before = log.read_all(0, 7).await.unwrap();
    (before, call, results)
}

/// Asserts that the log holds exactly `before` (the events before the call) and none of the call.
async fn assert_none_of_the_call(log: &EmbeddedLog, before: &[RecordedEvent], ctx: &str) {
    assert_eq!(log.head().await.unwrap(), 7, "{ctx}: head");
    assert_eq!(log.read_all(0, 100).await.unwrap(), before, "{ctx}: read_all");
    assert_eq!(log.stream_version(&id("a")).await.unwrap(), Some(0), "{ctx}: stream a");
    assert_eq!(log.stream_version(&id("b")).await.unwrap(), None, "{ctx}: stream b");
    assert_eq!(log.stream_version(&id("s")).await.unwrap(), Some(5), "{ctx}: stream s");
    assert_eq!(log.verify().unwrap(), 7, "{ctx}: verify");
}

/// Guards: an `append_many` is one atomic batch on disk across all its streams (`batch_remaining`
/// counts down through every part's records), so a crash that cuts its write at any byte leaves
/// none of its parts after reopening, the log is otherwise intact, and the call can be made again.
#[tokio::test]
async fn an_append_many_cut_at_any_byte_keeps_no_part() {
    let src = tempfile::tempdir().unwrap();
    let (before, call, results) = log_with_a_multi_stream_call(src.path(), opts(1 << 20, false)).await;
    let seg = segments(src.path()).pop().unwrap();
    let full = fs::read(&seg).unwrap();
    let offsets = record_offsets(&seg);
    assert_eq!(offsets.len(), 13);
    let remaining: Vec<u32> = offsets[7..].iter().map(|&at| batch_remaining(&full, at)).collect();
    assert_eq!(remaining, [5, 4, 3, 2, 1, 0], "the call's records must form one batch across its streams");

    let name = seg.file_name().unwrap();
    for cut in offsets[7]..full.len() as u64 {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(name), &full[..cut as usize]).unwrap();
        let log = EmbeddedLog::open_with(dir.path(), opts(1 << 20, false)).unwrap();
        assert_none_of_the_call(&log, &before, &format!("cut at byte {cut}")).await;
        if cut == offsets[10] + 5 {
            // The log goes on: the same call lands where it did.
            assert_eq!(log.append_many(call.clone()).await.unwrap(), results, "the call made again after the cut");
            drop(log);
            let log = EmbeddedLog::open_with(dir.path(), opts(1 << 20, false)).unwrap();
            assert_eq!(log.verify().unwrap(), 13);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(name), &full).unwrap();
    let log = EmbeddedLog::open_with(dir.path(), opts(1 << 20, false)).unwrap();
    assert_eq!(log.head().await.unwrap(), 13, "the whole call, uncut");
    assert_eq!(log.append_many(call).await.unwrap(), results, "a retry of the whole call after reopening");
    assert_eq!(log.head().await.unwrap(), 13);
}

/// Guards: a crash that loses a page in the middle of an `append_many` (zeros where a middle part
/// was, the later parts written) drops the whole call, not just the parts after the hole.
#[tokio::test]
async fn an_append_many_with_a_hole_in_a_middle_part_keeps_no_part() {
    for preallocate in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (before, _, _) = log_with_a_multi_stream_call(dir.path(), opts(1 << 20, preallocate)).await;
        as_after_a_crash(dir.path());
        let seg = segments(dir.path()).pop().unwrap();
        let offsets = record_offsets(&seg);
        // The record of part 1 (stream b), between the parts of a and s.
        let (from, to) = (offsets[9], offsets[10]);
        let zeros = vec![0u8; (to - from) as usize];
        fs::OpenOptions::new().write(true).open(&seg).unwrap().write_all_at(&zeros, from).unwrap();
        let log = EmbeddedLog::open_with(dir.path(), opts(1 << 20, preallocate)).unwrap();
        assert!(log.recovery().truncated_bytes > 0, "preallocate={preallocate}: the torn call was not dropped");
        assert_none_of_the_call(&log, &before, &format!("preallocate={preallocate}")).await;
    }
}

/// Guards: segments roll only between batches, so no `append_many` is split across two segment
/// files: every segment ends with the last record of a batch, and every call lies in one segment.
#[tokio::test]
async fn an_append_many_never_spans_two_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(dir.path(), opts(4096, false)).unwrap();
    let mut calls = Vec::new();
    for c in 0..60usize {
        let call: Vec<StreamAppend> = (0..1 + c % 4)
            .map(|p| {
                let events = (0..1 + (c + p) % 3).map(|k| event(c * 100 + p * 10 + k)).collect();
                StreamAppend::new(id(&format!("roll-{}", (c + p) % 5)), ExpectedVersion::Any, events)
            })
            .collect();
        let results = log.append_many(call).await.unwrap();
        calls.push((results[0].first_position, results.last().unwrap().last_position));
    }
    drop(log);
    let segs = segments(dir.path());
    assert!(segs.len() > 3, "only {} segments", segs.len());
    let firsts: Vec<u64> =
        segs.iter().map(|p| p.file_stem().unwrap().to_str().unwrap().parse::<u64>().unwrap()).collect();
    for (first, last) in calls {
        let segment_of = |position: u64| firsts.partition_point(|&f| f <= position);
        assert_eq!(segment_of(first), segment_of(last), "the call at positions {first}..={last} spans two segments");
    }
    for seg in &segs {
        let bytes = fs::read(seg).unwrap();
        let last = *record_offsets(seg).last().unwrap();
        assert_eq!(batch_remaining(&bytes, last), 0, "{} ends inside a batch", seg.display());
    }
    for seg in &segs {
        let _ = fs::remove_file(seg.with_extension("idx"));
    }
    let log = EmbeddedLog::open_with(dir.path(), opts(4096, false)).unwrap();
    assert_eq!(log.recovery().truncated_bytes, 0);
    assert_eq!(log.recovery().rebuilt_indexes, segs.len() - 1);
}

/// Guards: a flipped bit in an acknowledged record that later records prove was synced is found by
/// its checksum and reported with file and offset; opening refuses instead of dropping data.
#[tokio::test]
async fn flipped_bit_before_the_tail_is_reported_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    drop(fill(dir.path(), opts(1 << 20, true), 6, 2).await);
    let seg = segments(dir.path()).pop().unwrap();
    let offsets = record_offsets(&seg);
    flip_bit(&seg, offsets[4] + 80);

    // After a clean close the open segment's index file is trusted, and reading finds the damage.
    let log = EmbeddedLog::open_with(dir.path(), opts(1 << 20, true)).unwrap();
    match log.read_all(0, 100).await {
        Err(Error::Corruption { file, offset, .. }) => assert_eq!((file, offset), (seg.clone(), offsets[4])),
        other => panic!("expected corruption, got {other:?}"),
    }
    drop(log);

    as_after_a_crash(dir.path());
    match EmbeddedLog::open_with(dir.path(), opts(1 << 20, true)) {
        Err(Error::Corruption { file, offset, reason }) => {
            assert_eq!(file, seg);
            assert_eq!(offset, offsets[4]);
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
}

/// Guards: damage inside a sealed segment is reported when the record is read (its index file
/// spares reading it on open), and on open once the index file is gone.
#[tokio::test]
async fn flipped_bit_in_a_sealed_segment_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    drop(fill(dir.path(), opts(4096, false), 40, 2).await);
    let sealed = segments(dir.path())[0].clone();
    let offsets = record_offsets(&sealed);
    flip_bit(&sealed, offsets[1] + 90);

    let log = EmbeddedLog::open_with(dir.path(), opts(4096, false)).unwrap();
    match log.read_all(0, 100).await {
        Err(Error::Corruption { file, offset, .. }) => assert_eq!((file, offset), (sealed.clone(), offsets[1])),
        other => panic!("expected corruption, got {other:?}"),
    }
    assert!(matches!(log.verify(), Err(Error::Corruption { .. })));
    drop(log);

    fs::remove_file(sealed.with_extension("idx")).unwrap();
    match EmbeddedLog::open_with(dir.path(), opts(4096, false)) {
        Err(Error::Corruption { file, offset, .. }) => assert_eq!((file, offset), (sealed, offsets[1])),
        other => panic!("expected corruption, got {other:?}"),
    }
}

/// Guards: index files are derived data: a missing or damaged one is rebuilt from its segment, and a
/// reopen reads only the open segment record by record.
#[tokio::test]
async fn missing_or_damaged_index_files_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let log = fill(dir.path(), opts(4096, false), 150, 2).await;
    let before = log.read_all(0, 1000).await.unwrap();
    drop(log);
    let segs = segments(dir.path());
    assert!(segs.len() > 4, "only {} segments", segs.len());

    let log = EmbeddedLog::open_with(dir.path(), opts(4096, false)).unwrap();
    assert_eq!(log.recovery().rebuilt_indexes, 0);
    assert!(log.recovery().scanned_events < 100, "scanned {}", log.recovery().scanned_events);
    drop(log);

    fs::remove_file(segs[0].with_extension("idx")).unwrap();
    flip_bit(&segs[1].with_extension("idx"), 45);
    let log = EmbeddedLog::open_with(dir.path(), opts(4096, false)).unwrap();
    assert_eq!(log.recovery().rebuilt_indexes, 2);
    assert_eq!(log.read_all(0, 1000).await.unwrap(), before);
    drop(log);
    let log = EmbeddedLog::open_with(dir.path(), opts(4096, false)).unwrap();
    assert_eq!(log.recovery().rebuilt_indexes, 0, "rebuilt index files were written back");
}

/// Guards: a log written by a newer format version is refused with a message naming both versions.
#[tokio::test]
async fn newer_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(fill(dir.path(), opts(1 << 20, false), 1, 1).await);
    let seg = segments(dir.path()).pop().unwrap();
    let f = fs::OpenOptions::new().read(true).write(true).open(&seg).unwrap();
    let mut header = [0u8; 32];
    f.read_exact_at(&mut header, 0).unwrap();
    header[8..12].copy_from_slice(&2u32.to_le_bytes());
    let crc = crc32c::crc32c(&header[..28]);
    header[28..32].copy_from_slice(&crc.to_le_bytes());
    f.write_all_at(&header, 0).unwrap();
    let err = EmbeddedLog::open_with(dir.path(), opts(1 << 20, false)).unwrap_err();
    assert!(matches!(err, Error::UnsupportedFormat { found: 2, supported: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("upgrade imece"), "{err}");
}

/// Guards: two processes (or two opens) never write one directory.
#[tokio::test]
async fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open_with(dir.path(), opts(1 << 20, false)).unwrap();
    assert!(matches!(EmbeddedLog::open_with(dir.path(), opts(1 << 20, false)), Err(Error::Locked { .. })));
    drop(log);
    EmbeddedLog::open_with(dir.path(), opts(1 << 20, false)).unwrap();
}

/// Guards: when a write fails (here: the disk is full), the log refuses every later write with a
/// clear error instead of retrying, keeps serving reads, and a reopen recovers what was durable.
#[tokio::test]
async fn a_failed_write_poisons_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    fs::create_dir(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mount)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: mounting a small tmpfs needs root; the disk-full path was not exercised");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.clone());

    let log = EmbeddedLog::open_with(&mount, opts(16 << 20, false)).unwrap();
    let s = StreamId::new("s").unwrap();
    let big = Bytes::from(vec![7u8; 100 * 1024]);
    let mut acknowledged = 0;
    let error = loop {
        match log.append(&s, ExpectedVersion::Any, vec![NewEvent::new("Big.v1", big.clone())]).await {
            Ok(_) => acknowledged += 1,
            Err(e) => break e,
        }
        assert!(acknowledged < 10, "a 256 KiB disk took a megabyte");
    };
    assert!(matches!(error, Error::Poisoned { .. }), "{error:?}");
    assert!(log.is_poisoned());
    let again = log.append(&s, ExpectedVersion::Any, vec![NewEvent::new("Small.v1", "x")]).await.unwrap_err();
    assert!(matches!(again, Error::Poisoned { .. }), "{again:?}");
    assert!(again.to_string().contains("refuses writes"), "{again}");
    assert_eq!(log.read_all(0, 100).await.unwrap().len(), acknowledged);
    drop(log);
    let log = EmbeddedLog::open_with(&mount, opts(16 << 20, false)).unwrap();
    assert_eq!(log.verify().unwrap(), acknowledged as u64);
}
