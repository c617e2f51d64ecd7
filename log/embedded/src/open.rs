//! Opening a log directory: lock it, check every segment, load or rebuild the indexes, and drop an
//! unsynced tail. The crash cases this handles are argued in `FORMAT.md`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use imece_log::{Error, Result, StreamId};

use crate::format::{
    FORMAT_VERSION, IndexEntry, RecordError, SEGMENT_HEADER_LEN, SegmentHeader, SegmentIndex, decode_record,
    find_next_record,
};
use crate::index::{Index, Segment};
use crate::writer::{ActiveSegment, IdIndex};
use crate::{Options, Recovery};

/// What opening produced: the shared index, the writer's state, and the report.
pub(crate) struct Opened {
    pub(crate) lock: File,
    pub(crate) index: Index,
    pub(crate) active: ActiveSegment,
    pub(crate) versions: HashMap<StreamId, u64>,
    pub(crate) ids: IdIndex,
    pub(crate) recovery: Recovery,
}

pub(crate) fn segment_path(dir: &Path, first_position: u64) -> PathBuf {
    dir.join(format!("{first_position:020}.seg"))
}

pub(crate) fn index_path(dir: &Path, first_position: u64) -> PathBuf {
    dir.join(format!("{first_position:020}.idx"))
}

/// Makes a directory entry (a created or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(format!("syncing directory {}", dir.display()), e))
}

pub(crate) fn open(dir: &Path, options: &Options) -> Result<Opened> {
    let started = Instant::now();
    if options.create {
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating log directory {}", dir.display()), e))?;
    } else {
        check_existing(dir)?;
    }
    let lock = lock_dir(dir)?;
    remove_temporary_files(dir)?;

    let mut recovery = Recovery::default();
    let mut index = Index::default();
    let mut ids = IdIndex::default();
    let mut active_entries = Vec::new();
    let firsts = list_segments(dir)?;
    if firsts.is_empty() {
        let path = segment_path(dir, 0);
        let file = crate::writer::create_segment(dir, 0, if options.preallocate { options.segment_size } else { 0 })?;
        index.segments.push(Segment {
            first_position: 0,
            path,
            file: Arc::new(file),
            offsets: Vec::new(),
            data_end: 0,
        });
    }
    for (i, &first) in firsts.iter().enumerate() {
        let path = segment_path(dir, first);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        check_header(&path, &file, first)?;
        if first != index.head {
            return Err(Error::Corruption {
                file: path,
                offset: 0,
                reason: format!("segment starts at position {first}, the one before it ends at {}", index.head),
            });
        }
        let is_last = i + 1 == firsts.len();
        let loaded = if is_last {
            // The open segment has an index file only if the log was closed cleanly and nothing was
            // written since: it is removed (durably) before the first write of this run.
            match read_index(dir, first, &file, true) {
                Some(idx) => {
                    let idx_path = index_path(dir, first);
                    fs::remove_file(&idx_path).map_err(|e| Error::io(format!("removing {}", idx_path.display()), e))?;
                    sync_dir(dir)?;
                    idx
                }
                None => {
                    let scan = scan_segment(&path, &file, first, true)?;
                    recovery.scanned_events += scan.index.entries.len() as u64;
                    recovery.truncated_bytes += scan.truncated_bytes;
                    scan.index
                }
            }
        } else {
            match read_index(dir, first, &file, false) {
                Some(idx) => idx,
                None => {
                    let scan = scan_segment(&path, &file, first, false)?;
                    recovery.scanned_events += scan.index.entries.len() as u64;
                    recovery.rebuilt_indexes += 1;
                    if let Err(e) = write_index(dir, &scan.index) {
                        tracing::warn!("could not rewrite the index of {}: {e}", path.display());
                    }
                    scan.index
                }
            }
        };
        // Streams are registered at their first event, so one seen only in a dropped tail is not.
        let mut numbers: Vec<Option<u32>> = vec![None; loaded.streams.len()];
        let mut offsets = Vec::with_capacity(loaded.entries.len());
        ids.reserve(loaded.entries.len());
        for (k, e) in loaded.entries.iter().enumerate() {
            let position = first + k as u64;
            offsets.push(e.offset);
            let number = match numbers[e.stream as usize] {
                Some(n) => n,
                None => {
                    let id = StreamId::new(&loaded.streams[e.stream as usize]).map_err(|err| Error::Corruption {
                        file: path.clone(),
                        offset: e.offset as u64,
                        reason: format!("stored stream name is invalid: {err}"),
                    })?;
                    let n = index.stream_number(&id);
                    numbers[e.stream as usize] = Some(n);
                    n
                }
            };
            let stream = &mut index.streams[number as usize];
            stream.positions.push(position);
            ids.insert(e.id, position);
            if is_last {
                active_entries.push((stream.id.clone(), e.id));
            }
        }
        index.head = first + loaded.entries.len() as u64;
        index.segments.push(Segment {
            first_position: first,
            path,
            file: Arc::new(file),
            offsets,
            data_end: loaded.data_end,
        });
    }

    let last = index.segments.last().expect("a log has at least one segment");
    let active = ActiveSegment {
        first_position: last.first_position,
        path: last.path.clone(),
        file: last.file.clone(),
        write_offset: last.data_end.max(SEGMENT_HEADER_LEN as u64),
        entries: active_entries,
    };
    if let Some(seg) = index.segments.last_mut() {
        seg.data_end = active.write_offset;
    }
    let versions = index.streams.iter().map(|s| (s.id.clone(), s.positions.len() as u64)).collect();
    recovery.segments = index.segments.len();
    recovery.events = index.head;
    recovery.streams = index.streams.len();
    recovery.duration = started.elapsed();
    Ok(Opened { lock, index, active, versions, ids, recovery })
}

/// Refuses, before anything is created in it (not even `LOCK`), a `dir` that is not the directory
/// of a log: missing, not a directory, or without a segment file.
fn check_existing(dir: &Path) -> Result<()> {
    let missing = |why: &str| {
        Error::invalid(
            "dir",
            format!("there is no log in {}: {why} (opening an existing log only: nothing was created)", dir.display()),
        )
    };
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(missing("not a directory")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing("no such directory")),
        Err(e) => return Err(Error::io(format!("opening log directory {}", dir.display()), e)),
    }
    if list_segments(dir)?.is_empty() {
        return Err(missing("the directory holds no segment file (*.seg)"));
    }
    Ok(())
}

fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join("LOCK");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked { dir: dir.to_owned() }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(format!("locking {}", path.display()), e)),
    }
}

/// Half-made files of an interrupted segment creation or index write: never part of the log.
fn remove_temporary_files(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))? {
        let path = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?.path();
        if path.extension().is_some_and(|x| x == "tmp") {
            fs::remove_file(&path).map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        }
    }
    Ok(())
}

fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut firsts = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))? {
        let name = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".seg")
            && stem.len() == 20
            && let Ok(first) = stem.parse::<u64>()
        {
            firsts.push(first);
        }
    }
    firsts.sort_unstable();
    Ok(firsts)
}

fn check_header(path: &Path, file: &File, first: u64) -> Result<()> {
    let mut b = [0u8; SEGMENT_HEADER_LEN];
    let n = read_up_to(file, &mut b, 0).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let header = SegmentHeader::decode(&b[..n]).map_err(|reason| Error::Corruption {
        file: path.to_owned(),
        offset: 0,
        reason,
    })?;
    if header.version > FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            file: path.to_owned(),
            found: header.version,
            supported: FORMAT_VERSION,
        });
    }
    if header.first_position != first {
        return Err(Error::Corruption {
            file: path.to_owned(),
            offset: 16,
            reason: format!("header says the segment starts at {}, its name says {first}", header.first_position),
        });
    }
    Ok(())
}

fn read_up_to(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// A segment's index file, if it is there, intact and agrees with the segment: a sealed segment
/// ends where its last record does; the open one may have zeroed space after it.
fn read_index(dir: &Path, first: u64, file: &File, is_open: bool) -> Option<SegmentIndex> {
    let path = index_path(dir, first);
    let bytes = fs::read(&path).ok()?;
    let len = file.metadata().ok()?.len();
    match SegmentIndex::decode(&bytes) {
        Ok(idx) if idx.first_position == first && (idx.data_end == len || is_open && idx.data_end <= len) => Some(idx),
        Ok(_) => {
            tracing::warn!("{} does not match its segment; rebuilding it", path.display());
            None
        }
        Err(why) => {
            tracing::warn!("{} is unusable ({why}); rebuilding it", path.display());
            None
        }
    }
}

/// Writes a sealed segment's index file atomically: temporary file, sync, rename, sync directory.
pub(crate) fn write_index(dir: &Path, idx: &SegmentIndex) -> Result<()> {
    let path = index_path(dir, idx.first_position);
    let tmp = path.with_extension("idx.tmp");
    let write = || -> std::io::Result<()> {
        let file = File::create(&tmp)?;
        file.write_all_at(&idx.encode(), 0)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    sync_dir(dir)
}

struct Scan {
    index: SegmentIndex,
    truncated_bytes: u64,
}

/// Reads every record of a segment.
///
/// A sealed segment must be whole. In the open (last) segment, the first record that is missing,
/// cut short or fails its checksum ends the data; everything from the end of the last complete
/// append on is an unsynced tail and is zeroed, unless a valid record after it proves that the bad
/// record had been synced (its `durable_end` lies past it): then it is corruption, reported with
/// its offset.
fn scan_segment(path: &Path, file: &File, first: u64, is_open: bool) -> Result<Scan> {
    let buf = fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut streams: Vec<String> = Vec::new();
    let mut numbers: HashMap<&str, u32> = HashMap::new();
    let mut entries: Vec<IndexEntry> = Vec::new();
    let mut at = SEGMENT_HEADER_LEN;
    let mut expected_remaining: Option<u32> = None;
    // (end offset, entry count) of the last complete batch: an append, or an `append_many` whose
    // records name several streams (each record is indexed by its own stream).
    let mut committed = (at, 0usize);
    let failure: Option<(usize, String)> = loop {
        let rec = match decode_record(&buf, at) {
            Ok(rec) => rec,
            Err(RecordError::Incomplete) if at == buf.len() => break None,
            Err(RecordError::Incomplete) => break Some((at, "record is cut short".to_owned())),
            Err(RecordError::Invalid(why)) => break Some((at, why)),
        };
        let position = first + entries.len() as u64;
        if rec.head.position != position {
            break Some((at, format!("record holds position {}, expected {position}", rec.head.position)));
        }
        if let Some(r) = expected_remaining
            && rec.head.batch_remaining + 1 != r
        {
            break Some((at, "record breaks the append it belongs to".to_owned()));
        }
        let name = rec.stream_str(&buf);
        let n = *numbers.entry(name).or_insert_with(|| {
            streams.push(name.to_owned());
            streams.len() as u32 - 1
        });
        entries.push(IndexEntry { offset: at as u32, stream: n, id: rec.head.id });
        at += rec.len;
        if rec.head.batch_remaining == 0 {
            committed = (at, entries.len());
            expected_remaining = None;
        } else {
            expected_remaining = Some(rec.head.batch_remaining);
        }
    };
    let (data_end, count) = committed;
    let mut truncated_bytes = 0;
    if data_end < buf.len() {
        let (bad_at, reason) = failure.unwrap_or((data_end, "append is incomplete".to_owned()));
        let corruption = |reason: String| Error::Corruption { file: path.to_owned(), offset: bad_at as u64, reason };
        let tail_is_zero = buf[data_end..].iter().all(|&b| b == 0);
        if !is_open && !tail_is_zero {
            return Err(corruption(format!("{reason} (in a sealed segment)")));
        }
        // Any valid record after the bad one that was written once the bad one was durable proves
        // the damage is not a torn write.
        let first_unsure = first + count as u64;
        let mut probe = data_end;
        while let Some((found, rec)) = find_next_record(&buf, probe) {
            if rec.head.durable_end > first_unsure {
                return Err(corruption(format!(
                    "{reason}; a later record at offset {found} shows position {first_unsure} had been synced"
                )));
            }
            probe = found + 1;
        }
        if !tail_is_zero {
            let last_nonzero = data_end + buf[data_end..].iter().rposition(|&b| b != 0).unwrap_or(0);
            truncated_bytes = (last_nonzero + 1 - data_end) as u64;
            tracing::warn!(
                "{}: dropping {truncated_bytes} bytes of an incomplete, unacknowledged tail at offset {data_end} ({reason})",
                path.display()
            );
            let zeros = vec![0u8; truncated_bytes as usize];
            file.write_all_at(&zeros, data_end as u64)
                .and_then(|()| file.sync_data())
                .map_err(|e| Error::io(format!("zeroing the torn tail of {}", path.display()), e))?;
        }
        entries.truncate(count);
    }
    Ok(Scan {
        index: SegmentIndex { first_position: first, data_end: data_end as u64, streams, entries },
        truncated_bytes,
    })
}
