//! Snapshot files: one per projection, `<dir>/<NAME>.snapshot`, holding the encoded state and the
//! checkpoint it was taken at, written atomically. The byte layout and the crash argument are in
//! `FORMAT.md` beside this crate.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The first eight bytes of every snapshot file.
pub const MAGIC: [u8; 8] = *b"IMECEPRJ";
/// The version of the file layout (not of the projection's state, which is the projection's own
/// `VERSION`).
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the state: magic 8, format version 4, projection version 4, checkpoint 8, state
/// length 8, CRC-32C 4.
pub const HEADER_LEN: usize = 36;

/// A projection's state as stored, with the checkpoint it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The `Projection::VERSION` the state was encoded under.
    pub projection_version: u32,
    /// The position of the next event to apply: every event before it is in the state.
    pub checkpoint: u64,
    /// The projection's `encode` bytes.
    pub state: Vec<u8>,
}

/// Where the snapshot of projection `name` lives in `dir`.
pub fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snapshot"))
}

fn temp_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snapshot.tmp"))
}

/// The snapshot file as bytes.
pub fn encode(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + snapshot.state.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&snapshot.projection_version.to_le_bytes());
    out.extend_from_slice(&snapshot.checkpoint.to_le_bytes());
    out.extend_from_slice(&(snapshot.state.len() as u64).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), &snapshot.state);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&snapshot.state);
    out
}

/// A snapshot from a file's bytes; the reason it is not one otherwise.
pub fn decode(bytes: &[u8]) -> std::result::Result<Snapshot, String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!("{} bytes, shorter than the {HEADER_LEN}-byte header", bytes.len()));
    }
    if bytes[..8] != MAGIC {
        return Err("not a projection snapshot (bad magic)".to_owned());
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let format = u32_at(8);
    if format != FORMAT_VERSION {
        return Err(format!("snapshot format version {format}; this build reads {FORMAT_VERSION}"));
    }
    let len = u64_at(24);
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != len {
        return Err(format!("the header says {len} bytes of state, the file has {}", body.len()));
    }
    let stored = u32_at(32);
    let computed = crc32c::crc32c_append(crc32c::crc32c(&bytes[..32]), body);
    if stored != computed {
        return Err(format!("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"));
    }
    Ok(Snapshot { projection_version: u32_at(12), checkpoint: u64_at(16), state: body.to_vec() })
}

/// The snapshot of projection `name` in `dir`: `None` if there is none, [`Error::CorruptSnapshot`]
/// if the file is damaged, [`Error::SnapshotIo`] if it cannot be read.
pub fn read(dir: &Path, name: &str) -> Result<Option<Snapshot>> {
    let path = path(dir, name);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::SnapshotIo { path, context: "reading", source }),
    };
    decode(&bytes).map(Some).map_err(|reason| Error::CorruptSnapshot { path, reason })
}

/// Replaces the snapshot of projection `name` in `dir` with `snapshot`, atomically: the file holds
/// either the old snapshot or the new one, whole, whenever the process or the machine stops.
///
/// Writes `<name>.snapshot.tmp`, syncs it, renames it over `<name>.snapshot`, and syncs the
/// directory so that the rename itself is durable. Blocking: call it off the async executor.
pub fn write(dir: &Path, name: &str, snapshot: &Snapshot) -> Result<()> {
    let temp = temp_path(dir, name);
    let io = |path: &Path, context: &'static str| {
        let path = path.to_owned();
        move |source| Error::SnapshotIo { path, context, source }
    };
    let mut file = File::create(&temp).map_err(io(&temp, "creating"))?;
    file.write_all(&encode(snapshot)).map_err(io(&temp, "writing"))?;
    file.sync_all().map_err(io(&temp, "syncing"))?;
    drop(file);
    let target = path(dir, name);
    fs::rename(&temp, &target).map_err(io(&target, "renaming the new snapshot into place"))?;
    sync_dir(dir).map_err(io(dir, "syncing the directory after the rename"))
}

/// Removes a temporary file a crash left behind. It never holds the only copy of anything.
pub(crate) fn remove_stale_temp(dir: &Path, name: &str) -> Result<()> {
    let temp = temp_path(dir, name);
    match fs::remove_file(&temp) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::SnapshotIo { path: temp, context: "removing a stale temporary file", source }),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_damage_is_caught() {
        let snapshot = Snapshot { projection_version: 3, checkpoint: 42, state: b"{\"a\":1}".to_vec() };
        let bytes = encode(&snapshot);
        assert_eq!(bytes.len(), HEADER_LEN + 7);
        assert_eq!(decode(&bytes).unwrap(), snapshot);
        // Any flipped bit anywhere is caught, in the header or in the state.
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert!(decode(&damaged).is_err(), "a flipped bit at byte {i} went unnoticed");
        }
        // A torn file is caught whatever its length.
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "a file cut at {len} bytes went unnoticed");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }

    #[test]
    fn write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), "p").unwrap(), None);
        let first = Snapshot { projection_version: 1, checkpoint: 1, state: vec![1; 10] };
        write(dir.path(), "p", &first).unwrap();
        let second = Snapshot { projection_version: 1, checkpoint: 9, state: vec![2; 3] };
        write(dir.path(), "p", &second).unwrap();
        assert_eq!(read(dir.path(), "p").unwrap(), Some(second));
        assert!(!temp_path(dir.path(), "p").exists());
        fs::write(path(dir.path(), "p"), b"IMECEPRJ but then nothing").unwrap();
        assert!(matches!(read(dir.path(), "p"), Err(Error::CorruptSnapshot { .. })));
    }
}
